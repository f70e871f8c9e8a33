"""TrainConfig: how one model is optimised (STYLE.md section 5).

ASSUMPTION: this lives in ``musclemap_lib/training/config.py`` because ``musclemap_lib/config.py``
(DataConfig) did not exist when the engine was written; :mod:`musclemap_lib.config` re-exports it
once both exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from musclemap_lib.training.losses import LOSS_KINDS, LossKind

Precision = Literal["auto", "32", "bf16"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of one run. Every field enters the run's ``config_sha``."""

    epochs: int = 80  # PAPER: 80 epochs per stage (section 4.5)
    batch_size: int = 16  # clips per optimiser step (ASSUMPTION: paper silent; released 16 videos)
    lr: float = 1e-4  # PAPER: AdamW, learning rate 1e-4
    weight_decay: float = 0.05  # released code: 0.05 on >=2-D params, 0 on 1-D params
    warmup_epochs: float = 0.0  # linear warm-up length (fractional epochs), then cosine decay
    warmup_start_lr: float = 1e-6  # released code: WARMUP_START_LR
    end_lr: float = 1e-6  # released code: COSINE_END_LR
    grad_clip: float | None = 1.0  # global L2 gradient-norm clip (released code); None = off
    loss: LossKind = "bce"  # PAPER: BCE with logits; "softmax_bce" = the released code's loss
    precision: Precision = "auto"  # auto = bf16 autocast on a GPU, fp32 on CPU
    deterministic: bool = True  # torch deterministic algorithms (exact resume on CPU)
    num_workers: int = 0  # DataLoader worker processes
    val_every_n_epochs: int = 0  # validation loss/mAP during training (0 = only the final eval)
    log_every_n_steps: int = 5  # CSV log interval in optimiser steps

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"TrainConfig.batch_size must be >= 1, got {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if self.warmup_epochs < 0:
            raise ValueError(f"TrainConfig.warmup_epochs must be >= 0, got {self.warmup_epochs}")
        if self.loss not in LOSS_KINDS:
            raise ValueError(f"TrainConfig.loss {self.loss!r}; choose from {', '.join(LOSS_KINDS)}")
        if self.precision not in ("auto", "32", "bf16"):
            raise ValueError(f"TrainConfig.precision {self.precision!r}; choose auto, 32 or bf16")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip}")
