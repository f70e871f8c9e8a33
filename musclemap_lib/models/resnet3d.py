"""The PySlowFast ResNet-50 family of Table 2: C2D, I3D, Slow and SlowFast.

One family, four variants. The variants differ only in data (:data:`VARIANTS`): the temporal
kernel of the stem, the per-stage temporal kernel basis of the bottlenecks' first conv, the
temporal max-pool after res2, and, for SlowFast, a second (fast) pathway with lateral fusions.

Sources (facts, not code): facebookresearch/SlowFast ``slowfast/models/video_model_builder.py``
(``_MODEL_STAGE_DEPTH``, ``_TEMPORAL_KERNEL_BASIS``, ``_POOL1``, ``FuseFastToSlow``),
``slowfast/models/resnet_helper.py``, ``stem_helper.py``, ``head_helper.py`` and the configs
``configs/Kinetics/{C2D,I3D,SLOW,SLOWFAST}_8x8_R50.yaml``, as summarised in
``shared/reference/baselines.md`` section 3.

Parameter counts at paper scale, 20 classes (tests/models/test_resnet3d.py checks them):
C2D 23,549,012 (= Table 2's 23.5M); I3D 27,264,852; Slow 31,675,476; SlowFast 33,690,588. The
paper's 20.4M / 24.3M / 25.3M for the last three cannot come from an R50 of this family
(baselines.md section 3.6; :mod:`musclemap_lib.models.audit` carries the explanation).

SlowFast input: the model reads ONE clip of T frames (the scale's clip, e.g. 16 at paper scale).
The fast pathway sees all T frames; the slow pathway sees every ``alpha``-th frame
(``x[:, :, ::alpha]``, i.e. ceil(T / alpha) frames: 4 of 16 at paper scale, 2 of 8 at cpu, 1 of 4
at smoke). The lateral fusion convs (temporal stride ``alpha``, padding ``kernel // 2``) produce
exactly ceil(T / alpha) steps too, so the two pathways line up for any T.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from musclemap_lib.modalities import VIDEO_CHANNELS, VIDEO_MODALITIES
from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.registry import check_options, lookup, register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec, scaled_depth, scaled_width
from musclemap_lib.muscles import NUM_MUSCLES

Quad = tuple[int, int, int, int]
TemporalBasis = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathwayConfig:
    """Widths and temporal kernels of one pathway (the only one, or SlowFast's slow / fast)."""

    stem_width: int  # output channels of the stem conv (64 slow, 8 fast at paper scale)
    stem_t: int  # temporal kernel of the stem conv (spatial 7x7, stride (1, 2, 2))
    inner_widths: Quad  # bottleneck inner width per stage res2..res5
    out_widths: Quad  # bottleneck output width per stage res2..res5
    # Per stage, the temporal kernels of the bottlenecks' first (1x1) conv, repeated cyclically
    # over the stage's blocks (PySlowFast _TEMPORAL_KERNEL_BASIS, NUM_BLOCK_TEMP_KERNEL = all).
    temporal_basis: TemporalBasis

    def __post_init__(self) -> None:
        for t in (self.stem_t, *(k for stage in self.temporal_basis for k in stage)):
            if t < 1 or t % 2 == 0:
                raise ValueError(f"temporal kernels must be odd and >= 1 (same padding), got {t}")
        if len(self.temporal_basis) != 4 or any(len(b) == 0 for b in self.temporal_basis):
            raise ValueError("temporal_basis needs one non-empty tuple per stage res2..res5")


@dataclass(frozen=True)
class ResNet3dConfig:
    """A ResNet-50 video model of the PySlowFast family (one or two pathways)."""

    slow: PathwayConfig  # the single pathway, or SlowFast's slow pathway
    fast: PathwayConfig | None = None  # SlowFast's fast pathway; None for C2D / I3D / Slow
    depths: Quad = (3, 4, 6, 3)  # bottleneck blocks per stage (ResNet-50)
    spatial_strides: Quad = (1, 2, 2, 2)  # spatial stride of each stage's first block
    pool1_t: int = 1  # temporal kernel = stride of the max-pool after res2 (1: no pool)
    alpha: int = 4  # SlowFast ALPHA: fast / slow frame-rate ratio (slow = every alpha-th frame)
    fusion_ratio: int = 2  # SlowFast FUSION_CONV_CHANNEL_RATIO: fusion out = ratio x fast width
    fusion_kernel: int = 7  # SlowFast FUSION_KERNEL_SZ: temporal kernel of the fusion conv
    dropout: float = 0.5  # dropout before the classifier (PySlowFast DROPOUT_RATE)
    fc_init_std: float = 0.01  # std of the classifier's normal init (PySlowFast FC_INIT_STD)
    zero_init_final_bn: bool = True  # gamma of each bottleneck's last BN starts at 0
    in_channels: int = 3  # channels of the input video (3 rgb / rgb_diff, 2 flow)

    def __post_init__(self) -> None:
        if self.pool1_t < 1:
            raise ValueError(f"pool1_t must be >= 1, got {self.pool1_t}")
        if self.fast is not None and (self.alpha < 1 or self.fusion_kernel % 2 == 0):
            raise ValueError("SlowFast needs alpha >= 1 and an odd fusion_kernel")
        if any(d < 1 for d in self.depths):
            raise ValueError(f"every stage needs at least one block, got depths {self.depths}")

    @property
    def head_in(self) -> int:
        """Width of the pooled feature fed to the classifier (2048, or 2048 + 256 for SlowFast)."""
        return self.slow.out_widths[-1] + (self.fast.out_widths[-1] if self.fast else 0)


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """Bottleneck with the temporal kernel on the first 1x1 conv (PySlowFast, STRIDE_1X1 False).

    a: (t,1,1) conv -> BN -> ReLU; b: (1,3,3) conv, spatial stride s -> BN -> ReLU;
    c: 1x1x1 conv -> BN (gamma zero-initialised); shortcut: identity, or 1x1x1 conv with stride
    (1,s,s) + BN when the width or the resolution changes; ReLU after the sum. No conv biases.
    """

    def __init__(self, c_in: int, c_inner: int, c_out: int, t_kernel: int, stride: int) -> None:
        super().__init__()
        self.t_kernel = t_kernel
        self.conv_a = nn.Conv3d(
            c_in, c_inner, (t_kernel, 1, 1), padding=(t_kernel // 2, 0, 0), bias=False
        )
        self.bn_a = nn.BatchNorm3d(c_inner)
        self.conv_b = nn.Conv3d(
            c_inner, c_inner, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False
        )
        self.bn_b = nn.BatchNorm3d(c_inner)
        self.conv_c = nn.Conv3d(c_inner, c_out, 1, bias=False)
        self.bn_c = nn.BatchNorm3d(c_out)
        self.bn_c.is_final_bn = True  # marker read by ResNet3d._init_weights
        self.shortcut: nn.Module | None = None
        if c_in != c_out or stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv3d(c_in, c_out, 1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(c_out),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, c_in, T, H, W) -> (B, c_out, T, H / s, W / s)
        y = self.relu(self.bn_a(self.conv_a(x)))
        y = self.relu(self.bn_b(self.conv_b(y)))
        y = self.bn_c(self.conv_c(y))
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.relu(y + skip)


class Stem(nn.Module):
    """(t,7,7) conv, stride (1,2,2) -> BN -> ReLU -> (1,3,3) max-pool, stride (1,2,2)."""

    def __init__(self, c_in: int, c_out: int, t_kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            c_in, c_out, (t_kernel, 7, 7), (1, 2, 2), (t_kernel // 2, 3, 3), bias=False
        )
        self.bn = nn.BatchNorm3d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, T, H, W) -> (B, c_out, T, H / 4, W / 4)
        return self.pool(self.relu(self.bn(self.conv(x))))


class FuseFastToSlow(nn.Module):
    """SlowFast lateral connection: time-strided conv of the fast features, concatenated to slow.

    Conv3d(c_fast -> ratio * c_fast, (k,1,1), stride (alpha,1,1), padding (k//2,0,0)) -> BN -> ReLU.
    With T_fast frames it yields ceil(T_fast / alpha) steps, the slow pathway's length.
    """

    def __init__(self, c_fast: int, ratio: int, kernel: int, alpha: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            c_fast, ratio * c_fast, (kernel, 1, 1), (alpha, 1, 1), (kernel // 2, 0, 0), bias=False
        )
        self.bn = nn.BatchNorm3d(ratio * c_fast)
        self.relu = nn.ReLU(inplace=True)

    @property
    def out_channels(self) -> int:
        """Channels added to the slow pathway."""
        return self.conv.out_channels

    def forward(self, slow: torch.Tensor, fast: torch.Tensor) -> torch.Tensor:
        # slow: (B, Cs, Ts, H, W), fast: (B, Cf, Tf, H, W) -> (B, Cs + ratio * Cf, Ts, H, W)
        lateral = self.relu(self.bn(self.conv(fast)))
        if lateral.shape[2] != slow.shape[2]:
            raise ValueError(
                f"SlowFast fusion: fast pathway gives {lateral.shape[2]} steps after the stride-"
                f"{self.conv.stride[0]} conv but the slow pathway has {slow.shape[2]}"
            )
        return torch.cat([slow, lateral], dim=1)


class Pathway(nn.Module):
    """Stem and the four bottleneck stages res2..res5 of one pathway.

    ``extra_in`` are the channels concatenated onto each stage's input by lateral fusions
    (index 0 for res2, ... 3 for res5); all zero for a single-pathway model.
    """

    def __init__(
        self,
        cfg: PathwayConfig,
        in_channels: int,
        depths: Quad,
        spatial_strides: Quad,
        extra_in: Quad = (0, 0, 0, 0),
    ) -> None:
        super().__init__()
        self.stem = Stem(in_channels, cfg.stem_width, cfg.stem_t)
        stages = []
        c_in = cfg.stem_width
        for k in range(4):
            blocks = []
            for i in range(depths[k]):
                basis = cfg.temporal_basis[k]
                blocks.append(
                    Bottleneck(
                        c_in=(c_in + extra_in[k]) if i == 0 else cfg.out_widths[k],
                        c_inner=cfg.inner_widths[k],
                        c_out=cfg.out_widths[k],
                        t_kernel=basis[i % len(basis)],
                        stride=spatial_strides[k] if i == 0 else 1,
                    )
                )
            stages.append(nn.Sequential(*blocks))
            c_in = cfg.out_widths[k]
        self.stages = nn.ModuleList(stages)  # res2, res3, res4, res5


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class ResNet3d(AMGEModel):
    """C2D / I3D / Slow (one pathway) or SlowFast (two pathways), with a linear head.

    Args:
        cfg: the architecture (see :data:`VARIANTS` and :func:`config`).
        modality: the video modality read from the batch (``rgb``, ``rgb_diff`` or ``flow``).
        num_classes: number of muscle groups.
    """

    def __init__(self, cfg: ResNet3dConfig, modality: str = "rgb", num_classes: int = 20) -> None:
        if modality not in VIDEO_MODALITIES:
            raise ValueError(
                f"ResNet3d reads a video modality; got {modality!r}, expected one of "
                f"{', '.join(VIDEO_MODALITIES)}"
            )
        if cfg.in_channels != VIDEO_CHANNELS[modality]:
            raise ValueError(
                f"config has in_channels={cfg.in_channels} but modality {modality!r} has "
                f"{VIDEO_CHANNELS[modality]} channels; build through the registry, which sets it"
            )
        super().__init__((modality,), num_classes)
        self.cfg = cfg
        fusions: list[FuseFastToSlow] = []
        extra: Quad = (0, 0, 0, 0)
        if cfg.fast is not None:
            # Fusions after the stem, res2, res3, res4 (none after res5).
            fast_widths = (cfg.fast.stem_width, *cfg.fast.out_widths[:3])
            fusions = [
                FuseFastToSlow(c, cfg.fusion_ratio, cfg.fusion_kernel, cfg.alpha)
                for c in fast_widths
            ]
            extra = tuple(f.out_channels for f in fusions)  # type: ignore[assignment]
        paths = [Pathway(cfg.slow, cfg.in_channels, cfg.depths, cfg.spatial_strides, extra)]
        if cfg.fast is not None:
            paths.append(Pathway(cfg.fast, cfg.in_channels, cfg.depths, cfg.spatial_strides))
        self.pathways = nn.ModuleList(paths)  # [slow] or [slow, fast]
        self.fusions = nn.ModuleList(fusions)
        self.pool1 = (
            nn.MaxPool3d((cfg.pool1_t, 1, 1), (cfg.pool1_t, 1, 1)) if cfg.pool1_t > 1 else None
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cfg.head_in, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # PySlowFast init_helper: MSRA fill (fan_out) for convs, BN gamma 1 / beta 0 except the
        # zero-initialised final BN of each bottleneck, classifier N(0, fc_init_std), bias 0.
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                final = getattr(m, "is_final_bn", False) and self.cfg.zero_init_final_bn
                nn.init.constant_(m.weight, 0.0 if final else 1.0)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc.weight, std=self.cfg.fc_init_std)
        nn.init.zeros_(self.fc.bias)

    def _split(self, x: torch.Tensor) -> list[torch.Tensor]:
        """One clip -> the pathway inputs: ``[x]``, or SlowFast's ``[x[:, :, ::alpha], x]``."""
        t = x.shape[2]
        if self.cfg.pool1_t > 1 and t < self.cfg.pool1_t:
            raise ValueError(
                f"clip has {t} frames but the temporal pool after res2 needs at least "
                f"{self.cfg.pool1_t}; give a longer clip"
            )
        if self.cfg.fast is None:
            return [x]
        # DEVIATION: PySlowFast's PackPathway picks T // alpha frames spread with torch.linspace
        # over [0, T - 1] (frames 0, 5, 10, 15 of 16); we take every alpha-th frame (0, 4, 8, 12),
        # the frames the stride-alpha fusion convs are centred on, so the pathways line up for
        # any T (ceil(T / alpha) steps on both). Same count for T divisible by alpha; no
        # parameter depends on it.
        return [x[:, :, :: self.cfg.alpha], x]

    def _fuse(self, i: int, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        if not self.fusions:
            return xs
        return [self.fusions[i](xs[0], xs[1]), xs[1]]

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Video clip ``(B, C, T, H, W)`` -> per-pathway res5 maps ``[(B, 2048, T', H/32, W/32)]``
        (plus the fast map ``(B, 256, T, H/32, W/32)`` for SlowFast)."""
        xs = [p.stem(xi) for p, xi in zip(self.pathways, self._split(x), strict=True)]
        xs = self._fuse(0, xs)
        for k in range(4):
            xs = [p.stages[k](xi) for p, xi in zip(self.pathways, xs, strict=True)]
            if k < 3:
                xs = self._fuse(k + 1, xs)
            if k == 0 and self.pool1 is not None:
                xs = [self.pool1(xi) for xi in xs]
        return xs

    def forward_head(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Global average pool each pathway, concatenate, dropout, linear -> logits (B, classes)."""
        # ASSUMPTION: global average over (T', H', W'); PySlowFast's AvgPool3d with a fixed
        # (T', 7, 7) kernel is the same thing at paper resolution and also works at cpu/smoke size.
        pooled = torch.cat([f.mean(dim=(2, 3, 4)) for f in feats], dim=1)  # (B, head_in)
        return self.fc(self.dropout(pooled))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Batch dict -> logits ``(B, num_classes)``."""
        (x,) = self.inputs(batch)
        return self.forward_head(self.forward_features(x))


# --------------------------------------------------------------------------------------------
# Variants (data) and builders
# --------------------------------------------------------------------------------------------

_INNER: Quad = (64, 128, 256, 512)  # WIDTH_PER_GROUP 64, NUM_GROUPS 1
_OUT: Quad = (256, 512, 1024, 2048)


def _r50(stem_t: int, basis: TemporalBasis, beta_inv: int = 1) -> PathwayConfig:
    return PathwayConfig(
        stem_width=64 // beta_inv,
        stem_t=stem_t,
        inner_widths=tuple(w // beta_inv for w in _INNER),  # type: ignore[arg-type]
        out_widths=tuple(w // beta_inv for w in _OUT),  # type: ignore[arg-type]
        temporal_basis=basis,
    )


# PAPER: Table 2 "C2D / I3D / Slow / SlowFast (R50)"; configs from PySlowFast (baselines.md 3.2).
VARIANTS: dict[str, ResNet3dConfig] = {
    # configs/Kinetics/C2D_8x8_R50.yaml: no temporal kernels; temporal max-pool 2 after res2.
    "c2d_r50": ResNet3dConfig(slow=_r50(1, ((1,), (1,), (1,), (1,))), pool1_t=2),
    # configs/Kinetics/I3D_8x8_R50.yaml: stem 5; res2 3; res3 3,1; res4 3,1; res5 1,3; pool 2.
    "i3d_r50": ResNet3dConfig(slow=_r50(5, ((3,), (3, 1), (3, 1), (1, 3))), pool1_t=2),
    # configs/Kinetics/SLOW_8x8_R50.yaml: temporal kernels 3 in res4 and res5 only; no pool.
    "slow_r50": ResNet3dConfig(slow=_r50(1, ((1,), (1,), (3,), (3,)))),
    # configs/Kinetics/SLOWFAST_8x8_R50.yaml: ALPHA 4, BETA_INV 8, fusion ratio 2, kernel 7.
    "slowfast_r50": ResNet3dConfig(
        slow=_r50(1, ((1,), (1,), (3,), (3,))),
        fast=_r50(5, ((3,), (3,), (3,), (3,)), beta_inv=8),
        alpha=4,
        fusion_ratio=2,
        fusion_kernel=7,
    ),
}


def _scale_pathway(p: PathwayConfig, scale: ScaleSpec) -> PathwayConfig:
    return dataclasses.replace(
        p,
        stem_width=scaled_width(p.stem_width, scale),
        inner_widths=tuple(scaled_width(w, scale) for w in p.inner_widths),  # type: ignore[arg-type]
        out_widths=tuple(scaled_width(w, scale) for w in p.out_widths),  # type: ignore[arg-type]
    )


_OVERRIDABLE = {f.name for f in dataclasses.fields(ResNet3dConfig)} - {"slow", "fast"}


def config(
    name: str, scale: ScaleSpec = PAPER, modality: str = "rgb", **overrides: Any
) -> ResNet3dConfig:
    """The configuration of a variant at a scale, for a modality, with field overrides.

    Every width goes through :func:`scaled_width` and every stage depth through
    :func:`scaled_depth` (the rules of :mod:`musclemap_lib.models.scales`); temporal kernels,
    strides, pooling and SlowFast's alpha / fusion settings are kept. Note: the widths' rounding
    floor (``width_multiple``) makes the fast pathway relatively wider than 1/8 of the slow one
    at cpu/smoke scale. ``overrides`` replace fields of :class:`ResNet3dConfig` (not the
    pathways) after the scaling.

    Raises:
        ValueError: for an unknown variant or a modality that is not video.
        TypeError: for an unknown override.
    """
    cfg = lookup(VARIANTS, name, "ResNet3d variant")
    if modality not in VIDEO_CHANNELS:
        raise ValueError(
            f"ResNet3d reads a video modality; got {modality!r}, expected one of "
            f"{', '.join(VIDEO_MODALITIES)}"
        )
    check_options(overrides, _OVERRIDABLE, f"{name}", error=TypeError)
    cfg = dataclasses.replace(
        cfg,
        slow=_scale_pathway(cfg.slow, scale),
        fast=_scale_pathway(cfg.fast, scale) if cfg.fast is not None else None,
        depths=tuple(scaled_depth(d, scale) for d in cfg.depths),  # type: ignore[arg-type]
        in_channels=VIDEO_CHANNELS[modality],
    )
    return dataclasses.replace(cfg, **overrides)


def _build(
    name: str, scale: ScaleSpec, num_classes: int, modality: str = "rgb", **overrides: Any
) -> ResNet3d:
    cfg = config(name, scale, modality, **overrides)
    return ResNet3d(cfg, modality=modality, num_classes=num_classes)


@register_model
def c2d_r50(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> ResNet3d:
    """C2D ResNet-50 (no temporal kernels, temporal pool after res2)."""
    return _build("c2d_r50", scale, num_classes, **variant)


@register_model
def i3d_r50(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> ResNet3d:
    """I3D ResNet-50 (inflated temporal kernels, temporal pool after res2)."""
    return _build("i3d_r50", scale, num_classes, **variant)


@register_model
def slow_r50(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> ResNet3d:
    """Slow-only ResNet-50 (temporal kernels in res4 and res5)."""
    return _build("slow_r50", scale, num_classes, **variant)


@register_model
def slowfast_r50(
    scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any
) -> ResNet3d:
    """SlowFast ResNet-50 8x8 (alpha 4, beta 1/8); reads one clip, slow = every 4th frame."""
    return _build("slowfast_r50", scale, num_classes, **variant)
