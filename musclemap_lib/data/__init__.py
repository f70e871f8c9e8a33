"""The data pipeline: manifest, decoding, modalities, transforms, Dataset and DataModule."""

from musclemap_lib.data.checks import preflight
from musclemap_lib.data.datamodule import MuscleMapDataModule, count_skipped
from musclemap_lib.data.dataset import ClipDataset, SkippedClip, collate_clips, default_cache_dir
from musclemap_lib.data.manifest import (
    SPLITS,
    TEST_SPLITS,
    VAL_SPLITS,
    ClipError,
    DataError,
    Manifest,
    ManifestError,
    ManifestRow,
    load_manifest,
)
from musclemap_lib.data.video import ShortClipError, VideoError, probe_video, read_clip, read_views

__all__ = [
    "SPLITS",
    "TEST_SPLITS",
    "VAL_SPLITS",
    "ClipDataset",
    "ClipError",
    "DataError",
    "Manifest",
    "ManifestError",
    "ManifestRow",
    "MuscleMapDataModule",
    "ShortClipError",
    "SkippedClip",
    "VideoError",
    "collate_clips",
    "count_skipped",
    "default_cache_dir",
    "load_manifest",
    "preflight",
    "probe_video",
    "read_clip",
    "read_views",
]
