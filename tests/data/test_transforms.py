"""One spatial transform per clip, applied alike to frames, flow and skeleton."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from musclemap_lib.config import DataConfig
from musclemap_lib.data.transforms import (
    SpatialParams,
    apply_color_jitter,
    crop_resize,
    normalize,
    resize_stack,
    sample_color_jitter,
    sample_spatial,
    transform_flow,
    transform_skeleton,
)
from musclemap_lib.skeleton import JOINT_INDEX, LEFT_RIGHT_PAIRS

CFG = DataConfig(num_frames=2, crop_size=32, train_jitter_scales=(36, 48), test_scale=40)


def _to_pixels(norm, out):
    return (norm + 1.0) * out / 2.0 - 0.5


def test_eval_is_deterministic_centre_crop():
    a = sample_spatial(60, 90, CFG, train=False)
    b = sample_spatial(60, 90, CFG, train=False)
    assert a == b and not a.flip
    y0, x0, side = a.box
    assert side == round(32 * 60 / 40)  # short side 60 -> test scale 40 -> 32 crop
    assert (y0, x0) == ((60 - side) // 2, (90 - side) // 2)


def test_train_draws_scales_crops_and_flips():
    rng = np.random.default_rng(0)
    ps = [sample_spatial(60, 90, CFG, True, rng) for _ in range(200)]
    sides = {p.box[2] for p in ps}
    assert min(sides) >= round(32 * 60 / 48) and max(sides) <= round(32 * 60 / 36)
    assert len(sides) > 3 and len({p.box[:2] for p in ps}) > 50
    flips = sum(p.flip for p in ps)
    assert 60 < flips < 140
    no_flip = dataclasses.replace(CFG, flip=False)
    assert not any(sample_spatial(60, 90, no_flip, True, rng).flip for _ in range(50))
    centre = dataclasses.replace(CFG, train_crop="center")
    p = sample_spatial(60, 90, centre, True, rng)
    assert p.box[:2] == ((60 - p.box[2]) // 2, (90 - p.box[2]) // 2)


@pytest.mark.parametrize("seed", range(8))
def test_skeleton_follows_the_pixels(seed):
    """A bright dot and the joint recorded at it land on the same output pixel (flip included)."""
    rng = np.random.default_rng(seed)
    vh, vw = 48, 64  # the video
    h, w = 60, 80  # decoded frames resized to the base short side
    frames = np.zeros((1, h, w, 3), np.uint8)
    # a 5x5 dot centred on base pixel (bx, by) = video pixel (x, y) under the resize
    bx, by = 25, 37
    x, y = (bx + 0.5) * vw / w - 0.5, (by + 0.5) * vh / h - 0.5
    frames[0, by - 2 : by + 3, bx - 2 : bx + 3] = 255
    joints = np.zeros((1, 17, 3), np.float32)
    wrist = JOINT_INDEX["left_wrist"]
    joints[0, wrist] = (x, y, 0.7)
    checked = 0
    for _ in range(20):
        p = sample_spatial(h, w, CFG, True, rng)
        img = crop_resize(frames, p)[0, :, :, 0].astype(float)
        out = transform_skeleton(joints, p, (vh, vw))
        j = JOINT_INDEX["right_wrist"] if p.flip else wrist  # a flip swaps left and right
        px, py = _to_pixels(out[0, j, 0], 32), _to_pixels(out[0, j, 1], 32)
        if not (3 <= px <= 28 and 3 <= py <= 28):  # dot not fully inside the crop
            continue
        checked += 1
        ys, xs = np.nonzero(img > 0.5 * img.max())
        assert abs(xs.mean() - px) < 1.0 and abs(ys.mean() - py) < 1.0
        assert out[0, j, 2] == pytest.approx(0.7)  # confidence kept
    assert checked >= 3


def test_flip_swaps_left_right_and_mirrors_x():
    joints = np.zeros((3, 17, 3), np.float32)
    joints[..., 0] = np.arange(17)  # distinct x per joint
    joints[..., 2] = np.linspace(0.1, 0.9, 17)
    p = SpatialParams((32, 32), (0, 0, 32), 32, False)
    pf = dataclasses.replace(p, flip=True)
    a, b = transform_skeleton(joints, p, (32, 32)), transform_skeleton(joints, pf, (32, 32))
    for left, right in LEFT_RIGHT_PAIRS:
        assert b[0, left, 0] == pytest.approx(-a[0, right, 0], abs=1e-5)
        assert b[0, left, 2] == pytest.approx(a[0, right, 2])
    assert b[0, 0, 0] == pytest.approx(-a[0, 0, 0], abs=1e-5)  # nose stays the nose


def test_frame_flip_mirrors_columns():
    frames = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    p = SpatialParams((32, 32), (0, 0, 32), 32, True)
    assert np.array_equal(crop_resize(frames, p), frames[:, :, ::-1])


def test_flow_flip_negates_dx_and_scales():
    flow = np.zeros((2, 40, 40, 2), np.float32)
    flow[..., 0] = 2.0  # 2 px right
    flow[..., 1] = -1.0  # 1 px up
    p = SpatialParams((40, 40), (0, 0, 40), 20, False)  # half-size output
    out = transform_flow(flow, p, bound=0.1)
    assert out.shape == (2, 20, 20, 2)
    assert out[..., 0] == pytest.approx(2.0 / (0.1 * 40))  # 0.5 of the bound
    assert out[..., 1] == pytest.approx(-1.0 / 4.0)
    flipped = transform_flow(flow, dataclasses.replace(p, flip=True), bound=0.1)
    assert flipped[..., 0] == pytest.approx(-0.5) and flipped[..., 1] == pytest.approx(-0.25)
    big = transform_flow(flow * 100, p, bound=0.1)
    assert big.max() == 1.0 and big.min() == -1.0  # clipped to [-1, 1]


def test_color_jitter_bounds_and_identity():
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = sample_color_jitter(0.4, rng)
        assert all(0.6 <= f <= 1.4 for f in (p.brightness, p.contrast, p.saturation))
        y = apply_color_jitter(x, p)
        assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    same = apply_color_jitter(x, sample_color_jitter(0.0, rng))
    assert np.allclose(same, x, atol=1e-6)


def test_normalize():
    x = np.full((1, 2, 2, 3), 0.45, np.float32)
    assert np.allclose(normalize(x, (0.45,) * 3, (0.225,) * 3), 0)


def _jitter_reference(x: np.ndarray, p) -> np.ndarray:
    """SlowFast's colour jitter written out channels last, as the study first computed it."""
    gray_w = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    for op in p.order:
        if op == 0:
            x = x * p.brightness
        elif op == 1:
            mean = float((x @ gray_w).mean())
            x = (x - mean) * p.contrast + mean
        else:
            gray = (x @ gray_w)[..., None]
            x = (x - gray) * p.saturation + gray
        x = np.clip(x, 0.0, 1.0)
    return x


