"""Write a PNG contact sheet of a data folder: one row per activity.

Each row shows a few RGB frames of one clip with its skeleton drawn on top, the RGB difference
and the Farneback flow (hue = direction, brightness = speed) at the middle frame, and the clip's
activity, split and muscle labels. Used to look at MuscleMap-Synth: do the figures look like
people exercising?

    python scripts/contact_sheet.py --data data/synth-smoke --out /tmp/contact_sheet.png
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from musclemap_lib.data.manifest import ManifestRow, load_manifest  # noqa: E402
from musclemap_lib.data.modalities import farneback_flow, rgb_diff  # noqa: E402
from musclemap_lib.data.video import probe_video, read_frames  # noqa: E402
from musclemap_lib.muscles import DISPLAY_NAMES  # noqa: E402
from musclemap_lib.paths import data_root  # noqa: E402
from musclemap_lib.skeleton import EDGES, JOINTS  # noqa: E402

log = logging.getLogger("contact_sheet")


def default_data() -> Path:
    for name in ("synth-cpu", "synth-smoke"):
        if (data_root() / name / "manifest.csv").is_file():
            return data_root() / name
    return data_root() / "synth-cpu"


def pick_clips(rows: list[ManifestRow], n: int, seed: int) -> list[ManifestRow]:
    """One clip per activity, activities spread over the sorted list, known and new mixed."""
    rng = np.random.default_rng(seed)
    by_act: dict[str, list[ManifestRow]] = {}
    for r in rows:
        by_act.setdefault(r.activity, []).append(r)
    new = sorted(a for a, rs in by_act.items() if rs[0].split.startswith("new"))
    known = sorted(a for a in by_act if a not in new)
    n_new = min(len(new), n // 3)
    chosen = (
        [known[int(i)] for i in np.linspace(0, len(known) - 1, n - n_new).round()] if known else []
    )
    chosen += [new[int(i)] for i in np.linspace(0, len(new) - 1, n_new).round()] if n_new else []
    return [by_act[a][int(rng.integers(len(by_act[a])))] for a in dict.fromkeys(chosen)]


def flow_to_rgb(flow: np.ndarray, max_mag: float) -> np.ndarray:
    """(H, W, 2) flow -> (H, W, 3) uint8: hue = direction, value = speed / max_mag."""
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
    hsv = np.zeros(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = (ang * 90 / np.pi).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(mag / max(max_mag, 1e-6) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def draw_skeleton(ax, joints: np.ndarray) -> None:
    """Bones (left blue, right red, centre green) and joints sized by confidence."""
    for a, b in EDGES:
        if min(joints[a, 2], joints[b, 2]) < 0.05:
            continue
        name = JOINTS[a]
        color = (
            "tab:blue"
            if name.startswith("left")
            else "tab:red"
            if name.startswith("right")
            else "lime"
        )
        ax.plot(joints[[a, b], 0], joints[[a, b], 1], "-", color=color, lw=1.2, alpha=0.9)
    ax.scatter(
        joints[:, 0], joints[:, 1], s=6 + 10 * joints[:, 2], c="yellow", edgecolors="k", lw=0.3
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data", type=Path, default=None, help="data folder (default synth-cpu or -smoke)"
    )
    p.add_argument("--out", type=Path, default=Path("/tmp/contact_sheet.png"))
    p.add_argument("--clips", type=int, default=10, help="rows (one activity each)")
    p.add_argument("--frames", type=int, default=5, help="RGB frames per row")
    p.add_argument("--rate", type=int, default=2, help="frame stride for the diff and the flow")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    root = args.data or default_data()
    m = load_manifest(root)
    clips = pick_clips(m.rows, args.clips, args.seed)
    ncol = args.frames + 3
    fig, axes = plt.subplots(
        len(clips), ncol, figsize=(1.6 * ncol + 1.5, 1.75 * len(clips)), squeeze=False
    )
    for row_axes, clip in zip(axes, clips, strict=True):
        info = probe_video(clip.video)
        idx = np.linspace(0, info.num_frames - 1, args.frames).round().astype(int)
        frames = read_frames(clip.video, idx)
        joints = np.load(clip.skeleton) if clip.skeleton else None
        for ax, f, t in zip(row_axes[: args.frames], frames, idx, strict=True):
            ax.imshow(f)
            if joints is not None:
                draw_skeleton(ax, joints[t])
            ax.set_title(f"t={t}", fontsize=6, pad=1)
        mid = info.num_frames // 2
        pair = np.array([max(mid - args.rate, 0), mid])
        two = read_frames(clip.video, pair)
        diff = rgb_diff(two.astype(np.float32) / 255.0)[1]
        row_axes[args.frames].imshow(np.clip(diff * 4, 0, 1))
        row_axes[args.frames].set_title("|rgb diff| x4", fontsize=6, pad=1)
        flow = farneback_flow(two)[1]
        row_axes[args.frames + 1].imshow(flow_to_rgb(flow, 0.1 * min(info.height, info.width)))
        row_axes[args.frames + 1].set_title("flow (10% side = full)", fontsize=6, pad=1)
        text = "\n".join(DISPLAY_NAMES[x] for x in clip.labels)
        row_axes[-1].text(
            0, 1, f"{clip.activity}\n[{clip.split}]\n{text}", fontsize=6, va="top", ha="left"
        )
        for ax in row_axes:
            ax.set_xticks([])
            ax.set_yticks([])
        row_axes[-1].axis("off")
    fig.suptitle(f"{root.name}: {len(m)} clips, fingerprint {m.fingerprint[:12]}", fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=150)
    log.info("wrote %s (%d clips)", args.out, len(clips))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
