# The fixtures the GPU tests share with the LAMMPS and training tests.
from tests.lammps.conftest import plugin  # noqa: F401
from tests.train.conftest import ethanol_file  # noqa: F401
