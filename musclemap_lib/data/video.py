"""Video decoding and temporal sampling.

The main reader is decord (``backend="decord"``); a PyAV reader (``backend="pyav"``, the
decoder the released code uses) gives the same frames and serves as the benchmark's comparison.

Temporal sampling picks ``num_frames`` frames ``sampling_rate`` apart. A clip covers
``span = (num_frames - 1) * sampling_rate + 1`` source frames.

- ``"random"`` (training): a uniformly random start.
- ``"uniform"`` (evaluation): view ``j`` of ``k`` starts at ``linspace(0, n - span, k)[j]``, i.e.
  k evenly spaced clips from the first to the last possible one; with ``k = 1`` the clip starts
  at frame 0, as the released test protocol does (offset sampling, clip index 0).
- ``"center"``: the middle clip.

# DEVIATION: starts are snapped down to multiples of ``sampling_rate`` (the released code draws
# any integer start and spaces indices by linspace over 4*16/30*fps frames). With every sampled
# frame on the grid ``0, r, 2r, ...`` one cached array of grid frames serves every clip of a video,
# so the on-disk cache gives exactly the frames the decoder would; the cost is losing the
# sub-stride phase jitter. Frame rates are not resampled to a target fps (the synthetic videos
# have one fixed rate).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from musclemap_lib.data.manifest import DataError

log = logging.getLogger(__name__)

SamplingMode = Literal["random", "uniform", "center"]
Backend = Literal["decord", "pyav"]
BACKENDS: tuple[str, ...] = ("decord", "pyav")


class VideoError(DataError):
    """A video cannot be opened or decoded; the message names the file."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ShortClipError(VideoError):
    """A video has fewer frames than one clip spans."""


@dataclass(frozen=True)
class VideoInfo:
    """Container metadata of a video."""

    num_frames: int
    height: int
    width: int
    fps: float


def _broken(path: Path, what: str, or_else: str, err: Exception) -> VideoError:
    """The one-line error of a video PyAV cannot read: what failed, why, and the fix."""
    return VideoError(
        f"{what} {path} ({type(err).__name__}: {str(err)[:200]}); the file is corrupt or "
        f"{or_else}: regenerate or re-download it",
        path,
    )


