"""CTR-GCN: channel-wise topology refinement GCN (Chen et al., ICCV 2021) on the COCO-17 graph.

Structure as in Uason-Chen/CTR-GCN ``model/ctrgcn.py`` and pyskl's 2-D keypoint configs (facts from
reference/baselines.md section 6.2; the code is our own, the release is CC BY-NC 4.0): ten units on
the shared channel plan; each unit is a CTR-GC spatial conv over the three subsets
``[I, In, Out]`` (:func:`~musclemap_lib.models.graph.ctrgcn_spatial`), the multi-scale temporal
module and the unit residual. 1,426,114 parameters at 20 classes (COCO-17, M=1) = the paper's 1.4M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap_lib.models.gcn_layers import GCNConfig, GCNUnit, SkeletonGCN, UnitSpec
from musclemap_lib.models.graph import ctrgcn_spatial
from musclemap_lib.models.layers import bn_init, conv_init
from musclemap_lib.models.registry import lookup, register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec
from musclemap_lib.muscles import NUM_MUSCLES
from musclemap_lib.skeleton import NUM_JOINTS


@dataclass(frozen=True)
class CTRGCNConfig(GCNConfig):
    """CTR-GCN hyper-parameters (defaults: the released configuration)."""

    rel_reduction: int = 8  # relation channels = in / rel_reduction (8 for 3- or 9-channel input)
    temporal_kernel: int = 5  # kernel of the multi-scale temporal module
    dilations: tuple[int, ...] = (1, 2)  # its dilated branches
    in_channels: int = 3  # x, y, confidence
    num_persons: int = 1  # M; data_bn normalises M*V*C features
    head_dropout: float = 0.0  # dropout before the classifier (0 in the release)


class CTRGC(nn.Module):
    """Channel-wise topology refinement graph conv for one subset.

    Two 1x1 convs give per-joint, time-averaged embeddings of ``rel`` channels; their pairwise
    differences through tanh, lifted by a 1x1 conv to C_out channels, give a per-channel
    refinement of the shared topology ``A``; a third 1x1 conv gives the values that the refined
    topology aggregates (in :class:`CTRGCNSpatial`).

    Shape:
        ``(N, C_in, T, V) -> ((N, C_out, V, V), (N, C_out, T, V))``.
    """

    def __init__(self, in_channels: int, out_channels: int, rel_reduction: int = 8) -> None:
        super().__init__()
        # The release fixes 8 relation channels for raw 3-/9-channel input (in // 8 would be 0).
        rel = 8 if in_channels in (3, 9) else in_channels // rel_reduction
        if rel < 1:
            raise ValueError(
                f"CTR-GC with {in_channels} input channels and rel_reduction={rel_reduction} has no "
                f"relation channel; widen the unit or lower rel_reduction"
            )
        self.query = nn.Conv2d(in_channels, rel, 1)
        self.key = nn.Conv2d(in_channels, rel, 1)
        self.value = nn.Conv2d(in_channels, out_channels, 1)
        self.lift = nn.Conv2d(rel, out_channels, 1)
        for m in (self.query, self.key, self.value, self.lift):
            conv_init(m)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the channel-wise refinement ``(N, C_out, V, V)`` and the values ``(N, C_out, T, V)``.

        The caller adds the shared topology (``refine * alpha + A``) and aggregates; parameters are
        not passed into this module, which keeps module hooks (FLOP counting) working.
        """
        q = self.query(x).mean(dim=2)  # (N, R, V)
        k = self.key(x).mean(dim=2)  # (N, R, V)
        rel = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # (N, R, V_target, V_source)
        return self.lift(rel), self.value(x)


class CTRGCNSpatial(nn.Module):
    """CTR-GCN's spatial unit: one :class:`CTRGC` per subset, summed; BN; down-projection; ReLU.

    ``PA`` (K, V, V) is learnable, initialised from the graph; ``alpha`` is shared and starts at 0,
    so training starts from the plain graph convolution.
    """

    def __init__(
        self, in_channels: int, out_channels: int, adjacency: np.ndarray, rel_reduction: int
    ) -> None:
        super().__init__()
        self.PA = nn.Parameter(torch.from_numpy(adjacency.astype(np.float32)))  # (K, V, V)
        self.alpha = nn.Parameter(torch.zeros(1))
        self.convs = nn.ModuleList(
            CTRGC(in_channels, out_channels, rel_reduction) for _ in range(adjacency.shape[0])
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.down = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        )
        for m in self.down.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1.0)
        bn_init(self.bn, 1e-6)  # the unit starts close to its down-projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = 0
        for k, conv in enumerate(self.convs):
            refine, values = conv(x)  # (N, C, V, V), (N, C, T, V)
            topo = refine * self.alpha + self.PA[k]  # PA[k] is [target, source]
            y = y + torch.einsum("ncuv,nctv->nctu", topo, values)
        return torch.relu(self.bn(y) + self.down(x))


class CTRGCNUnit(GCNUnit):
    """CTR-GCN spatial unit, multi-scale temporal conv, unit residual, ReLU.

    Shape:
        ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``.
    """

    def __init__(self, spec: UnitSpec, adjacency: np.ndarray, cfg: CTRGCNConfig) -> None:
        gcn = CTRGCNSpatial(spec.in_channels, spec.out_channels, adjacency, cfg.rel_reduction)
        super().__init__(gcn, spec, cfg.temporal_kernel, cfg.dilations)


class CTRGCN(SkeletonGCN):
    """CTR-GCN on COCO-17 skeletons ``batch['skeleton']`` ``(B, M, T, 17, 3)`` -> ``(B, K)``.

    Runs as :class:`~musclemap_lib.models.gcn_layers.SkeletonGCN` describes (``stem``, ``layers``,
    ``forward_head``).

    Args:
        cfg: :class:`CTRGCNConfig`.
        num_classes: number of muscle groups.
    """

    def __init__(self, cfg: CTRGCNConfig, num_classes: int = 20) -> None:
        adjacency = ctrgcn_spatial(NUM_JOINTS)  # (3, V, V), [target, source]
        super().__init__(
            cfg, lambda _, s: CTRGCNUnit(s, adjacency, cfg), num_classes, cfg.num_persons
        )
        self.cfg = cfg


CTRGCN_VARIANTS: dict[str, CTRGCNConfig] = {"ctrgcn": CTRGCNConfig()}


def config(variant: str = "ctrgcn", scale: ScaleSpec = PAPER, **overrides: Any) -> CTRGCNConfig:
    """A variant of :data:`CTRGCN_VARIANTS` with :class:`CTRGCNConfig` field overrides, scaled."""
    return lookup(CTRGCN_VARIANTS, variant, "CTR-GCN variant").scaled(scale, **overrides)


@register_model
def ctrgcn(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> CTRGCN:
    """CTR-GCN (1,426,114 parameters at paper scale, 20 classes); options: CTRGCNConfig fields."""
    return CTRGCN(config(scale=scale, **variant), num_classes)
