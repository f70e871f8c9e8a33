"""Benchmark TransM3E: parameters of every variant at paper scale, and its cost against MViTv2-S.

1. Parameter counts at ``paper`` scale for every TransM3E-family model (built on the ``meta``
   device: no memory, no initialisation cost), beside the paper's 55.4M (Table 2) and the
   components of ``transm3e``.
2. Forward + backward time per clip at ``cpu`` scale for TransM3E against MViTv2-S alone (and
   MViTv2-S with MCT), on one thread, as wall time and as process CPU time (the CPU time is less
   sensitive to other processes sharing the cores). The ratio is from one run.

Usage::

    .venv/bin/python benchmarks/bench_transm3e.py
    .venv/bin/python benchmarks/bench_transm3e.py --iters 5 --batch 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping

import torch
from torch import nn

from musclemap_lib.models import build_model
from musclemap_lib.models import transm3e as tm
from musclemap_lib.models.fusion import LATE_FUSION_VARIANTS
from musclemap_lib.models.scales import PAPER, SCALES
from musclemap_lib.models.tokens import MCT_SKELETON_VARIANTS, MCT_VIDEO_VARIANTS

PAPER_TRANSM3E = 55.4e6  # Table 2 "#PM" of TransM3E


def count(model: nn.Module) -> int:
    """Every parameter (frozen ones included), the convention of reference/baselines.md."""
    return sum(p.numel() for p in model.parameters())


def paper_params() -> dict[str, int]:
    """Parameter counts of every TransM3E-family model (and the two backbones) at paper scale."""
    names = [
        "mvitv2_s",
        "hdgcn",
        *MCT_VIDEO_VARIANTS,
        *MCT_SKELETON_VARIANTS,
        *tm.TRANSM3E_VARIANTS,
        *LATE_FUSION_VARIANTS,
    ]
    with torch.device("meta"):
        return {n: count(build_model(n, PAPER)) for n in names}


def transm3e_parts() -> dict[str, int]:
    """Parameters of each top-level part of ``transm3e`` (and the skeleton branch's parts)."""
    with torch.device("meta"):
        model = build_model("transm3e", PAPER)
    parts = {name: count(module) for name, module in model.named_children()}
    parts.update({f"aux.{n}": count(m) for n, m in model.aux.named_children()})
    return parts


def _batch(scale: str, batch: int) -> dict[str, torch.Tensor]:
    s = SCALES[scale]
    return {
        "rgb": torch.randn(batch, 3, s.frames, s.size, s.size),
        "rgb_diff": torch.rand(batch, 3, s.frames, s.size, s.size),
        "skeleton": torch.randn(batch, 1, s.frames, 17, 3),
    }


def time_per_clip(name: str, scale: str, batch: int, iters: int) -> Mapping[str, float]:
    """Mean wall and CPU milliseconds of one forward + backward, per clip."""
    torch.manual_seed(0)
    model = build_model(name, scale).train()
    data = _batch(scale, batch)

    def step() -> None:
        out = model(data)
        loss = out.logits.sum() + out.kd.total if hasattr(out, "kd") else out.sum()
        loss.backward()
        model.zero_grad(set_to_none=True)

    step()  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    n = iters * batch
    return {
        "wall_ms": 1e3 * (time.perf_counter() - wall) / n,
        "cpu_ms": 1e3 * (time.process_time() - cpu) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=3, help="timed steps per model")
    parser.add_argument("--batch", type=int, default=2, help="clips per step")
    parser.add_argument("--scale", default="cpu", help="scale of the timing runs")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)

    params = paper_params()
    parts = transm3e_parts()
    print("== parameters at paper scale (20 classes) ==")
    for name, n in params.items():
        print(f"{name:28s} {n:>12,d}  {n / 1e6:6.2f}M")
    ours = params["transm3e"]
    print(
        f"transm3e vs paper: {ours / 1e6:.2f}M vs {PAPER_TRANSM3E / 1e6:.1f}M "
        f"({100 * (ours - PAPER_TRANSM3E) / PAPER_TRANSM3E:+.1f}%)"
    )
    print("-- transm3e parts --")
    for name, n in parts.items():
        print(f"  {name:24s} {n:>12,d}")

    print(f"== forward+backward per clip, {args.scale} scale, 1 thread, batch {args.batch} ==")
    timing = {
        n: time_per_clip(n, args.scale, args.batch, args.iters)
        for n in ("mvitv2_s", "mvitv2_s_mct", "hdgcn_mct", "transm3e", "transm3e_rgbdiff_teacher")
    }
    for name, t in timing.items():
        print(f"{name:28s} wall {t['wall_ms']:8.1f} ms  cpu {t['cpu_ms']:8.1f} ms")
    base = timing["mvitv2_s"]
    for name in ("transm3e", "transm3e_rgbdiff_teacher"):
        print(
            f"{name} / mvitv2_s: wall x{timing[name]['wall_ms'] / base['wall_ms']:.2f}, "
            f"cpu x{timing[name]['cpu_ms'] / base['cpu_ms']:.2f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"params": params, "parts": parts, "timing": timing}, f, indent=2)


if __name__ == "__main__":
    main()
