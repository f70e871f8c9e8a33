"""Shared blocks: the token MLP, stochastic depth and the weight initialisers of the families.

The MLP and DropPath are used by :mod:`musclemap_lib.models.mvit` (and, through it, TransM3E);
:func:`conv_init` / :func:`bn_init` are the initialisation scheme shared by the CTR-GCN and
HD-GCN releases (:mod:`musclemap_lib.models.gcn_layers`, ``ctrgcn``, ``hdgcn``).

Written for this study; the structure (an ``fc1 -> act -> drop -> fc2 -> drop`` MLP, per-sample
stochastic depth) is the one of huggingface/pytorch-image-models ``timm/layers/mlp.py`` and
``timm/layers/drop.py`` @ aa4b585 and of facebookresearch/SlowFast ``slowfast/models/common.py``
@ 287ec00.
"""

from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """Token MLP: ``Linear(in, hidden) -> GELU -> Dropout -> Linear(hidden, out) -> Dropout``.

    Args:
        in_features: input width.
        hidden_features: hidden width (``mlp_ratio * in_features`` in a transformer block).
        out_features: output width; ``in_features`` when ``None``.
        drop: dropout rate after each Linear (0 in MViTv2).

    Shape:
        ``(..., in_features) -> (..., out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int | None = None,
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        out_features = in_features if out_features is None else out_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch of a sample with probability ``p``.

    In training, each sample's branch is zeroed with probability ``p`` and the kept ones are
    scaled by ``1 / (1 - p)``, so the expectation is unchanged; in eval it is the identity.

    Args:
        p: drop probability in ``[0, 1)``.

    Shape:
        ``(B, ...) -> (B, ...)``.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropPath probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        # One Bernoulli draw per sample, broadcast over every other dimension.
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p:.3f}"


def init_transformer_weights(module: nn.Module) -> None:
    """Initialise as PySlowFast / torchvision do for MViT: Linear weights trunc-normal (std 0.02)
    with zero bias, LayerNorm weight 1 and bias 0. Other modules keep PyTorch's default."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def conv_init(conv: nn.Conv1d | nn.Conv2d) -> None:
    """Kaiming-normal (fan-out) weights, zero bias (the CTR-GCN / HD-GCN releases)."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def bn_init(bn: nn.BatchNorm1d | nn.BatchNorm2d, scale: float) -> None:
    """Constant BN scale, zero shift (the CTR-GCN / HD-GCN releases)."""
    nn.init.constant_(bn.weight, scale)
    nn.init.zeros_(bn.bias)
