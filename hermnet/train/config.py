"""The training configuration: a YAML file with four sections, checked before anything runs.

    model:    every ModelConfig field (elements, variant, cutoff, features, ...)
    data:     train, validation | validation_fraction (+ validation_split), test,
              max_train, max_validation, config_type_weights, min_distance
    training: optimisation, schedule, EMA, checkpoints, device (TrainingConfig)
    output:   the run folder

Unknown or misspelt keys, wrong types and out-of-range values raise ConfigError (a
ValueError) naming the key, its section and, for a misspelt key, the closest valid name.
Relative paths (data files and globs, output, init_from) are relative to the config file's
folder (hermnet.files.PATH_RULE).
"""

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hermnet.model.config import ModelConfig

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("cosine", "plateau", "none")
LOSSES = ("mse", "huber")
VALIDATION_SPLITS = ("random", "stratified")
BEST_METRICS = ("force_mae", "energy_mae", "stress_mae", "loss")
SECTIONS = ("model", "data", "training", "output")


class ConfigError(ValueError):
    """The training configuration is malformed; the message says where and how to fix it."""


@dataclass
class DataConfig:
    """Where the structures come from. Paths may be globs; they are stored absolute."""

    train: list[str] = field(default_factory=list)
    validation: list[str] | None = None  # files of their own, or ...
    validation_fraction: float | None = None  # ... a seeded random part of `train` (0.05)
    # stratified: the same fraction of each config_type (mlearn group, extxyz info
    # config_type), so that a rare kind is in validation too; random: any structures.
    validation_split: str = "random"
    test: list[str] | None = None  # evaluated once with the best model at the end
    max_train: int | None = None  # keep a seeded random subset of this many
    max_validation: int | None = None
    # Loss weight per kind of structure (mlearn group, extxyz info config_type), e.g.
    # {Surface: 5.0}: rare kinds that the errors show are underfitted. Others weigh 1.
    config_type_weights: dict[str, float] | None = None
    # Two atoms closer than this (Å) stop the run with the structure named: such a pair
    # is a broken frame and makes the loss NaN. 0 turns the check off.
    min_distance: float = 0.5

    def validate(self) -> None:
        if not isinstance(self.min_distance, int | float) or not self.min_distance >= 0:
            raise ConfigError(
                f"data.min_distance must be a distance in Å >= 0 (0 turns the check off), "
                f"got {self.min_distance!r}"
            )
        if not self.train:
            raise ConfigError("data.train is empty: list at least one file, folder or glob")
        if self.validation is not None and self.validation_fraction is not None:
            raise ConfigError(
                "data: give either validation (files) or validation_fraction, not both"
            )
        if self.validation is not None and not self.validation:
            raise ConfigError("data.validation is an empty list; remove it or list files")
        if self.validation is None and self.validation_fraction is None:
            self.validation_fraction = 0.05
        if self.validation_split not in VALIDATION_SPLITS:
            raise ConfigError(
                f"data.validation_split must be one of {', '.join(VALIDATION_SPLITS)}, got "
                f"{self.validation_split!r}"
            )
        if self.validation is not None and self.validation_split != "random":
            raise ConfigError(
                f"data.validation_split: {self.validation_split} splits train, but "
                "data.validation gives files of its own; remove one of the two"
            )
        if self.validation_fraction is not None and not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(
                f"data.validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )
        for key in ("max_train", "max_validation"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"data.{key} must be a positive integer, got {value!r}")
        for kind, weight in (self.config_type_weights or {}).items():
            if not 0.0 <= weight < math.inf:  # types were checked on reading
                raise ConfigError(
                    f"data.config_type_weights[{kind!r}] must be a finite number >= 0, got "
                    f"{weight!r} (e.g. config_type_weights: {{Surface: 5.0}})"
                )


@dataclass
class TrainingConfig:
    """Optimisation settings. The published recipe is reachable: energy_weight 0.1,
    force_weight 0.9, learning_rate 3e-4, batch_size 32, scheduler none, ema_decay 0."""

    epochs: int = 100
    batch_size: int = 16
    validation_batch_size: int | None = None  # default: batch_size
    learning_rate: float = 1.0e-3
    optimizer: str = "adam"  # adam | adamw
    weight_decay: float = 0.0
    scheduler: str = "cosine"  # cosine | plateau | none
    warmup_epochs: float = 1.0  # linear warm-up, counted in optimizer steps
    lr_min: float = 1.0e-6  # floor of cosine and plateau
    # cosine: decay over this much training time (summed over resumes) when it ends before
    # `epochs`; the rate then reaches lr_min when the time is spent, however fast the machine.
    schedule_minutes: float | None = None
    patience: int = 10  # plateau: epochs without improvement before lowering the rate
    factor: float = 0.5  # plateau: multiply the rate by this
    energy_weight: float = 1.0
    force_weight: float = 10.0
    stress_weight: float = 0.0
    # mse, or huber: squared errors up to huber_delta (eV/atom, eV/Å, eV/Å^3), linear
    # beyond, so that the rare large errors pull less on the fit (see hermnet/train/loss.py)
    loss: str = "mse"
    huber_delta: float = 0.01
    ema_decay: float = 0.99  # 0 disables the moving average of weights
    # Stage two (hermnet/train/stage_two.py, as MACE's): from this share of the run (epochs
    # or time budget, whichever ends it) on, train with the stage_two_* loss weights (unset:
    # stage one's) and choose best.pt among those epochs on the weighted validation loss.
    stage_two_start: float | None = None
    stage_two_energy_weight: float | None = None
    stage_two_force_weight: float | None = None
    stage_two_stress_weight: float | None = None
    # Adam's moments start afresh with stage two. With kept moments, raising the energy
    # weight 100 -> 10000 (mlearn Ge) made the first steps many times Adam's usual size and
    # set validation forces back from 31 to 50 meV/Å; fresh moments kept the forces but
    # still kicked the energies. Stage two at stage one's loss scale (lower the other
    # weights instead) needs neither: no clipped step at the switch.
    stage_two_fresh_optimizer: bool = False
    # Validation metric that picks best.pt and drives the plateau schedule: force_mae,
    # energy_mae, stress_mae or loss (the weighted sum the training minimises). Default:
    # force_mae, or energy_mae when forces are not trained.
    best_metric: str | None = None
    # Start from the weights of another run's checkpoint (EMA weights when it has them)
    # with a fresh optimizer and schedule: fine-tuning on new data, or a second phase with
    # other loss weights. The energy reference (per-element shifts, scale) comes with them.
    init_from: str | None = None
    grad_clip: float | None = 10.0  # max gradient norm; null or 0 disables
    seed: int = 0
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    num_workers: int = 0
    num_threads: int | None = None  # torch intra-op CPU threads (default: torch's choice)
    log_every: int = 10  # steps between progress-bar / TensorBoard updates
    checkpoint_every: int = 0  # also write last.pt every N steps inside an epoch (0: off)
    max_time_minutes: float | None = None  # stop, save last.pt; resume later
    compile: bool = False  # torch.compile where no double backward is needed
    tensorboard: bool = True  # used only when the tensorboard package is importable

    def validate(self) -> None:
        def positive(key: str, strict: bool = True) -> None:
            value = getattr(self, key)
            if value is None:
                return
            if (strict and not value > 0) or (not strict and not value >= 0):
                sign = "positive" if strict else "zero or positive"
                raise ConfigError(f"training.{key} must be {sign}, got {value!r}")

        def choose(key: str, allowed: tuple[str, ...]) -> None:
            value = getattr(self, key)
            if value not in allowed:
                hint = difflib.get_close_matches(str(value), allowed, n=1)
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                raise ConfigError(
                    f"training.{key} = {value!r} is not one of {list(allowed)}{extra}"
                )

        for key in ("epochs", "batch_size", "validation_batch_size", "learning_rate"):
            positive(key)
        for key in ("log_every", "patience", "factor", "max_time_minutes", "num_threads"):
            positive(key)
        for key in ("schedule_minutes",):
            positive(key)
        for key in ("weight_decay", "warmup_epochs", "lr_min", "num_workers"):
            positive(key, strict=False)
        for key in ("energy_weight", "force_weight", "stress_weight", "checkpoint_every"):
            positive(key, strict=False)
        positive("grad_clip", strict=False)
        self._validate_stage_two()
        positive("huber_delta")
        choose("loss", LOSSES)
        choose("optimizer", OPTIMIZERS)
        choose("scheduler", SCHEDULERS)
        if self.best_metric is not None:
            choose("best_metric", BEST_METRICS)
            weight = {"force_mae": "force", "energy_mae": "energy", "stress_mae": "stress"}
            term = weight.get(self.best_metric)
            if term is not None and getattr(self, f"{term}_weight") == 0:
                raise ConfigError(
                    f"training.best_metric is {self.best_metric!r} but {term}_weight is 0: "
                    f"that error is not trained; choose a trained quantity or 'loss'"
                )
        if self.energy_weight + self.force_weight + self.stress_weight == 0:
            raise ConfigError(
                "training: energy_weight, force_weight and stress_weight are all zero; "
                "nothing would be trained"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"training.ema_decay must be in [0, 1), got {self.ema_decay!r}")
        if self.factor >= 1.0:
            raise ConfigError(f"training.factor must be in (0, 1), got {self.factor!r}")
        if self.schedule_minutes is not None and self.scheduler != "cosine":
            raise ConfigError(
                f"training.schedule_minutes sets the length of a cosine schedule, but scheduler "
                f"is {self.scheduler!r}; use scheduler: cosine or drop schedule_minutes"
            )
        if self.lr_min >= self.learning_rate and self.scheduler != "none":
            raise ConfigError(
                f"training.lr_min ({self.lr_min}) must be below learning_rate "
                f"({self.learning_rate})"
            )
        if not re.fullmatch(r"cpu|auto|cuda(:\d+)?", self.device):
            raise ConfigError(f"training.device = {self.device!r}; use cpu, cuda, cuda:N or auto")

    def _validate_stage_two(self) -> None:
        names = [f"stage_two_{term}_weight" for term in ("energy", "force", "stress")]
        given = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        for name, value in given.items():
            if not 0.0 <= value < math.inf:
                raise ConfigError(f"training.{name} must be a finite number >= 0, got {value!r}")
        start = self.stage_two_start
        if start is None:
            if given:
                raise ConfigError(
                    f"training.{next(iter(given))} is set but stage_two_start is not; set "
                    "stage_two_start (e.g. 0.75: the last quarter of the run) or drop it"
                )
            return
        if not 0.0 < start < 1.0:
            raise ConfigError(
                f"training.stage_two_start is a share of the run in (0, 1), got {start!r} "
                "(e.g. 0.75: the last quarter)"
            )
        if not given:
            raise ConfigError(
                "training.stage_two_start is set but no stage_two_energy_weight, "
                "stage_two_force_weight or stage_two_stress_weight: stage two would train "
                "as stage one; give its weights (e.g. stage_two_energy_weight: 1000)"
            )
        stage_two = [
            given.get(f"stage_two_{term}_weight", getattr(self, f"{term}_weight"))
            for term in ("energy", "force", "stress")
        ]
        if sum(stage_two) == 0:
            raise ConfigError(
                "training: the stage-two energy, force and stress weights are all zero; "
                "nothing would be trained in stage two"
            )


@dataclass
class TrainConfig:
    model: ModelConfig
    data: DataConfig
    training: TrainingConfig
    output: Path
    source: Path | None = None  # the YAML file it was read from

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (stored in checkpoints; loads back with from_dict)."""
        return {
            "model": self.model.to_dict(),
            "data": dataclasses.asdict(self.data),
            "training": dataclasses.asdict(self.training),
            "output": str(self.output),
        }

    @classmethod
    def from_dict(
        cls, raw: Any, base_dir: str | Path = ".", source: str | Path | None = None
    ) -> "TrainConfig":
        where = f" in {source}" if source else ""
        if not isinstance(raw, dict):
            raise ConfigError(
                f"the training config{where} must be a mapping with sections "
                f"{list(SECTIONS)}, got {type(raw).__name__}"
            )
        base_dir = Path(base_dir)
        _check_keys(raw, SECTIONS, "top level", where)
        for name in ("model", "data"):
            if name not in raw:
                raise ConfigError(f"the training config{where} has no '{name}' section")
        sections = {}
        for name, kind in (("model", ModelConfig), ("data", DataConfig)):
            sections[name] = _build(kind, raw[name], name, where)
        sections["training"] = _build(TrainingConfig, raw.get("training") or {}, "training", where)
        sections["data"].validate()
        sections["training"].validate()

        data = sections["data"]
        for key in ("train", "validation", "test"):
            paths = getattr(data, key)
            if paths is not None:
                setattr(data, key, [_resolve(p, base_dir) for p in paths])
        init = sections["training"].init_from  # a str or None: its type was checked on reading
        if init is not None:
            if not init.strip():
                raise ConfigError(f"training.init_from{where} is empty; give a checkpoint's path")
            sections["training"].init_from = _resolve(init, base_dir)
        output = raw.get("output")
        if output is None:
            stem = Path(source).stem if source else "hermnet"
            output = f"runs/{stem}"
        if not isinstance(output, str) or not output.strip():
            raise ConfigError(f"output{where} must be a folder path, got {output!r}")
        return cls(
            model=sections["model"],
            data=data,
            training=sections["training"],
            output=Path(_resolve(output, base_dir)),
            source=Path(source).resolve() if source else None,
        )


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read and validate a YAML training config (ConfigError on any problem).

    overrides: `SECTION.KEY=VALUE` strings (`hermnet train --set`), applied before the
    checks (hermnet.train.overrides).
    """
    from hermnet.train.overrides import apply_overrides

    path = Path(path)
    raw = apply_overrides(read_config_file(path), overrides)
    return TrainConfig.from_dict(raw, base_dir=path.resolve().parent, source=path)


def read_config_file(path: Path) -> Any:
    """The parsed YAML of a config file (ConfigError when it is missing or not YAML)."""
    if not path.is_file():
        from hermnet.files import PATH_RULE

        raise ConfigError(
            f"training config {path} does not exist (looked for {path.absolute()}; {PATH_RULE})"
        )
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err


# --------------------------------------------------------------------------------------
def _resolve(path: str, base_dir: Path) -> str:
    expanded = Path(path).expanduser()
    return str(expanded if expanded.is_absolute() else (base_dir / expanded).resolve())


def _check_keys(raw: dict, valid, section: str, where: str) -> None:
    valid = list(valid)
    for key in raw:
        if key in valid:
            continue
        text = str(key)
        hint = difflib.get_close_matches(text, valid, n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; valid keys: {valid}"
        raise ConfigError(f"unknown key {text!r} in section '{section}'{where}{suggestion}")


def _build(kind, raw: Any, section: str, where: str):
    if not isinstance(raw, dict):
        raise ConfigError(
            f"section '{section}'{where} must be a mapping of keys, got {type(raw).__name__}"
        )
    hints = typing.get_type_hints(kind)
    names = [f.name for f in dataclasses.fields(kind)]
    _check_keys(raw, names, section, where)
    values = {
        key: _coerce(value, hints[key], f"{section}.{key}", where) for key, value in raw.items()
    }
    if kind is ModelConfig:
        # ModelConfig validates itself on construction; report its ValueError as ours.
        try:
            return kind(**values)
        except ValueError as err:
            raise ConfigError(f"{err}{where}") from err
    if kind is DataConfig and "train" not in values:
        raise ConfigError(f"section 'data'{where} needs 'train': a list of files or globs")
    return kind(**values)


def _coerce(value: Any, hint: Any, name: str, where: str) -> Any:
    """Check `value` against a type hint (int, float, str, bool, list[str], X | None)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], name, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(
                f"{name}{where} must be a mapping such as {{Surface: 5.0}}, got {value!r}"
            )
        key_hint, value_hint = typing.get_args(hint)
        return {
            _coerce(k, key_hint, f"{name} key", where): _coerce(
                v, value_hint, f"{name}[{k!r}]", where
            )
            for k, v in value.items()
        }
    if origin is list:
        if isinstance(value, str):  # a single path is a one-element list
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{name}{where} must be a list, got {value!r}")
        return [
            _coerce(item, typing.get_args(hint)[0], f"{name}[{i}]", where)
            for i, item in enumerate(value)
        ]

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{name}{where} must be {expected}, got {value!r}")

    if hint is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise wrong("a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return float(value)
    if hint is str:
        if isinstance(value, bool):  # YAML 1.1 reads No (nobelium), yes, on, off as bools
            raise wrong("a string (quote it: YAML reads No, yes, on and off as booleans)")
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    return value