def probe_video(path: str | Path) -> VideoInfo:
    """Read frame count, size and rate from the container (no frame is decoded).

    Falls back to decord's index when the container does not store a frame count.

    Raises:
        VideoError: when the file is missing or cannot be opened as a video.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"video file {path} does not exist", path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path} holds no video stream", path)
            stream = container.streams.video[0]
            n, h, w = int(stream.frames or 0), int(stream.height), int(stream.width)
            fps = float(stream.average_rate or 0.0)
    except VideoError:
        raise
    except Exception as err:  # noqa: BLE001 - PyAV raises many types for broken files
        raise _broken(path, "cannot open video", "not a video", err) from err
    if n <= 0:
        n = len(_open_decord(path))
    if n <= 0 or h <= 0 or w <= 0:
        raise VideoError(f"video {path} reports {n} frames of {w}x{h}; the file is corrupt", path)
    return VideoInfo(n, h, w, fps)


def sample_indices(
    num_video_frames: int,
    num_frames: int,
    sampling_rate: int,
    mode: SamplingMode = "uniform",
    rng: np.random.Generator | None = None,
    view: int = 0,
    views: int = 1,
    short_clip: Literal["error", "pad"] = "error",
    path: str | Path | None = None,
) -> np.ndarray:
    """Frame indices of one clip (all multiples of ``sampling_rate``).

    Args:
        num_video_frames: frames in the video (n).
        num_frames: frames per clip (T).
        sampling_rate: stride between sampled frames (r).
        mode: ``"random"`` (needs ``rng``), ``"uniform"`` (view ``view`` of ``views`` evenly
            spaced clips) or ``"center"``.
        rng: random generator for ``"random"``.
        view: which of the ``views`` uniform clips (0-based).
        views: number of evenly spaced clips in ``"uniform"`` mode.
        short_clip: a video shorter than one span raises ``ShortClipError`` (``"error"``) or has
            its last grid frame repeated (``"pad"``, the released code's clamping).
        path: the video, for error messages.

    Returns:
        ``(T,)`` int64 indices, non-decreasing, in ``[0, n)``.

    Raises:
        ShortClipError: when ``n < (T - 1) * r + 1`` and ``short_clip == "error"``.
        ValueError: for a bad mode or view.
    """
    n, t, r = int(num_video_frames), int(num_frames), int(sampling_rate)
    span = (t - 1) * r + 1
    if n < 1:
        raise VideoError(f"video {path} has no frames; regenerate or remove it", path)
    if n < span:
        if short_clip != "pad":
            raise ShortClipError(
                f"video {path} has {n} frames, fewer than one clip spans ({t} frames x rate {r} "
                f"-> {span}); lower DataConfig.sampling_rate or num_frames, or set "
                "short_clip='pad' to repeat the last frame",
                path,
            )
        # ASSUMPTION: as the released code clamps its indices to the last frame, a short clip is
        # padded by repeating its last grid frame (the last multiple of r).
        last = ((n - 1) // r) * r
        return np.minimum(np.arange(t, dtype=np.int64) * r, last)
    max_step = (n - span) // r  # the last start on the grid is max_step * r
    if mode == "random":
        if rng is None:
            raise ValueError("sample_indices(mode='random') needs an rng")
        step = int(rng.integers(0, max_step + 1))
    elif mode == "uniform":
        if not 0 <= view < views:
            raise ValueError(f"view {view} is outside 0..{views - 1}")
        # PAPER/released: offset sampling, start = linspace(0, n - span, k)[j].
        start = np.linspace(0, n - span, views)[view] if views > 1 else 0.0
        step = int(start // r)
    elif mode == "center":
        step = max_step // 2
    else:
        raise ValueError(f"unknown sampling mode {mode!r}; expected random, uniform or center")
    return (step + np.arange(t, dtype=np.int64)) * r


def multiview_indices(
    num_video_frames: int,
    num_frames: int,
    sampling_rate: int,
    views: int,
    short_clip: Literal["error", "pad"] = "error",
    path: str | Path | None = None,
) -> np.ndarray:
    """The ``k`` evenly spaced clips of multi-view evaluation: ``(views, T)`` indices."""
    return np.stack(
        [
            sample_indices(
                num_video_frames,
                num_frames,
                sampling_rate,
                "uniform",
                None,
                j,
                views,
                short_clip,
                path,
            )
            for j in range(views)
        ]
    )


class _DecordWidthBug(Exception):
    """decord's buffer-size bug for some frame widths (the file itself is fine)."""


def _open_decord(path: Path, num_threads: int = 1):
    import decord

    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=num_threads)
    except Exception as err:  # noqa: BLE001 - decord raises its own DECORDError / RuntimeError
        raise VideoError(
            f"decord cannot open video {path} ({type(err).__name__}: {str(err)[:200]}); the file "
            "is corrupt, truncated or not a video: regenerate or re-download it",
            path,
        ) from err


def _read_decord(path: Path, indices: np.ndarray, num_threads: int) -> np.ndarray:
    vr = _open_decord(path, num_threads)
    n = len(vr)
    if indices.size and int(indices.max()) >= n:
        raise VideoError(
            f"video {path} has {n} frames but frame {int(indices.max())} was requested", path
        )
    try:
        frames = vr.get_batch([int(i) for i in indices]).asnumpy()
    except Exception as err:  # noqa: BLE001
        if "DECORDArrayCopyFromTo" in str(err):
            # decord 0.6.0 bug: frames of some widths (16, 24, 48, 72 px among the multiples
            # of 8 up to 256) fail with a buffer-size mismatch although the file is fine.
            raise _DecordWidthBug(str(err)) from err
        raise VideoError(
            f"decord failed to decode frames of {path} ({type(err).__name__}: {str(err)[:200]}); "
            "the file is corrupt or truncated: regenerate or re-download it",
            path,
        ) from err
    return frames


