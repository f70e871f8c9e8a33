"""Pre-flight check of a run's data: every clip it will read is opened before training starts.

:meth:`Manifest.verify <musclemap_lib.data.manifest.Manifest.verify>` checks that files exist
and are readable, the activity table and the split protocol; :func:`preflight` adds, for every
clip of the splits a run reads and only for the modalities its model reads:

- video (any modality): the container opens and reports frames and a size; for ``rgb``,
  ``rgb_diff`` and ``flow`` the first frame decodes; the video is long enough for one clip
  (unless ``DataConfig.short_clip == "pad"``);
- skeleton: the ``.npy`` is ``(T, 17, 3)`` float, one pose per video frame, finite;
- the clip cache (``<data>/.cache``) is writable when the run writes it (flow, or
  ``DataConfig.cache``).

A corrupt evaluation video is thus found in seconds, not after the whole training. The result is
remembered under ``<cache>/preflight/`` keyed by the data fingerprint, the splits, the modalities
and the sampling settings, so an unchanged data set is decoded once (when the cache folder is not
writable the check simply runs again next time).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musclemap_lib.config import DataConfig
from musclemap_lib.data.manifest import (
    SPLITS,
    DataError,
    ManifestError,
    VerifyReport,
    _format_problems,
    check_skeleton_header,
    load_manifest,
)
from musclemap_lib.data.video import Backend, probe_video, read_frames
from musclemap_lib.modalities import VIDEO_CHANNELS, check_modality

log = logging.getLogger(__name__)

PREFLIGHT_VERSION = 1  # bump when the checks change, so that remembered passes are redone


def nearest_existing(path: Path) -> Path:
    """``path`` or its closest existing ancestor."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def is_writable(path: Path) -> bool:
    """True when ``path`` (or, if it does not exist yet, the folder it would be made in) is
    writable by this process."""
    p = nearest_existing(Path(path))
    return os.access(p, os.W_OK | os.X_OK) if p.is_dir() else os.access(p, os.W_OK)


def _key(
    fingerprint: str, splits: Sequence[str], modalities: Sequence[str], cfg: DataConfig | None
) -> str:
    sampling = None if cfg is None else [cfg.num_frames, cfg.sampling_rate, cfg.short_clip]
    text = json.dumps(
        [PREFLIGHT_VERSION, fingerprint, sorted(splits), sorted(modalities), sampling]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def preflight(
    root: str | Path,
    modalities: Sequence[str],
    splits: Sequence[str] = SPLITS,
    cfg: DataConfig | None = None,
    cache_dir: str | Path | None = None,
    backend: Backend = "decord",
) -> VerifyReport:
    """Check every clip of ``splits`` for ``modalities`` before a run reads them.

    Args:
        root: the data folder.
        modalities: the modalities the model reads (empty for the statistical baselines: then
            only the manifest is checked).
        splits: the splits the run reads (training: all five; evaluation: the four others).
        cfg: the run's data config (clip length, short-clip policy, on-disk cache); ``None``
            skips the length check.
        cache_dir: the clip cache (default ``<root>/.cache``), where the pass is remembered.
        backend: the video decoder the run uses.

    Returns:
        The :class:`~musclemap_lib.data.manifest.VerifyReport` of the data folder.

    Raises:
        ManifestError: listing every unreadable, corrupt or too short file with its manifest
            line, an unwritable cache, or a problem :meth:`Manifest.verify` finds.
    """
    modalities = tuple(check_modality(m) for m in modalities)
    manifest = load_manifest(root)
    report = manifest.verify(modalities=modalities)
    cache = Path(cache_dir) if cache_dir is not None else manifest.root / ".cache"
    if ("flow" in modalities or (cfg is not None and cfg.cache and modalities)) and not is_writable(
        cache
    ):
        raise ManifestError(
            f"{cache}: the run caches flow or decoded clips there, but the folder is not "
            f"writable; make it writable (chmod u+w {nearest_existing(cache)}) or set "
            "DataConfig.cache=False"
        )
    if not modalities:
        return report
    marker = cache / "preflight" / f"{_key(report.fingerprint, splits, modalities, cfg)}.json"
    if marker.is_file():
        log.debug("pre-flight of %s already passed (%s)", manifest.root, marker)
        return report
    decode = any(m in VIDEO_CHANNELS for m in modalities)
    rows = [r for s in splits for r in manifest.split(s)]
    problems: list[str] = []
    for r in rows:
        try:
            info = probe_video(r.video)
            if decode:
                read_frames(r.video, np.zeros(1, dtype=np.int64), backend)
            if cfg is not None and cfg.short_clip == "error" and info.num_frames < cfg.span:
                problems.append(
                    f"{r.where()}: video {r.video} has {info.num_frames} frames, fewer than one "
                    f"clip spans ({cfg.num_frames} x rate {cfg.sampling_rate} = {cfg.span}); "
                    "lower data.sampling_rate / num_frames or set data.short_clip=pad"
                )
                continue
            if "skeleton" in modalities and r.skeleton is not None:
                problems.extend(_skeleton_problems(r.where(), r.skeleton, info.num_frames))
        except DataError as err:
            problems.append(f"{r.where()}: {err}")
    if problems:
        raise ManifestError(
            _format_problems(
                manifest.path,
                problems,
                f"checked before the run started ({len(rows)} clips of {', '.join(splits)}); "
                "regenerate or re-download these files, or remove their rows",
            )
        )
    log.info(
        "pre-flight %s: %d clips of %s opened for %s",
        manifest.root,
        len(rows),
        ", ".join(splits),
        ", ".join(modalities),
    )
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"fingerprint": report.fingerprint, "clips": len(rows)}))
    except OSError as err:  # a read-only data folder: check again next time
        log.debug("cannot remember the pre-flight pass in %s: %s", marker, err)
    return report


def _skeleton_problems(where: str, path: Path, num_frames: int) -> list[str]:
    problem = check_skeleton_header(path)
    if problem:
        return [f"{where}: {problem}"]
    joints = np.load(path, mmap_mode="r", allow_pickle=False)
    if joints.shape[0] != num_frames:
        return [
            f"{where}: skeleton file {path} has {joints.shape[0]} frames but its video has "
            f"{num_frames}; write one (17, 3) pose per video frame"
        ]
    if not np.isfinite(joints).all():
        return [
            f"{where}: skeleton file {path} holds NaN or inf values; write 0 with confidence 0 "
            "for undetected joints"
        ]
    return []
