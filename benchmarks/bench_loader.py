"""Loader throughput: clips per second per modality, workers 0 and 2, with and without the cache,
and decord against the PyAV reader on the same clips.

    python benchmarks/bench_loader.py --data data/synth-cpu --clips 64

"cold" = no clip cache and an empty flow cache (every clip decoded, flow computed);
"warm" = ``DataConfig.cache=True`` after one epoch has filled the clip and flow caches.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from musclemap_lib.config import DataConfig
from musclemap_lib.data.dataset import ClipDataset, collate_clips
from musclemap_lib.data.manifest import load_manifest
from musclemap_lib.data.video import probe_video, read_frames, sample_indices
from musclemap_lib.paths import data_root


def default_data() -> Path:
    for name in ("synth-cpu", "synth-smoke"):
        if (data_root() / name / "manifest.csv").is_file():
            return data_root() / name
    return data_root() / "synth-cpu"


def epoch(ds, n: int, workers: int, batch: int) -> float:
    """Seconds for one pass over the first ``n`` items."""
    loader = DataLoader(
        Subset(ds, range(min(n, len(ds)))),
        batch_size=batch,
        num_workers=workers,
        collate_fn=collate_clips,
        shuffle=False,
    )
    t0 = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--num-frames", type=int, default=8)
    p.add_argument("--rate", type=int, default=2)
    p.add_argument("--crop", type=int, default=32)
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    root = args.data or default_data()
    m = load_manifest(root)
    rows = m.split("train")[: args.clips]
    info = probe_video(rows[0].video)
    cfg = DataConfig.with_crop(args.crop, num_frames=args.num_frames, sampling_rate=args.rate)
    print(
        f"data {root} ({len(m)} clips, videos {info.width}x{info.height}, {info.num_frames} frames)"
    )
    print(
        f"clips: {len(rows)} train clips; T={cfg.num_frames}, rate {cfg.sampling_rate}, crop {cfg.crop_size}"
    )

    # decord against PyAV on the same clips and indices
    n = len(rows)
    idx = [
        sample_indices(
            probe_video(r.video).num_frames, cfg.num_frames, cfg.sampling_rate, "uniform"
        )
        for r in rows
    ]
    speed = {}
    for backend in ("decord", "pyav"):
        t0 = time.perf_counter()
        for r, i in zip(rows, idx, strict=True):
            read_frames(r.video, i, backend)
        speed[backend] = n / (time.perf_counter() - t0)
    print(
        f"decode only (1 process): decord {speed['decord']:.1f} clips/s, PyAV {speed['pyav']:.1f} "
        f"clips/s, ratio decord/PyAV {speed['decord'] / speed['pyav']:.2f}"
    )

    print(f"{'modality':10s} {'workers':>7s} {'cold clips/s':>13s} {'warm (cache) clips/s':>21s}")
    for modality in ("rgb", "rgb_diff", "flow", "skeleton"):
        for workers in (0, 2):
            with tempfile.TemporaryDirectory() as tmp:
                torch.manual_seed(0)
                plain = ClipDataset(
                    root, "train", cfg, (modality,), train=True, cache_dir=tmp, manifest=m
                )
                cold = epoch(plain, n, workers, args.batch)
            with tempfile.TemporaryDirectory() as tmp:
                cached_cfg = DataConfig.with_crop(
                    args.crop, num_frames=args.num_frames, sampling_rate=args.rate, cache=True
                )
                ds = ClipDataset(
                    root, "train", cached_cfg, (modality,), train=True, cache_dir=tmp, manifest=m
                )
                epoch(ds, n, workers, args.batch)  # fills the caches
                warm = epoch(ds, n, workers, args.batch)
            print(f"{modality:10s} {workers:7d} {n / cold:13.1f} {n / warm:21.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
