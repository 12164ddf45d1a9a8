// The contract of an exported HermNet model: input and output names, metadata keys.
// Written down once here and once in Python (hermnet/export/keys.py);
// tests/export/test_export_keys.py checks that the two agree. Shapes: n_all atoms (local
// first, then ghosts), n_local local atoms, E edges. Units: eV and Å.
#pragma once

namespace hermnet::keys {

inline constexpr const char* FORMAT_NAME = "hermnet-model";
inline constexpr int FORMAT_VERSION = 1;
inline constexpr const char* METADATA_FILE = "hermnet/metadata.json";

// Inputs, in forward() order
inline constexpr const char* POSITIONS = "positions";            // (n_all, 3) model dtype, Å
inline constexpr const char* TYPES = "types";                    // (n_all,) int64
inline constexpr const char* EDGE_INDEX = "edge_index";          // (2, E) int64, center; neighbor
inline constexpr const char* EDGE_SHIFT = "edge_shift";          // (E, 3) model dtype, Å
inline constexpr const char* N_LOCAL = "n_local";                // int
inline constexpr const char* COMPUTE_FORCES = "compute_forces";  // bool
inline constexpr const char* COMPUTE_VIRIAL = "compute_virial";  // bool
inline constexpr const char* COMPUTE_ATOMIC_VIRIAL = "compute_atomic_virial";  // bool

// Outputs (present only when requested)
inline constexpr const char* ENERGY = "energy";                // (1,) float64, eV
inline constexpr const char* ATOMIC_ENERGY = "atomic_energy";  // (n_local,) float64, eV
inline constexpr const char* FORCES = "forces";                // (n_all, 3), eV/Å
inline constexpr const char* VIRIAL = "virial";                // (3, 3), eV
inline constexpr const char* ATOMIC_VIRIAL = "atomic_virial";  // (n_all, 3, 3), eV

// Hop-by-hop methods (signatures in hermnet/export/keys.py)
inline constexpr const char* HOP_PREPARE = "hop_prepare";
inline constexpr const char* HOP_PREPARE_ROWS = "hop_prepare_rows";  // optional
inline constexpr const char* HOP_EMBED = "hop_embed";
inline constexpr const char* HOP = "hop";
inline constexpr const char* HOP_READOUT = "hop_readout";
inline constexpr const char* HOP_DERIVATIVES = "hop_derivatives";
inline constexpr int HOP_INTERFACE_VERSION = 1;

// Metadata keys
inline constexpr const char* METADATA_FORMAT = "format";
inline constexpr const char* METADATA_FORMAT_VERSION = "format_version";
inline constexpr const char* METADATA_HERMNET_VERSION = "hermnet_version";
inline constexpr const char* METADATA_TORCH_VERSION = "torch_version";
inline constexpr const char* METADATA_ELEMENTS = "elements";
inline constexpr const char* METADATA_ATOMIC_NUMBERS = "atomic_numbers";
inline constexpr const char* METADATA_CUTOFF = "cutoff";
inline constexpr const char* METADATA_NUM_HOPS = "num_message_hops";
inline constexpr const char* METADATA_RECEPTIVE_FIELD = "receptive_field";
inline constexpr const char* METADATA_VARIANT = "variant";
inline constexpr const char* METADATA_DTYPE = "dtype";
inline constexpr const char* METADATA_UNITS = "units";
inline constexpr const char* METADATA_NUM_PARAMETERS = "num_parameters";
inline constexpr const char* METADATA_TRAINING_DATA = "training_data";
inline constexpr const char* METADATA_MODEL_CONFIG = "model_config";
inline constexpr const char* METADATA_SELF_CHECK = "self_check";
inline constexpr const char* METADATA_HOP_INTERFACE = "hop_interface";  // optional int
inline constexpr const char* METADATA_TF32 = "tf32";                    // optional bool
inline constexpr const char* METADATA_FUSED_EDGES = "fused_edges";      // optional bool

// Self-check frame
inline constexpr const char* CHECK_SOURCE = "source";
inline constexpr const char* CHECK_POSITIONS = "positions";
inline constexpr const char* CHECK_TYPES = "types";
inline constexpr const char* CHECK_CELL = "cell";
inline constexpr const char* CHECK_PBC = "pbc";
inline constexpr const char* CHECK_ENERGY = "energy";
inline constexpr const char* CHECK_ATOMIC_ENERGY = "atomic_energy";
inline constexpr const char* CHECK_FORCES = "forces";
inline constexpr const char* CHECK_VIRIAL = "virial";
inline constexpr const char* CHECK_ENERGY_ATOL = "energy_atol_per_atom";
inline constexpr const char* CHECK_RTOL = "rtol";
inline constexpr const char* CHECK_ATOL = "atol";

}  // namespace hermnet::keys
