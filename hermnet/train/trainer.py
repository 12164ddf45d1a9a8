"""The training loop: `train(config_path_or_TrainConfig, resume=False)`.

One run folder holds best.pt (lowest validation force MAE, or training.best_metric; EMA
weights), last.pt (written at every epoch end, every `checkpoint_every` steps and when
`max_time_minutes` runs out), metrics.csv, train.log, config.yaml and, at the end, parity
plots and a learning curve.
`resume=True` continues from last.pt exactly: weights, optimizer, schedule, EMA, epoch
and step counters and every random-number generator are restored, and the sample order
is a function of (seed, epoch), so a killed and resumed run ends with the weights of an
uninterrupted one.

Launched by torchrun with WORLD_SIZE > 1, every process trains on its share of each
batch and the gradients are summed with one all-reduce (see hermnet.train.distributed);
only rank 0 writes files.
"""

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from torch.utils.data import DataLoader
from tqdm import tqdm

from hermnet import keys
from hermnet.data import collate
from hermnet.files import write_text
from hermnet.model import HermNetPotential, ModelConfig, build_model
from hermnet.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from hermnet.train.config import ConfigError, TrainConfig, load_config
from hermnet.train.data import TrainingData, load_training_data
from hermnet.train.distributed import DistContext, all_reduce_gradients
from hermnet.train.ema import ExponentialMovingAverage
from hermnet.train.evaluation import evaluate, predict
from hermnet.train.loss import (
    LossCounts,
    LossWeights,
    MetricAccumulator,
    compute_loss,
    needs_stress,
)
from hermnet.train.optim import make_optimizer
from hermnet.train.run_log import RunLog
from hermnet.train.sampler import EpochSampler
from hermnet.train.schedule import LRSchedule
from hermnet.train.stage_two import (
    STAGE_TWO_METRIC,
    run_progress,
    stage_two_note,
    stage_two_weights,
)
from hermnet.train.state import rng_state, seed_everything, set_rng_state

# Test hooks (not part of the interface): sleep after each epoch's last.pt, so that a
# test can kill the process between epochs; dump the first step's reduced gradients.
_SLEEP_ENV = "HERMNET_TRAIN_EPOCH_SLEEP"
_GRAD_DUMP_ENV = "HERMNET_TRAIN_DUMP_GRADIENTS"
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# What a run writes into its folder; --overwrite removes them all.
RESULT_FILES = (
    "best.pt",
    "last.pt",
    "metrics.csv",
    "train.log",
    "test_metrics.json",
    "config.yaml",
    "parity_energy.png",
    "parity_forces.png",
    "learning_curve.png",
)


class TrainingError(RuntimeError):
    """Training could not go on (e.g. the loss became NaN)."""


@dataclass
class TrainResult:
    output: Path
    epochs_completed: int
    best_epoch: int
    best_metric: float
    finished: bool  # False when stopped by max_time_minutes
    validation: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] | None = None


def resolve_device(name: str, ctx: DistContext) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"training.device is {name!r} but CUDA is not available to this torch "
                f"({torch.__version__}); use device: cpu or auto"
            )
        if ctx.enabled or name == "cuda":
            index = ctx.local_rank if ctx.enabled else torch.cuda.current_device()
            name = f"cuda:{index}"
        index = int(name.split(":")[1])
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"training.device is {name!r} but only {torch.cuda.device_count()} GPU(s) exist"
            )
        torch.cuda.set_device(index)
    return torch.device(name)


def train(
    config: "str | os.PathLike | TrainConfig", resume: bool = False, overwrite: bool = False
) -> TrainResult:
    """Train a model as configured; see the module docstring. Returns a TrainResult.

    A folder that holds a run's results is refused unless `resume` (continue it) or
    `overwrite` (replace its results, removed just before the new run writes its first file).
    """
    cfg = config if isinstance(config, TrainConfig) else load_config(config)
    wants_cuda = cfg.training.device.startswith("cuda") or (
        cfg.training.device == "auto" and torch.cuda.is_available()
    )
    if wants_cuda and not torch.cuda.is_available():
        resolve_device(cfg.training.device, DistContext())  # raises the clear error
    ctx = DistContext.from_env(backend="nccl" if wants_cuda else "gloo")
    try:
        return _Trainer(cfg, ctx, resume, overwrite).run()
    finally:
        ctx.close()


