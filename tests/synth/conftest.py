"""One smoke-profile data set per test session (generated once, shared by the synth tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musclemap_lib.synth import writer


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated smoke data set (seed 0)."""
    out = tmp_path_factory.mktemp("synth") / "smoke"
    return writer.generate(out, "smoke", seed=0, workers=2, progress=False)
