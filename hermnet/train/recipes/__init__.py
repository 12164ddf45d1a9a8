"""Training recipes: the settings behind docs/results.md, applied to one's own data.

    hermnet train --recipe mlearn --train my_train.extxyz --test my_test.extxyz \
        [--elements Cu] [--minutes 30] [--output runs/cu] [--set SECTION.KEY=VALUE ...]

A recipe is a training config without data: `<name>.yaml` in this folder, holding the
model, the data options (validation share and split), the training settings, the time
limit and the cosine schedule that spans it. `hermnet train --recipe` fills in the data,
the elements (--elements, else those of the training data) and the time limit;
bench/accuracy/run.py builds every benchmark run from the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hermnet.train.config import ConfigError, TrainConfig, _resolve

FOLDER = Path(__file__).resolve().parent
RECIPES = ("rmd17", "mlearn", "water")


def recipe_path(name: str) -> Path:
    """The YAML file of recipe `name` (ConfigError naming the recipes for any other)."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; the recipes are {', '.join(RECIPES)}")
    return FOLDER / f"{name}.yaml"


def load_recipe(name: str) -> dict[str, Any]:
    """The recipe as a raw config (the parsed YAML), to be filled with `fill_recipe`."""
    return yaml.safe_load(recipe_path(name).read_text())


def fill_recipe(
    raw: dict[str, Any],
    *,
    train: Sequence[str] | None = None,
    validation: Sequence[str] | None = None,
    test: Sequence[str] | None = None,
    elements: Sequence[str] | None = None,
    output: str | None = None,
) -> dict[str, Any]:
    """Put data, elements and output into a raw config, in place; None keeps the entry.

    Paths are stored as given: the caller decides what they are relative to. Validation
    files replace the recipe's validation share (and its split, which splits train).
    """
    data = raw.setdefault("data", {})
    if train is not None:
        data["train"] = list(train)
    if validation is not None:
        data["validation"] = list(validation)
        data.pop("validation_fraction", None)
        data.pop("validation_split", None)
    if test is not None:
        data["test"] = list(test)
    if elements is not None:
        raw.setdefault("model", {})["elements"] = list(elements)
    if output is not None:
        raw["output"] = output
    return raw


def set_time_limit(raw: dict[str, Any], minutes: float) -> dict[str, Any]:
    """Stop after `minutes`; a cosine schedule reaches its floor exactly then.

    Any other scheduler has no length to set (schedule_minutes is dropped).
    """
    training = raw.setdefault("training", {})
    training["max_time_minutes"] = minutes
    if training.get("scheduler", "cosine") == "cosine":
        training["schedule_minutes"] = minutes
    else:
        training.pop("schedule_minutes", None)
    return raw


def elements_in(paths: Sequence[str]) -> list[str]:
    """The chemical symbols in the structures at `paths`, by atomic number."""
    from ase.data import chemical_symbols

    from hermnet.data import read_many

    numbers = {int(z) for s in read_many(paths) for z in set(s.numbers.tolist())}
    return [chemical_symbols[z] for z in sorted(numbers)]


def build_config(
    config: str | Path | None = None,
    recipe: str | None = None,
    *,
    train: Sequence[str] | None = None,
    validation: Sequence[str] | None = None,
    test: Sequence[str] | None = None,
    elements: Sequence[str] | None = None,
    output: str | None = None,
    minutes: float | None = None,
    overrides: Sequence[str] = (),
    cwd: str | Path | None = None,
) -> tuple[TrainConfig, list[str]]:
    """The config `hermnet train` runs: a config file or a recipe, then the options.

    Relative paths written in a config file (and in --set, which edits it) start from the
    file's folder; paths given as options (--train, --validation, --test, --output) start
    from the working folder `cwd`, and so does everything with a recipe, which has no
    folder of the user's. Returns the checked config and notes for the log.
    """
    from hermnet.train.config import read_config_file
    from hermnet.train.overrides import apply_overrides

    if (config is None) == (recipe is None):
        raise ConfigError(
            "give a training config file or --recipe NAME (one of "
            f"{', '.join(RECIPES)}), {'not both' if config is not None else 'one of them'}"
        )
    cwd = Path(cwd or Path.cwd()).resolve()
    notes: list[str] = []
    if recipe is not None:
        raw, base, source = load_recipe(recipe), cwd, f"recipe {recipe}"
        if not train:
            raise ConfigError(
                f"--recipe {recipe} needs your data: --train FILE [FILE ...] (structures with "
                "energies and forces), and --test FILE to be evaluated at the end"
            )
    else:
        path = Path(config)
        raw, base, source = read_config_file(path), path.resolve().parent, str(path)
        if not isinstance(raw, dict):
            return TrainConfig.from_dict(raw, base_dir=base, source=source), notes

    def here(paths: Sequence[str] | None) -> list[str] | None:
        return None if paths is None else [_resolve(p, cwd) for p in paths]

    fill_recipe(
        raw,
        train=here(train),
        validation=here(validation),
        test=here(test),
        elements=elements,
        output=None if output is None else here([output])[0],
    )
    apply_overrides(raw, overrides)
    if recipe is not None and minutes is None:
        minutes = (raw.get("training") or {}).get("max_time_minutes")
    if minutes is not None and not any(
        o.startswith("training.schedule_minutes") for o in overrides
    ):
        set_time_limit(raw, minutes)
    model, data = raw.get("model"), raw.get("data")
    wanted = recipe is not None or (isinstance(model, dict) and not model.get("elements"))
    if elements is None and wanted and isinstance(model, dict) and isinstance(data, dict):
        paths = data.get("train")
        if isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths):
            model["elements"] = elements_in([_resolve(p, base) for p in paths])
            notes.append(
                f"model.elements: {model['elements']}, the elements of the training data "
                "(--elements sets them)"
            )
    return TrainConfig.from_dict(raw, base_dir=base, source=source), notes
