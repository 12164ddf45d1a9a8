"""Radial basis and cutoff function of the model document."""

import math

import torch
from torch import nn


class SineBasis(nn.Module):
    """e_n(r) = sin(n pi r / r_c) / r for n = 1..num_basis."""

    def __init__(self, cutoff: float, num_basis: int) -> None:
        super().__init__()
        self.register_buffer(
            "frequencies",
            torch.arange(1, num_basis + 1, dtype=torch.float64) * math.pi / cutoff,
        )

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return torch.sin(r.unsqueeze(-1) * self.frequencies) / r.unsqueeze(-1)


class CosineCutoff(nn.Module):
    """f_c(r) = (cos(pi r / r_c) + 1) / 2 inside the cutoff, 0 beyond it."""

    def __init__(self, cutoff: float) -> None:
        super().__init__()
        self.cutoff = cutoff

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        fc = 0.5 * (torch.cos(r * (math.pi / self.cutoff)) + 1.0)
        return torch.where(r < self.cutoff, fc, torch.zeros_like(fc))
