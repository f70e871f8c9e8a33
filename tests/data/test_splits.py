"""The paper's split protocol holds on the data pipeline's test folder.

The same check on a freshly generated MuscleMap-Synth set is in tests/synth/test_pipeline_protocol.py.
"""

from __future__ import annotations

from musclemap_lib.data.manifest import SPLITS, load_manifest
from musclemap_lib.muscles import MUSCLE_GROUPS


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
