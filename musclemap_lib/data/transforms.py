"""Spatial and photometric transforms, applied identically to every modality of one clip.

One :class:`SpatialParams` (a square crop box in the decoded frames, the output size and a flip)
is drawn per clip and applied to the RGB frames, the flow field (whose ``dx`` changes sign
under a flip) and the skeleton (whose ``x`` is mirrored and whose left/right joints swap), so all
modalities of a clip stay aligned. Scale jitter is expressed as the size of the crop box: a
short side ``S`` followed by a ``crop`` crop equals a ``crop * short / S`` box resized to ``crop``.

Nothing is random at evaluation (``train=False``): a centre crop at the test scale, no flip, no
colour jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from musclemap_lib.config import DataConfig
from musclemap_lib.skeleton import flip_permutation

# Pixel convention: pixel j of a row has its centre at coordinate x = j (OpenCV's convention for
# resizing); a frame of width W spans [-0.5, W - 0.5].


@dataclass(frozen=True)
class SpatialParams:
    """One clip's spatial transform.

    Attributes:
        src_hw: (H, W) of the frames the box refers to.
        box: (y0, x0, side) square crop box in those frames, in whole pixels.
        out: output side in pixels.
        flip: mirror horizontally after cropping.
    """

    src_hw: tuple[int, int]
    box: tuple[int, int, int]
    out: int
    flip: bool


def sample_spatial(
    height: int,
    width: int,
    cfg: DataConfig,
    train: bool,
    rng: np.random.Generator | None = None,
) -> SpatialParams:
    """Draw (train) or fix (eval) the crop box and flip for frames of ``height x width``.

    Train: short side ``S ~ U{train_jitter_scales}``, a random (or centre) ``crop_size`` crop, a
    flip with p = 0.5 when ``cfg.flip``. Eval: ``S = test_scale``, centre crop, no flip.
    """
    short = min(height, width)
    if train:
        if rng is None:
            raise ValueError("sample_spatial(train=True) needs an rng")
        lo, hi = cfg.train_jitter_scales
        scale = int(rng.integers(lo, hi + 1))
    else:
        scale = cfg.test_scale
    side = max(1, min(short, round(cfg.crop_size * short / scale)))
    if train and cfg.train_crop == "random":
        y0 = int(rng.integers(0, height - side + 1))
        x0 = int(rng.integers(0, width - side + 1))
    else:
        y0, x0 = (height - side) // 2, (width - side) // 2
    flip = bool(train and cfg.flip and rng.random() < 0.5)
    return SpatialParams((height, width), (y0, x0, side), cfg.crop_size, flip)


def resize_stack(stacked: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize an ``(H, W, K)`` image with any number of channels ``K`` to ``hw``.

    Area filtering when shrinking, bilinear when enlarging. OpenCV takes at most 4 channels for
    the area filter at non-integer ratios and 512 otherwise, so the channels go in chunks.
    """
    h, w, k = stacked.shape
    shrink = hw[0] < h or hw[1] < w
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    chunk = 4 if shrink else 512
    if k <= chunk:
        return cv2.resize(stacked, (hw[1], hw[0]), interpolation=interp).reshape(hw[0], hw[1], k)
    parts = [
        cv2.resize(
            np.ascontiguousarray(stacked[..., i : i + chunk]), (hw[1], hw[0]), interpolation=interp
        ).reshape(hw[0], hw[1], -1)
        for i in range(0, k, chunk)
    ]
    return np.concatenate(parts, axis=-1)


def crop_resize(frames: np.ndarray, p: SpatialParams) -> np.ndarray:
    """Crop the box out of every frame, resize it to ``out x out`` and flip if asked.

    Args:
        frames: ``(T, H, W, C)`` uint8 or float32 with ``(H, W) == p.src_hw``.

    Returns:
        ``(T, out, out, C)`` of the same dtype.
    """
    t, h, w, c = frames.shape
    if (h, w) != p.src_hw:
        raise ValueError(f"frames are {h}x{w} but the transform was drawn for {p.src_hw}")
    y0, x0, side = p.box
    region = frames[:, y0 : y0 + side, x0 : x0 + side, :]  # (T, side, side, C)
    if side != p.out and frames.dtype == np.uint8:
        # uint8 frames (RGB): one cv2.resize per frame, straight from the crop, about 3 times
        # faster than the channel stack below. The values are the stack's to the bit whenever
        # T * C is a multiple of 4 (4, 8 and 16 frames of RGB: every profile; checked for area
        # and bilinear filtering at integer and fractional ratios). Otherwise the stack's last
        # chunk of 1-3 channels takes another rounding path of the area filter at integer
        # ratios (off by 1 grey level), and per frame is the consistent one.
        interp = cv2.INTER_AREA if p.out < side else cv2.INTER_LINEAR
        out = np.empty((t, p.out, p.out, c), dtype=np.uint8)
        for i in range(t):
            out[i] = cv2.resize(region[i], (p.out, p.out), interpolation=interp).reshape(
                p.out, p.out, c
            )
    else:
        # float frames (flow): one cv2.resize over the T*C channels stacked. Per frame, OpenCV's
        # area filter at integer ratios rounds float32 differently for 2 channels than in the
        # stacked chunks of 4 (1e-6), which would change the flow of the committed runs.
        stacked = np.ascontiguousarray(region.transpose(1, 2, 0, 3).reshape(side, side, t * c))
        if side != p.out:
            stacked = resize_stack(stacked, (p.out, p.out))
        out = stacked.reshape(p.out, p.out, t, c).transpose(2, 0, 1, 3)  # (T, out, out, C)
    if p.flip:
        out = out[:, :, ::-1, :]
    return np.ascontiguousarray(out)


