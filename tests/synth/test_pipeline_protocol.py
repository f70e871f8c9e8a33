"""The data pipeline's manifest checks accept a freshly generated smoke set, split by the protocol."""

from __future__ import annotations

from pathlib import Path

from musclemap_lib.data.manifest import SPLITS, load_manifest
from musclemap_lib.muscles import MUSCLE_GROUPS


def test_generated_smoke_set_passes_the_pipeline_protocol(smoke_dir: Path) -> None:
    m = load_manifest(smoke_dir)
    assert m.protocol_problems() == []
    train = set(m.activities("train"))
    for split in ("new_val", "new_test"):
        assert not set(m.activities(split)) & train
    assert {x for r in m for x in r.labels} <= set(MUSCLE_GROUPS)
    sizes = m.split_sizes()
    assert set(sizes) == set(SPLITS) and all(n > 0 for n in sizes.values())
