"""Derived modalities: RGB difference, Farneback optical flow (cached on disk), skeleton streams.

Output layouts follow :mod:`musclemap_lib.modalities`; these functions work on per-clip arrays
(no batch axis), the dataset adds the layout.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from musclemap_lib.skeleton import NUM_JOINTS, bone_parents

log = logging.getLogger(__name__)

# Farneback parameters: OpenCV's commonly used set for video flow (winsize 15, 3 levels) at
# 224 px and more. ASSUMPTION: on the small frames of the cpu/smoke profiles the averaging window
# and the pyramid shrink with the frame (winsize ~ short side / 15, at least 5), otherwise a
# 15 px window blurs a 48 px frame into a few blobs.
FARNEBACK = dict(
    pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0
)
FLOW_CACHE_VERSION = 2


def farneback_params(height: int, width: int) -> dict:
    """Farneback parameters for frames of ``height x width`` (see :data:`FARNEBACK`)."""
    short = min(height, width)
    params = dict(FARNEBACK)
    params["winsize"] = int(max(5, min(15, short // 15)))
    params["levels"] = 3 if short >= 96 else 2 if short >= 48 else 1
    return params


def rgb_diff(frames: np.ndarray) -> np.ndarray:
    """RGB difference as the released code computes it: ``D_t = |F_t - F_{t-1}|``, ``D_0 = 0``.

    Args:
        frames: ``(T, H, W, 3)`` float frames in [0, 1], already spatially transformed.

    Returns:
        ``(T, H, W, 3)`` float32 in [0, 1] (not normalised, as in the released code).
    """
    # PAPER/released: MuscleMapDataset.__getitem__ builds |F'_t - F'_{t-1}| for t >= 1 and a zero
    # first frame from the [0, 1] augmented frames (reference/official-code.md section 1.2).
    out = np.zeros_like(frames, dtype=np.float32)
    out[1:] = np.abs(frames[1:].astype(np.float32) - frames[:-1].astype(np.float32))
    return out


# DEVIATION: optical flow (Table 7) is computed here with OpenCV's Farneback between the sampled
# frames, which lie `sampling_rate` source frames apart (4 at every profile); the released code
# has a decoder of precomputed per-frame x/y flow videos (never called in its MuscleMap pipeline,
# official-code.md), and the paper names no method.
def farneback_flow(frames: np.ndarray) -> np.ndarray:
    """Dense optical flow between consecutive frames (OpenCV Farneback, on grey levels).

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB.

    Returns:
        ``(T, H, W, 2)`` float32 displacement (dx, dy) in pixels from frame ``t - 1`` to ``t``;
        ``flow[0] = 0`` (the same convention as :func:`rgb_diff`), and a repeated frame has zero
        flow.
    """
    t, h, w, _ = frames.shape
    out = np.zeros((t, h, w, 2), dtype=np.float32)
    params = farneback_params(h, w)
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
    for i in range(1, t):
        if np.array_equal(gray[i], gray[i - 1]):
            continue  # padded (repeated) frames: no motion by definition
        out[i] = cv2.calcOpticalFlowFarneback(gray[i - 1], gray[i], None, **params)
    return out


def file_identity(path: Path) -> str:
    """``path|size|mtime_ns``: changes whenever the file is replaced (for cache keys)."""
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` via a temporary file and ``os.replace`` (readers never see half a
    file, and concurrent writers of the same key simply replace each other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_cached_npy(path: Path) -> np.ndarray | None:
    """Load a cache entry, or return None (and delete it) when it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - a damaged cache entry is recomputed, not fatal
        log.warning("discarding unreadable cache entry %s (%s)", path, err)
        path.unlink(missing_ok=True)
        return None


def flow_cache_path(cache_dir: Path, video: Path, indices: np.ndarray, hw: tuple[int, int]) -> Path:
    """Cache file of the flow of ``video`` at frame ``indices`` computed at size ``hw``."""
    key = "|".join(
        [
            f"v{FLOW_CACHE_VERSION}",
            file_identity(video),
            ",".join(str(int(i)) for i in indices),
            f"{hw[0]}x{hw[1]}",
            repr(sorted(farneback_params(*hw).items())),
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir / "flow" / digest[:2] / f"{digest}.npy"


def cached_flow(
    frames: np.ndarray, video: Path, indices: np.ndarray, cache_dir: Path | None
) -> np.ndarray:
    """:func:`farneback_flow` of a clip's frames, computed once and then read from disk.

    Args:
        frames: ``(T, H, W, 3)`` uint8 frames of ``video`` at ``indices`` (already resized).
        video: the video file (its path, size and mtime go into the key).
        indices: ``(T,)`` frame indices.
        cache_dir: cache folder; None computes without caching.

    Returns:
        ``(T, H, W, 2)`` float32 flow in pixels of ``frames``.
    """
    if cache_dir is None:
        return farneback_flow(frames)
    path = flow_cache_path(cache_dir, video, indices, frames.shape[1:3])
    hit = load_cached_npy(path)
    if hit is not None and hit.shape == frames.shape[:3] + (2,):
        return hit.astype(np.float32)
    flow = farneback_flow(frames)
    # float16 halves the disk use; its 1e-3 relative precision is far below Farneback's error.
    atomic_save_npy(path, flow.astype(np.float16))
    return flow.astype(np.float16).astype(np.float32)  # identical on a hit and on a miss


def bone_stream(joints: np.ndarray) -> np.ndarray:
    """Bones of a skeleton: ``b[v] = j[v] - j[parent(v)]`` for x, y; the root bone is zero.

    Args:
        joints: ``(..., V, 3)`` x, y, confidence.

    Returns:
        ``(..., V, 3)`` float32: bone vectors and, as confidence, the mean of the two joints'
        confidences (ASSUMPTION: as pyskl's JointToBone does).
    """
    if joints.shape[-2] != NUM_JOINTS:
        raise ValueError(f"expected {NUM_JOINTS} joints on axis -2, got shape {joints.shape}")
    parent = np.asarray(bone_parents())
    out = np.empty_like(joints, dtype=np.float32)
    out[..., :2] = joints[..., :2] - joints[..., parent, :2]
    out[..., 2] = (joints[..., 2] + joints[..., parent, 2]) / 2.0
    return out