def test_jitter_and_normalize_give_the_channels_last_values_bit_for_bit():
    # They compute channels first for speed; the values must not move by a single bit, so that
    # runs made before that change are repeated exactly. The input is never changed.
    x = np.random.default_rng(2).random((4, 16, 16, 3)).astype(np.float32)
    keep = x.copy()
    rng = np.random.default_rng(3)
    for _ in range(10):
        p = sample_color_jitter(0.4, rng)
        y = apply_color_jitter(x, p)
        assert y.dtype == np.float32 and y.shape == x.shape
        np.testing.assert_array_equal(y, _jitter_reference(x, p))
    mean, std = (0.45, 0.40, 0.35), (0.225, 0.25, 0.2)
    want = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    np.testing.assert_array_equal(normalize(x, mean, std), want)
    np.testing.assert_array_equal(x, keep)
    # the channels-last result is a view of a channels-first block: (C, T, H, W) is contiguous
    assert normalize(x, mean, std).transpose(3, 0, 1, 2).flags.c_contiguous


@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_crop_resize_per_frame_equals_the_channel_stack(channels: int):
    # RGB frames are resized one frame at a time; the result must be the stacked resize's to
    # the bit, shrinking (area filter, integer and fractional ratios) and enlarging (bilinear),
    # for clips whose T * C is a multiple of 4 (8 frames here, as at the cpu profile).
    rng = np.random.default_rng(channels)
    frames = (rng.random((8, 50, 70, channels)) * 255).astype(np.uint8)
    for side, out in [(48, 24), (45, 32), (37, 37), (20, 32), (50, 64)]:
        y0, x0 = int(rng.integers(0, 50 - side + 1)), int(rng.integers(0, 70 - side + 1))
        for flip in (False, True):
            p = SpatialParams((50, 70), (y0, x0, side), out, flip)
            region = frames[:, y0 : y0 + side, x0 : x0 + side]
            stacked = np.ascontiguousarray(region.transpose(1, 2, 0, 3).reshape(side, side, -1))
            if side != out:
                stacked = resize_stack(stacked, (out, out))
            want = stacked.reshape(out, out, 8, channels).transpose(2, 0, 1, 3)
            want = want[:, :, ::-1] if flip else want
            got = crop_resize(frames, p)
            assert got.dtype == np.uint8 and got.flags.c_contiguous
            np.testing.assert_array_equal(got, want)
