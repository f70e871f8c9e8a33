"""Import of the real MuscleMap136 split lists into our manifest format.

The released code reads, per split, a pickled list of video paths and a pickled list of per-video
muscle-index lists (indices 0..19 in the order of :data:`musclemap_lib.muscles.MUSCLE_GROUPS`),
under placeholder paths ``path/to/<split>/video/list`` and ``path/to/<split>/label/list``
(reference/official-code.md sections 5 and 6). The file names of the real lists are not
published, so two layouts of ``--lists DIR`` are accepted:

- ``DIR/<split>_videos.pkl`` and ``DIR/<split>_labels.pkl``, or
- ``DIR/<split>/video/list`` and ``DIR/<split>/label/list`` (the released placeholders),

for the splits ``train, val_seen, val_unseen, test_seen, test_unseen``, which become our
``train, known_val, new_val, known_test, new_test``.

Pickles can run code when loaded, so they are read with a restricted unpickler that admits only
lists, strings and integers; anything else stops the import with an error naming the file.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import pickle
import re
import reprlib
from pathlib import Path

from musclemap_lib.data.manifest import (
    DATASET_JSON,
    MANIFEST_NAME,
    REQUIRED_COLUMNS,
    DataError,
    load_manifest,
)
from musclemap_lib.muscles import MUSCLE_GROUPS, NUM_MUSCLES

log = logging.getLogger(__name__)

# official split name -> ours
SPLIT_MAP: dict[str, str] = {
    "train": "train",
    "val_seen": "known_val",
    "val_unseen": "new_val",
    "test_seen": "known_test",
    "test_unseen": "new_test",
}
_MAX_LISTED = 10


class ListImportError(DataError):
    """The split lists cannot be imported."""


class _ListsOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global: only built-in containers and scalars can load."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")

    def persistent_load(self, pid):  # noqa: ANN001 - pickle API
        raise pickle.UnpicklingError("refusing a persistent id")


def safe_load_list(path: Path) -> list:
    """Unpickle a list of strings / integers / lists of them, and nothing else.

    Raises:
        ListImportError: when the pickle refers to any class or function (such as a numpy type or a
            malicious ``os.system``), is damaged, or holds a type other than list, str and int.
    """
    try:
        obj = _ListsOnlyUnpickler(io.BytesIO(path.read_bytes())).load()
    except pickle.UnpicklingError as err:
        raise ListImportError(
            f"{path}: {err}; only lists, strings and integers are admitted (re-save the list with "
            "plain Python types, e.g. [int(i) for i in labels])"
        ) from err
    except Exception as err:  # noqa: BLE001 - damaged pickles raise many types
        raise ListImportError(
            f"{path} is not a readable pickle ({type(err).__name__}: {str(err)[:200]})"
        ) from err
    _check_types(obj, path)
    if not isinstance(obj, list):
        raise ListImportError(f"{path} holds a {type(obj).__name__}; expected a list")
    return obj


def _check_types(obj: object, path: Path) -> None:
    """Admit a list of strings, integers or lists of them (two levels), checked without
    recursion: a crafted pickle may nest lists 200,000 deep."""
    if not isinstance(obj, list):
        return  # the caller names the wrong top-level type
    for i, x in enumerate(obj):
        items = x if isinstance(x, list) else [x]
        for j, y in enumerate(items):
            at = f"item {i}" if not isinstance(x, list) else f"item {i}[{j}]"
            if isinstance(y, list):
                raise ListImportError(
                    f"{path}: {at} is a nested list; expected a list of strings or of lists of "
                    "integers (two levels at most)"
                )
            if isinstance(y, bool) or not isinstance(y, (str, int)):
                raise ListImportError(
                    f"{path}: {at} is a {type(y).__name__}; only lists, strings and integers "
                    "are admitted"
                )


def find_lists(lists_dir: Path, split: str) -> tuple[Path, Path]:
    """The (videos, labels) pickle files of an official split name."""
    layouts = [
        (lists_dir / f"{split}_videos.pkl", lists_dir / f"{split}_labels.pkl"),
        (lists_dir / split / "video" / "list", lists_dir / split / "label" / "list"),
    ]
    for videos, labels in layouts:
        if videos.is_file() and labels.is_file():
            return videos, labels
    expected = " or ".join(
        f"{v.relative_to(lists_dir)} + {lb.relative_to(lists_dir)}" for v, lb in layouts
    )
    raise ListImportError(f"no lists for split {split!r} in {lists_dir}; expected {expected}")


def _resolve_video(videos_dir: Path, listed: str) -> Path | None:
    """Find a listed (authors' absolute) path under ``videos_dir`` by its longest existing tail."""
    # The released loader swaps musclemap_trimmed for musclemap_rescale; accept either.
    candidates = [listed, listed.replace("musclemap_trimmed", "musclemap_rescale")]
    for cand in candidates:
        parts = [p for p in Path(cand).parts if p not in ("/", "")]
        for k in range(len(parts), 0, -1):
            p = videos_dir.joinpath(*parts[-k:])
            if p.is_file():
                return p
    return None


def _source_of(stem: str) -> str:
    # ASSUMPTION: a clip's file name is its source video's name plus a trailing clip number.
    return re.sub(r"[_-]\d+$", "", stem) or stem


def import_musclemap(
    lists_dir: str | Path,
    videos_dir: str | Path,
    out_dir: str | Path,
    skeletons_dir: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``out_dir/manifest.csv`` and ``dataset.json`` from the authors' split lists.

    Args:
        lists_dir: folder with the pickled lists (see the module docstring for the layouts).
        videos_dir: folder holding the videos; each listed path is matched by its longest tail
            that exists under this folder.
        out_dir: where to write the manifest (video paths are written relative to it).
        skeletons_dir: optional folder of ``(T, 17, 3)`` ``.npy`` skeletons named like the videos
            (``<relative video path>.npy`` or ``<video stem>.npy``).
        overwrite: write into an ``out_dir`` that already holds files (its manifest.csv and
            dataset.json are replaced; nothing else is touched).

    Returns:
        ``out_dir``.

    Raises:
        FileExistsError: when ``out_dir`` is not empty and ``overwrite`` is False.
        ListImportError: for a missing or unsafe list, mismatched lengths, an unknown muscle index,
            or listed videos (or skeletons) that cannot be found; every problem is listed.
    """
    lists_dir, videos_dir = Path(lists_dir).resolve(), Path(videos_dir).resolve()
    out_dir = Path(out_dir).resolve()
    skel_dir = Path(skeletons_dir).resolve() if skeletons_dir else None
    for name, d in (("--lists", lists_dir), ("--videos", videos_dir), ("--skeletons", skel_dir)):
        if d is not None and not d.is_dir():
            raise FileNotFoundError(f"{name} folder {d} does not exist")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        held = sorted(p.name for p in out_dir.iterdir())
        shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
        raise FileExistsError(
            f"--out {out_dir} already holds files ({shown}); pass --overwrite to write "
            f"{MANIFEST_NAME} and {DATASET_JSON} into it (replacing any there), or choose an "
            "empty folder"
        )
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    used: dict[str, str] = {}
    counts: dict[str, int] = {}
    list_files = {s: find_lists(lists_dir, s) for s in SPLIT_MAP}  # check all first
    for official, ours in SPLIT_MAP.items():
        vpath, lpath = list_files[official]
        videos, labels = safe_load_list(vpath), safe_load_list(lpath)
        if len(videos) != len(labels):
            raise ListImportError(
                f"{vpath} lists {len(videos)} videos but {lpath} lists {len(labels)} label lists; "
                "they must pair up one to one"
            )
        counts[ours] = len(videos)
        for i, (v, lab) in enumerate(zip(videos, labels, strict=True)):
            where = f"{vpath} item {i}"
            if not isinstance(v, str):
                problems.append(f"{where}: expected a video path string, got {type(v).__name__}")
                continue
            if not isinstance(lab, list) or not all(isinstance(x, int) for x in lab):
                problems.append(
                    f"{lpath} item {i}: expected a list of muscle indices, got {reprlib.repr(lab)}"
                )
                continue
            bad = [x for x in lab if not 0 <= x < NUM_MUSCLES]
            if bad:
                problems.append(
                    f"{lpath} item {i}: muscle indices {bad} outside 0..{NUM_MUSCLES - 1}"
                )
                continue
            if not lab:
                problems.append(f"{lpath} item {i}: empty label list for {v}")
                continue
            video = _resolve_video(videos_dir, v)
            if video is None:
                problems.append(f"{where}: video {v!r} not found under {videos_dir}")
                continue
            rel = video.relative_to(videos_dir)
            clip_id = str(rel.with_suffix("")).replace(os.sep, "__")
            if clip_id in used:
                problems.append(f"{where}: video {rel} is also listed in {used[clip_id]}")
                continue
            used[clip_id] = where
            skeleton = ""
            if skel_dir is not None:
                cands = [skel_dir / rel.with_suffix(".npy"), skel_dir / f"{video.stem}.npy"]
                found = next((c for c in cands if c.is_file()), None)
                if found is None:
                    problems.append(f"{where}: no skeleton {cands[0]} (or {cands[1].name})")
                    continue
                skeleton = os.path.relpath(found, out_dir)
            # ASSUMPTION: the folder holding a clip is named after its activity.
            activity = video.parent.name if video.parent != videos_dir else "unknown"
            rows.append(
                {
                    "clip_id": clip_id,
                    "split": ours,
                    "activity": activity,
                    "source": f"{activity}/{_source_of(video.stem)}",
                    "video": os.path.relpath(video, out_dir),
                    "skeleton": skeleton,
                    "labels": ";".join(MUSCLE_GROUPS[x] for x in sorted(set(lab))),
                }
            )
    if problems:
        more = (
            f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        )
        raise ListImportError(
            f"cannot import MuscleMap136: {len(problems)} problem(s); nothing was written:\n  "
            + "\n  ".join(problems[:_MAX_LISTED])
            + more
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(REQUIRED_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = buf.getvalue()
    _atomic_write(out_dir / MANIFEST_NAME, text)
    info = {
        "dataset": "MuscleMap136",
        "imported_from": {
            "lists": str(lists_dir),
            "videos": str(videos_dir),
            "skeletons": str(skel_dir or ""),
        },
        "counts": counts,
        "has_skeletons": skel_dir is not None,
        "fingerprint": "mm136-" + hashlib.sha256(text.encode()).hexdigest()[:16],
    }
    _atomic_write(out_dir / DATASET_JSON, json.dumps(info, indent=2) + "\n")
    load_manifest(out_dir)  # the written manifest must load
    log.info("imported %d clips into %s (%s)", len(rows), out_dir, counts)
    return out_dir


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def cli_import(args: argparse.Namespace) -> int:
    """``musclemap import-musclemap --lists DIR --videos DIR --out DIR [--skeletons DIR]
    [--overwrite]``."""
    out = import_musclemap(
        args.lists, args.videos, args.out, args.skeletons, getattr(args, "overwrite", False)
    )
    manifest = load_manifest(out)
    report = manifest.verify(protocol=False)
    for problem in manifest.protocol_problems():
        # Written as imported (the lists are the authors'); training refuses it until fixed.
        log.warning("%s breaks the split protocol: %s", out / MANIFEST_NAME, problem)
    log.info("%s: %s, fingerprint %s", out / MANIFEST_NAME, report.split_sizes, report.fingerprint)
    return 0
