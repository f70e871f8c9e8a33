"""The data-set manifest: one row per clip, with its split, activity, files and muscle labels.

A data folder ``DIR`` holds ``DIR/manifest.csv`` with the columns :data:`REQUIRED_COLUMNS`
(video and skeleton paths relative to ``DIR``; ``skeleton`` may be empty; ``labels`` are muscle
ids of :data:`musclemap_lib.muscles.MUSCLE_GROUPS` joined by ``;``) and optionally
``DIR/dataset.json`` (generator, seed, counts) and ``DIR/activities.csv`` (one row per activity:
``activity``, ``role``, one 0/1 column per muscle group, ``rationale``).

The data fingerprint (:attr:`Manifest.fingerprint`) is computed from the content, never read from
``dataset.json``, so a relabelled or replaced data set never passes for the one a result was
computed on. :meth:`Manifest.verify` is the cheap pre-flight check (files present and readable,
activity table, split protocol); decoding every clip is :func:`musclemap_lib.data.checks.preflight`.

Every problem is reported with the file and the manifest line it comes from, and no row is ever
dropped silently: a bad manifest raises :class:`ManifestError` listing all problems found.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from musclemap_lib.muscles import MUSCLE_GROUPS, MUSCLE_INDEX, names_to_multihot
from musclemap_lib.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
DATASET_JSON = "dataset.json"
ACTIVITIES_CSV = "activities.csv"
REQUIRED_COLUMNS: tuple[str, ...] = (
    "clip_id",
    "split",
    "activity",
    "source",
    "video",
    "skeleton",
    "labels",
)
# The paper's five splits (official names train, val_seen, val_unseen, test_seen, test_unseen).
SPLITS: tuple[str, ...] = ("train", "known_val", "new_val", "known_test", "new_test")
VAL_SPLITS: tuple[str, ...] = ("known_val", "new_val")
TEST_SPLITS: tuple[str, ...] = ("known_test", "new_test")
_MAX_LISTED = 20  # problems listed in one error message
# The fingerprint hashes at most three blocks of this size per data file (head, middle, tail):
# reading whole videos at every run would cost minutes on the real data set.
FINGERPRINT_BLOCK = 1 << 16
FINGERPRINT_VERSION = "data1"  # bump when the fingerprint's definition changes


class DataError(ValueError):
    """Base class of the data pipeline's errors (a ``ValueError``, so the CLI prints one line)."""


class ManifestError(DataError):
    """The manifest (or the folder it describes) is malformed."""


class ClipError(DataError):
    """One clip cannot be loaded; the message names the file and the manifest row."""

    def __init__(self, message: str, clip_id: str = "", path: Path | None = None) -> None:
        super().__init__(message)
        self.clip_id = clip_id
        self.path = path


