"""MuscleMapDataModule: verify-only prepare_data, five splits, loader order, views, workers."""

from __future__ import annotations

import pytest
import torch

from musclemap_lib.data.datamodule import MuscleMapDataModule, count_skipped
from musclemap_lib.data.manifest import ManifestError, load_manifest


def test_prepare_and_loaders(tiny_data, cfg, tmp_path):
    dm = MuscleMapDataModule(
        tiny_data, cfg, ("rgb", "skeleton"), batch_size=3, eval_batch_size=2, cache_dir=tmp_path
    )
    dm.prepare_data()
    assert dm.manifest is None  # prepare_data sets no state
    dm.setup("fit")
    assert dm.fingerprint == load_manifest(tiny_data).fingerprint  # computed from the content
    batch = next(iter(dm.train_dataloader()))
    assert batch["rgb"].shape == (3, 3, 4, 32, 32) and batch["labels"].shape == (3, 20)
    assert batch["skeleton"].shape == (3, 1, 4, 17, 3) and count_skipped(batch) == 0
    vals = dm.val_dataloader()
    assert [dl.dataset.split for dl in vals] == ["known_val", "new_val"]
    tests = dm.test_dataloader()
    assert [dl.dataset.split for dl in tests] == ["known_test", "new_test"]
    assert sum(len(b["clip_id"]) for b in tests[1]) == 2
    mv = dm.split_dataloader("new_test", views=2)
    ids = [c for b in mv for c in b["clip_id"]]
    assert ids == ["c7", "c7", "c9", "c9"]


def test_prepare_data_fails_on_missing_file(fresh_data, cfg):
    (fresh_data / "videos" / "c5.mp4").unlink()
    with pytest.raises(ManifestError, match="c5.mp4 does not exist"):
        MuscleMapDataModule(fresh_data, cfg).prepare_data()


def test_prepare_data_checks_only_the_modalities_read(fresh_data, cfg):
    (fresh_data / "skeletons" / "c5.npy").unlink()
    MuscleMapDataModule(fresh_data, cfg, ("rgb",)).prepare_data()  # RGB needs no skeleton
    with pytest.raises(ManifestError, match="c5.npy does not exist"):
        MuscleMapDataModule(fresh_data, cfg, ("skeleton",)).prepare_data()


def test_workers_carry_skip_counts(fresh_data, cfg, tmp_path):
    (fresh_data / "videos" / "c1.mp4").write_bytes(b"broken")
    dm = MuscleMapDataModule(
        fresh_data, cfg, ("rgb",), batch_size=4, num_workers=2, skip_bad=True, cache_dir=tmp_path
    )
    torch.manual_seed(0)
    batches = list(dm.train_dataloader())
    assert sum(count_skipped(b) for b in batches) == 1
    assert sum(len(b["clip_id"]) for b in batches) == 3
