"""Pre-flight: every clip a run reads is opened before training, once per data fingerprint."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap_lib.data import checks as pf
from musclemap_lib.data.manifest import ManifestError


def test_a_corrupt_evaluation_video_is_found_before_training(fresh_data, cfg, tmp_path):
    """Issue 15 probe 6: a corrupt known_test video was found only after the whole training."""
    video = fresh_data / "videos" / "c6.mp4"  # known_test
    video.write_bytes(video.read_bytes()[:300])  # truncated: the header survives at most
    with pytest.raises(ManifestError) as exc:
        pf.preflight(fresh_data, ("rgb",), cfg=cfg, cache_dir=tmp_path)
    msg = str(exc.value)
    assert "line 8 (clip 'c6')" in msg and "c6.mp4" in msg and "checked before the run" in msg
    # A run that does not read known_test (nor the video) is not held up by it.
    pf.preflight(fresh_data, ("rgb",), ("train",), cfg=cfg, cache_dir=tmp_path)
    pf.preflight(fresh_data, (), cfg=cfg, cache_dir=tmp_path)


def test_the_pass_is_remembered_by_fingerprint(fresh_data, cfg, tmp_path, monkeypatch):
    pf.preflight(fresh_data, ("rgb",), cfg=cfg, cache_dir=tmp_path)
    assert len(list((tmp_path / "preflight").iterdir())) == 1
    opened = []
    real = pf.probe_video
    monkeypatch.setattr(pf, "probe_video", lambda p: opened.append(p) or real(p))
    pf.preflight(fresh_data, ("rgb",), cfg=cfg, cache_dir=tmp_path)
    assert opened == []  # same data, same checks: nothing decoded again
    # A changed data set (here: one clip relabelled) is checked again.
    text = (fresh_data / "manifest.csv").read_text().replace("quadriceps;gluteus", "calves", 1)
    (fresh_data / "manifest.csv").write_text(text)
    pf.preflight(fresh_data, ("rgb",), cfg=cfg, cache_dir=tmp_path)
    assert len(opened) == 10


def test_only_the_modalities_read_are_checked(fresh_data, cfg, tmp_path):
    np.save(fresh_data / "skeletons" / "c7.npy", np.zeros((40, 17, 3), np.float32) * np.nan)
    pf.preflight(fresh_data, ("rgb",), cfg=cfg, cache_dir=tmp_path)  # RGB reads no skeleton
    with pytest.raises(ManifestError, match=r"clip 'c7'.*NaN or inf"):
        pf.preflight(fresh_data, ("skeleton",), cfg=cfg, cache_dir=tmp_path)
    np.save(fresh_data / "skeletons" / "c7.npy", np.zeros((39, 17, 3), np.float32))
    with pytest.raises(ManifestError, match="has 39 frames but its video has 40"):
        pf.preflight(fresh_data, ("skeleton",), cfg=cfg, cache_dir=tmp_path)


def test_too_short_videos_are_refused(fresh_data, cfg, tmp_path):
    from dataclasses import replace

    long = replace(cfg, num_frames=8, sampling_rate=6)  # spans 43 > 40 frames
    with pytest.raises(ManifestError, match="fewer than one clip spans"):
        pf.preflight(fresh_data, ("rgb",), cfg=long, cache_dir=tmp_path)
    pf.preflight(fresh_data, ("rgb",), cfg=replace(long, short_clip="pad"), cache_dir=tmp_path)


def test_an_unwritable_cache_is_refused_when_the_run_writes_it(
    fresh_data, cfg, tmp_path, monkeypatch
):
    monkeypatch.setattr(pf, "is_writable", lambda path: False)
    pf.preflight(fresh_data, ("rgb",), cfg=cfg, cache_dir=tmp_path)  # nothing cached for RGB
    with pytest.raises(ManifestError, match="not writable"):
        pf.preflight(fresh_data, ("flow",), cfg=cfg, cache_dir=tmp_path)