@dataclass(frozen=True)
class ManifestRow:
    """One clip of the manifest (paths already resolved against the data folder)."""

    clip_id: str
    split: str
    activity: str
    source: str  # the "source video" the clip was cut from (clips of one source share a split)
    video: Path
    skeleton: Path | None  # None when the data set has no skeleton for this clip
    labels: tuple[str, ...]  # muscle-group ids, in the paper's order
    line: int  # line of this row in manifest.csv (the header is line 1)
    manifest: Path = field(compare=False)

    def where(self) -> str:
        """``'<manifest> line N (clip 'id')'``: used in every error about this row."""
        return f"{self.manifest} line {self.line} (clip {self.clip_id!r})"

    def multihot(self) -> np.ndarray:
        """The labels as a ``(20,)`` float32 multi-hot vector."""
        return names_to_multihot(self.labels)


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`Manifest.verify` checked."""

    root: Path
    fingerprint: str
    num_clips: int
    num_files: int
    split_sizes: dict[str, int]


class Manifest:
    """A loaded, validated manifest. Build it with :func:`load_manifest`.

    Attributes:
        root: the data folder.
        path: ``root / 'manifest.csv'``.
        rows: every row, in file order.
        info: the contents of ``dataset.json`` (empty dict when the file is absent).
    """

    def __init__(self, root: Path, rows: list[ManifestRow], info: dict) -> None:
        self.root = root
        self.path = root / MANIFEST_NAME
        self.rows = rows
        self.info = info

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ManifestRow]:
        return iter(self.rows)

    def split(self, name: str) -> list[ManifestRow]:
        """The rows of one split, in file order.

        Raises:
            ValueError: for a name that is not one of :data:`SPLITS`.
        """
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return [r for r in self.rows if r.split == name]

    def split_sizes(self) -> dict[str, int]:
        """Number of clips per split (every split listed, zeros included)."""
        counts = Counter(r.split for r in self.rows)
        return {s: counts.get(s, 0) for s in SPLITS}

    def activities(self, split: str | None = None) -> list[str]:
        """Sorted activity names (of one split, or of the whole manifest)."""
        rows = self.rows if split is None else self.split(split)
        return sorted({r.activity for r in rows})

    def has_skeletons(self, split: str | None = None) -> bool:
        """True when every row (of ``split``) has a skeleton file."""
        rows = self.rows if split is None else self.split(split)
        return all(r.skeleton is not None for r in rows)

    def label_matrix(self, split: str) -> np.ndarray:
        """``(N, 20)`` float32 multi-hot labels of a split, in file order."""
        rows = self.split(split)
        if not rows:
            return np.zeros((0, len(MUSCLE_GROUPS)), dtype=np.float32)
        return np.stack([r.multihot() for r in rows])

    def files(self, modalities: Iterable[str] | None = None) -> list[tuple[ManifestRow, str, Path]]:
        """``(row, kind, path)`` of every file the manifest names, ``kind`` video or skeleton.

        Args:
            modalities: only the files these modalities read (``None``: every file). A skeleton
                model reads the skeleton and the video's header (its frame count), a video model
                only the video.
        """
        want = {"video", "skeleton"}
        if modalities is not None:
            mods = set(modalities)
            want = set()
            if mods:
                want.add("video")  # every modality needs the video (frames or frame count)
            if "skeleton" in mods:
                want.add("skeleton")
        out = []
        for r in self.rows:
            for kind, p in (("video", r.video), ("skeleton", r.skeleton)):
                if p is not None and kind in want:
                    out.append((r, kind, p))
        return out

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the data content, recomputed from the files (``dataset.json`` is ignored).

        Covers the bytes of ``manifest.csv`` (splits, activities, labels, paths) and of
        ``activities.csv`` when present, and for every file the manifest names its path (relative
        to the data folder), its size and the bytes of up to three
        :data:`FINGERPRINT_BLOCK`-sized blocks (head, middle, tail; the whole file when it is
        smaller than three blocks). Not covered: ``dataset.json``, caches, files the manifest does
        not name, and a same-size edit of a large file that touches none of the sampled blocks.
        Modification times are not used, so a copy of a data set keeps its fingerprint. A missing
        or unreadable file enters as such (whether a run may go without it is for
        :meth:`verify` to say, from the modalities it reads).

        Computed once per :class:`Manifest` object (a load is a snapshot), by reading at most
        ``3 * FINGERPRINT_BLOCK`` bytes per file.
        """
        digest = hashlib.sha256(f"{FINGERPRINT_VERSION}\n".encode())
        digest.update(self.path.read_bytes())
        activities = self.root / ACTIVITIES_CSV
        if activities.is_file():
            digest.update(b"\0activities\0" + activities.read_bytes())
        for p in sorted({p for _, _, p in self.files()}):
            try:
                size, sample = sampled_digest(p)
                state = f"{size}\0{sample}"
            except FileNotFoundError:
                state = "missing"  # an RGB model may run without the skeleton files
            except OSError:
                state = "unreadable"
            digest.update(f"\0{self._rel(p)}\0{state}".encode())
        return f"{FINGERPRINT_VERSION}-{digest.hexdigest()[:16]}"

    def _rel(self, p: Path) -> str:
        return str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)

    def protocol_problems(self) -> list[str]:
        """Violations of the paper's split protocol, each naming the activity or source and the fix.

        New activities appear only in ``new_val``/``new_test`` (never in ``train``); known
        val/test activities are training activities; a source video never straddles two splits.
        Returns an empty list when the protocol holds.
        """
        problems = []
        train = set(self.activities("train"))
        for s in ("new_val", "new_test"):
            for a in sorted(set(self.activities(s)) & train):
                problems.append(
                    f"activity {a!r} is in train and in {s}: a new activity must never be trained "
                    f"on; move its train clips out of train, or its {s} clips to "
                    f"known_{s.split('_')[1]}"
                )
        for s in ("known_val", "known_test"):
            for a in sorted(set(self.activities(s)) - train):
                problems.append(
                    f"activity {a!r} is in {s} but not in train: a known activity must have "
                    f"training clips; add train clips of it, or move its {s} clips to "
                    f"new_{s.split('_')[1]}"
                )
        split_of: dict[str, set[str]] = {}
        for r in self.rows:
            if r.source:
                split_of.setdefault(r.source, set()).add(r.split)
        for src in sorted(s for s, sp in split_of.items() if len(sp) > 1):
            problems.append(
                f"source video {src!r} has clips in {', '.join(sorted(split_of[src]))}: clips cut "
                "from one source video must all be in one split"
            )
        return problems

    def check_protocol(self) -> None:
        """Raise :class:`ManifestError` when :meth:`protocol_problems` finds any."""
        problems = self.protocol_problems()
        if problems:
            raise ManifestError(
                _format_problems(
                    self.path,
                    problems,
                    "the manifest breaks the paper's split protocol (new activities only in "
                    "new_val/new_test); fix manifest.csv, or regenerate the data with `musclemap "
                    "synth` / re-import it with `musclemap import-musclemap`",
                )
            )

    def check_activities(self) -> None:
        """With an ``activities.csv``, refuse manifest activities it does not list.

        Raises:
            ManifestError: naming each unknown activity and a manifest line using it, or the
                problems of ``activities.csv`` itself (see :func:`read_activity_table`).
        """
        table = read_activity_table(self.root)
        if table is None:
            return
        first: dict[str, ManifestRow] = {}
        for r in self.rows:
            if r.activity not in table:
                first.setdefault(r.activity, r)
        if first:
            problems = [
                f"{r.where()}: unknown activity {a!r} (not in {self.root / ACTIVITIES_CSV})"
                for a, r in sorted(first.items())
            ]
            raise ManifestError(
                _format_problems(
                    self.path,
                    problems,
                    f"use an activity listed in {ACTIVITIES_CSV}, or add it there with its labels",
                )
            )

    def verify(
        self,
        check_skeleton_headers: bool = True,
        modalities: Iterable[str] | None = None,
        protocol: bool = True,
    ) -> VerifyReport:
        """The cheap pre-flight check: files present and readable, activity table, protocol.

        Reads only file metadata and ``.npy`` headers, never video frames
        (:func:`musclemap_lib.data.checks.preflight` decodes them).

        Args:
            check_skeleton_headers: check that each skeleton ``.npy`` is ``(T, 17, 3)`` float.
            modalities: check only the files these modalities read (see :meth:`files`);
                ``None`` checks every file.
            protocol: refuse a manifest that breaks the paper's split protocol
                (:meth:`check_protocol`).

        Returns:
            A :class:`VerifyReport` with the (computed) fingerprint.

        Raises:
            ManifestError: listing every missing, unreadable or malformed file with its manifest
                line; an unknown activity or a bad ``activities.csv``; a broken protocol.
        """
        problems: list[str] = []
        num_files = 0
        for r, kind, p in self.files(modalities):
            if not p.is_file():
                problems.append(f"{r.where()}: {kind} file {p} does not exist")
                continue
            if not os.access(p, os.R_OK):
                problems.append(
                    f"{r.where()}: {kind} file {p} is not readable (permission denied); "
                    f"chmod -R a+rX {self.root}"
                )
                continue
            num_files += 1
            if kind == "skeleton" and check_skeleton_headers:
                msg = check_skeleton_header(p)
                if msg:
                    problems.append(f"{r.where()}: {msg}")
        if problems:
            raise ManifestError(_format_problems(self.path, problems, "fix or remove these rows"))
        self.check_activities()
        if protocol:
            self.check_protocol()
        report = VerifyReport(
            self.root, self.fingerprint, len(self.rows), num_files, self.split_sizes()
        )
        log.info(
            "verified %s: %d clips, %d files, fingerprint %s",
            self.path,
            report.num_clips,
            report.num_files,
            report.fingerprint,
        )
        return report


