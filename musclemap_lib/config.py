"""Run configuration as frozen dataclasses (STYLE.md section 5).

``DataConfig`` describes how clips are sampled, transformed and cached by
:mod:`musclemap_lib.data`. Each component receives only its own config. ``TrainConfig`` and
``RunConfig`` follow below it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

# Kinetics mean/std of SlowFast's defaults (DATA.MEAN / DATA.STD), on [0, 1] RGB frames.
KINETICS_MEAN: tuple[float, float, float] = (0.45, 0.45, 0.45)
KINETICS_STD: tuple[float, float, float] = (0.225, 0.225, 0.225)


@dataclass(frozen=True)
class DataConfig:
    """How the data pipeline samples, augments, normalises and caches clips.

    The defaults are the paper-scale values of the released code (16 frames, rate 4, 224 crops,
    train short side 256-320, test short side 256). :meth:`with_crop` rescales the spatial sizes
    for the smaller profiles.
    """

    num_frames: int = 16  # T: frames per clip
    sampling_rate: int = 4  # stride between sampled frames, in source frames
    crop_size: int = 224  # H = W of the model input
    train_jitter_scales: tuple[int, int] = (256, 320)  # train: random short side in [lo, hi]
    test_scale: int = 256  # eval: short side before the centre crop
    train_crop: Literal["random", "center"] = "random"  # where the train crop is taken
    flip: bool = True  # train: horizontal flip with p = 0.5 (swaps left/right joints)
    color_jitter: float = 0.4  # train: brightness/contrast/saturation factor in 1 +- this
    normalize: bool = True  # subtract mean and divide by std (the released code does not)
    mean: tuple[float, float, float] = KINETICS_MEAN  # per-channel mean on [0, 1] RGB
    std: tuple[float, float, float] = KINETICS_STD  # per-channel std on [0, 1] RGB
    test_views: int = 1  # evaluation: temporal views per clip (k evenly spaced clips)
    short_clip: Literal["error", "pad"] = "error"  # a video shorter than one sample: raise or
    # repeat its last frame (the released code's clamping)
    flow_bound: float = 0.1  # flow is divided by this fraction of the crop side, then clipped
    skeleton_stream: Literal["joint", "bone"] = "joint"  # which GCN stream `skeleton` holds
    cache: bool = False  # keep decoded, resized uint8 frames on disk (fast CPU epochs)

    def __post_init__(self) -> None:
        if self.num_frames < 1:
            raise ValueError(f"DataConfig.num_frames must be >= 1, got {self.num_frames}")
        if self.sampling_rate < 1:
            raise ValueError(f"DataConfig.sampling_rate must be >= 1, got {self.sampling_rate}")
        if self.crop_size < 8:
            raise ValueError(f"DataConfig.crop_size must be >= 8 pixels, got {self.crop_size}")
        # JSON round trips turn tuples into lists; accept those and store tuples.
        for name in ("train_jitter_scales", "mean", "std"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        lo, hi = self.train_jitter_scales
        if not self.crop_size <= lo <= hi:
            raise ValueError(
                f"DataConfig.train_jitter_scales {self.train_jitter_scales} must satisfy "
                f"crop_size ({self.crop_size}) <= lo <= hi; raise the scales or lower crop_size"
            )
        if self.test_scale < self.crop_size:
            raise ValueError(
                f"DataConfig.test_scale ({self.test_scale}) must be >= crop_size ({self.crop_size})"
            )
        if self.train_crop not in ("random", "center"):
            raise ValueError(
                f"DataConfig.train_crop must be 'random' or 'center', got {self.train_crop!r}"
            )
        if not 0.0 <= self.color_jitter < 1.0:
            raise ValueError(f"DataConfig.color_jitter must be in [0, 1), got {self.color_jitter}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(
                f"DataConfig.mean/std need 3 values, std > 0; got {self.mean}, {self.std}"
            )
        if self.test_views < 1:
            raise ValueError(f"DataConfig.test_views must be >= 1, got {self.test_views}")
        if self.short_clip not in ("error", "pad"):
            raise ValueError(
                f"DataConfig.short_clip must be 'error' or 'pad', got {self.short_clip!r}"
            )
        if not self.flow_bound > 0:
            raise ValueError(f"DataConfig.flow_bound must be > 0, got {self.flow_bound}")
        if self.skeleton_stream not in ("joint", "bone"):
            raise ValueError(
                f"DataConfig.skeleton_stream must be 'joint' or 'bone', got {self.skeleton_stream!r}"
            )

    @property
    def span(self) -> int:
        """Source frames covered by one clip: ``(num_frames - 1) * sampling_rate + 1``."""
        return (self.num_frames - 1) * self.sampling_rate + 1

    @property
    def base_short_side(self) -> int:
        """Short side the decoded frames are resized to before cropping (and cached at)."""
        return max(self.train_jitter_scales[1], self.test_scale)

    @classmethod
    def with_crop(cls, crop_size: int, **overrides: Any) -> DataConfig:
        """A config for ``crop_size`` with the released ratios 256/224 and 320/224 for the scales.

        Example: ``DataConfig.with_crop(112, num_frames=8)`` gives scales (128, 160), test 128.
        """
        lo = round(crop_size * 256 / 224)
        hi = round(crop_size * 320 / 224)
        kw: dict[str, Any] = {"train_jitter_scales": (lo, hi), "test_scale": lo}
        kw.update(overrides)
        return cls(crop_size=crop_size, **kw)

    def sha(self, fields: tuple[str, ...] | None = None) -> str:
        """A short stable hash of the config (or of some of its fields), for cache keys."""
        d = dataclasses.asdict(self)
        if fields is not None:
            d = {k: d[k] for k in fields}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# ---- model scale --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScaleSpec:
    """How a model and its input shrink from the paper's size (a profile holds one as a value).

    Rules (applied by :mod:`musclemap_lib.models.scales`, documented on the efficiency page):
    widths (channels, embedding dims) are multiplied by ``width`` and rounded to a multiple of
    ``width_multiple`` (at least that multiple), so attention heads and group convs stay valid;
    the repeated blocks of a stage are multiplied by ``depth`` and rounded up, at least 1; the
    clip is ``frames`` x ``size`` x ``size`` (skeleton clips use ``frames`` too).
    """

    name: str  # what records and pages call it (paper | cpu | smoke)
    width: float  # multiplier on every channel / embedding width
    depth: float  # multiplier on the number of repeated blocks per stage
    width_multiple: int  # widths are rounded to a multiple of this (>= it)
    frames: int  # clip length T
    size: int  # crop side H = W in pixels

    def __post_init__(self) -> None:
        if not (0 < self.width <= 1 and 0 < self.depth <= 1):
            raise ValueError(f"ScaleSpec {self.name!r}: width and depth must be in (0, 1]")
        if self.width_multiple < 1 or self.frames < 1 or self.size < 8:
            raise ValueError(
                f"ScaleSpec {self.name!r}: width_multiple and frames must be >= 1, size >= 8"
            )


# The identity scale. PAPER: 224 x 224 crops (section 4.5).
# RELEASED: 16 frames per clip (the released config; the paper gives no clip length).
PAPER_SCALE = ScaleSpec("paper", width=1.0, depth=1.0, width_multiple=1, frames=16, size=224)
# DEVIATION: a 2-core CPU trains a few thousand clips per minute at this size (the cpu profile).
CPU_SCALE = ScaleSpec("cpu", width=0.25, depth=0.25, width_multiple=8, frames=8, size=64)
# Tests and CI: seconds per model (the smoke profile).
SMOKE_SCALE = ScaleSpec("smoke", width=0.125, depth=0.125, width_multiple=8, frames=4, size=32)


# ---- training and runs (the engine, issue 6) ---------------------------------------------------
LossKind = Literal["bce", "softmax_bce"]
LOSS_KINDS: tuple[str, ...] = ("bce", "softmax_bce")
Precision = Literal["auto", "32", "bf16"]


@dataclass(frozen=True)
class TrainConfig:
    """How one model is optimised. Every field enters the run's ``config_sha``."""

    epochs: int = 80  # PAPER: 80 epochs per stage (section 4.5)
    batch_size: int = 16  # clips per optimiser step (ASSUMPTION: paper silent; released 16 videos)
    lr: float = 1e-4  # PAPER: AdamW, learning rate 1e-4
    weight_decay: float = 0.05  # released code: 0.05 on >=2-D params, 0 on 1-D params
    warmup_epochs: float = 0.0  # linear warm-up length (fractional epochs), then cosine decay
    warmup_start_lr: float = 1e-6  # released code: WARMUP_START_LR
    end_lr: float = 1e-6  # released code: COSINE_END_LR
    grad_clip: float | None = 1.0  # global L2 gradient-norm clip (released code); None = off
    # PAPER: Eq. 1 softmax over the classes, then BCE (released: the same); "bce" = sigmoid + BCE
    loss: LossKind = "softmax_bce"
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


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run's result; ``config.json`` is ``asdict`` of it."""

    experiment: str  # experiment name (musclemap_lib.study.catalogue)
    profile: str  # smoke | cpu | paper
    model: str  # registry name of the model
    scale: ScaleSpec  # model scale (the profile's)
    data: DataConfig  # sampling, transforms, views
    train: TrainConfig | None  # None: evaluated without training (Random, All Ones)
    seed: int = 0  # seed_everything seed (also the Random baseline's seed)
    # (experiment, config_sha) of the stage-1 runs whose weights initialise this run
    stage1: tuple[tuple[str, str], ...] = ()
    skip_bad: bool = False  # skip and count bad clips instead of stopping
    bootstrap_n: int = 1000  # bootstrap resamples for the mAP intervals

    model_args: tuple[tuple[str, Any], ...] = ()  # builder options of the experiment's variant

    def sha(self) -> str:
        """The 16-hex-digit ``config_sha`` of this run (key order ignored)."""
        d = dataclasses.asdict(self)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