class _Trainer:
    def __init__(
        self, cfg: TrainConfig, ctx: DistContext, resume: bool, overwrite: bool = False
    ) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.opts = cfg.training
        self.out = Path(cfg.output)
        self.device = resolve_device(self.opts.device, ctx)
        if self.opts.num_threads:
            torch.set_num_threads(self.opts.num_threads)
        self.dtype = _DTYPES[cfg.model.dtype]
        self.weights = LossWeights(
            self.opts.energy_weight,
            self.opts.force_weight,
            self.opts.stress_weight,
            huber_delta=self.opts.huber_delta if self.opts.loss == "huber" else 0.0,
        )
        # best.pt and the plateau schedule follow training.best_metric: by default the
        # validation force MAE, or the energy MAE when forces are not trained.
        default = "force_mae" if self.opts.force_weight > 0 else "energy_mae"
        self.best_name = self.opts.best_metric or default
        self.stage = 1  # 2 once training.stage_two_start is reached
        self.checkpoint = self._check_output(resume, overwrite)  # before anything is written
        # training.init_from is read and checked before the data, which may take minutes
        self.initial = None
        if self.checkpoint is None and self.opts.init_from:
            self.initial = self._read_initial(self.opts.init_from)
        self.data: TrainingData = load_training_data(cfg, self.dtype)
        self._build()

    # ---------------------------------------------------------------- setup
    def _check_output(self, resume: bool, overwrite: bool) -> dict | None:
        last = self.out / "last.pt"
        self.stale: list[Path] = []  # a previous run's files, removed when --overwrite
        if resume and overwrite:
            raise ConfigError("give --resume (continue the run) or --overwrite, not both")
        if not resume:
            found = [self.out / name for name in RESULT_FILES if (self.out / name).exists()]
            results = [path for path in found if _is_result(path)]
            if results and not overwrite:
                names = ", ".join(path.name for path in results)
                what = "continue it with --resume, " if last.exists() else ""
                raise ConfigError(
                    f"output folder {self.out} already holds a run ({names}); {what}choose "
                    "another output folder, or pass --overwrite to replace its results"
                )
            self.stale = found
            return None
        if not last.exists():
            raise CheckpointError(
                f"cannot resume: {last} does not exist (start the run without --resume)"
            )
        payload = load_checkpoint(last)
        self._check_same_model(payload, f"cannot resume {last}", "start a new output folder")
        return payload

    def _check_same_model(self, payload: dict, what: str, alternative: str) -> None:
        saved, current = payload["model_config"], self.cfg.model.to_dict()
        # Fields added since the checkpoint was written take their defaults; with a field
        # since removed, the stored dict is compared as it is.
        with contextlib.suppress(TypeError, ValueError):
            saved = ModelConfig.from_saved(saved).to_dict()
        changed = sorted(key for key in current if saved.get(key) != current[key])
        if changed:
            raise ConfigError(
                f"{what}: the model section differs from the checkpoint in "
                f"{changed} (checkpoint: {[saved.get(k) for k in changed]}); restore those "
                f"values or {alternative}"
            )

    def _build(self) -> None:
        opts, ctx = self.opts, self.ctx
        seed_everything(opts.seed)
        self.potential: HermNetPotential = build_model(self.cfg.model)
        self.init_note = ""
        if self.initial is not None:
            self._load_initial_weights(self.initial)
        elif self.checkpoint is None:
            self._set_energy_reference()
        self.potential.to(self.device)
        ctx.broadcast_parameters(self.potential)
        if ctx.rank > 0:  # different dropout masks on each process
            torch.manual_seed(opts.seed + 1009 * ctx.rank)
        self.parameters = [p for p in self.potential.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(
            opts.optimizer, self.parameters, opts.learning_rate, opts.weight_decay
        )
        self.ema = (
            ExponentialMovingAverage(self.potential, opts.ema_decay) if opts.ema_decay > 0 else None
        )
        self.eval_potential = self.potential
        if opts.compile:
            # torch.compile does not support the double backward of force training, so only
            # evaluation (a single backward for forces) uses the compiled energy model.
            self.eval_potential = HermNetPotential(
                torch.compile(self.potential.model, dynamic=True)
            )

        self.loader_generator = torch.Generator().manual_seed(opts.seed)
        self.sampler = EpochSampler(
            len(self.data.train), opts.seed, True, ctx.rank, ctx.world_size, pad=True
        )
        self.train_loader = DataLoader(
            self.data.train,
            batch_size=opts.batch_size,
            sampler=self.sampler,
            collate_fn=collate,
            num_workers=opts.num_workers,
            generator=self.loader_generator,
        )
        self.steps_per_epoch = len(self.train_loader)
        self.schedule = LRSchedule(
            opts.scheduler,
            opts.learning_rate,
            total_steps=opts.epochs * self.steps_per_epoch,
            warmup_steps=round(opts.warmup_epochs * self.steps_per_epoch),
            lr_min=opts.lr_min,
            patience=opts.patience,
            factor=opts.factor,
        )
        self.validation_loader = self._eval_loader(self.data.validation, shard=True)

        self.epoch = 0  # completed epochs
        self.batches_done = 0  # batches of epoch `self.epoch` already trained
        self.global_step = 0
        self.best_metric = math.inf
        self.best_epoch = 0
        self.partial_train_sums: dict | None = None
        if self.checkpoint is not None:
            self._restore(self.checkpoint)
            self.checkpoint = None

    def _set_energy_reference(self) -> None:
        from hermnet.data import fit_reference_energies, force_rms

        structures = self.data.train.structures
        shift = fit_reference_energies(structures, self.data.type_mapper)
        scale = force_rms(structures)
        mean_energy = sum(s.energy for s in structures) / len(structures)
        self.potential.model.set_energy_reference(shift=shift, scale=scale, mean_energy=mean_energy)

    def _read_initial(self, path: str) -> dict:
        if not Path(path).is_file():
            raise CheckpointError(
                f"training.init_from: {path} does not exist; give the best.pt or last.pt of "
                "the run to start from, or drop init_from to train from scratch"
            )
        payload = load_checkpoint(path)
        payload["path"] = path
        self._check_same_model(
            payload, f"cannot start from {path}", "drop training.init_from to train from scratch"
        )
        return payload

    def _load_initial_weights(self, payload: dict) -> None:
        """training.init_from: weights (EMA ones when saved) and energy reference of another
        run; optimizer, schedule, EMA and best metric start afresh."""
        ema = payload.get("ema_state")
        self.potential.load_state_dict(ema if ema is not None else payload["model_state"])
        self.init_note = (
            f"starting from the {'EMA ' if ema is not None else ''}weights of {payload['path']} "
            f"(epoch {payload.get('epoch', '?')}); optimizer and schedule start afresh"
        )
        self.initial = None  # the payload is not needed any more

    def _eval_loader(self, dataset, shard: bool) -> DataLoader:
        rank, world = (self.ctx.rank, self.ctx.world_size) if shard else (0, 1)
        return DataLoader(
            dataset,
            batch_size=self.opts.validation_batch_size or self.opts.batch_size,
            sampler=EpochSampler(
                len(dataset), shuffle=False, rank=rank, world_size=world, pad=False
            ),
            collate_fn=collate,
            num_workers=self.opts.num_workers,
        )

    # ---------------------------------------------------------------- checkpoints
    def _payload(self) -> dict:
        """Collective (all processes call it); the result matters on rank 0 only."""
        rng = self.ctx.all_gather_object(rng_state(self.loader_generator))
        return {
            "model_config": self.cfg.model.to_dict(),
            "model_state": {k: v.detach().clone() for k, v in self.potential.state_dict().items()},
            "ema_state": self.ema.model_state_dict(self.potential) if self.ema else None,
            "ema": {"decay": self.ema.decay, "num_updates": self.ema.num_updates}
            if self.ema
            else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "epoch": self.epoch,
            "batches_done": self.batches_done,
            "global_step": self.global_step,
            "trained_seconds": self._trained_seconds(),
            "steps_per_epoch": self.steps_per_epoch,
            "partial_train_sums": self.partial_train_sums,
            "rng": rng[0],
            "rng_per_rank": rng,
            "world_size": self.ctx.world_size,
            "best_metric": self.best_metric,
            "best_metric_name": f"validation {self.best_name}",
            "best_epoch": self.best_epoch,
            "stage": self.stage,
            "config": self.cfg.to_dict(),
            "data_description": self.data.description,
            "energy_reference": {
                "shift": self.potential.model.shift.tolist(),
                "scale": float(self.potential.model.scale),
                "mean_energy": float(self.potential.model.mean_energy),
            },
            "hermnet_version": _version(),
        }

    def _save(self, name: str, payload: dict | None = None) -> None:
        payload = payload if payload is not None else self._payload()
        if self.ctx.is_main:
            save_checkpoint(self.out / name, payload)

    def _restore(self, payload: dict) -> None:
        self.potential.load_state_dict(payload["model_state"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.schedule.load_state_dict(payload["scheduler"])
        if self.opts.schedule_minutes:
            self.schedule.load_timed_state(payload["scheduler"])
        self.trained_seconds_before = float(payload.get("trained_seconds", 0.0))
        if self.ema is not None and payload.get("ema_state") is not None:
            meta = payload.get("ema") or {"decay": self.ema.decay, "num_updates": 0}
            self.ema.load_state_dict({**meta, "shadow": payload["ema_state"]})
            self.ema.decay = self.opts.ema_decay  # the config may change the decay
        self.epoch = int(payload["epoch"])
        self.batches_done = int(payload.get("batches_done", 0))
        self.global_step = int(payload["global_step"])
        if payload.get("stage", 1) == 2 and self.opts.stage_two_start is not None:
            self._enter_stage_two()
        self.best_metric = float(payload["best_metric"])
        self.best_epoch = int(payload.get("best_epoch", 0))
        if payload.get("best_metric_name", f"validation {self.best_name}") != (
            f"validation {self.best_name}"
        ):  # the loss weights changed what "best" means: start the comparison afresh
            self.best_metric, self.best_epoch = math.inf, 0
        self.partial_train_sums = payload.get("partial_train_sums") if self.ctx.is_main else None
        self.resume_note = ""
        if payload.get("steps_per_epoch") != self.steps_per_epoch:
            self.resume_note = (
                f"note: {payload.get('steps_per_epoch')} steps per epoch in the checkpoint, "
                f"{self.steps_per_epoch} now (data, batch size or process count changed)"
            )
        per_rank = payload.get("rng_per_rank")
        if per_rank and len(per_rank) == self.ctx.world_size:
            set_rng_state(per_rank[self.ctx.rank], self.loader_generator)
        else:
            set_rng_state(payload["rng"], self.loader_generator)
            if self.ctx.rank > 0:
                torch.manual_seed(self.opts.seed + 1009 * self.ctx.rank + self.global_step)
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(self.global_step)

    # ---------------------------------------------------------------- loop
    def run(self) -> TrainResult:
        opts, ctx = self.opts, self.ctx
        resumed = self.epoch > 0 or self.global_step > 0
        if ctx.is_main:
            for path in self.stale:  # --overwrite: no file of the old run survives mixed in
                path.unlink(missing_ok=True)
        self.log = RunLog(self.out, ctx.is_main, opts.tensorboard, resume_epoch=self.epoch)
        if ctx.is_main:
            write_text(
                self.out / "config.yaml", yaml.safe_dump(self.cfg.to_dict(), sort_keys=False)
            )
        self.log.message(
            f"{'resuming at' if resumed else 'training from'} epoch {self.epoch + 1}/{opts.epochs}"
            f" (step {self.global_step}) on {self.device}"
            + (f", {ctx.world_size} processes" if ctx.enabled else "")
            + f"; {self.data.description}"
        )
        if getattr(self, "resume_note", ""):
            self.log.message(self.resume_note)
        if self.init_note:  # only set when a new run starts from init_from
            self.log.message(self.init_note)
        for note in self.data.warnings:
            self.log.message(note)
        self.start_time = time.monotonic()
        self.start_step = self.global_step
        finished = True
        val_metrics: dict[str, float] = {}
        try:
            while self.epoch < opts.epochs:
                if self._stage_two_due():
                    self._switch_to_stage_two()
                epoch_start = time.monotonic()
                train_metrics, stopped = self._train_epoch()
                if stopped:
                    finished = False
                    break
                val_metrics = self._validate()
                monitored = val_metrics[self.best_name]
                if math.isnan(monitored) or math.isnan(val_metrics["energy_mae"]):
                    raise TrainingError(self._nan_validation_message(val_metrics))
                self.schedule.epoch_end(monitored, self.global_step)
                self._fit_schedule_to_time()
                self.epoch += 1
                self.batches_done = 0
                self.partial_train_sums = None
                lr = self.optimizer.param_groups[0]["lr"]
                seconds = time.monotonic() - epoch_start
                self.log.epoch(self.epoch, lr, train_metrics, val_metrics, seconds, self._elapsed())
                self.log.message(
                    _summary(self.epoch, opts.epochs, lr, train_metrics, val_metrics, seconds)
                )
                payload = self._payload()
                if monitored < self.best_metric:
                    self.best_metric = monitored
                    self.best_epoch = self.epoch
                    payload.update(best_metric=self.best_metric, best_epoch=self.best_epoch)
                    self._save("best.pt", payload)
                self._save("last.pt", payload)
                if self.ctx.broadcast_object(self._time_is_up()):  # rank 0's clock decides
                    finished = self.epoch >= opts.epochs
                    if not finished:
                        self.log.message(
                            f"max_time_minutes ({opts.max_time_minutes}) reached after epoch "
                            f"{self.epoch}; last.pt saved, continue with --resume"
                        )
                    break
                if self.epoch < opts.epochs and os.environ.get(_SLEEP_ENV):
                    time.sleep(float(os.environ[_SLEEP_ENV]))
            result = TrainResult(
                output=self.out,
                epochs_completed=self.epoch,
                best_epoch=self.best_epoch,
                best_metric=self.best_metric,
                finished=finished,
                validation=val_metrics,
            )
            # Plots and test metrics also when max_time_minutes cut the run short: they
            # describe the best model so far and are redone by a resumed run.
            result.test = self._finish()
            return result
        finally:
            self.log.close()

    def _stage_two_due(self) -> bool:
        start = self.opts.stage_two_start
        if start is None or self.stage == 2:
            return False
        progress = run_progress(
            self.epoch,
            self.opts.epochs,
            self._trained_seconds(),
            self._elapsed(),
            self.opts.schedule_minutes,
            self.opts.max_time_minutes,
        )
        return bool(self.ctx.broadcast_object(progress >= start))  # rank 0's clock decides

    def _enter_stage_two(self) -> None:
        """New loss weights; best.pt is chosen afresh among stage-two epochs."""
        self.stage = 2
        self.weights = stage_two_weights(self.opts, self.weights)
        self.best_name = STAGE_TWO_METRIC
        self.best_metric, self.best_epoch = math.inf, 0

    def _switch_to_stage_two(self) -> None:
        """What happens once, at the switch (a resume inside stage two restores all of it)."""
        self._enter_stage_two()
        self.schedule.best = math.inf  # plateau: the loss is a new scale
        if self.opts.stage_two_fresh_optimizer:
            self.optimizer.state.clear()
        self.log.message(stage_two_note(self.epoch + 1, self.weights))

    def _elapsed(self) -> float:
        return time.monotonic() - self.start_time

    def _trained_seconds(self) -> float:
        """Training time of this run and the runs it resumes."""
        since = self._elapsed() if hasattr(self, "start_time") else 0.0
        return getattr(self, "trained_seconds_before", 0.0) + since

    def _fit_schedule_to_time(self) -> None:
        """schedule_minutes: re-aim the cosine at the time budget (rank 0's clock decides)."""
        if not self.opts.schedule_minutes:
            return
        steps_here = self.global_step - self.start_step
        seconds = self.ctx.broadcast_object(
            (self._trained_seconds(), self._elapsed() / max(steps_here, 1))
        )
        self.schedule.fit_time(self.global_step, *seconds, 60.0 * self.opts.schedule_minutes)

    def _time_is_up(self) -> bool:
        limit = self.opts.max_time_minutes
        return limit is not None and self._elapsed() >= 60.0 * limit

    def _train_epoch(self) -> tuple[dict[str, float], bool]:
        opts, ctx = self.opts, self.ctx
        self.potential.train()
        self.sampler.set_epoch(self.epoch, start=self.batches_done * opts.batch_size)
        metrics = MetricAccumulator(device=self.device)
        if self.partial_train_sums is not None:
            metrics.load_state_dict(self.partial_train_sums)
        forces_needed = opts.force_weight > 0
        bar = tqdm(
            total=self.steps_per_epoch,
            initial=self.batches_done,
            desc=f"epoch {self.epoch + 1}/{opts.epochs}",
            disable=not ctx.is_main,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.5,
        )
        running = None
        stopped = False
        with bar:
            for batch in self.train_loader:
                batch = batch.to(self.device)
                lr = self.schedule.apply(self.optimizer, self.global_step)
                counts = LossCounts.of(batch)
                if ctx.enabled:
                    counts = LossCounts.from_tensor(
                        ctx.all_reduce_sum(counts.as_tensor(self.device))
                    )
                with_stress = needs_stress(self.weights, batch)
                out = predict(
                    self.potential,
                    batch,
                    with_stress=with_stress,
                    training=True,
                    compute_forces=forces_needed,
                )
                loss = compute_loss(out, batch, self.weights, counts)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                # Across processes: summed gradients, summed loss (each is a share of the
                # global mean) and a stop flag, in one all-reduce.
                stop_flag = 1.0 if (ctx.is_main and self._time_is_up()) else 0.0
                extra = torch.stack(
                    [loss.detach().double(), loss.new_tensor(stop_flag, dtype=torch.float64)]
                )
                extra = all_reduce_gradients(self.parameters, ctx, extra)
                loss_value, stop = float(extra[0]), bool(extra[1] > 0)
                self._maybe_dump_gradients()
                max_norm = opts.grad_clip if opts.grad_clip else math.inf
                # One host copy of the norm serves both the divergence check and the log.
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.parameters, max_norm))
                metrics.add_step(grad_norm, max_norm)
                if not (math.isfinite(loss_value) and math.isfinite(grad_norm)):
                    raise TrainingError(self._divergence_message(loss_value, grad_norm, out, batch))
                self.optimizer.step()
                if self.ema is not None:
                    self.ema.update(self.potential)
                self.global_step += 1
                self.batches_done += 1
                # loss_value is the global batch's loss; weighted by structures it averages right.
                metrics.update(out, batch, torch.tensor(loss_value, dtype=torch.float64))
                running = loss_value if running is None else 0.9 * running + 0.1 * loss_value
                bar.update(1)
                if (
                    self.global_step % opts.log_every == 0
                    or self.batches_done == self.steps_per_epoch
                ):
                    so_far = metrics.compute()  # this process's share of the epoch
                    bar.set_postfix(
                        loss=f"{running:.4g}",
                        E_meV=f"{1000 * so_far['energy_mae']:.3g}",
                        F_meV=f"{1000 * so_far['force_mae']:.3g}",
                        lr=f"{lr:.2e}",
                        refresh=False,
                    )
                    self.log.step(self.global_step, loss_value, lr)
                checkpoint_now = (
                    opts.checkpoint_every and self.global_step % opts.checkpoint_every == 0
                )
                if (stop or checkpoint_now) and self.batches_done < self.steps_per_epoch:
                    self._save_mid_epoch(metrics)
                if stop and self.batches_done < self.steps_per_epoch:
                    self.log.message(
                        f"max_time_minutes ({opts.max_time_minutes}) reached in epoch "
                        f"{self.epoch + 1} at step {self.global_step}; last.pt saved, continue "
                        "with --resume"
                    )
                    stopped = True
                    break
        reduced = MetricAccumulator(device=self.device)
        reduced.sums.copy_(ctx.all_reduce_sum(metrics.sums.clone()))
        return reduced.compute(), stopped

    def _divergence_message(self, loss: float, grad_norm: float, out: dict, batch) -> str:
        """Blame what is at fault: the data when the prediction itself is not finite (or
        before any update), else the step size; and say which checkpoint exists."""
        opts = self.opts
        head = (
            f"the loss became {loss} (gradient norm {grad_norm}) at epoch {self.epoch + 1}, "
            f"step {self.global_step + 1}"
        )
        energy = out[keys.ENERGY].detach()
        bad = [batch.sources[k] for k in torch.nonzero(~torch.isfinite(energy)).flatten()]
        if bad:
            cause = (
                f": the model's prediction is not finite for {len(bad)} structure(s) of this "
                f"batch, first {bad[0]}, which points to the data (atoms nearly on top of each "
                "other, a broken frame), not the learning rate; check or remove it"
            )
        elif self.global_step == self.start_step == 0:
            cause = (
                ": before any update, so the data or the loss setup is at fault, not the "
                f"learning rate; check this batch's structures (first {batch.sources[0]})"
            )
        else:
            cause = (
                f": training diverged. Lower training.learning_rate (now "
                f"{opts.learning_rate:g}, try {opts.learning_rate / 10:g}) or set "
                "training.grad_clip"
            )
        return f"{head}{cause}. {self._checkpoint_note()}"

    def _nan_validation_message(self, metrics: dict[str, float]) -> str:
        """Without it the run would end "successfully" with no best.pt (NaN < best is False)."""
        head = f"validation {self.best_name} is nan after epoch {self.epoch + 1}"
        if not math.isnan(metrics["energy_mae"]):
            return (
                f"{head}: no validation structure has the labels it needs; choose another "
                "training.best_metric or add the labels"
            )
        return (
            f"{head}: the model's prediction is not finite for some validation structure "
            "(atoms nearly on top of each other, a broken frame); check the validation data. "
            + self._checkpoint_note()
        )

    def _checkpoint_note(self) -> str:
        last = self.out / "last.pt"
        if last.exists():
            return f"{last} holds the last good state (continue with --resume after the fix)"
        return "No checkpoint was written yet (last.pt is saved at the end of each epoch)"

    def _save_mid_epoch(self, metrics: MetricAccumulator) -> None:
        sums = self.ctx.all_reduce_sum(metrics.sums.clone()).cpu()
        self.partial_train_sums = {"sums": sums}
        self._save("last.pt")
        self.partial_train_sums = None

    def _maybe_dump_gradients(self) -> None:
        path = os.environ.get(_GRAD_DUMP_ENV)
        if path and self.global_step == 0 and self.ctx.is_main:
            grads = {
                name: (p.grad.detach().cpu().clone() if p.grad is not None else None)
                for name, p in self.potential.named_parameters()
            }
            torch.save(grads, path)

    def _validate(self) -> dict[str, float]:
        if self.ema is not None:
            with self.ema.average_parameters(self.potential):
                metrics, _ = evaluate(
                    self.eval_potential, self.validation_loader, self.device, self.weights
                )
        else:
            metrics, _ = evaluate(
                self.eval_potential, self.validation_loader, self.device, self.weights
            )
        self.ctx.all_reduce_sum(metrics.sums)
        return metrics.compute()

    # ---------------------------------------------------------------- end of run
    def _finish(self) -> dict[str, float] | None:
        """Rank 0: parity plots and test metrics with the best weights, learning curve."""
        if not self.ctx.is_main:
            return None
        from hermnet.train.plots import learning_curve, parity_plot

        best = self.out / "best.pt"
        payload = load_checkpoint(best) if best.exists() else None
        potential = build_model(ModelConfig(**self.cfg.model.to_dict())).to(self.device)
        if payload is not None:
            state = (
                payload["ema_state"]
                if payload.get("ema_state") is not None
                else payload["model_state"]
            )
            potential.load_state_dict(state)
        else:
            potential.load_state_dict(self.potential.state_dict())
        loader = self._eval_loader(self.data.validation, shard=False)
        _, arrays = evaluate(potential, loader, self.device, self.weights, collect=True)
        parity_plot(
            arrays["energy_per_atom_pred"],
            arrays["energy_per_atom_ref"],
            self.out / "parity_energy.png",
            f"validation energy per atom (best epoch {self.best_epoch})",
            "eV/atom",
        )
        parity_plot(
            arrays["forces_pred"],
            arrays["forces_ref"],
            self.out / "parity_forces.png",
            f"validation force components (best epoch {self.best_epoch})",
            "eV/Å",
        )
        learning_curve(self.log.csv_path, self.out / "learning_curve.png")
        test_metrics = None
        if self.data.test is not None:
            sums, _ = evaluate(
                potential, self._eval_loader(self.data.test, shard=False), self.device, self.weights
            )
            test_metrics = sums.compute()
            finite = {k: (v if math.isfinite(v) else None) for k, v in test_metrics.items()}
            write_text(self.out / "test_metrics.json", json.dumps(finite, indent=2) + "\n")
            self.log.message(
                "test (best model): "
                + ", ".join(f"{k} {v:.4g}" for k, v in test_metrics.items() if math.isfinite(v))
            )
        self.log.message(
            f"done: best validation {self.best_name} {self.best_metric:.4g} at epoch "
            f"{self.best_epoch}; files in {self.out}"
        )
        return test_metrics


def _is_result(path: Path) -> bool:
    """Checkpoints, and a metrics.csv with at least one epoch: what a new run must not
    replace unasked. (A run that failed before its first epoch leaves only a header.)"""
    if path.suffix == ".pt":
        return True
    if path.name != "metrics.csv":
        return False
    with path.open() as handle:
        handle.readline()  # the header
        return bool(handle.readline().strip())


def _summary(epoch: int, epochs: int, lr: float, train: dict, val: dict, seconds: float) -> str:
    def milli(value: float) -> str:
        return f"{1000 * value:.2f}" if math.isfinite(value) else "-"

    share = 100 * train.get("clipped", 0.0)  # two significant digits, never "1e+02"
    share_text = f"{share:.0f}" if share >= 10 else f"{share:.2g}"
    clip_note = f" ({share_text} % of steps clipped)" if share > 0 else ""
    return (
        f"epoch {epoch}/{epochs} lr {lr:.2e} | train loss {train['loss']:.4g}{clip_note} "
        f"E {milli(train['energy_mae'])} meV/atom F {milli(train['force_mae'])} meV/Å | "
        f"val E MAE {milli(val['energy_mae'])} meV/atom F MAE {milli(val['force_mae'])} meV/Å "
        f"(RMSE {milli(val['force_rmse'])}) | {seconds:.1f}s"
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hermnet")
    except Exception:
        return "unknown"
