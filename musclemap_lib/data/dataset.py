"""``ClipDataset``: one split of a data folder as a map-style torch ``Dataset`` of dicts.

An item is a dict with the modalities asked for (layouts of :mod:`musclemap_lib.modalities`,
without the batch axis) plus ``labels`` ``(20,)`` float32, ``clip_id``, ``activity`` and ``view``:

==============  ====================  =====================================================
key             shape                 contents
==============  ====================  =====================================================
``rgb``         ``(3, T, S, S)``      normalised RGB (``DataConfig.normalize``)
``rgb_diff``    ``(3, T, S, S)``      ``|F_t - F_{t-1}|`` of the [0, 1] frames, ``D_0 = 0``
``flow``        ``(2, T, S, S)``      Farneback (dx, dy) scaled to [-1, 1]
``skeleton``    ``(1, T, 17, 3)``     joint (or bone) stream, x, y about [-1, 1], confidence
==============  ====================  =====================================================

Loading steps for one clip: sample frame indices (:mod:`.video`), decode them and resize to the
short side ``DataConfig.base_short_side`` (or read them from the on-disk clip cache), draw one
spatial transform and apply it to every modality (:mod:`.transforms`), derive rgb_diff/flow
(:mod:`.modalities`).

Bad clips raise :class:`~musclemap_lib.data.manifest.ClipError` naming the file and manifest row.
With ``skip_bad=True`` they are returned as :class:`SkippedClip` markers, counted in
:attr:`ClipDataset.skipped`, and dropped by :func:`collate_clips`, which lists them in the batch's
``skipped`` key (so the count also reaches the main process when DataLoader workers are used).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from musclemap_lib.config import DataConfig
from musclemap_lib.data.manifest import (
    SPLITS,
    ClipError,
    DataError,
    Manifest,
    ManifestRow,
    check_skeleton_header,
    load_manifest,
)
from musclemap_lib.data.modalities import (
    atomic_save_npy,
    bone_stream,
    cached_flow,
    file_identity,
    load_cached_npy,
    rgb_diff,
)
from musclemap_lib.data.transforms import (
    SpatialParams,
    apply_color_jitter,
    crop_resize,
    normalize,
    resize_stack,
    sample_color_jitter,
    sample_spatial,
    transform_flow,
    transform_skeleton,
)
from musclemap_lib.data.video import Backend, VideoInfo, probe_video, read_frames, sample_indices
from musclemap_lib.modalities import MODALITIES, VIDEO_CHANNELS, check_modality
from musclemap_lib.muscles import NUM_MUSCLES
from musclemap_lib.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

CLIP_CACHE_VERSION = 1
CACHE_DIRNAME = ".cache"  # default cache folder inside the data folder


def default_cache_dir(root: str | Path) -> Path:
    """``<root>/.cache``: where flow and decoded clips are cached unless told otherwise."""
    return Path(root).expanduser().resolve() / CACHE_DIRNAME


@dataclass
class SkippedClip:
    """Returned instead of an item for a bad clip when ``skip_bad=True``."""

    clip_id: str
    error: str
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _resized_hw(h: int, w: int, short: int) -> tuple[int, int]:
    """(H, W) after resizing so that the short side is ``short`` (aspect kept)."""
    s = min(h, w)
    return max(1, round(h * short / s)), max(1, round(w * short / s))


def resize_frames(frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize ``(T, H, W, 3)`` uint8 frames to ``hw`` (area filter when shrinking)."""
    t, h, w, c = frames.shape
    if (h, w) == hw:
        return frames
    stacked = np.ascontiguousarray(frames.transpose(1, 2, 0, 3).reshape(h, w, t * c))
    return resize_stack(stacked, hw).reshape(hw[0], hw[1], t, c).transpose(2, 0, 1, 3)


