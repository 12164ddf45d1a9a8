"""Exponential moving average of model weights.

After each optimizer step n (counting from 0):
    d = min(decay, (1 + n) / (10 + n))
    shadow = d * shadow + (1 - d) * weight
The warm-up keeps early, random weights from dominating the average. Only floating-point
parameters are averaged; buffers (energy references, index tables) are taken from the
live model whenever the average is applied.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class ExponentialMovingAverage:
    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            name: p.detach().clone()
            for name, p in model.named_parameters()
            if p.requires_grad and p.is_floating_point()
        }

    def current_decay(self) -> float:
        n = self.num_updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        for name, p in model.named_parameters():
            if name in self.shadow:
                self.shadow[name].lerp_(p.detach(), 1.0 - d)
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite the model's parameters with the averages."""
        for name, p in model.named_parameters():
            if name in self.shadow:
                p.copy_(self.shadow[name])

    @contextmanager
    def average_parameters(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily swap the averages into `model` (restored on exit, even on error)."""
        backup = {
            name: p.detach().clone() for name, p in model.named_parameters() if name in self.shadow
        }
        self.copy_to(model)
        try:
            yield model
        finally:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name in backup:
                        p.copy_(backup[name])

    def model_state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """model.state_dict() with the averaged parameters (what inference loads)."""
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for name, value in self.shadow.items():
            state[name] = value.detach().clone()
        return state

    def state_dict(self) -> dict:
        return {
            "decay": self.decay,
            "num_updates": self.num_updates,
            "shadow": {k: v.detach().clone() for k, v in self.shadow.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Accepts state_dict() output; `shadow` may be a full model state dict."""
        self.decay = float(state["decay"])
        self.num_updates = int(state["num_updates"])
        shadow = state["shadow"]
        missing = [name for name in self.shadow if name not in shadow]
        if missing:
            raise KeyError(f"EMA state lacks parameters {missing[:5]}")
        with torch.no_grad():
            for name, value in self.shadow.items():
                value.copy_(shadow[name])
