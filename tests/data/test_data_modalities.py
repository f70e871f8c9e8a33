"""rgb_diff as the released code computes it; Farneback flow and its disk cache; bone stream."""

from __future__ import annotations

import numpy as np
import pytest
from tinydata import SHIFT, make_clip

from musclemap_lib.data import modalities as mod
from musclemap_lib.skeleton import bone_parents


def test_rgb_diff_definition():
    rng = np.random.default_rng(0)
    x = rng.random((5, 4, 4, 3)).astype(np.float32)
    d = mod.rgb_diff(x)
    assert d.shape == x.shape and d.dtype == np.float32
    assert (d[0] == 0).all()  # D_0 = 0
    assert np.allclose(d[3], np.abs(x[3] - x[2]))
    assert d.min() >= 0 and d.max() <= 1


def test_farneback_sees_rightward_motion():
    frames, _ = make_clip(0)
    sub = frames[[0, 2, 4, 6]]  # sampled every 2 frames -> 2 * SHIFT px per step
    flow = mod.farneback_flow(sub)
    assert flow.shape == (4, 48, 64, 2) and flow.dtype == np.float32
    assert (flow[0] == 0).all()
    inner = flow[1:, 8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(2 * SHIFT, abs=1.0)
    assert abs(np.median(inner[..., 1])) < 0.5
    same = mod.farneback_flow(frames[[3, 3]])
    assert (same == 0).all()  # a repeated (padded) frame has no motion


def test_flow_cache_roundtrip(tmp_path, tiny_data, monkeypatch):
    frames, _ = make_clip(0)
    video = tiny_data / "videos" / "c0.mp4"
    idx = np.array([0, 2, 4, 6])
    first = mod.cached_flow(frames[idx], video, idx, tmp_path)
    files = list((tmp_path / "flow").rglob("*.npy"))
    assert len(files) == 1 and not list(tmp_path.rglob("*.tmp"))

    def boom(_):
        raise AssertionError("flow recomputed despite the cache")

    monkeypatch.setattr(mod, "farneback_flow", boom)
    second = mod.cached_flow(frames[idx], video, idx, tmp_path)
    assert np.array_equal(first, second)
    # other indices or another size are other keys
    assert mod.flow_cache_path(tmp_path, video, idx + 1, (48, 64)) != files[0]
    assert mod.flow_cache_path(tmp_path, video, idx, (24, 32)) != files[0]
    assert mod.flow_cache_path(tmp_path, video, idx, (48, 64)) == files[0]


def test_damaged_cache_entry_is_recomputed(tmp_path, tiny_data):
    frames, _ = make_clip(0)
    video = tiny_data / "videos" / "c0.mp4"
    idx = np.array([0, 2])
    path = mod.flow_cache_path(tmp_path, video, idx, (48, 64))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    flow = mod.cached_flow(frames[idx], video, idx, tmp_path)
    assert flow.shape == (2, 48, 64, 2)
    assert np.load(path).shape == (2, 48, 64, 2)


def test_bone_stream():
    rng = np.random.default_rng(0)
    j = rng.random((3, 17, 3)).astype(np.float32)
    b = mod.bone_stream(j)
    parent = bone_parents()
    assert np.allclose(b[:, 0, :2], 0)  # the root bone
    for v in range(17):
        assert np.allclose(b[:, v, :2], j[:, v, :2] - j[:, parent[v], :2])
        assert np.allclose(b[:, v, 2], (j[:, v, 2] + j[:, parent[v], 2]) / 2)
    with pytest.raises(ValueError, match="17 joints"):
        mod.bone_stream(np.zeros((2, 18, 3)))
