"""Training: LightningModules (systems), losses and callbacks. Re-exports only."""

from musclemap_lib.config import TrainConfig
from musclemap_lib.training.callbacks import EpochReseed, epoch_checkpoints, last_checkpoint
from musclemap_lib.training.losses import classification_loss, distillation_loss, scores_from_logits
from musclemap_lib.training.system import AMGESystem, DistillSystem, NonFiniteLossError

__all__ = [
    "AMGESystem",
    "DistillSystem",
    "EpochReseed",
    "NonFiniteLossError",
    "TrainConfig",
    "classification_loss",
    "distillation_loss",
    "epoch_checkpoints",
    "last_checkpoint",
    "scores_from_logits",
]
