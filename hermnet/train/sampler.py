"""A sampler whose order depends only on (seed, epoch): resumable anywhere, shardable.

Epoch e visits torch.randperm(n) drawn from a generator seeded with seed + e. With
several processes the permutation is padded to a multiple of the world size (repeating
its first entries, as DistributedSampler does) and process r takes entries r, r + W, ...
so that the first b samples of every process together are the first W * b of the
permutation. `start` skips samples already seen in a resumed epoch.
"""

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    def __init__(
        self,
        num_samples: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        pad: bool = True,
    ) -> None:
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.pad = pad
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch = int(epoch)
        self.start = int(start)

    def indices(self) -> list[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_samples, generator=generator).tolist()
        else:
            order = list(range(self.num_samples))
        if self.world_size > 1:
            if self.pad and order:
                total = -(-len(order) // self.world_size) * self.world_size
                order = (order * (total // len(order) + 1))[:total]
            order = order[self.rank :: self.world_size]
        return order[self.start :]

    def __iter__(self):
        return iter(self.indices())

    def __len__(self) -> int:
        return len(self.indices())
