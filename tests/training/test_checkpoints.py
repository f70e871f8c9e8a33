"""Checkpoint reading: a damaged file is named as corrupt, with the fix, never loaded unsafely."""

from __future__ import annotations

import os
import zipfile

import pytest
import torch

from musclemap_lib.training.callbacks import CheckpointError, checkpoint_problem, read_checkpoint


def _garbage(tmp_path):
    """Issue 15 probe 4: files torch refuses with advice to turn weights_only off."""
    text = tmp_path / "text.ckpt"
    text.write_bytes(b"not a checkpoint at all" * 100)
    noise = tmp_path / "noise.ckpt"
    noise.write_bytes(os.urandom(5000))
    pickle_in_zip = tmp_path / "zip.ckpt"
    with zipfile.ZipFile(pickle_in_zip, "w") as z:
        z.writestr("archive/data.pkl", b"garbage")
        z.writestr("archive/version", b"3")
    return [text, noise, pickle_in_zip]


def test_a_garbage_checkpoint_is_named_as_corrupt(tmp_path):
    for path in _garbage(tmp_path):
        with pytest.raises(CheckpointError) as exc:
            read_checkpoint(path)
        msg = str(exc.value)
        assert f"checkpoint {path} is corrupt" in msg and f"rm {path}" in msg
        assert "weights_only" not in msg and "\n" not in msg
    assert checkpoint_problem(tmp_path / "text.ckpt")  # the cheap check sees it too
    assert checkpoint_problem(tmp_path / "noise.ckpt")


def test_a_checkpoint_without_a_state_dict_is_refused(tmp_path):
    torch.save({"epoch": 1}, tmp_path / "odd.ckpt")
    assert checkpoint_problem(tmp_path / "odd.ckpt") == ""  # a whole archive...
    with pytest.raises(CheckpointError, match="holds no state_dict"):
        read_checkpoint(tmp_path / "odd.ckpt")  # ...but not a Lightning checkpoint


def test_a_good_checkpoint_loads_and_truncation_is_seen(tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save({"epoch": 0, "state_dict": {"model.w": torch.ones(3)}}, path)
    assert checkpoint_problem(path) == ""
    assert read_checkpoint(path)["state_dict"]["model.w"].sum() == 3
    path.write_bytes(path.read_bytes()[:-100])  # a run killed while writing
    assert "not a torch checkpoint" in checkpoint_problem(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_checkpoint(tmp_path / "none.ckpt")
