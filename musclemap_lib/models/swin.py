"""Video Swin Transformer S and B (baselines of Table 2), built from torchvision's ``SwinTransformer3d``.

The blocks are torchvision's (pytorch/vision ``torchvision/models/video/swin_transformer.py``
@ 772211c, itself modified from SwinTransformer/Video-Swin-Transformer); this file only holds the
configurations of ../shared/reference/baselines.md section 5 (Video-Swin-Transformer
``configs/_base_/models/swin/swin_small.py`` / ``swin_base.py``, ``*_patch244_window877``), the
rules that shrink them for the ``cpu`` and ``smoke`` scales, and the study's model interface
(batch dict in, logits out; ``forward_features`` / ``forward_head``; the I3DHead classifier:
average pool, Dropout 0.5, Linear).

The submodules keep torchvision's names (``patch_embed``, ``features``, ``norm``, ``head``), so a
torchvision ``swin3d_s`` / ``swin3d_b`` state dict loads as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import Any

import torch
from torch import nn
from torchvision.models.video.swin_transformer import PatchEmbed3d, SwinTransformer3d

from musclemap_lib.modalities import VIDEO_CHANNELS, VIDEO_MODALITIES
from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.registry import check_options, lookup, register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec, scaled_depth, scaled_heads
from musclemap_lib.muscles import NUM_MUSCLES

Triple = tuple[int, int, int]


@dataclass(frozen=True)
class VideoSwinConfig:
    """Configuration of a Video Swin network (validated in ``__post_init__``)."""

    embed_dim: int = 96  # width C of the first stage; stage i has C * 2**i
    depths: tuple[int, ...] = (2, 2, 18, 2)  # blocks per stage (shifted window every other block)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)  # heads per stage (head width 32 at paper scale)
    window_size: Triple = (8, 7, 7)  # 3-D attention window (t, h, w) in tokens
    patch_size: Triple = (2, 4, 4)  # patch embedding kernel = stride (t, h, w)
    mlp_ratio: float = 4.0  # MLP hidden width / block width
    drop_path_rate: float = 0.1  # stochastic depth of the last block; linear ramp from 0
    head_dropout: float = 0.5  # dropout before the classifier (I3DHead)
    num_frames: int = 16  # clip length T the window was chosen for
    crop_size: int = 224  # input side H = W the window was chosen for

    def __post_init__(self) -> None:
        if len(self.depths) != len(self.num_heads) or min(self.depths) < 1:
            raise ValueError(
                f"depths {self.depths} and num_heads {self.num_heads} must have one entry >= 1 "
                "per stage"
            )
        for i, h in enumerate(self.num_heads):
            if (self.embed_dim * 2**i) % h:
                raise ValueError(
                    f"stage {i}: width {self.embed_dim * 2**i} is not divisible by {h} heads"
                )
        grid = self.patch_grid
        if any(n % w for n, w in zip(grid, self.window_size, strict=True)):
            raise ValueError(
                f"window {self.window_size} does not tile the first-stage token grid {grid} of a "
                f"{self.num_frames}x{self.crop_size}x{self.crop_size} clip; choose a window that "
                "divides it (swin.config does this for the reduced scales)"
            )

    @property
    def patch_grid(self) -> Triple:
        """Token grid (T', H', W') of the first stage."""
        size = (self.num_frames, self.crop_size, self.crop_size)
        return tuple(-(-n // p) for n, p in zip(size, self.patch_size, strict=True))  # type: ignore[return-value]

    @property
    def out_dim(self) -> int:
        """Width of the last stage (input width of the classifier)."""
        return self.embed_dim * 2 ** (len(self.depths) - 1)


class VideoSwin(AMGEModel):
    """Video Swin classifier on one video modality.

    Args:
        cfg: the network configuration (already scaled).
        num_classes: number of outputs (20 muscle groups).
        modality: ``"rgb"``, ``"rgb_diff"`` or ``"flow"`` (2 input channels: the patch
            embedding's ``in_channels``).
    """

    def __init__(self, cfg: VideoSwinConfig, num_classes: int = 20, modality: str = "rgb") -> None:
        if modality not in VIDEO_MODALITIES:
            raise ValueError(
                f"VideoSwin reads a video modality; got {modality!r}, "
                f"expected one of {VIDEO_MODALITIES}"
            )
        super().__init__((modality,), num_classes)
        self.cfg = cfg
        self.modality = modality
        tv = SwinTransformer3d(
            patch_size=list(cfg.patch_size),
            embed_dim=cfg.embed_dim,
            depths=list(cfg.depths),
            num_heads=list(cfg.num_heads),
            window_size=list(cfg.window_size),
            mlp_ratio=cfg.mlp_ratio,
            stochastic_depth_prob=cfg.drop_path_rate,
            num_classes=num_classes,
            patch_embed=partial(PatchEmbed3d, in_channels=VIDEO_CHANNELS[modality]),
        )
        # torchvision's pieces under torchvision's names; its avgpool and head are replaced by
        # forward_head (the same pooling, plus the I3DHead dropout torchvision lacks).
        self.patch_embed = tv.patch_embed  # Conv3d(k = s = patch) + LayerNorm(C)
        self.pos_drop = tv.pos_drop  # Dropout(0): kept for torchvision's structure
        self.features = tv.features  # stages of Swin blocks with PatchMerging between them
        self.norm = tv.norm  # final LayerNorm(out_dim)
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = tv.head  # Linear(out_dim, num_classes), trunc-normal init by torchvision

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Normed last-stage feature map ``(B, T', H', W', out_dim)`` of the batch's clip."""
        (video,) = self.inputs(batch)
        x = self.patch_embed(video)  # (B, T', H', W', C), padded to whole patches
        x = self.features(self.pos_drop(x))  # (B, T', H'/8, W'/8, 8C)
        return self.norm(x)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)``: average pool over (t, h, w) -> Dropout -> Linear."""
        return self.head(self.head_drop(feats.mean(dim=(1, 2, 3))))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(batch))


SWIN_CONFIGS: dict[str, VideoSwinConfig] = {
    # swin_small_patch244_window877_kinetics400_1k: C 96, depths 2-2-18-2, drop path 0.1.
    "videoswin_s": VideoSwinConfig(embed_dim=96, num_heads=(3, 6, 12, 24), drop_path_rate=0.1),
    # swin_base_patch244_window877_kinetics400_1k: C 128, heads 4-8-16-32, drop path 0.3.
    "videoswin_b": VideoSwinConfig(embed_dim=128, num_heads=(4, 8, 16, 32), drop_path_rate=0.3),
}

_CONFIG_FIELDS = {f.name for f in fields(VideoSwinConfig)}


def _fit_window(grid: int, window: int) -> int:
    """Largest divisor of ``grid`` that is not above ``window`` (the paper window when it fits)."""
    return max(d for d in range(1, min(grid, window) + 1) if grid % d == 0)


def config(name: str, scale: ScaleSpec = PAPER, **overrides: Any) -> VideoSwinConfig:
    """The configuration of a variant at a scale, with field overrides.

    Scaling: ``C`` and the head width go through ``scaled_width`` (heads = width / head width,
    doubling per stage as in the paper configs), each stage's depth through ``scaled_depth``, the
    clip is the scale's ``frames x size x size``, and each window side is the largest divisor of
    the first-stage grid not above the paper's (paper: 8 x 7 x 7; cpu 4 x 16 x 16 grid: 4 x 4 x 4;
    smoke 2 x 8 x 8 grid: 2 x 4 x 4). At paper scale every rule is the identity.

    Raises:
        ValueError: for an unknown variant or an unknown override.
    """
    base = lookup(SWIN_CONFIGS, name, "Video Swin variant")
    check_options(overrides, _CONFIG_FIELDS, "VideoSwin")
    embed, heads = scaled_heads(base.embed_dim, base.embed_dim // base.num_heads[0], scale)
    frames = overrides.get("num_frames", scale.frames)
    size = overrides.get("crop_size", scale.size)
    grid = (-(-frames // base.patch_size[0]), -(-size // base.patch_size[1]))
    grid3 = (grid[0], grid[1], grid[1])
    scaled = {
        "embed_dim": embed,
        "num_heads": tuple(heads * 2**i for i in range(len(base.depths))),
        "depths": tuple(scaled_depth(d, scale) for d in base.depths),
        "window_size": tuple(
            _fit_window(n, w) for n, w in zip(grid3, base.window_size, strict=True)
        ),
        "num_frames": frames,
        "crop_size": size,
    }
    return replace(base, **{**scaled, **overrides})


def _build(
    name: str, scale: ScaleSpec, num_classes: int, modality: str = "rgb", **overrides: Any
) -> VideoSwin:
    return VideoSwin(config(name, scale, **overrides), num_classes=num_classes, modality=modality)


@register_model
def videoswin_s(
    scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any
) -> VideoSwin:
    """Video Swin-S (49,524,458 parameters at paper scale with 20 classes)."""
    return _build("videoswin_s", scale, num_classes, **variant)


@register_model
def videoswin_b(
    scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any
) -> VideoSwin:
    """Video Swin-B (87,659,484 parameters at paper scale with 20 classes)."""
    return _build("videoswin_b", scale, num_classes, **variant)
