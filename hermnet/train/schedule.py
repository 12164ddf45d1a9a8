"""Learning-rate schedule: linear warm-up, then cosine decay, plateau reduction or constant.

The rate is a pure function of the optimizer step plus a small state (plateau: the scale;
cosine over a time budget: the re-estimated total step count), so a resumed run continues
the schedule exactly.
"""

import math


class LRSchedule:
    def __init__(
        self,
        kind: str,
        base_lr: float,
        total_steps: int,
        warmup_steps: int = 0,
        lr_min: float = 0.0,
        patience: int = 10,
        factor: float = 0.5,
    ) -> None:
        if kind not in ("cosine", "plateau", "none"):
            raise ValueError(f"unknown scheduler {kind!r}")
        self.kind = kind
        self.base_lr = float(base_lr)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = max(int(warmup_steps), 0)
        self.lr_min = float(lr_min)
        self.patience = int(patience)
        self.factor = float(factor)
        self.epoch_steps = self.total_steps  # cosine length from the epochs alone
        # plateau state
        self.scale = 1.0
        self.best = math.inf
        self.bad_epochs = 0

    def lr(self, step: int) -> float:
        """Learning rate for optimizer step `step` (0-based)."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = min(max(step - self.warmup_steps, 0) / span, 1.0)
            return self.lr_min + 0.5 * (self.base_lr - self.lr_min) * (
                1.0 + math.cos(math.pi * progress)
            )
        if self.kind == "plateau":
            return max(self.base_lr * self.scale, self.lr_min)
        return self.base_lr

    def fit_time(self, step: int, seconds_done: float, seconds_per_step: float, budget: float):
        """Cosine over a time budget: end the decay where `budget` seconds of training will
        be spent at the measured speed, or at the end of the epochs if that comes first.
        Called at epoch ends with the same numbers on every process."""
        if self.kind != "cosine" or seconds_per_step <= 0:
            return
        remaining_steps = max(budget - seconds_done, 0.0) / seconds_per_step
        self.total_steps = max(min(int(step + remaining_steps), self.epoch_steps), step, 1)

    def apply(self, optimizer, step: int) -> float:
        lr = self.lr(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def epoch_end(self, metric: float, step: int) -> None:
        """Plateau: lower the rate after `patience` epochs without improvement (after warm-up)."""
        if self.kind != "plateau" or step < self.warmup_steps or not math.isfinite(metric):
            return
        if metric < self.best:
            self.best = metric
            self.bad_epochs = 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.scale *= self.factor
            self.bad_epochs = 0

    def state_dict(self) -> dict:
        return {
            "kind": self.kind,
            "scale": self.scale,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "total_steps": self.total_steps,
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") == self.kind:
            self.scale = float(state["scale"])
            self.best = float(state["best"])
            self.bad_epochs = int(state["bad_epochs"])

    def load_timed_state(self, state: dict) -> None:
        """Resume a cosine fitted to a time budget (fit_time) where it left off."""
        if state.get("kind") == "cosine" and "total_steps" in state:
            self.total_steps = min(int(state["total_steps"]), self.epoch_steps)
