"""Parameter layout, TorchScript, configuration errors."""

import pytest
import torch

from hermnet.data.neighbors import build_graph
from hermnet.model import ModelConfig, build_model
from hermnet.model.hermnet import HermNet
from hermnet.nn.relations import num_relations, relation_names
from tests.model.helpers import MODEL_KINDS, alloy, cu_h_cell, ethanol, evaluate, tiny_potential


def test_faithful_parameter_count():
    """The published single-element model (vertex, F=128, l=30, L=4, pooled) has 673,409."""
    model = HermNet(ModelConfig.faithful(elements=["Si"], features=128, radial_basis=30, layers=4))
    assert sum(p.numel() for p in model.parameters()) == 673_409


@pytest.mark.parametrize("variant,expected", [("vertex", 4), ("pair", 16), ("triad", 40)])
def test_relation_counts(variant, expected):
    assert num_relations(variant, 4) == expected
    assert len(relation_names(variant, ["Co", "Cr", "Fe", "Ni"])) == expected
    model = HermNet(
        ModelConfig(
            elements=["Co", "Cr", "Fe", "Ni"], variant=variant, features=8, radial_basis=4, layers=1
        )
    )
    assert model.layers[0].ms1.weight.shape == (expected, 8, 8)


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("make", [ethanol, cu_h_cell, alloy], ids=["molecule", "periodic", "alloy"])
def test_torchscript_matches_eager(variant, make):
    potential = tiny_potential(variant)
    scripted = torch.jit.script(potential)
    atoms = make()
    ei, sh = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, potential.model.cutoff)
    types = torch.tensor([["H", "C", "O", "Cu"].index(s) for s in atoms.get_chemical_symbols()])
    args = (
        torch.tensor(atoms.positions),
        types,
        torch.as_tensor(ei),
        torch.as_tensor(sh),
        torch.zeros(len(atoms), dtype=torch.long),
        1,
        torch.tensor(atoms.cell.array).unsqueeze(0),
        True,
        True,
        True,
    )
    eager = potential(*args)
    script = scripted(*args)
    assert eager.keys() == script.keys()
    for key in eager:
        torch.testing.assert_close(script[key], eager[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"variant": "quad"}, "model.variant"),
        ({"elements": []}, "model.elements is empty"),
        ({"elements": ["Xx"]}, "unknown chemical symbols"),
        ({"dtype": "float16"}, "model.dtype"),
        ({"cutoff": -1.0}, "model.cutoff must be positive"),
        ({"dropout": 1.5}, "model.dropout"),
    ],
)
def test_config_errors(kwargs, message):
    base = {"elements": ["Cu"]}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ModelConfig(**base)


def test_dropout_only_in_training_mode():
    potential = tiny_potential("vertex", dropout=0.3)
    atoms = alloy(1)
    assert torch.equal(evaluate(potential, atoms)["energy"], evaluate(potential, atoms)["energy"])
    potential.train()
    assert not torch.equal(
        evaluate(potential, atoms)["energy"], evaluate(potential, atoms)["energy"]
    )


def test_build_model_dtype():
    potential = build_model(
        ModelConfig(elements=["Cu"], dtype="float64", features=4, radial_basis=2, layers=1)
    )
    assert all(p.dtype == torch.float64 for p in potential.parameters())
    assert potential.model.shift.dtype == torch.float64
    potential32 = build_model(ModelConfig(elements=["Cu"], features=4, radial_basis=2, layers=1))
    assert all(p.dtype == torch.float32 for p in potential32.parameters())
    assert potential32.model.shift.dtype == torch.float64


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("make", [ethanol, alloy], ids=["molecule", "alloy"])
def test_shortcuts_match_general_form(variant, make):
    """Two shortcuts: vertex and pair updates skip the second neighbor group (always empty
    there), and the first layer skips v_j * a_v (the embedding's v is zero). Without them,
    the same weights give the same energy, forces and stress."""
    if variant.endswith("-tensor"):
        pytest.skip("HermConv's shortcuts: the tensor block has neither")
    potential = tiny_potential(variant)
    layers = potential.model.layers
    assert [layer.zero_vectors_in for layer in layers] == [True] + [False] * (len(layers) - 1)
    assert all(layer.two_groups for layer in layers) == variant.startswith("triad")
    atoms = make()
    short = evaluate(potential, atoms, stress=atoms.pbc.any())
    for layer in layers:
        layer.two_groups = True
        layer.zero_vectors_in = False
    general = evaluate(potential, atoms, stress=atoms.pbc.any())
    for key in general:
        torch.testing.assert_close(short[key], general[key], rtol=1e-12, atol=1e-12)


def test_triad_with_several_elements_keeps_two_groups():
    assert all(layer.two_groups for layer in tiny_potential("triad").model.layers)
    single = tiny_potential("triad", elements=["Cu"])
    assert not any(layer.two_groups for layer in single.model.layers)
