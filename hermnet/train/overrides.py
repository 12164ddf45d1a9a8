"""`--set SECTION.KEY=VALUE`: change one config entry from the command line.

The value is parsed as YAML (`training.learning_rate=3e-4`, `model.elements=[Cu, Ni]`,
`data.config_type_weights.Surface=5`), applied to the raw config before it is validated,
so an override goes through exactly the checks of the same entry in the file; a relative
path in it is relative to the config file's folder, as in the file.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from typing import Any

import yaml

from hermnet.model.config import ModelConfig
from hermnet.train.config import SECTIONS, ConfigError, DataConfig, TrainingConfig

_FIELDS = {
    "model": ModelConfig,
    "data": DataConfig,
    "training": TrainingConfig,
}


def apply_overrides(raw: Any, overrides: Sequence[str]) -> Any:
    """`raw` (the parsed YAML) with each override applied in order, in place."""
    if not overrides:
        return raw
    if not isinstance(raw, dict):
        return raw  # from_dict names the real problem: the file is not a mapping
    for override in overrides:
        _apply(raw, override)
    return raw


def _apply(raw: dict, override: str) -> None:
    path, sep, text = override.partition("=")
    parts = path.strip().split(".")
    if not sep or not all(parts) or (len(parts) == 1 and parts[0] != "output"):
        raise ConfigError(
            f"--set {override!r}: expected SECTION.KEY=VALUE (SECTION one of model, data, "
            "training) or output=FOLDER, e.g. --set training.learning_rate=3e-4"
        )
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML ({err})") from err
    section, keys = parts[0], parts[1:]
    if section not in SECTIONS:
        raise ConfigError(
            f"--set {override!r}: unknown section {section!r}{_hint(section, SECTIONS)}"
        )
    if not keys:
        raw[section] = value
        return
    if section == "output":
        raise ConfigError(f"--set {override!r}: output is a folder, set it with output=FOLDER")
    valid = [f.name for f in dataclasses.fields(_FIELDS[section])]
    if keys[0] not in valid:
        raise ConfigError(
            f"--set {override!r}: unknown key {keys[0]!r} in section '{section}'"
            + (_hint(keys[0], valid) or f"; valid keys: {valid}")
        )
    if raw.get(section) is None:  # absent, or an empty section in the file
        raw[section] = {}
    _set(raw, section, keys, value, override)


def _set(raw: dict, section: str, keys: list[str], value: Any, override: str) -> None:
    target = raw[section]
    if not isinstance(target, dict):
        raise ConfigError(f"--set {override!r}: section '{section}' is not a mapping")
    for key in keys[:-1]:
        child = target.get(key)
        if child is None:
            child = target[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(
                f"--set {override!r}: {section}.{key} is not a mapping, so it has no sub-keys"
            )
        target = child
    target[keys[-1]] = value


def _hint(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
