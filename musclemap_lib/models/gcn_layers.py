"""Blocks shared by the skeleton GCNs (ST-GCN, CTR-GCN, HD-GCN): one implementation each.

* :class:`GCNStage` / :func:`unit_plan` / :func:`scale_stages` / :class:`GCNConfig`: the 10-unit
  channel plan of all three models (reference/baselines.md section 6) and its cpu/smoke reduction;
* :class:`UnitTCN`: temporal conv + BN (with kernel 1, the strided residual of every unit);
* :func:`residual_path`: none / identity / :class:`UnitTCN`, as the originals choose it;
* :class:`MultiScaleTemporalConv`: CTR-GCN's temporal module, also used by HD-GCN;
* :class:`SkeletonDataBN`: the input BatchNorm over joints x channels (x persons);
* :class:`SkeletonGCN`: the model skeleton common to all three: ``stem`` (layout + data_bn),
  ``layers`` (the units), ``forward_head`` (global pooling + linear classifier).

Layout: the batch holds ``skeleton`` as ``(B, M, T, V, C)``; internally the models use the
originals' ``(N, C, T, V, M)`` and, per unit, ``(N*M, C, T, V)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from musclemap_lib.modalities import SKELETON_CHANNELS
from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.layers import bn_init, conv_init
from musclemap_lib.models.scales import ScaleSpec, scaled_depth, scaled_width
from musclemap_lib.skeleton import NUM_JOINTS


# ----------------------------------------------------------------------------------------------
# The channel plan
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GCNStage:
    """A run of GCN units with the same output width."""

    channels: int  # output channels of every unit of the stage
    units: int  # number of units
    stride: int  # temporal stride of the stage's first unit (the others use 1)


# The plan of ST-GCN, CTR-GCN and HD-GCN: 64 x4, 128 x3 (first strided), 256 x3 (first strided).
GCN_STAGES: tuple[GCNStage, ...] = (GCNStage(64, 4, 1), GCNStage(128, 3, 2), GCNStage(256, 3, 2))


@dataclass(frozen=True)
class UnitSpec:
    """One GCN unit of the plan."""

    in_channels: int  # channels read
    out_channels: int  # channels written
    stride: int  # temporal stride
    residual: bool  # the unit-level residual (False only for the very first unit)


def scale_stages(stages: Sequence[GCNStage], scale: ScaleSpec) -> tuple[GCNStage, ...]:
    """Shrink a stage plan by the rules of :mod:`musclemap_lib.models.scales`.

    Widths go through :func:`scaled_width`, unit counts through :func:`scaled_depth`; the temporal
    strides are kept, so a clip is downsampled by the same factor (4) at every scale.
    """
    return tuple(
        GCNStage(scaled_width(s.channels, scale), scaled_depth(s.units, scale), s.stride)
        for s in stages
    )


def unit_plan(stages: Sequence[GCNStage], in_channels: int) -> tuple[UnitSpec, ...]:
    """Expand stages into units; the first unit of the network has no residual (as all originals)."""
    specs: list[UnitSpec] = []
    c_in = in_channels
    for stage in stages:
        if stage.units < 1 or stage.channels < 1 or stage.stride < 1:
            raise ValueError(f"a GCN stage needs positive channels/units/stride, got {stage}")
        for i in range(stage.units):
            stride = stage.stride if i == 0 else 1
            specs.append(UnitSpec(c_in, stage.channels, stride, residual=bool(specs)))
            c_in = stage.channels
    if not specs:
        raise ValueError("a GCN needs at least one stage")
    return tuple(specs)


C = TypeVar("C", bound="GCNConfig")


@dataclass(frozen=True)
class GCNConfig:
    """What the config of every GCN family starts with: the channel plan that a scale shrinks."""

    stages: tuple[GCNStage, ...] = GCN_STAGES  # channel plan; cpu/smoke scale it

    def scaled(self: C, scale: ScaleSpec, **overrides: Any) -> C:
        """This config with field overrides, then its stage plan scaled (:func:`scale_stages`).

        The shared body of each GCN family's ``config(variant, scale, **overrides)``.

        Raises:
            ValueError: for an override that is not a field of the config.
        """
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for {type(self).__name__}; valid: {sorted(fields)}"
            )
        cfg = dataclasses.replace(self, **overrides)
        return dataclasses.replace(cfg, stages=scale_stages(cfg.stages, scale))


# ----------------------------------------------------------------------------------------------
# Temporal blocks
# ----------------------------------------------------------------------------------------------
class UnitTCN(nn.Module):
    """Temporal convolution ``(kernel, 1)`` with bias, then BatchNorm.

    With ``kernel_size=1`` this is the strided residual / down-projection of every GCN unit.

    Shape:
        ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=(kernel_size, 1),
            padding=((kernel_size - 1) // 2, 0),
            stride=(stride, 1),
        )
        self.bn = nn.BatchNorm2d(out_channels)
        conv_init(self.conv)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def residual_path(
    in_channels: int, out_channels: int, stride: int, enabled: bool
) -> nn.Module | None:
    """The unit residual: ``None`` (no residual), identity, or a strided 1x1 :class:`UnitTCN`."""
    if not enabled:
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return UnitTCN(in_channels, out_channels, kernel_size=1, stride=stride)


