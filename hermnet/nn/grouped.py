"""Dense layers with one weight matrix per relation, applied as one batched product.

Rows (atoms, edges) that belong to different relations are scattered into a padded
[relations, capacity, features] block so that every layer is a single `baddbmm`
instead of a Python loop over relations. The layout is computed once per forward
pass and shared by every layer that uses the same grouping.
"""

import math

import torch
from torch import nn


@torch.jit.script
def group_layout(groups: torch.Tensor, num_groups: int) -> list[torch.Tensor]:
    """Slot of each row in the padded block: returns [flat_index, capacity (0-dim)].

    flat_index[m] = groups[m] * capacity + (rank of row m among rows of its group).
    """
    counts = torch.bincount(groups, minlength=num_groups)
    order = torch.argsort(groups, stable=True)
    offsets = torch.cumsum(counts, 0) - counts
    rank_sorted = torch.arange(groups.numel(), device=groups.device) - offsets[groups[order]]
    rank = torch.empty_like(rank_sorted)
    rank[order] = rank_sorted
    capacity = counts.max() if num_groups > 0 else torch.zeros((), dtype=torch.long)
    return [groups * capacity + rank, capacity]


@torch.jit.script
def to_padded(x: torch.Tensor, flat_index: torch.Tensor, num_groups: int, capacity: int):
    padded = x.new_zeros(num_groups * capacity, x.shape[-1])
    padded = padded.index_copy(0, flat_index, x)
    return padded.view(num_groups, capacity, x.shape[-1])


@torch.jit.script
def from_padded(y: torch.Tensor, flat_index: torch.Tensor) -> torch.Tensor:
    return y.reshape(-1, y.shape[-1]).index_select(0, flat_index)


class GroupedLinear(nn.Module):
    """R independent affine maps in -> out, stored as weight [R, in, out] and bias [R, out]."""

    def __init__(self, num_groups: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.num_groups = num_groups
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(num_groups, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(num_groups, out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same distribution as torch.nn.Linear, per relation.
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        """padded: [R, capacity, in] -> [R, capacity, out]."""
        return torch.baddbmm(self.bias.unsqueeze(1), padded, self.weight)
