"""Data-parallel helpers for runs launched with torchrun (WORLD_SIZE > 1).

Gradients are summed with one all-reduce after backward instead of wrapping the model in
DistributedDataParallel: the force loss needs a double backward (create_graph=True),
which DDP's hooks do not handle cleanly, and with global loss denominators (see
hermnet.train.loss) a plain sum is exactly the single-process gradient.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialized_here: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, backend: str | None = None) -> "DistContext":
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        initialized_here = False
        if not dist.is_initialized():
            dist.init_process_group(backend=backend or "gloo")
            initialized_here = True
        return cls(rank, world_size, local_rank, initialized_here)

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """In place, also returned; a no-op on one process."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def all_gather_object(self, obj):
        if not self.enabled:
            return [obj]
        gathered = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def broadcast_object(self, obj):
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        if not self.enabled:
            return
        with torch.no_grad():
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor, src=0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.initialized_here and dist.is_initialized():
            dist.destroy_process_group()


def all_reduce_gradients(
    parameters: list[torch.nn.Parameter], ctx: DistContext, extra: torch.Tensor
) -> torch.Tensor:
    """Sum gradients (missing ones count as zero) and `extra` over processes in one call.

    Returns the reduced `extra`. The gradients are written back into p.grad.
    """
    if not ctx.enabled:
        return extra
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    flat = torch.cat(
        [g.reshape(-1).to(torch.float64) for g in grads] + [extra.reshape(-1).double()]
    )
    ctx.all_reduce_sum(flat)
    offset = 0
    for p in parameters:
        n = p.numel()
        chunk = flat[offset : offset + n].view_as(p).to(p.dtype)
        if p.grad is None:
            p.grad = chunk.clone()
        else:
            p.grad.copy_(chunk)
        offset += n
    return flat[offset:].view_as(extra).to(extra.dtype)
