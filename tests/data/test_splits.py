"""The paper's split protocol holds on the test folder and on a generated data set if present."""

from __future__ import annotations

import pytest

from musclemap_lib.data.manifest import SPLITS, load_manifest
from musclemap_lib.muscles import MUSCLE_GROUPS
from musclemap_lib.paths import synth_dir


def _check(root):
    m = load_manifest(root)
    assert m.protocol_problems() == []
    train = set(m.activities("train"))
    for s in ("new_val", "new_test"):
        assert not set(m.activities(s)) & train
    labels = {x for r in m for x in r.labels}
    assert labels <= set(MUSCLE_GROUPS) and len(MUSCLE_GROUPS) == 20
    assert set(m.split_sizes()) == set(SPLITS)


def test_protocol_tiny(tiny_data):
    _check(tiny_data)


def test_protocol_synth_smoke():
    root = synth_dir("smoke")
    if not (root / "manifest.csv").is_file():
        pytest.skip(f"no generated data in {root} (run `musclemap synth --profile smoke`)")
    _check(root)
    assert all(n > 0 for n in load_manifest(root).split_sizes().values())
