"""Tiny data folders for the data-pipeline tests (independent of the MuscleMap-Synth generator).

``build_folder`` writes 10 clips (64 x 48 px, 40 frames, 15 fps) over the five splits: a blocky
texture drifting right by 2 px per frame, a bright dot at the left wrist whose skeleton file
records its position, plus manifest.csv, dataset.json and the skeletons.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import numpy as np

from musclemap_lib.skeleton import JOINT_INDEX

H, W, N_FRAMES, FPS = 48, 64, 40, 15
SHIFT = 2  # texture motion in px per frame (to the right)
WRIST = JOINT_INDEX["left_wrist"]

# (clip_id, split, activity, labels)
CLIPS = [
    ("c0", "train", "squats", "quadriceps;gluteus"),
    ("c1", "train", "push_ups", "chest;triceps;shoulder"),
    ("c2", "train", "squats", "quadriceps;gluteus"),
    ("c3", "train", "crunches", "upper_abdominis"),
    ("c4", "known_val", "squats", "quadriceps;gluteus"),
    ("c5", "new_val", "v_ups", "upper_abdominis;lower_abdominis"),
    ("c6", "known_test", "push_ups", "chest;triceps;shoulder"),
    ("c7", "new_test", "v_ups", "upper_abdominis;lower_abdominis"),
    ("c8", "known_test", "crunches", "upper_abdominis"),
    ("c9", "new_test", "running", "calves;quadriceps;hamstring"),
]


def write_video(path: Path, frames: np.ndarray, fps: int = FPS) -> None:
    """Write (T, H, W, 3) uint8 frames as a near-lossless H.264 mp4."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps, options={"crf": "8", "preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            for pk in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)


def make_clip(
    seed: int, n: int = N_FRAMES, h: int = H, w: int = W
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (n, h, w, 3) uint8 and a matching skeleton (n, 17, 3) float32."""
    rng = np.random.default_rng(seed)
    base = rng.random((h // 4, (w + n * SHIFT) // 4 + 1, 3)).astype(np.float32)
    tex = np.kron(base, np.ones((4, 4, 1), np.float32))  # blocky texture, wide enough to pan
    frames = np.empty((n, h, w, 3), np.uint8)
    joints = np.zeros((n, 17, 3), np.float32)
    # joints on a vertical line, left joints at x = 0.3 w, right ones at 0.7 w
    for j in range(17):
        joints[:, j, 0] = w * (0.3 if j % 2 == 1 else 0.7)
        joints[:, j, 1] = h * (0.1 + 0.8 * j / 16)
    joints[:, :, 2] = 0.9
    for t in range(n):
        off = (n - t) * SHIFT  # window moves left over the texture -> content moves right
        frames[t] = (tex[:h, off : off + w] * 120 + 40).astype(np.uint8)
        x = int(10 + (t % 20))
        y = int(12 + (t % 7))
        frames[t, y - 1 : y + 2, x - 1 : x + 2] = 255
        joints[t, WRIST, :2] = (x, y)
    return frames, joints


def build_folder(root: Path, clips=CLIPS, n: int = N_FRAMES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (cid, split, act, labels) in enumerate(clips):
        frames, joints = make_clip(i, n)
        write_video(root / "videos" / f"{cid}.mp4", frames)
        (root / "skeletons").mkdir(exist_ok=True)
        np.save(root / "skeletons" / f"{cid}.npy", joints)
        rows.append(
            dict(
                clip_id=cid,
                split=split,
                activity=act,
                source=f"src_{cid}",
                video=f"videos/{cid}.mp4",
                skeleton=f"skeletons/{cid}.npy",
                labels=labels,
            )
        )
    write_manifest(root, rows)
    (root / "dataset.json").write_text(json.dumps({"fingerprint": "test-fp-0001", "seed": 0}))
    return root


def write_manifest(root: Path, rows: list[dict]) -> None:
    cols = ["clip_id", "split", "activity", "source", "video", "skeleton", "labels"]
    with (root / "manifest.csv").open("w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols)
        wr.writeheader()
        wr.writerows(rows)


def read_rows(root: Path) -> list[dict]:
    with (root / "manifest.csv").open(newline="") as f:
        return list(csv.DictReader(f))
