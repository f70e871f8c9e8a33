"""Benchmark the model zoo: parameters, FLOPs per clip and training throughput per model.

CPU (the default, issue 4's figures): each Table-2 model at ``cpu`` scale, on 2 threads,
forward + backward on a batch of 4 clips, 5 steps timed one by one after a warm-up
(throughput from the fastest step, the median step beside it)::

    .venv/bin/python benchmarks/bench_models.py
    .venv/bin/python benchmarks/bench_models.py --models c2d_r50 slowfast_r50 --iters 5
    .venv/bin/python benchmarks/bench_models.py --all   # every registered variant too

By default the models are Table 2's rows that are registered (TransM3E included).

Note: on the shared 2-core development machine, ``--threads 2`` collapses whenever another
process is busy (OpenMP threads wait on a descheduled peer; steps 10-300x slower), while
``--threads 1`` stays stable; compare both (best and median columns) before reading the figures.

GPU (where one is lent): paper scale in bf16 autocast, with peak memory::

    .venv/bin/python benchmarks/bench_models.py --scale paper --device cuda --bf16

Parameters are counted at the benchmarked scale (the paper-scale audit is
``musclemap_lib.models.audit``). FLOPs are FlopCounterMode's (2 per multiply-add, forward only,
one clip). Models without a trainable parameter (random, all_ones) are timed forward only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from musclemap_lib.models import build_model, list_models
from musclemap_lib.models.audit import TABLE2, count_parameters
from musclemap_lib.models.flops import example_batch, flops_per_clip


@dataclass(frozen=True)
class BenchRow:
    """One model's figures."""

    model: str  # registered name
    scale: str  # paper / cpu / smoke
    params: int  # parameters at this scale (20 classes)
    gflops: float  # forward GFLOPs per clip at this scale
    clips_per_s: float  # training (forward + backward, no optimizer) clips per wall second,
    # from the fastest timed step
    step_ms: float  # wall milliseconds of the fastest step of `batch` clips
    median_step_ms: float  # median wall milliseconds per step (shows contention when >> best)
    clips_per_cpu_s: float  # clips per second of process CPU time (least-CPU step): less sensitive
    # than wall time to other processes sharing the cores
    backward: bool  # False when the model has nothing to train (timed forward only)
    peak_mem_gib: float | None  # torch.cuda.max_memory_allocated, GiB (cuda only)


def _logits(out: object) -> torch.Tensor:
    return out.logits if hasattr(out, "logits") else out  # type: ignore[union-attr,return-value]


def bench_one(
    name: str,
    scale: str,
    device: torch.device,
    batch_size: int,
    warmup: int,
    iters: int,
    bf16: bool,
) -> BenchRow:
    """Time ``iters`` training steps of one model after ``warmup`` untimed ones."""
    torch.manual_seed(0)
    model: nn.Module = build_model(name, scale=scale).to(device).train()
    params = count_parameters(model)
    gflops = flops_per_clip(name, scale) / 1e9
    gen = torch.Generator().manual_seed(0)
    batch = example_batch(model.modalities, scale, batch_size, device=device, generator=gen)
    labels = (torch.rand(batch_size, 20, generator=gen) > 0.5).float().to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        if bf16
        else contextlib.nullcontext()
    )

    def step() -> None:
        with autocast:
            logits = _logits(model(batch))
        if trainable:
            loss = nn.functional.binary_cross_entropy_with_logits(logits.float(), labels)
            loss.backward()
            for p in trainable:
                p.grad = None

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    grad = contextlib.nullcontext() if trainable else torch.no_grad()
    with grad:
        for _ in range(warmup):
            step()
        sync()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        # Each step is timed on its own. On a shared 2-core machine a step that overlaps another
        # process's burst can take 10-50x longer (OpenMP threads wait on a descheduled peer), so
        # throughput comes from the fastest step (timeit's convention: the best estimate of the
        # uncontended cost); the median step is reported beside it.
        walls, cpus = [], []
        for _ in range(iters):
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            sync()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return BenchRow(
        model=name,
        scale=scale,
        params=params,
        gflops=gflops,
        clips_per_s=batch_size / max(min(walls), 1e-9),
        step_ms=1000 * min(walls),
        median_step_ms=1000 * statistics.median(walls),
        clips_per_cpu_s=batch_size / max(min(cpus), 1e-9),
        backward=bool(trainable),
        peak_mem_gib=peak,
    )


def format_table(rows: list[BenchRow], header: str) -> str:
    """The printed table."""
    lines = [
        header,
        f"{'model':<14}{'params':>13}{'GFLOPs/clip':>13}{'clips/s':>10}{'best ms':>10}"
        f"{'median ms':>11}{'clips/cpu-s':>13}{'peak GiB':>10}  note",
    ]
    for r in rows:
        peak = f"{r.peak_mem_gib:.2f}" if r.peak_mem_gib is not None else "-"
        note = "" if r.backward else "forward only (no parameters)"
        lines.append(
            f"{r.model:<14}{r.params:>13,}{r.gflops:>13.3f}{r.clips_per_s:>10.1f}"
            f"{r.step_ms:>10.1f}{r.median_step_ms:>11.1f}{r.clips_per_cpu_s:>13.2f}{peak:>10}"
            f"  {note}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, benchmark, print the table (and write JSON with --out)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", default="cpu", choices=["paper", "cpu", "smoke"])
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU benchmark)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--batch", type=int, default=4, help="clips per step (default 4)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--iters", type=int, default=5, help="timed steps, best taken (default 5)")
    ap.add_argument(
        "--models", nargs="*", default=None, help="default: the registered models of Table 2"
    )
    ap.add_argument("--all", action="store_true", help="every registered model (all variants)")
    ap.add_argument("--out", default=None, help="also write the rows as JSON here")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda but no CUDA device is available")
    if args.models:
        names = args.models
    elif args.all:
        names = list_models()
    else:  # Table 2's rows (TransM3E included), in the paper's order
        names = [m for m in TABLE2 if m in list_models()]
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {', '.join(list_models())}")

    rows = []
    for name in names:
        rows.append(
            bench_one(name, args.scale, device, args.batch, args.warmup, args.iters, args.bf16)
        )
        print(f"done {name}", file=sys.stderr, flush=True)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    header = (
        f"scale={args.scale} device={where} threads={args.threads} batch={args.batch} "
        f"warmup={args.warmup} iters={args.iters} bf16={args.bf16} torch={torch.__version__} "
        f"loadavg(1 min)={os.getloadavg()[0]:.1f} at the end"
    )
    print(format_table(rows, header))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"header": header, "rows": [asdict(r) for r in rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