class TemporalConv(nn.Module):
    """Dilated temporal conv ``(kernel, 1)`` with "same" padding and bias, then BatchNorm.

    HD-GCN writes the bias as a separate parameter added after a bias-free conv; that is the same
    function with the same parameter count, so one block serves both models.
    """

    def __init__(
        self, channels_in: int, channels_out: int, kernel_size: int, stride: int, dilation: int
    ) -> None:
        super().__init__()
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            channels_in,
            channels_out,
            kernel_size=(kernel_size, 1),
            padding=(pad, 0),
            stride=(stride, 1),
            dilation=(dilation, 1),
        )
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class MultiScaleTemporalConv(nn.Module):
    """CTR-GCN's multi-scale temporal module (also HD-GCN's), without an internal residual.

    ``len(dilations) + 2`` branches of ``out_channels / branches`` channels each, concatenated:
    per dilation ``d`` a 1x1 conv + BN + ReLU + :class:`TemporalConv` (kernel, dilation ``d``,
    stride); a 1x1 conv + BN + ReLU + max-pool (3, stride) + BN branch; a strided 1x1 conv + BN.

    Shape:
        ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 5,
        stride: int = 1,
        dilations: Sequence[int] = (1, 2),
    ) -> None:
        super().__init__()
        n_branches = len(dilations) + 2
        if out_channels % n_branches:
            raise ValueError(
                f"MultiScaleTemporalConv splits {out_channels} channels into {n_branches} "
                f"branches; use a multiple of {n_branches}"
            )
        bc = out_channels // n_branches

        def pointwise() -> list[nn.Module]:
            return [nn.Conv2d(in_channels, bc, 1), nn.BatchNorm2d(bc), nn.ReLU(inplace=True)]

        branches: list[nn.Module] = [
            nn.Sequential(*pointwise(), TemporalConv(bc, bc, kernel_size, stride, d))
            for d in dilations
        ]
        branches.append(
            nn.Sequential(
                *pointwise(),
                nn.MaxPool2d(kernel_size=(3, 1), stride=(stride, 1), padding=(1, 0)),
                nn.BatchNorm2d(bc),
            )
        )
        branches.append(
            nn.Sequential(nn.Conv2d(in_channels, bc, 1, stride=(stride, 1)), nn.BatchNorm2d(bc))
        )
        self.branches = nn.ModuleList(branches)
        for m in self.modules():  # the releases' weights_init for this module
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


class GCNUnit(nn.Module):
    """A CTR-GCN / HD-GCN unit: spatial GCN -> multi-scale temporal conv, plus residual, then ReLU.

    A subclass builds its spatial ``gcn`` and passes it in; the temporal module and the unit
    residual (``None`` for the first unit) are built here, after it, and the forward is the same
    for both models. Shape: ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``.

    Args:
        gcn: the spatial graph convolution ``(N, C_in, T, V) -> (N, C_out, T, V)``.
        spec: the unit's place in the plan (channels, stride, residual).
        temporal_kernel: kernel of the multi-scale temporal module.
        dilations: its dilated branches.
    """

    def __init__(
        self, gcn: nn.Module, spec: UnitSpec, temporal_kernel: int, dilations: tuple[int, ...]
    ) -> None:
        super().__init__()
        self.gcn = gcn
        c_in, c_out, stride = spec.in_channels, spec.out_channels, spec.stride
        self.tcn = MultiScaleTemporalConv(c_out, c_out, temporal_kernel, stride, dilations)
        self.residual = residual_path(c_in, c_out, stride, spec.residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)


# ----------------------------------------------------------------------------------------------
# Input normalisation and the model skeleton
# ----------------------------------------------------------------------------------------------
class SkeletonDataBN(nn.Module):
    """BatchNorm1d over the joint x channel (x person) features of the raw skeleton.

    ST-GCN normalises each person alike (``V*C`` features); CTR-GCN and HD-GCN give every person
    slot its own statistics (``M*V*C`` features), which fixes M.

    Shape:
        ``(N, C, T, V, M) -> (N*M, C, T, V)``.
    """

    def __init__(self, in_channels: int, num_joints: int, num_persons: int | None) -> None:
        super().__init__()
        self.num_persons = num_persons  # None: per-person statistics shared by all M persons
        self.bn = nn.BatchNorm1d((num_persons or 1) * num_joints * in_channels)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2)  # (N, M, V, C, T)
        x = x.reshape(n * m, v * c, t) if self.num_persons is None else x.reshape(n, m * v * c, t)
        x = self.bn(x)
        x = x.reshape(n, m, v, c, t).permute(0, 1, 3, 4, 2)  # (N, M, C, T, V)
        return x.reshape(n * m, c, t, v)


class GCNFamilyConfig(Protocol):
    """The fields of a GCN family's config that :class:`SkeletonGCN` reads."""

    stages: tuple[GCNStage, ...]  # the channel plan (already scaled)
    in_channels: int  # channels per joint (x, y, confidence)
    head_dropout: float  # dropout before the classifier


