"""The contract of an exported HermNet model: input and output names, metadata keys.

Written down once here and once in C++ (cpp/include/hermnet/keys.hpp);
tests/export/test_export_keys.py checks that the two agree. Shapes use n_all atoms
(local first, then ghosts), n_local local atoms and E edges. Units: eV and Å.

The TorchScript module's forward takes the inputs in INPUTS order and returns a
Dict[str, Tensor] keyed by the OUTPUT names:

    forward(positions, types, edge_index, edge_shift, n_local,
            compute_forces, compute_virial, compute_atomic_virial) -> Dict[str, Tensor]
"""

from typing import Final

from hermnet import keys as _k

FORMAT_NAME: Final = "hermnet-model"  # value of METADATA_FORMAT in every exported file
FORMAT_VERSION: Final = 1  # bump on any incompatible change of this contract
METADATA_FILE: Final = "hermnet/metadata.json"  # _extra_files entry holding the metadata

# Inputs, in forward() order -------------------------------------------------------
POSITIONS: Final = _k.POSITIONS  # (n_all, 3) model dtype | Å
TYPES: Final = _k.TYPES  # (n_all,) int64 | index into METADATA_ELEMENTS
EDGE_INDEX: Final = _k.EDGE_INDEX  # (2, E) int64 | row 0 center i, row 1 neighbor j
EDGE_SHIFT: Final = _k.EDGE_SHIFT  # (E, 3) model dtype | Å, zero for explicit ghosts
N_LOCAL: Final = "n_local"  # int | atoms with index < n_local contribute energy
COMPUTE_FORCES: Final = "compute_forces"  # bool | forces on all n_all atoms
COMPUTE_VIRIAL: Final = "compute_virial"  # bool | global virial
COMPUTE_ATOMIC_VIRIAL: Final = "compute_atomic_virial"  # bool | per-atom virial
INPUTS: Final = (
    POSITIONS,
    TYPES,
    EDGE_INDEX,
    EDGE_SHIFT,
    N_LOCAL,
    COMPUTE_FORCES,
    COMPUTE_VIRIAL,
    COMPUTE_ATOMIC_VIRIAL,
)

# Outputs (present only when requested) ----------------------------------------------
ENERGY: Final = _k.ENERGY  # (1,) float64 | sum of the local atoms' energies, eV
ATOMIC_ENERGY: Final = _k.ATOMIC_ENERGY  # (n_local,) float64 | eV
FORCES: Final = _k.FORCES  # (n_all, 3) model dtype | eV/Å, ghosts included
VIRIAL: Final = _k.VIRIAL  # (3, 3) model dtype | W = -sum_e d_e (x) dE/dd_e, eV
ATOMIC_VIRIAL: Final = (
    _k.ATOMIC_VIRIAL
)  # (n_all, 3, 3) model dtype | half of each edge's term to each end
OUTPUTS: Final = (ENERGY, ATOMIC_ENERGY, FORCES, VIRIAL, ATOMIC_VIRIAL)

# Hop-by-hop methods (see hermnet.export.module and the reference driver hermnet.export.hops):
#   hop_prepare(positions, types, edge_index, edge_shift) -> (edge_vec, geometry, index)
#   hop_prepare_rows(positions, types, edge_index, edge_shift, n_local): hop_prepare whose
#       hops leave ghost rows (n_local on) without the per-atom update (optional: absent
#       in files from before it; an engine that refreshes every ghost row may use it)
#   hop_embed(types) -> (s (n_all, F), v (n_all, 3, F))
#   hop(k, s, v, geometry, index) -> (s, v)         k = 0 .. num_message_hops - 1
#   hop_readout(s, types, n_local) -> (n_local,) float64 atomic energies
#   hop_derivatives(edge_vec, edge_grad, edge_index, n_all, compute_forces, compute_virial,
#                   compute_atomic_virial) -> Dict[str, Tensor] (OUTPUTS' names)
HOP_PREPARE: Final = "hop_prepare"
HOP_PREPARE_ROWS: Final = "hop_prepare_rows"
HOP_EMBED: Final = "hop_embed"
HOP: Final = "hop"
HOP_READOUT: Final = "hop_readout"
HOP_DERIVATIVES: Final = "hop_derivatives"
HOP_METHODS: Final = (HOP_PREPARE, HOP_EMBED, HOP, HOP_READOUT, HOP_DERIVATIVES)
HOP_INTERFACE_VERSION: Final = 1  # bump on any incompatible change of the hop methods