def _read_pyav(path: Path, indices: np.ndarray) -> np.ndarray:
    import av

    wanted = sorted({int(i) for i in indices})
    last = wanted[-1] if wanted else -1
    got: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i in got or i in wanted:
                    got[i] = frame.to_ndarray(format="rgb24")
                if i >= last:
                    break
    except Exception as err:  # noqa: BLE001 - PyAV raises many types for broken files
        raise _broken(path, "PyAV failed to decode", "truncated", err) from err
    missing = [i for i in wanted if i not in got]
    if missing:
        raise VideoError(
            f"video {path} ended after {len(got) and max(got) + 1} decodable frames but frame "
            f"{missing[0]} was requested; the file is truncated: regenerate it",
            path,
        )
    return np.stack([got[int(i)] for i in indices])


def read_frames(
    path: str | Path, indices: np.ndarray, backend: Backend = "decord", num_threads: int = 1
) -> np.ndarray:
    """Decode the frames ``indices`` of a video as RGB uint8.

    Args:
        path: the video file.
        indices: ``(T,)`` frame indices (repeats allowed).
        backend: ``"decord"`` or ``"pyav"``; both return the same frames.
        num_threads: decoder threads for decord (1 suits DataLoader workers).

    Returns:
        ``(T, H, W, 3)`` uint8 frames.

    Raises:
        VideoError: for a missing, corrupt or truncated file, naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"video file {path} does not exist", path)
    indices = np.asarray(indices, dtype=np.int64)
    if backend == "decord":
        try:
            frames = _read_decord(path, indices, num_threads)
        except _DecordWidthBug:
            # One warning per process (Python's warning registry dedups the same text).
            warnings.warn(
                "decord 0.6.0 cannot decode videos of some frame widths (e.g. 48 px); those are "
                "decoded with PyAV instead, which gives the same frames. Generate videos with "
                "another width (e.g. 64) to use decord.",
                RuntimeWarning,
                stacklevel=2,
            )
            log.debug("decord width bug on %s; decoded with PyAV", path)
            frames = _read_pyav(path, indices)
    elif backend == "pyav":
        frames = _read_pyav(path, indices)
    else:
        raise ValueError(f"unknown video backend {backend!r}; expected one of {BACKENDS}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] != len(indices):
        raise VideoError(
            f"video {path} decoded to shape {frames.shape}; expected (T, H, W, 3)", path
        )
    return frames


def read_clip(
    path: str | Path,
    num_frames: int,
    sampling_rate: int,
    mode: SamplingMode = "uniform",
    rng: np.random.Generator | None = None,
    view: int = 0,
    views: int = 1,
    backend: Backend = "decord",
    short_clip: Literal["error", "pad"] = "error",
    num_frames_in_video: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample and decode one clip.

    Args:
        path: the video file.
        num_frames, sampling_rate, mode, rng, view, views, short_clip: see :func:`sample_indices`.
        backend: ``"decord"`` or ``"pyav"``.
        num_frames_in_video: the video's frame count when already known (skips probing).

    Returns:
        ``(frames, indices)``: ``(T, H, W, 3)`` uint8 frames and their ``(T,)`` indices.

    Raises:
        VideoError / ShortClipError: naming the file and what to do.
    """
    path = Path(path)
    n = num_frames_in_video if num_frames_in_video is not None else probe_video(path).num_frames
    idx = sample_indices(n, num_frames, sampling_rate, mode, rng, view, views, short_clip, path)
    return read_frames(path, idx, backend), idx


def read_views(
    path: str | Path,
    num_frames: int,
    sampling_rate: int,
    views: int,
    backend: Backend = "decord",
    short_clip: Literal["error", "pad"] = "error",
) -> tuple[np.ndarray, np.ndarray]:
    """Decode the ``k`` evenly spaced clips of multi-view evaluation in one pass.

    Returns:
        ``(frames, indices)``: ``(views, T, H, W, 3)`` uint8 and ``(views, T)`` indices.
    """
    path = Path(path)
    n = probe_video(path).num_frames
    idx = multiview_indices(n, num_frames, sampling_rate, views, short_clip, path)
    flat = read_frames(path, idx.reshape(-1), backend)
    return flat.reshape(idx.shape + flat.shape[1:]), idx