class ClipDataset(Dataset):
    """One split of a MuscleMap data folder.

    Args:
        root: the data folder (holding manifest.csv).
        split: one of ``train, known_val, new_val, known_test, new_test``.
        cfg: sampling, transforms, normalisation and caching.
        modalities: the modalities to return, e.g. ``("rgb",)`` or ``("rgb", "skeleton")``.
        train: random temporal sampling and augmentation (True) or the deterministic
            evaluation sampling (False).
        skip_bad: return :class:`SkippedClip` for a bad clip instead of raising.
        views: evaluation views per clip (k evenly spaced clips; item ``i`` is clip ``i // views``,
            view ``i % views``). Must be 1 when ``train``.
        cache_dir: cache folder for flow and decoded clips (default ``<root>/.cache``).
        manifest: an already loaded manifest of ``root`` (saves re-reading it).
        backend: video decoder, ``"decord"`` or ``"pyav"``.
        memo_bytes: keep up to this many bytes of items in memory and return them again on the
            next read (evaluation datasets only: their items are deterministic, so an epoch's
            validation reads its clips once per run instead of once per epoch; 0 = off).

    Raises:
        ValueError: for an unknown split or modality, views > 1 with train, or memo_bytes with
            train.
        ManifestError: for a bad manifest.
        DataError: when a skeleton modality is asked for and clips have no skeleton.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        cfg: DataConfig,
        modalities: Sequence[str] = ("rgb",),
        train: bool = False,
        skip_bad: bool = False,
        views: int = 1,
        cache_dir: str | Path | None = None,
        manifest: Manifest | None = None,
        backend: Backend = "decord",
        memo_bytes: int = 0,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        self.modalities = tuple(check_modality(m) for m in modalities)
        if not self.modalities:
            raise ValueError(f"ask for at least one modality of {MODALITIES}")
        if views < 1 or (train and views != 1):
            raise ValueError(f"views must be >= 1, and 1 for training; got {views} (train={train})")
        if memo_bytes and train:
            raise ValueError("memo_bytes is for evaluation datasets: training items are random")
        self.manifest = manifest if manifest is not None else load_manifest(root)
        self.root = self.manifest.root
        self.split = split
        self.cfg = cfg
        self.train = train
        self.skip_bad = skip_bad
        self.views = views
        self.backend = backend
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(self.root)
        self.rows: list[ManifestRow] = self.manifest.split(split)
        self.skipped: list[str] = []  # clip ids skipped in this process (see collate_clips)
        self._info: dict[Path, VideoInfo] = {}
        self._needs_video = any(m in VIDEO_CHANNELS for m in self.modalities)
        self.memo_bytes = memo_bytes
        self._memo: dict[int, dict] = {}
        self._memo_used = 0
        if "skeleton" in self.modalities:
            missing = [r for r in self.rows if r.skeleton is None]
            if missing:
                raise DataError(
                    f"split {split!r} of {self.root}: {len(missing)} of {len(self.rows)} clips have "
                    f"no skeleton file (first: {missing[0].where()}); skeleton models need (T, 17, "
                    "3) .npy files: import them with `musclemap import-musclemap --skeletons DIR`, "
                    "or run an RGB experiment"
                )
        if not self.rows:
            log.warning("split %r of %s has no clips", split, self.root)

    def __len__(self) -> int:
        return len(self.rows) * self.views

    def __repr__(self) -> str:
        return (
            f"ClipDataset({self.root.name}, split={self.split!r}, clips={len(self.rows)}, "
            f"views={self.views}, modalities={self.modalities}, train={self.train})"
        )

    # ------------------------------------------------------------------ public helpers
    def item_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every tensor of an item (labels included)."""
        t, s = self.cfg.num_frames, self.cfg.crop_size
        shapes: dict[str, tuple[int, ...]] = {"labels": (NUM_MUSCLES,)}
        for m in self.modalities:
            shapes[m] = (1, t, NUM_JOINTS, 3) if m == "skeleton" else (VIDEO_CHANNELS[m], t, s, s)
        return shapes

    def video_info(self, row: ManifestRow) -> VideoInfo:
        """Frame count and size of a clip's video (probed once per process)."""
        info = self._info.get(row.video)
        if info is None:
            info = probe_video(row.video)
            self._info[row.video] = info
        return info

    # ------------------------------------------------------------------ loading
    def __getitem__(self, index: int) -> dict | SkippedClip:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        if index in self._memo:
            return dict(self._memo[index])
        row, view = self.rows[index // self.views], index % self.views
        rng = None
        if self.train:
            # Drawn from torch's generator, which Lightning seeds per run and per worker, so that
            # augmentation is reproducible and differs between epochs and workers.
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        try:
            item = self.load(row, view, rng)
        except DataError as err:
            if not self.skip_bad:
                raise
            self.skipped.append(row.clip_id)
            log.warning("skipping bad clip (%d skipped so far): %s", len(self.skipped), err)
            return SkippedClip(row.clip_id, str(err), self.item_shapes())
        self._remember(index, item)
        return item

    def _remember(self, index: int, item: dict) -> None:
        """Keep ``item`` for the next read of ``index`` while the memo has room."""
        if not self.memo_bytes:
            return
        size = sum(v.nbytes for v in item.values() if isinstance(v, torch.Tensor))
        if self._memo_used + size <= self.memo_bytes:
            self._memo[index] = dict(item)
            self._memo_used += size

    def load(self, row: ManifestRow, view: int = 0, rng: np.random.Generator | None = None) -> dict:
        """Load one clip of ``row`` (``rng`` must be given when ``self.train``).

        Raises:
            ClipError: naming the file and the manifest row.
        """
        cfg = self.cfg
        try:
            info = self.video_info(row)
        except DataError as err:
            raise ClipError(f"{row.where()}: {err}", row.clip_id, row.video) from err
        try:
            idx = sample_indices(
                info.num_frames,
                cfg.num_frames,
                cfg.sampling_rate,
                "random" if self.train else "uniform",
                rng,
                view,
                self.views,
                cfg.short_clip,
                row.video,
            )
        except DataError as err:
            raise ClipError(f"{row.where()}: {err}", row.clip_id, row.video) from err
        base_hw = _resized_hw(info.height, info.width, cfg.base_short_side)
        params = sample_spatial(base_hw[0], base_hw[1], cfg, self.train, rng)
        item: dict = {}
        if self._needs_video:
            frames = self._base_frames(row, info, idx, base_hw)  # (T, Hb, Wb, 3) uint8
            self._video_modalities(item, row, frames, idx, params, rng)
        if "skeleton" in self.modalities:
            joints = self._load_skeleton(row, info, idx)  # (T, V, 3) video pixels
            joints = transform_skeleton(joints, params, (info.height, info.width))
            if cfg.skeleton_stream == "bone":
                joints = bone_stream(joints)
            item["skeleton"] = torch.from_numpy(np.ascontiguousarray(joints[None]))  # (1, T, V, 3)
        item["labels"] = torch.from_numpy(row.multihot())
        item["clip_id"] = row.clip_id
        item["activity"] = row.activity
        item["view"] = view
        return item

    def _video_modalities(
        self,
        item: dict,
        row: ManifestRow,
        frames: np.ndarray,
        idx: np.ndarray,
        params: SpatialParams,
        rng: np.random.Generator | None,
    ) -> None:
        cfg = self.cfg
        if "rgb" in self.modalities or "rgb_diff" in self.modalities:
            x = crop_resize(frames, params).astype(np.float32) * (1.0 / 255.0)  # (T, S, S, 3)
            if "rgb_diff" in self.modalities:
                # ASSUMPTION: the difference is taken from the spatially augmented [0, 1] frames
                # before colour jitter (the released code has no active colour jitter).
                # DEVIATION: from the same augmented copy as the RGB (aligned); the released
                # training pairs RGB of one crop with the diff of another.
                item["rgb_diff"] = _to_cthw(rgb_diff(x))
            if "rgb" in self.modalities:
                if self.train and cfg.color_jitter > 0:
                    x = apply_color_jitter(x, sample_color_jitter(cfg.color_jitter, rng))
                if cfg.normalize:
                    # DEVIATION: the released code only divides by 255 (DATA.MEAN/STD unused).
                    x = normalize(x, cfg.mean, cfg.std)
                item["rgb"] = _to_cthw(x)
        if "flow" in self.modalities:
            flow_px = cached_flow(frames, row.video, idx, self.cache_dir)  # (T, Hb, Wb, 2)
            item["flow"] = _to_cthw(transform_flow(flow_px, params, cfg.flow_bound))

    def _clip_cache_path(self, row: ManifestRow, base_hw: tuple[int, int]) -> Path:
        key = (
            f"v{CLIP_CACHE_VERSION}|{file_identity(row.video)}|{base_hw}|r{self.cfg.sampling_rate}"
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return self.cache_dir / "clips" / digest[:2] / f"{digest}.npy"

    def _base_frames(
        self, row: ManifestRow, info: VideoInfo, idx: np.ndarray, base_hw: tuple[int, int]
    ) -> np.ndarray:
        """The frames ``idx`` resized to ``base_hw``, decoded or read from the clip cache."""
        r = self.cfg.sampling_rate
        try:
            if not self.cfg.cache:
                return resize_frames(read_frames(row.video, idx, self.backend), base_hw)
            # The cache holds every grid frame 0, r, 2r, ... of the video (all clips of all
            # epochs sample on this grid), so one file per video and sampling rate serves them.
            path = self._clip_cache_path(row, base_hw)
            grid = load_cached_npy(path)
            num_grid = (info.num_frames - 1) // r + 1
            if grid is None or grid.shape != (num_grid, base_hw[0], base_hw[1], 3):
                all_idx = np.arange(num_grid, dtype=np.int64) * r
                grid = resize_frames(read_frames(row.video, all_idx, self.backend), base_hw)
                atomic_save_npy(path, np.ascontiguousarray(grid))
            return np.ascontiguousarray(grid[idx // r])
        except DataError as err:
            raise ClipError(f"{row.where()}: {err}", row.clip_id, row.video) from err

    def _load_skeleton(self, row: ManifestRow, info: VideoInfo, idx: np.ndarray) -> np.ndarray:
        path = row.skeleton
        assert path is not None  # checked in __init__
        if not path.is_file():
            raise ClipError(
                f"{row.where()}: skeleton file {path} does not exist", row.clip_id, path
            )
        problem = check_skeleton_header(path)
        if problem:
            raise ClipError(f"{row.where()}: {problem}", row.clip_id, path)
        joints = np.load(path, mmap_mode="r", allow_pickle=False)
        if joints.shape[0] != info.num_frames:
            raise ClipError(
                f"{row.where()}: skeleton file {path} has {joints.shape[0]} frames but its video "
                f"{row.video} has {info.num_frames}; write one (17, 3) pose per video frame",
                row.clip_id,
                path,
            )
        out = np.asarray(joints[idx], dtype=np.float32)  # (T, V, 3)
        if not np.isfinite(out).all():
            raise ClipError(
                f"{row.where()}: skeleton file {path} holds NaN or inf values; write 0 with "
                "confidence 0 for undetected joints",
                row.clip_id,
                path,
            )
        return out


def _to_cthw(x: np.ndarray) -> torch.Tensor:
    """(T, H, W, C) numpy -> (C, T, H, W) contiguous float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(3, 0, 1, 2), dtype=np.float32))


def collate_clips(items: Sequence[dict | SkippedClip]) -> dict:
    """Stack items into a batch dict; drop :class:`SkippedClip` markers and list them.

    Returns:
        The batch: stacked tensors per modality and ``labels`` ``(B, 20)``, lists ``clip_id`` and
        ``activity``, ``view`` ``(B,)`` int64, and ``skipped``: the clip ids dropped from this
        batch. When every item of a batch was skipped, tensors have batch size 0; a training step
        should then do nothing (check ``batch["labels"].shape[0]``).
    """
    good = [x for x in items if not isinstance(x, SkippedClip)]
    skipped = [x.clip_id for x in items if isinstance(x, SkippedClip)]
    batch: dict = {"skipped": skipped}
    if good:
        for key in good[0]:
            values = [x[key] for x in good]
            if isinstance(values[0], torch.Tensor):
                batch[key] = torch.stack(values)
            elif isinstance(values[0], int):
                batch[key] = torch.tensor(values, dtype=torch.int64)
            else:
                batch[key] = values
        return batch
    shapes = items[0].shapes if items else {}
    for key, shape in shapes.items():
        batch[key] = torch.zeros((0, *shape), dtype=torch.float32)
    batch.update(clip_id=[], activity=[], view=torch.zeros(0, dtype=torch.int64))
    return batch