def sampled_digest(path: Path, block: int = FINGERPRINT_BLOCK) -> tuple[int, str]:
    """``(size, sha256 hex)`` of a file's head, middle and tail blocks (all of a small file)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h = hashlib.sha256()
        if size <= 3 * block:
            h.update(f.read())
        else:
            for offset in (0, (size - block) // 2, size - block):
                f.seek(offset)
                h.update(f.read(block))
    return size, h.hexdigest()


def read_activity_table(root: str | Path) -> dict[str, tuple[int, ...]] | None:
    """The muscle labels of each activity in ``root/activities.csv`` (``None`` when absent).

    Returns:
        ``{activity: 20 ints (0/1) in the order of MUSCLE_GROUPS}``.

    Raises:
        ManifestError: for a missing muscle column, a repeated activity or a value other than
            0 and 1, each with its line.
    """
    path = Path(root) / ACTIVITIES_CSV
    if not path.is_file():
        return None
    problems: list[str] = []
    table: dict[str, tuple[int, ...]] = {}
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("activity", *MUSCLE_GROUPS) if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(
                f"{path}: missing column(s) {missing}; the header must hold activity and one 0/1 "
                "column per muscle group id; regenerate the data with `musclemap synth`"
            )
        for rec in reader:
            line = reader.line_num
            name = (rec.get("activity") or "").strip()
            if not name:
                problems.append(f"line {line}: empty activity")
                continue
            if name in table:
                problems.append(f"line {line}: activity {name!r} listed twice")
                continue
            values = []
            for m in MUSCLE_GROUPS:
                text = (rec.get(m) or "").strip()
                if text not in ("0", "1"):
                    problems.append(
                        f"line {line} (activity {name!r}): {m} is {text!r}; labels are 0 or 1"
                    )
                values.append(1 if text == "1" else 0)
            table[name] = tuple(values)
    if problems:
        raise ManifestError(_format_problems(path, problems, "fix these rows"))
    return table


def check_skeleton_header(path: Path) -> str:
    """Return a problem description for a skeleton ``.npy`` whose header is not (T, 17, 3) float.

    Returns an empty string when the header is fine.
    """
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - any failure to read is reported as such
        return f"skeleton file {path} cannot be read as .npy ({type(err).__name__}: {err})"
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        return (
            f"skeleton file {path} has shape {tuple(arr.shape)}; expected (T, {NUM_JOINTS}, 3) "
            "= x, y in video pixels and confidence per COCO-17 joint"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        return f"skeleton file {path} has dtype {arr.dtype}; expected float32"
    return ""


def _format_problems(path: Path, problems: list[str], fix: str) -> str:
    head = f"{path}: {len(problems)} problem(s); {fix}:\n  "
    listed = "\n  ".join(problems[:_MAX_LISTED])
    more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
    return head + listed + more


def _resolve(root: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else root / p


def load_manifest(root: str | Path) -> Manifest:
    """Load and validate ``root/manifest.csv`` (columns, splits, muscle ids, unique clip ids).

    File existence is checked by :meth:`Manifest.verify`, not here, so loading stays cheap.

    Raises:
        FileNotFoundError: when the folder or its manifest.csv does not exist.
        ManifestError: listing every malformed row with its line number.
    """
    root = Path(root).expanduser().resolve()
    path = root / MANIFEST_NAME
    if not path.is_file():
        hint = (
            "generate MuscleMap-Synth with `musclemap synth --out DIR` or import the real data "
            "with `musclemap import-musclemap`"
        )
        raise FileNotFoundError(f"no {MANIFEST_NAME} in {root}; {hint}")
    info: dict = {}
    info_path = root / DATASET_JSON
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text())
        except json.JSONDecodeError as err:
            raise ManifestError(f"{info_path} is not valid JSON ({err}); regenerate it") from err

    rows: list[ManifestRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ManifestError(
                f"{path}: missing column(s) {missing}; the header must hold "
                f"{','.join(REQUIRED_COLUMNS)} (got {','.join(columns) or 'nothing'})"
            )
        for rec in reader:
            line = reader.line_num
            clip_id = (rec.get("clip_id") or "").strip()
            where = f"line {line} (clip {clip_id!r})"
            if None in rec:  # more fields than header columns
                problems.append(
                    f"{where}: {len(rec[None])} extra field(s); quote values with commas"
                )
            if not clip_id:
                problems.append(f"{where}: empty clip_id")
            elif clip_id in seen:
                problems.append(
                    f"{where}: clip_id {clip_id!r} already used on line {seen[clip_id]}"
                )
            else:
                seen[clip_id] = line
            split = (rec.get("split") or "").strip()
            if split not in SPLITS:
                problems.append(
                    f"{where}: unknown split {split!r}; expected one of {', '.join(SPLITS)}"
                )
            labels = tuple(x.strip() for x in (rec.get("labels") or "").split(";") if x.strip())
            unknown = [x for x in labels if x not in MUSCLE_INDEX]
            if unknown:
                problems.append(
                    f"{where}: unknown muscle id(s) {unknown} in labels; use ids of "
                    f"musclemap_lib.muscles.MUSCLE_GROUPS ({', '.join(MUSCLE_GROUPS)}) joined by ';'"
                )
            elif not labels:
                problems.append(f"{where}: no labels; every clip needs at least one muscle id")
            video = (rec.get("video") or "").strip()
            if not video:
                problems.append(f"{where}: empty video path")
            skeleton = (rec.get("skeleton") or "").strip()
            activity = (rec.get("activity") or "").strip()
            if not activity:
                problems.append(f"{where}: empty activity")
            rows.append(
                ManifestRow(
                    clip_id=clip_id,
                    split=split,
                    activity=activity,
                    source=(rec.get("source") or "").strip(),
                    video=_resolve(root, video),
                    skeleton=_resolve(root, skeleton) if skeleton else None,
                    # Keep the paper's order whatever order the file uses; drop repeats.
                    labels=tuple(m for m in MUSCLE_GROUPS if m in labels),
                    line=line,
                    manifest=path,
                )
            )
    if problems:
        raise ManifestError(_format_problems(path, problems, "fix these rows"))
    if not rows:
        raise ManifestError(f"{path} has a header but no rows")
    return Manifest(root, rows, info)
