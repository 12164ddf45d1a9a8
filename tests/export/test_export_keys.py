"""The contract is written once in Python and once in C++: the two must agree."""

import re
from pathlib import Path

from hermnet.export import keys

HEADER = Path(__file__).resolve().parents[2] / "cpp" / "include" / "hermnet" / "keys.hpp"


def cpp_constants() -> dict:
    text = HEADER.read_text()
    strings = dict(re.findall(r'inline constexpr const char\* (\w+) = "([^"]*)";', text))
    ints = {k: int(v) for k, v in re.findall(r"inline constexpr int (\w+) = (\d+);", text)}
    return {**strings, **ints}


def python_constants() -> dict:
    return {
        name: value
        for name, value in vars(keys).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str | int)
    }


def test_header_and_module_define_the_same_names_and_values():
    cpp, py = cpp_constants(), python_constants()
    assert len(cpp) > 40  # the regexes really parsed the header
    assert set(cpp) == set(py), (
        f"only in C++: {sorted(set(cpp) - set(py))}; only in Python: {sorted(set(py) - set(cpp))}"
    )
    assert {k: cpp[k] for k in py} == py


def test_groups_are_complete_and_ordered():
    assert keys.INPUTS[:4] == (keys.POSITIONS, keys.TYPES, keys.EDGE_INDEX, keys.EDGE_SHIFT)
    assert len(set(keys.OUTPUTS)) == 5
    assert keys.METADATA_SELF_CHECK in keys.REQUIRED_METADATA
    assert len(set(keys.CHECK_KEYS)) == len(keys.CHECK_KEYS)


def test_forward_signature_follows_inputs(tmp_path):
    import torch

    from tests.export.export_helpers import export_tiny

    export_tiny("vertex", tmp_path / "m.pt")
    module = torch.jit.load(str(tmp_path / "m.pt"))
    names = [arg.name for arg in module.forward.schema.arguments][1:]  # drop self
    assert tuple(names) == keys.INPUTS
