"""Model configuration, the HermNet energy module and its force/stress wrapper."""

from hermnet.model.config import ModelConfig
from hermnet.model.hermnet import HermNet
from hermnet.model.potential import HermNetPotential

__all__ = ["HermNet", "HermNetPotential", "ModelConfig", "build_model"]


def build_model(config: ModelConfig) -> HermNetPotential:
    """A HermNetPotential in the config's dtype (energy references stay float64)."""
    import torch

    dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
    return HermNetPotential(HermNet(config)).to(dtype)
