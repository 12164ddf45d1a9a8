"""Small structures and a one-call model evaluation shared by the model tests."""

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk, molecule

from hermnet.model import ModelConfig, build_model
from hermnet.model.potential import evaluate_structure

ELEMENTS = ["H", "C", "O", "Cu"]
# "variant" or "variant-block": every relation variant with the published block and with
# the mixing block (PaiNN update, radial MLP); the mixing block with rank-2 moments and the
# tensor block (TensorNet's rank-2 features) on vertex and triad: each model test covers
# every block.
MODEL_KINDS = [
    "vertex",
    "pair",
    "triad",
    "vertex-painn",
    "pair-painn",
    "triad-painn",
    "vertex-painn2",
    "triad-painn2",
    "vertex-painn2v",
    "vertex-tensor",
    "triad-tensor",
]
BLOCK_OPTIONS = {
    "hermconv": {"block": "hermconv"},
    "painn": {"block": "painn", "radial_mlp": 5},
    "painn2": {"block": "painn2"},
    "painn2v": {"block": "painn2v"},
    "tensor": {"block": "tensor"},
}


# The tiny model every test builds: small enough for finite differences in seconds.
TINY = dict(features=8, radial_basis=6, layers=2, cutoff=3.5, dtype="float64")


def tiny_config(kind: str, elements=ELEMENTS, **overrides) -> ModelConfig:
    variant, _, block = kind.partition("-")
    options = {**TINY, **BLOCK_OPTIONS[block or "hermconv"], **overrides}
    return ModelConfig(elements=list(elements), variant=variant, **options)


def tiny_potential(kind: str, elements=ELEMENTS, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    potential = build_model(tiny_config(kind, elements, **overrides))
    # Non-trivial energy references so that shifts and scale are exercised too.
    potential.model.set_energy_reference(
        shift=np.linspace(-3.0, 2.0, len(elements)), scale=1.7, mean_energy=-5.0
    )
    return potential.eval()


def evaluate(potential, atoms: Atoms, stress: bool = False, atomic_virial: bool = False):
    """Energy, forces (and stress / per-atom virial) of one ASE Atoms, float64."""
    types = [ELEMENTS.index(s) for s in atoms.get_chemical_symbols()]
    out = evaluate_structure(
        potential,
        atoms.positions,
        types,
        atoms.cell.array,
        atoms.pbc,
        compute_virial=stress or atomic_virial,
        compute_atomic_virial=atomic_virial,
    )
    return {k: v.detach() for k, v in out.items()}


def ethanol() -> Atoms:
    atoms = molecule("CH3CH2OH")
    atoms.rattle(0.05, seed=1)
    return atoms


def cu_h_cell(thin: bool = False, triclinic: bool = False) -> Atoms:
    """A periodic Cu cell with an interstitial H, optionally thinner than 2 r_c / triclinic."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=not thin)
    if triclinic:
        cell = atoms.cell.array.copy()
        cell[2] += 0.3 * cell[0] + 0.2 * cell[1]
        atoms.set_cell(cell, scale_atoms=False)
    atoms = atoms + Atoms("H", positions=[[0.9, 0.8, 0.7]])
    atoms.rattle(0.05, seed=2)
    atoms.wrap()
    return atoms


def alloy(n_repeat: int = 2, seed: int = 0) -> Atoms:
    """An fcc cell decorated with all four elements (a stand-in multi-element system)."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(n_repeat)
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols(rng.choice(ELEMENTS, size=len(atoms)))
    atoms.rattle(0.05, seed=seed)
    return atoms


def random_rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))
