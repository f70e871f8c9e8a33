"""Shared fixtures of the Grad-CAM, explorer and dataset-figure tests (imported by those files).

``smoke_data`` (tests/conftest.py) is the session's smoke MuscleMap-Synth. ``fake_results`` is a temporary results root with a
``smoke`` profile: ``mvitv2_s`` with scores and a checkpoint of a randomly initialised smoke
model, and ``stgcn`` with scores but no checkpoint. The scores are random test inputs, not results.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from musclemap_lib.data import load_manifest

SCORED_SPLITS = ("known_test", "new_test")


def _write_scores(folder: Path, data: Path, seed: int) -> None:
    man = load_manifest(data)
    rng = np.random.default_rng(seed)
    arrays = {}
    for split in SCORED_SPLITS:
        rows = man.split(split)
        arrays[f"{split}/clip_ids"] = np.array([r.clip_id for r in rows])
        arrays[f"{split}/scores"] = rng.random((len(rows), 20)).astype(np.float32)
        arrays[f"{split}/labels"] = np.stack([r.multihot() for r in rows]).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "scores.npz", **arrays)


@pytest.fixture(scope="session")
def fake_results(tmp_path_factory, smoke_data) -> Path:
    """A results root: smoke/mvitv2_s (scores + checkpoint), smoke/stgcn (scores only)."""
    from musclemap_lib.models import build_model

    root = tmp_path_factory.mktemp("results")
    _write_scores(root / "smoke" / "mvitv2_s", smoke_data, 0)
    _write_scores(root / "smoke" / "stgcn", smoke_data, 1)
    torch.manual_seed(0)
    model = build_model("mvitv2_s", scale="smoke")
    ckpt = root / "smoke" / "mvitv2_s" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}, ckpt)
    return root
