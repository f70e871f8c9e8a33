"""Temporal sampling and decoding: decord and PyAV agree; bad videos get clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from tinydata import N_FRAMES, make_clip, write_video

from musclemap_lib.data.video import (
    ShortClipError,
    VideoError,
    multiview_indices,
    probe_video,
    read_clip,
    read_frames,
    read_views,
    sample_indices,
)


def test_random_indices_on_grid_and_in_range():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(200):
        idx = sample_indices(40, 4, 3, "random", rng)
        assert idx.shape == (4,)
        assert (np.diff(idx) == 3).all() and idx[0] % 3 == 0
        assert idx.min() >= 0 and idx.max() < 40
        starts.add(int(idx[0]))
    assert starts == set(range(0, 31, 3))  # every grid start up to n - span is drawn


def test_uniform_views_evenly_spaced():
    idx = multiview_indices(100, 4, 2, views=3)  # span 7, starts linspace(0, 93, 3)
    assert idx.shape == (3, 4)
    assert idx[0, 0] == 0  # the released test protocol: one view starts at frame 0
    assert list(idx[:, 0]) == [0, 46, 92]
    assert idx.max() <= 99
    assert (sample_indices(100, 4, 2, "uniform") == idx[0]).all()  # k = 1: start 0
    assert sample_indices(100, 4, 2, "center")[0] == 46


def test_short_clip_error_and_pad():
    with pytest.raises(ShortClipError, match="lower DataConfig.sampling_rate or num_frames") as e:
        sample_indices(9, 4, 3, "uniform", path="v.mp4")
    assert "v.mp4 has 9 frames" in str(e.value)
    assert sample_indices(10, 4, 3, "uniform").tolist() == [0, 3, 6, 9]  # exactly one span
    padded = sample_indices(7, 4, 3, "random", np.random.default_rng(0), short_clip="pad")
    assert padded.tolist() == [0, 3, 6, 6]  # the last grid frame repeats


def test_probe(tiny_data):
    info = probe_video(tiny_data / "videos" / "c0.mp4")
    assert (info.num_frames, info.height, info.width) == (N_FRAMES, 48, 64)
    assert info.fps == pytest.approx(15)


def test_decord_and_pyav_give_same_frames(tiny_data):
    path = tiny_data / "videos" / "c1.mp4"
    idx = np.array([0, 5, 5, 17, 39])
    a = read_frames(path, idx, "decord")
    b = read_frames(path, idx, "pyav")
    assert a.shape == (5, 48, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.array_equal(a[1], a[2])
    # frames are the written ones (near-lossless encode)
    frames, _ = make_clip(1)
    assert np.abs(a.astype(int) - frames[idx].astype(int)).mean() < 6


def test_read_clip_and_views(tiny_data):
    path = tiny_data / "videos" / "c2.mp4"
    frames, idx = read_clip(path, 4, 3, "random", np.random.default_rng(1))
    assert frames.shape == (4, 48, 64, 3)
    views, vidx = read_views(path, 4, 3, views=3)
    assert views.shape == (3, 4, 48, 64, 3) and vidx.shape == (3, 4)
    assert np.array_equal(views[1], read_frames(path, vidx[1]))
    assert not np.array_equal(views[0], views[2])


def test_missing_video(tmp_path):
    with pytest.raises(VideoError, match="does not exist"):
        read_frames(tmp_path / "nope.mp4", np.array([0]))


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_corrupt_video_named(tmp_path, backend):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(VideoError, match="corrupt.mp4"):
        probe_video(bad)
    with pytest.raises(VideoError, match="corrupt.mp4"):
        read_frames(bad, np.array([0, 1]), backend)


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_truncated_video_named(tiny_data, tmp_path, backend):
    data = (tiny_data / "videos" / "c3.mp4").read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="truncated.mp4"):
        read_frames(cut, np.array([0, 20, 39]), backend)


def test_frame_beyond_end(tiny_data):
    with pytest.raises(VideoError, match="has 40 frames but frame 45"):
        read_frames(tiny_data / "videos" / "c0.mp4", np.array([0, 45]))


def test_faststart_truncated_video(tmp_path):
    """A video whose index comes first but whose frame data is cut off."""
    frames, _ = make_clip(5)
    path = tmp_path / "fs.mp4"
    write_video(path, frames)
    import av

    fs = tmp_path / "faststart.mp4"
    with av.open(str(path)) as src, av.open(str(fs), "w", options={"movflags": "faststart"}) as dst:
        s = dst.add_stream_from_template(src.streams.video[0])
        for pk in src.demux(src.streams.video[0]):
            if pk.dts is not None:
                pk.stream = s
                dst.mux(pk)
    data = fs.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    for backend in ("decord", "pyav"):
        with pytest.raises(VideoError, match="cut.mp4"):
            read_frames(cut, np.array([0, 38, 39]), backend)


def test_decord_width_bug_falls_back_to_pyav(tmp_path):
    """decord 0.6.0 fails on 48-px-wide videos; the reader then decodes with PyAV."""
    frames = np.random.default_rng(0).integers(0, 255, (6, 48, 48, 3), dtype=np.uint8)
    path = tmp_path / "w48.mp4"
    write_video(path, frames)
    with pytest.warns(RuntimeWarning, match="decord 0.6.0 cannot decode"):
        a = read_frames(path, np.array([0, 3, 5]), "decord")
    assert np.array_equal(a, read_frames(path, np.array([0, 3, 5]), "pyav"))
