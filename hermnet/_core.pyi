"""Type stubs of the C++ core (cpp/python/bindings.cpp). Import torch before this module."""

import numpy as np
import numpy.typing as npt

FORMAT_VERSION: int

class ModelError(RuntimeError): ...

def keep_host_heap() -> str:
    """Keep freed host memory in the C library's heap between steps (as loading a CPU Model
    does); returns what was done."""
    ...

def fused_threads_reached() -> int:
    """Distinct threads that run the fused operators' parallel loops (torch's pool)."""
    ...

def fused_vector_bytes() -> int:
    """Vector bytes of the fused filter kernels on this CPU: 64 (AVX-512), 32 (AVX2) or 16."""
    ...

def neighbor_list(
    positions: npt.ArrayLike, cell: npt.ArrayLike, pbc: npt.ArrayLike, cutoff: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """(edge_index [2, E], edge_shift [E, 3] Å, cell_shifts [E, 3]) sorted like build_graph."""

class Model:
    def __init__(self, path: str, device: str = "cpu") -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def metadata_json(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def cutoff(self) -> float: ...
    @property
    def elements(self) -> list[str]: ...
    @property
    def atomic_numbers(self) -> list[int]: ...
    def types_of(self, atomic_numbers: list[int]) -> list[int]: ...
    def compute(
        self,
        positions: npt.ArrayLike,
        types: npt.ArrayLike,
        edge_index: npt.ArrayLike,
        edge_shift: npt.ArrayLike,
        n_local: int = -1,
        compute_forces: bool = True,
        compute_virial: bool = False,
        compute_atomic_virial: bool = False,
    ) -> dict[str, npt.NDArray[np.float64]]: ...
    def compute_exchanged(
        self,
        positions: npt.ArrayLike,
        types: npt.ArrayLike,
        edge_index: npt.ArrayLike,
        edge_shift: npt.ArrayLike,
        n_local: int,
        owner: npt.ArrayLike,
        compute_forces: bool = True,
        compute_virial: bool = False,
        compute_atomic_virial: bool = False,
    ) -> dict[str, npt.NDArray[np.float64]]: ...
    @property
    def has_hop_interface(self) -> bool: ...
    @property
    def chunk_edges(self) -> int: ...
    @chunk_edges.setter
    def chunk_edges(self, max_edges: int) -> None: ...
    def self_check(self) -> tuple[bool, str]: ...