def transform_flow(flow_px: np.ndarray, p: SpatialParams, bound: float) -> np.ndarray:
    """Crop/resize/flip a flow field and scale it to about [-1, 1].

    Args:
        flow_px: ``(T, H, W, 2)`` float displacement (dx, dy) in pixels of the ``src_hw`` frames.
        p: the clip's spatial transform.
        bound: fraction of the crop side that maps to 1 (``DataConfig.flow_bound``).

    Returns:
        ``(T, out, out, 2)`` float32: displacement in units of ``bound * crop side``, clipped to
        [-1, 1]; ``dx`` negated when the clip is flipped.
    """
    # A displacement of d source pixels is d * out / side output pixels; dividing by
    # bound * out gives d / (bound * side), independent of the output size.
    side = p.box[2]
    out = crop_resize(flow_px.astype(np.float32, copy=False), p)
    out *= 1.0 / (bound * side)
    if p.flip:
        out[..., 0] *= -1.0  # mirrored motion: right becomes left
    return np.clip(out, -1.0, 1.0, out=out)


def transform_skeleton(
    joints: np.ndarray, p: SpatialParams, video_hw: tuple[int, int]
) -> np.ndarray:
    """Map joints from video pixels into the output crop and normalise them to about [-1, 1].

    Args:
        joints: ``(T, V, 3)`` x, y in pixels of the ``video_hw`` video, confidence.
        p: the clip's spatial transform (drawn for the possibly resized frames ``p.src_hw``).
        video_hw: (H, W) of the video the joints were measured in.

    Returns:
        ``(T, V, 3)`` float32: x, y with the crop's edges at -1 and +1 (joints outside the crop
        fall outside [-1, 1]) and the confidence unchanged; mirrored, with left and right joints
        swapped, when ``p.flip``.
    """
    vh, vw = video_hw
    h, w = p.src_hw
    y0, x0, side = p.box
    out = joints.astype(np.float32, copy=True)
    k = p.out / side
    # video pixels -> decoded-frame pixels -> output pixels (pixel-centre convention)
    out[..., 0] = ((out[..., 0] + 0.5) * (w / vw) - x0) * k - 0.5
    out[..., 1] = ((out[..., 1] + 0.5) * (h / vh) - y0) * k - 0.5
    if p.flip:
        out[..., 0] = (p.out - 1) - out[..., 0]
        out = out[:, flip_permutation(), :]
    # Centre and scale by the crop: pixel centre x in [-0.5, out-0.5] -> [-1, 1] at the edges.
    out[..., :2] = (out[..., :2] + 0.5) * (2.0 / p.out) - 1.0
    return out


@dataclass(frozen=True)
class ColorJitterParams:
    """Factors of one clip's colour jitter, applied in ``order`` (0 brightness, 1 contrast,
    2 saturation)."""

    brightness: float
    contrast: float
    saturation: float
    order: tuple[int, int, int]


def sample_color_jitter(strength: float, rng: np.random.Generator) -> ColorJitterParams:
    """Draw brightness, contrast and saturation factors in ``1 +- strength`` and a random order.

    PAPER: "colour jitter 0.4" (SlowFast's ``color_jitter(img_brightness=0.4, img_contrast=0.4,
    img_saturation=0.4)`` draws the same factors in a random order; no hue change).
    """
    b, c, s = (float(rng.uniform(1 - strength, 1 + strength)) for _ in range(3))
    order = tuple(int(i) for i in rng.permutation(3))
    return ColorJitterParams(b, c, s, order)  # type: ignore[arg-type]


_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _channels_first(x: np.ndarray) -> np.ndarray:
    """A float32 copy of ``(..., C)`` with the channel axis first and contiguous.

    Per-channel arithmetic on a channels-last clip runs numpy's inner loop over the 3 channels,
    about 10 times slower than over a whole channel plane; the values are the same either way.
    """
    return np.array(np.moveaxis(x, -1, 0), dtype=np.float32, order="C")


def _channel_column(v: np.ndarray, ndim: int) -> np.ndarray:
    """``(C,)`` values shaped to broadcast over a channels-first array of ``ndim`` dimensions."""
    return v.reshape((-1,) + (1,) * (ndim - 1))


def apply_color_jitter(x: np.ndarray, p: ColorJitterParams) -> np.ndarray:
    """Apply the jitter to ``(T, H, W, 3)`` float32 RGB in [0, 1]; the same factors for all frames.

    Returns a new ``(T, H, W, 3)`` float32 array (a view of a channels-first one, so that
    :func:`normalize` and the ``(C, T, H, W)`` layout of an item need no further copy); ``x`` is
    left unchanged.
    """
    xc = _channels_first(x)  # (3, T, H, W)
    x = np.moveaxis(xc, 0, -1)  # the same memory, channels last
    for op in p.order:
        if op == 0:
            xc *= p.brightness
        elif op == 1:
            mean = float((x @ _GRAY).mean())  # one mean grey level for the whole clip
            xc -= mean
            xc *= p.contrast
            xc += mean
        else:
            gray = x @ _GRAY  # (T, H, W)
            xc -= gray
            xc *= p.saturation
            xc += gray
        np.clip(xc, 0.0, 1.0, out=xc)
    return x


def normalize(x: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """``(x - mean) / std`` over the last (channel) axis of a float32 array.

    Returns a new float32 array of ``x``'s shape (a view of a channels-first one, like
    :func:`apply_color_jitter`); ``x`` is left unchanged.
    """
    xc = _channels_first(x)
    xc -= _channel_column(np.asarray(mean, dtype=np.float32), xc.ndim)
    xc /= _channel_column(np.asarray(std, dtype=np.float32), xc.ndim)
    return np.moveaxis(xc, 0, -1)
