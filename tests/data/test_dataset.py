"""ClipDataset: item layout, determinism, the cache, multi-view, and every bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tinydata import read_rows, write_manifest, write_video

from musclemap_lib.data.dataset import ClipDataset, SkippedClip, collate_clips
from musclemap_lib.data.manifest import ClipError, DataError
from musclemap_lib.muscles import MUSCLE_INDEX

ALL = ("rgb", "rgb_diff", "flow", "skeleton")


def test_item_layout(tiny_data, cfg, tmp_path):
    ds = ClipDataset(tiny_data, "train", cfg, ALL, train=True, cache_dir=tmp_path)
    assert len(ds) == 4
    torch.manual_seed(0)
    item = ds[1]
    assert item["rgb"].shape == (3, 4, 32, 32) and item["rgb"].dtype == torch.float32
    assert item["rgb_diff"].shape == (3, 4, 32, 32)
    assert item["flow"].shape == (2, 4, 32, 32)
    assert item["skeleton"].shape == (1, 4, 17, 3)
    assert item["labels"].shape == (20,) and item["labels"].dtype == torch.float32
    assert set(torch.nonzero(item["labels"]).flatten().tolist()) == {
        MUSCLE_INDEX[m] for m in ("chest", "triceps", "shoulder")
    }
    assert item["clip_id"] == "c1" and item["activity"] == "push_ups" and item["view"] == 0
    assert (item["rgb_diff"][:, 0] == 0).all() and item["rgb_diff"].min() >= 0
    assert item["flow"].abs().max() <= 1
    assert ds.item_shapes()["rgb"] == (3, 4, 32, 32)


def test_only_requested_modalities(tiny_data, cfg, tmp_path):
    item = ClipDataset(tiny_data, "known_val", cfg, ("skeleton",), cache_dir=tmp_path)[0]
    assert set(item) == {"skeleton", "labels", "clip_id", "activity", "view"}
    item = ClipDataset(tiny_data, "known_val", cfg, ("rgb_diff",), cache_dir=tmp_path)[0]
    assert "rgb" not in item and "rgb_diff" in item


def test_eval_is_deterministic(tiny_data, cfg, tmp_path):
    ds = ClipDataset(tiny_data, "known_test", cfg, ALL, cache_dir=tmp_path)
    a, b = ds[0], ds[0]
    for k in ALL:
        assert torch.equal(a[k], b[k])
    # eval flow sees the texture moving right (no flip at evaluation)
    assert a["flow"][0, 1:].mean() > 0.2


def test_train_is_random_but_seeded(tiny_data, cfg, tmp_path):
    ds = ClipDataset(tiny_data, "train", cfg, ("rgb", "skeleton"), train=True, cache_dir=tmp_path)
    torch.manual_seed(3)
    a = [ds[0] for _ in range(4)]
    torch.manual_seed(3)
    b = [ds[0] for _ in range(4)]
    assert all(torch.equal(x["rgb"], y["rgb"]) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(a[0]["rgb"], x["rgb"]) for x in a[1:])


def test_cache_gives_identical_items(tiny_data, cfg, tmp_path):
    cached = dataclasses.replace(cfg, cache=True)
    for train, split in ((False, "new_test"), (True, "train")):
        plain = ClipDataset(tiny_data, split, cfg, ALL, train=train, cache_dir=tmp_path / "a")
        fast = ClipDataset(tiny_data, split, cached, ALL, train=train, cache_dir=tmp_path / "b")
        for i in range(len(plain)):
            torch.manual_seed(i)
            x = plain[i]
            for _ in range(2):  # a miss then a hit
                torch.manual_seed(i)
                y = fast[i]
                for k in ALL:
                    assert torch.equal(x[k], y[k]), (split, i, k)
    assert list((tmp_path / "b" / "clips").rglob("*.npy"))
    assert not list((tmp_path / "a").rglob("clips/*"))


def test_memo_returns_the_same_items_without_reading_again(tiny_data, cfg, tmp_path, monkeypatch):
    plain = ClipDataset(tiny_data, "known_val", cfg, ALL, cache_dir=tmp_path)
    memo = ClipDataset(tiny_data, "known_val", cfg, ALL, cache_dir=tmp_path, memo_bytes=2**30)
    first = [memo[i] for i in range(len(memo))]
    reads = []
    monkeypatch.setattr(memo, "load", lambda *a, **k: reads.append(a) or {})
    for i in range(len(memo)):
        again, expected = memo[i], plain[i]
        for k in ALL:
            assert torch.equal(again[k], expected[k]) and torch.equal(again[k], first[i][k])
        again["rgb"] = None  # a caller changing its item does not change the memo
        assert memo[i]["rgb"] is not None
    assert reads == []
    # The memo keeps what fits in its budget and reads the rest each time.
    small = ClipDataset(tiny_data, "known_val", cfg, ("rgb",), cache_dir=tmp_path, memo_bytes=1)
    small[0]
    assert small._memo == {}
    with pytest.raises(ValueError, match="memo_bytes is for evaluation"):
        ClipDataset(tiny_data, "train", cfg, ALL, train=True, memo_bytes=1)


def test_multiview(tiny_data, cfg, tmp_path):
    ds = ClipDataset(tiny_data, "new_test", cfg, ("rgb",), views=3, cache_dir=tmp_path)
    assert len(ds) == 6
    items = [ds[i] for i in range(3)]
    assert [x["view"] for x in items] == [0, 1, 2] and {x["clip_id"] for x in items} == {"c7"}
    assert not torch.equal(items[0]["rgb"], items[2]["rgb"])
    with pytest.raises(ValueError, match="1 for training"):
        ClipDataset(tiny_data, "train", cfg, ("rgb",), train=True, views=2)


def test_bone_stream_option(tiny_data, cfg, tmp_path):
    j = ClipDataset(tiny_data, "known_val", cfg, ("skeleton",), cache_dir=tmp_path)[0]["skeleton"]
    bone_cfg = dataclasses.replace(cfg, skeleton_stream="bone")
    b = ClipDataset(tiny_data, "known_val", bone_cfg, ("skeleton",), cache_dir=tmp_path)[0][
        "skeleton"
    ]
    assert torch.allclose(b[..., 0, :2], torch.zeros(1)) and not torch.allclose(b, j)


def test_unknown_split_and_modality(tiny_data, cfg):
    with pytest.raises(ValueError, match="unknown split 'val'"):
        ClipDataset(tiny_data, "val", cfg)
    with pytest.raises(ValueError, match="unknown modality 'depth'"):
        ClipDataset(tiny_data, "train", cfg, ("depth",))


def test_gcn_without_skeletons(fresh_data, cfg):
    rows = read_rows(fresh_data)
    for r in rows:
        r["skeleton"] = ""
    write_manifest(fresh_data, rows)
    with pytest.raises(DataError, match="no skeleton file.*--skeletons"):
        ClipDataset(fresh_data, "train", cfg, ("rgb", "skeleton"))
    assert len(ClipDataset(fresh_data, "train", cfg, ("rgb",))) == 4  # RGB still works


def _damage(root, clip, kind):
    if kind == "corrupt":
        (root / "videos" / f"{clip}.mp4").write_bytes(b"\x00not a video" * 100)
    elif kind == "truncated":
        p = root / "videos" / f"{clip}.mp4"
        p.write_bytes(p.read_bytes()[:2000])
    elif kind == "missing":
        (root / "videos" / f"{clip}.mp4").unlink()
    elif kind == "missing_skeleton":
        (root / "skeletons" / f"{clip}.npy").unlink()
    elif kind == "skeleton_shape":
        np.save(root / "skeletons" / f"{clip}.npy", np.zeros((40, 17, 2), np.float32))
    elif kind == "skeleton_frames":
        np.save(root / "skeletons" / f"{clip}.npy", np.zeros((39, 17, 3), np.float32))
    elif kind == "short":
        write_video(root / "videos" / f"{clip}.mp4", np.zeros((6, 48, 64, 3), np.uint8))


@pytest.mark.parametrize(
    "kind, needle",
    [
        ("corrupt", "c2.mp4"),
        ("truncated", "c2.mp4"),
        ("missing", "c2.mp4 does not exist"),
        ("missing_skeleton", "c2.npy does not exist"),
        ("skeleton_shape", "(40, 17, 2)"),
        ("skeleton_frames", "39 frames"),
        ("short", "lower DataConfig.sampling_rate or num_frames"),
    ],
)
def test_bad_clip_errors_and_skip(fresh_data, cfg, tmp_path, kind, needle):
    _damage(fresh_data, "c2", kind)
    mods = ("rgb", "skeleton")
    ds = ClipDataset(fresh_data, "train", cfg, mods, train=True, cache_dir=tmp_path)
    with pytest.raises(ClipError) as exc:
        ds[2]
    msg = str(exc.value)
    assert needle in msg
    assert "manifest.csv line 4 (clip 'c2')" in msg  # the row
    # skip_bad: skipped and counted, never replaced by another clip
    ds = ClipDataset(fresh_data, "train", cfg, mods, train=True, skip_bad=True, cache_dir=tmp_path)
    items = [ds[i] for i in range(len(ds))]
    assert isinstance(items[2], SkippedClip) and items[2].clip_id == "c2"
    assert ds.skipped == ["c2"]
    batch = collate_clips(items)
    assert batch["skipped"] == ["c2"] and batch["clip_id"] == ["c0", "c1", "c3"]
    assert batch["rgb"].shape == (3, 3, 4, 32, 32) and batch["skeleton"].shape == (3, 1, 4, 17, 3)


def test_short_clip_pad_option(fresh_data, cfg, tmp_path):
    _damage(fresh_data, "c2", "short")
    np.save(fresh_data / "skeletons" / "c2.npy", np.zeros((6, 17, 3), np.float32))
    pad = dataclasses.replace(cfg, short_clip="pad")
    item = ClipDataset(fresh_data, "train", pad, ("rgb", "flow"), cache_dir=tmp_path)[2]
    assert item["rgb"].shape == (3, 4, 32, 32)
    assert torch.equal(item["rgb"][:, 2], item["rgb"][:, 3])  # frames 6 -> 3 (last grid), 3
    assert (item["flow"][:, 3] == 0).all()


def test_collate_all_skipped(fresh_data, cfg, tmp_path):
    _damage(fresh_data, "c0", "corrupt")
    ds = ClipDataset(fresh_data, "train", cfg, ("rgb",), skip_bad=True, cache_dir=tmp_path)
    batch = collate_clips([ds[0]])
    assert batch["skipped"] == ["c0"]
    assert batch["rgb"].shape == (0, 3, 4, 32, 32) and batch["labels"].shape == (0, 20)