class SkeletonGCN(AMGEModel):
    """What ST-GCN, CTR-GCN and HD-GCN share: input layout, data_bn, a list of units, the head.

    The units follow the plan of ``cfg.stages`` (:func:`unit_plan`); ``unit(i, spec)`` builds
    unit ``i``. ``num_persons`` is the number of person slots data_bn normalises (``None``: any
    M, with statistics shared by the persons).

    The pieces are public so that a model can be run block by block (TransM3E inserts tokens
    after the first unit)::

        x = model.stem(skeleton)            # (B, M, T, V, 3) -> (B*M, C0, T, V), after data_bn
        for layer in model.layers:          # each (N, C, T, V) -> (N, C', T', V)
            x = layer(x)
        feats = x.reshape(B, M, *x.shape[1:])   # (B, M, C, T', V)
        logits = model.forward_head(feats)  # (B, num_classes)

    Attributes:
        layers: ``nn.ModuleList`` of the GCN units.
        layer_channels: output channels of each unit.
        layer_strides: temporal stride of each unit.
        num_features: channels of the pooled feature (the classifier's input).
    """

    def __init__(
        self,
        cfg: GCNFamilyConfig,
        unit: Callable[[int, UnitSpec], nn.Module],
        num_classes: int,
        num_persons: int | None,
    ) -> None:
        super().__init__(("skeleton",), num_classes)
        specs = unit_plan(cfg.stages, cfg.in_channels)
        units = [unit(i, s) for i, s in enumerate(specs)]  # they draw their weights first
        if cfg.in_channels != SKELETON_CHANNELS:
            raise ValueError(
                f"{type(self).__name__} reads (x, y, confidence) skeletons: in_channels must be "
                f"{SKELETON_CHANNELS}, got {cfg.in_channels}"
            )
        self.in_channels = cfg.in_channels
        self.num_joints = NUM_JOINTS
        self.num_persons = num_persons  # None: any M
        self.data_bn = SkeletonDataBN(cfg.in_channels, NUM_JOINTS, num_persons)
        self.layers = nn.ModuleList(units)
        self.layer_channels: tuple[int, ...] = tuple(s.out_channels for s in specs)
        self.layer_strides: tuple[int, ...] = tuple(s.stride for s in specs)
        self.num_features = self.layer_channels[-1]
        self.dropout = nn.Dropout(cfg.head_dropout)
        self.fc = nn.Linear(self.num_features, num_classes)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / num_classes))
        nn.init.zeros_(self.fc.bias)

    def stem(self, skeleton: torch.Tensor) -> torch.Tensor:
        """Check the skeleton, move to the originals' layout and apply data_bn.

        Args:
            skeleton: ``(B, M, T, V, C)`` joints (x, y, confidence).

        Returns:
            ``(B*M, C, T, V)``, what the first unit reads.

        Raises:
            ValueError: for a rank, joint count, channel count or person count the model was not
                built for.
        """
        name = type(self).__name__
        if skeleton.ndim != 5:
            raise ValueError(
                f"{name} expects a skeleton (B, M, T, V, C), got {tuple(skeleton.shape)}"
            )
        _, m, _, v, c = skeleton.shape
        if v != self.num_joints:
            raise ValueError(
                f"{name} is built on the COCO-17 graph ({self.num_joints} joints) but the skeleton "
                f"has V={v} joints; convert the keypoints to the COCO-17 layout of "
                f"musclemap_lib.skeleton"
            )
        if c != self.in_channels:
            raise ValueError(
                f"{name} reads {self.in_channels} channels per joint (x, y, confidence), got C={c}"
            )
        if self.num_persons is not None and m != self.num_persons:
            raise ValueError(
                f"{name} normalises {self.num_persons} person slot(s) (data_bn over M*V*C) but the "
                f"skeleton has M={m}; build it with num_persons={m} or select "
                f"{self.num_persons} person(s) in the data pipeline"
            )
        x = skeleton.permute(0, 4, 2, 3, 1)  # (N, C, T, V, M), the originals' layout
        return self.data_bn(x)

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Run the stem and every unit.

        Returns:
            ``(B, M, C, T', V)`` feature maps of the last unit.
        """
        (skeleton,) = self.inputs(batch)
        b, m = skeleton.shape[:2]
        x = self.stem(skeleton)  # (B*M, C0, T, V)
        for layer in self.layers:
            x = layer(x)  # (B*M, C_i, T_i, V)
        return x.reshape(b, m, *x.shape[1:])

    def forward_head(self, feats: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average over (T, V), mean over persons, dropout, linear classifier.

        Args:
            feats: ``(B, M, C, T, V)`` from :meth:`forward_features`.
            pre_logits: return the pooled ``(B, C)`` feature instead of the logits.

        Returns:
            ``(B, num_classes)`` logits (or ``(B, C)`` with ``pre_logits``).
        """
        if feats.ndim != 5 or feats.shape[2] != self.num_features:
            raise ValueError(
                f"forward_head expects (B, M, {self.num_features}, T, V) features, got "
                f"{tuple(feats.shape)}; reshape the units' (B*M, C, T, V) output to (B, M, C, T, V)"
            )
        pooled = feats.mean(dim=(3, 4)).mean(dim=1)  # (B, C)
        if pre_logits:
            return pooled
        return self.fc(self.dropout(pooled))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Logits ``(B, num_classes)`` from ``batch['skeleton']`` ``(B, M, T, V, 3)``."""
        return self.forward_head(self.forward_features(batch))


__all__ = [
    "GCN_STAGES",
    "GCNConfig",
    "GCNFamilyConfig",
    "GCNStage",
    "GCNUnit",
    "MultiScaleTemporalConv",
    "SkeletonDataBN",
    "SkeletonGCN",
    "TemporalConv",
    "UnitSpec",
    "UnitTCN",
    "residual_path",
    "scale_stages",
    "unit_plan",
]
