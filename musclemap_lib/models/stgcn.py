"""ST-GCN: spatial temporal graph convolution (Yan et al., AAAI 2018) on the COCO-17 graph.

Structure as in yysijie/st-gcn ``net/st_gcn.py`` / ``net/utils/tgcn.py`` (facts from
reference/baselines.md section 6.1; the code is our own): ten units on the shared channel plan;
each unit is a partitioned graph conv (1x1 conv to K*C_out, then a sum over the K adjacency
matrices, each weighted element-wise by a learnable edge-importance mask), a temporal block
BN-ReLU-conv(9x1)-BN-dropout, and the unit residual.

PAPER: Table 2 lists ST-GCN at 2.6M parameters. Only the *uniform* partition (K=1) reproduces that
(2,635,268 at 20 classes); the canonical Kinetics config's *spatial* partition (K=3) gives
3,078,424. ASSUMPTION: we default to ``uniform``; ``partition="spatial"`` selects the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap_lib.models.gcn_layers import GCNConfig, SkeletonGCN, UnitSpec, residual_path
from musclemap_lib.models.graph import PARTITION_STRATEGIES, PartitionStrategy, stgcn_partitions
from musclemap_lib.models.registry import lookup, register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec
from musclemap_lib.muscles import NUM_MUSCLES
from musclemap_lib.skeleton import NUM_JOINTS


@dataclass(frozen=True)
class STGCNConfig(GCNConfig):
    """ST-GCN hyper-parameters (defaults: yysijie's Kinetics config but with K=1, see module doc)."""

    partition: PartitionStrategy = (
        "uniform"  # adjacency partition: uniform K=1 / distance / spatial
    )
    edge_importance: bool = True  # learnable K x V x V mask on the adjacency of every unit
    temporal_kernel: int = 9  # temporal conv kernel (odd)
    dropout: float = 0.0  # dropout at the end of each temporal block (0 in the Kinetics config)
    in_channels: int = 3  # x, y, confidence
    head_dropout: float = 0.0  # dropout before the classifier

    def __post_init__(self) -> None:
        if self.partition not in PARTITION_STRATEGIES:
            raise ValueError(
                f"unknown ST-GCN partition {self.partition!r}; choose from {PARTITION_STRATEGIES}"
            )
        if self.temporal_kernel < 1 or self.temporal_kernel % 2 == 0:
            raise ValueError(
                f"temporal_kernel must be odd and positive, got {self.temporal_kernel}"
            )


class STGCNUnit(nn.Module):
    """One ST-GCN unit: partitioned graph conv, temporal block, residual, ReLU.

    Shape:
        ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``.
    """

    def __init__(self, spec: UnitSpec, partitions: np.ndarray, cfg: STGCNConfig) -> None:
        super().__init__()
        k, v, _ = partitions.shape
        self.num_subsets = k
        self.register_buffer("A", torch.from_numpy(partitions.astype(np.float32)), persistent=False)
        # yysijie keeps the masks in a ParameterList beside the units; one per unit, the same count.
        self.importance = nn.Parameter(torch.ones(k, v, v)) if cfg.edge_importance else None
        self.gcn = nn.Conv2d(spec.in_channels, spec.out_channels * k, kernel_size=1)
        pad = (cfg.temporal_kernel - 1) // 2
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(spec.out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(
                spec.out_channels,
                spec.out_channels,
                kernel_size=(cfg.temporal_kernel, 1),
                stride=(spec.stride, 1),
                padding=(pad, 0),
            ),
            nn.BatchNorm2d(spec.out_channels),
            nn.Dropout(cfg.dropout, inplace=True),
        )
        self.residual = residual_path(
            spec.in_channels, spec.out_channels, spec.stride, spec.residual
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        a = self.A if self.importance is None else self.A * self.importance  # (K, V, V)
        y = self.gcn(x).reshape(n, self.num_subsets, -1, t, v)  # (N, K, C_out, T, V)
        y = torch.einsum("nkctv,kvw->nctw", y, a)  # a is [source, target]
        y = self.tcn(y)
        if self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)


class STGCN(SkeletonGCN):
    """ST-GCN on COCO-17 skeletons ``batch['skeleton']`` ``(B, M, T, 17, 3)`` -> ``(B, K)``.

    Runs as :class:`~musclemap_lib.models.gcn_layers.SkeletonGCN` describes (``stem``, ``layers``,
    ``forward_head``). data_bn normalises V*C features shared by all persons, so any M works.

    DEVIATION: the classifier is ``nn.Linear`` on the pooled feature where yysijie uses a 1x1
    ``Conv2d`` on it: the same function and parameter count. DEVIATION: initialisation is
    PyTorch's default for the units (yysijie's training script re-initialises convs with
    N(0, 0.02) and BN scales with N(1, 0.02)) and N(0, sqrt(2/K)) for the classifier as in the
    CTR-GCN/HD-GCN releases (:class:`~musclemap_lib.models.gcn_layers.SkeletonGCN`).

    Args:
        cfg: :class:`STGCNConfig`.
        num_classes: number of muscle groups.
    """

    def __init__(self, cfg: STGCNConfig, num_classes: int = 20) -> None:
        partitions = stgcn_partitions(cfg.partition, NUM_JOINTS)  # (K, V, V), [source, target]
        super().__init__(cfg, lambda _, s: STGCNUnit(s, partitions, cfg), num_classes, None)
        self.cfg = cfg


STGCN_VARIANTS: dict[str, STGCNConfig] = {
    # ASSUMPTION: uniform partition, the only one that reproduces the paper's 2.6M.
    "uniform": STGCNConfig(partition="uniform"),
    # The canonical Kinetics configuration (3.08M).
    "spatial": STGCNConfig(partition="spatial"),
}


def config(variant: str = "uniform", scale: ScaleSpec = PAPER, **overrides: Any) -> STGCNConfig:
    """A variant of :data:`STGCN_VARIANTS` with :class:`STGCNConfig` field overrides, scaled."""
    return lookup(STGCN_VARIANTS, variant, "ST-GCN variant").scaled(scale, **overrides)


@register_model
def stgcn(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> STGCN:
    """ST-GCN; ``variant="uniform"`` (default, 2,635,268 params) or ``"spatial"`` (3,078,424).

    The other options replace fields of :class:`STGCNConfig`; the stage plan is then scaled.
    """
    return STGCN(config(scale=scale, **variant), num_classes)
