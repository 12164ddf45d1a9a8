"""Readers: every format is converted to eV and Å at the boundary and returns validated
Structures."""

from hermnet.data.readers.ase_format import read_ase
from hermnet.data.readers.deepmd import read_deepmd
from hermnet.data.readers.dispatch import read_any, read_many
from hermnet.data.readers.mlearn import read_mlearn
from hermnet.data.readers.rmd17 import read_rmd17

__all__ = ["read_any", "read_ase", "read_deepmd", "read_many", "read_mlearn", "read_rmd17"]
