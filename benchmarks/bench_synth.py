"""Generation time of MuscleMap-Synth: clips/s, total seconds and size on disk per profile.

Usage: ``python benchmarks/bench_synth.py [--profiles smoke,cpu] [--workers 2] [--out DIR]``.
Each profile is generated into ``OUT/<profile>`` (a temporary folder by default) and removed
afterwards unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from musclemap_lib.synth import writer


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", default="smoke,cpu")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="folder for the data sets (default: temporary)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data sets")
    args = ap.parse_args()
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_synth-"))
    print(f"{'profile':8s} {'clips':>6s} {'frames':>9s} {'seconds':>8s} {'clips/s':>8s} {'MB':>7s}")
    for name in args.profiles.split(","):
        prof = writer.get_profile(name)
        out = root / name
        t0 = time.perf_counter()
        writer.generate(
            out, name, seed=args.seed, workers=args.workers, overwrite=True, progress=False
        )
        dt = time.perf_counter() - t0
        n = len(writer.read_manifest(out))
        size = _size(out) / 2**20
        print(
            f"{name:8s} {n:6d} {prof.width}x{prof.height}x{prof.frames:<3d} {dt:8.1f} "
            f"{n / dt:8.1f} {size:7.1f}",
            flush=True,
        )
        if not args.keep:
            shutil.rmtree(out)
    if not args.out and not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
