"""Fixtures of the data-pipeline tests (helpers in tinydata.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tinydata import build_folder

from musclemap_lib.config import DataConfig


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A read-only-by-convention data folder shared by the session."""
    return build_folder(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture
def fresh_data(tiny_data, tmp_path) -> Path:
    """A private copy of ``tiny_data`` that a test may damage."""
    dst = tmp_path / "data"
    shutil.copytree(tiny_data, dst, ignore=shutil.ignore_patterns(".cache"))
    return dst


@pytest.fixture
def cfg() -> DataConfig:
    """Small clips: 4 frames at rate 3 (span 10), 32 px crops."""
    return DataConfig(
        num_frames=4,
        sampling_rate=3,
        crop_size=32,
        train_jitter_scales=(36, 44),
        test_scale=36,
    )
