"""HermNet: heterogeneous message-passing interatomic potentials.

Import what you need from the subpackages (hermnet.model, hermnet.data, hermnet.train,
hermnet.calculators, hermnet.export); this module stays light so that `import hermnet`
and the LAMMPS plugin entry point cost nothing.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hermnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
