"""Training: YAML config, loss and metrics, EMA, the training loop (`train`)."""

from hermnet.train.config import (
    ConfigError,
    DataConfig,
    TrainConfig,
    TrainingConfig,
    load_config,
)
from hermnet.train.ema import ExponentialMovingAverage
from hermnet.train.loss import LossWeights, MetricAccumulator, compute_loss
from hermnet.train.trainer import TrainingError, TrainResult, train

__all__ = [
    "ConfigError",
    "DataConfig",
    "ExponentialMovingAverage",
    "LossWeights",
    "MetricAccumulator",
    "TrainConfig",
    "TrainResult",
    "TrainingConfig",
    "TrainingError",
    "compute_loss",
    "load_config",
    "train",
]