# Metadata keys (JSON object in METADATA_FILE) -------------------------------------------
METADATA_FORMAT: Final = "format"  # str | FORMAT_NAME
METADATA_FORMAT_VERSION: Final = "format_version"  # int | FORMAT_VERSION at export
METADATA_HERMNET_VERSION: Final = "hermnet_version"  # str
METADATA_TORCH_VERSION: Final = "torch_version"  # str
METADATA_ELEMENTS: Final = "elements"  # [str] | chemical symbols in type order
METADATA_ATOMIC_NUMBERS: Final = "atomic_numbers"  # [int] | in type order
METADATA_CUTOFF: Final = "cutoff"  # float | Å
METADATA_NUM_HOPS: Final = "num_message_hops"  # int | layers x hops per layer (block)
METADATA_RECEPTIVE_FIELD: Final = "receptive_field"  # float | Å, num_message_hops * cutoff
METADATA_VARIANT: Final = "variant"  # str | vertex, pair or triad
METADATA_DTYPE: Final = "dtype"  # str | float32 or float64 (energies always float64)
METADATA_UNITS: Final = "units"  # {"energy": "eV", "length": "Å"}
METADATA_NUM_PARAMETERS: Final = "num_parameters"  # int
METADATA_TRAINING_DATA: Final = "training_data"  # str | short description
METADATA_MODEL_CONFIG: Final = "model_config"  # object | ModelConfig.to_dict()
METADATA_SELF_CHECK: Final = "self_check"  # object | the keys below
# int | HOP_INTERFACE_VERSION; absent in files written before the hop methods existed
METADATA_HOP_INTERFACE: Final = "hop_interface"
# bool | float32 matrix products may use TF32 on GPUs (optional; absent means false)
METADATA_TF32: Final = "tf32"
# bool | the model calls the C++ core's fused edge operators hermnet::vector_message and
# hermnet::gather_scale_add, so loading it needs them registered (import hermnet._core, or
# any engine built on the core); optional, absent means false
METADATA_FUSED_EDGES: Final = "fused_edges"
REQUIRED_METADATA: Final = (
    METADATA_FORMAT,
    METADATA_FORMAT_VERSION,
    METADATA_HERMNET_VERSION,
    METADATA_TORCH_VERSION,
    METADATA_ELEMENTS,
    METADATA_ATOMIC_NUMBERS,
    METADATA_CUTOFF,
    METADATA_NUM_HOPS,
    METADATA_RECEPTIVE_FIELD,
    METADATA_VARIANT,
    METADATA_DTYPE,
    METADATA_UNITS,
    METADATA_NUM_PARAMETERS,
    METADATA_TRAINING_DATA,
    METADATA_SELF_CHECK,
)

# Self-check frame: a small training structure and the outputs the eager Python model
# computed for it at export time. Engines rebuild the edges with their own neighbor list.
CHECK_SOURCE: Final = "source"  # str | where the frame came from
CHECK_POSITIONS: Final = "positions"  # (n, 3) | Å
CHECK_TYPES: Final = "types"  # (n,) | type indices
CHECK_CELL: Final = "cell"  # (3, 3) | rows are cell vectors, Å
CHECK_PBC: Final = "pbc"  # (3,) bool
CHECK_ENERGY: Final = "energy"  # float | eV
CHECK_ATOMIC_ENERGY: Final = "atomic_energy"  # (n,) | eV
CHECK_FORCES: Final = "forces"  # (n, 3) | eV/Å
CHECK_VIRIAL: Final = "virial"  # (3, 3) | eV
CHECK_ENERGY_ATOL: Final = "energy_atol_per_atom"  # float | eV per atom
CHECK_RTOL: Final = "rtol"  # float | relative tolerance of every comparison
CHECK_ATOL: Final = "atol"  # float | eV/Å for forces, eV for virial and atomic energies
CHECK_KEYS: Final = (
    CHECK_SOURCE,
    CHECK_POSITIONS,
    CHECK_TYPES,
    CHECK_CELL,
    CHECK_PBC,
    CHECK_ENERGY,
    CHECK_ATOMIC_ENERGY,
    CHECK_FORCES,
    CHECK_VIRIAL,
    CHECK_ENERGY_ATOL,
    CHECK_RTOL,
    CHECK_ATOL,
)
