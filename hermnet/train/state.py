"""Random-number-generator state and seeding: what makes a resumed run identical.

rng_state() returns tensors, numbers, strings and plain containers only, so that it can
be stored in a checkpoint that loads with torch.load(weights_only=True).
"""

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(loader_generator: torch.Generator | None = None) -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_state(),
        "python": random.getstate(),
        "loader": loader_generator.get_state() if loader_generator is not None else None,
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    return state


def set_rng_state(state: dict, loader_generator: torch.Generator | None = None) -> None:
    torch.set_rng_state(state["torch"])
    _set_numpy_state(state["numpy"])
    random.setstate(_as_tuples(state["python"]))
    if loader_generator is not None and state.get("loader") is not None:
        loader_generator.set_state(state["loader"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def _numpy_state() -> dict:
    """np.random.get_state() with its uint32 key array as an int64 tensor."""
    name, key, pos, has_gauss, cached = np.random.get_state()
    return {
        "name": str(name),
        "key": torch.from_numpy(key.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _set_numpy_state(state) -> None:
    if isinstance(state, dict):
        key = np.asarray(state["key"].numpy() if torch.is_tensor(state["key"]) else state["key"])
        state = (
            state["name"],
            key.astype(np.uint32),
            state["pos"],
            state["has_gauss"],
            state["cached_gaussian"],
        )
    np.random.set_state(state)  # older checkpoints hold numpy's own tuple


def _as_tuples(value):
    """random.setstate needs tuples; a state that went through a list-only format gets
    them back."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list | tuple) else value
