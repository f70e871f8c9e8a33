"""Training throughput: clips per second of one optimiser step per model, through the engine.

Each step is what the engine runs: forward, the system's loss (BCE; for TransM3E variants both
branch losses plus the KD total), backward, gradient clipping and an AdamW step. Inputs are random
tensors of the profile's clip size (the data pipeline is timed separately with ``--data``: the
decoded-clip cache makes it cheap after the first epoch).

Usage::

    python benchmarks/bench_train.py --profile cpu                       # every experiment model
    python benchmarks/bench_train.py --profile cpu --models mvitv2_s transm3e --threads 2
    python benchmarks/bench_train.py --profile paper --models mvitv2_s transm3e   # on a GPU: bf16,
                                                                                  # peak memory
    python benchmarks/bench_train.py --profile cpu --data data/synth-cpu  # + loader clips/s
    python benchmarks/bench_train.py --profile cpu --models c2d_r50 --cpu-bf16 --channels-last
    python benchmarks/bench_train.py --profile cpu --models mvitv2_s --size 48 --frames 6

``--cpu-bf16`` (bf16 autocast on a CPU) and ``--channels-last`` (channels-last weights and clips)
measure two speed levers the engine does not use yet; on a GPU the step always autocasts to bf16.
``--size`` / ``--frames`` measure a smaller clip than the profile's (widths and depths unchanged):
what a smaller profile scale would cost per step, not how its runs would converge.

Prints one line per model: parameters, train clips/s, and the achieved GFLOP/s of a training
step (forward + backward FLOPs counted by ``torch.utils.flop_counter`` on the warm-up step; a
multiply-add is 2 FLOPs). ``--json FILE`` also writes the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from contextlib import nullcontext

import torch
from torch.utils.flop_counter import FlopCounterMode

from musclemap_lib.models import build_model
from musclemap_lib.study import EXPERIMENTS, PROFILES, Family, get_experiment, get_profile
from musclemap_lib.study.pipeline import SYSTEMS
from musclemap_lib.training.system import AMGESystem, parameter_groups


def _batch(model: torch.nn.Module, b: int, frames: int, size: int, device: torch.device) -> dict:
    chans = {"rgb": 3, "rgb_diff": 3, "flow": 2}
    batch: dict = {"labels": (torch.rand(b, 20) > 0.6).float()}
    for m in model.modalities:
        if m == "skeleton":
            batch[m] = torch.randn(b, 1, frames, 17, 3)
        else:
            batch[m] = torch.randn(b, chans[m], frames, size, size)
    return {k: v.to(device) for k, v in batch.items()}


def bench_model(
    name: str,
    profile: str,
    batch_size: int,
    steps: int,
    device: torch.device,
    cpu_bf16: bool = False,
    channels_last: bool = False,
    frames: int | None = None,
    size: int | None = None,
) -> dict:
    """Clips per second of ``steps`` training steps (after one warm-up step) of one experiment."""
    exp = get_experiment(name)
    prof = get_profile(profile)
    frames, size = frames or prof.scale.frames, size or prof.scale.size
    scale = dataclasses.replace(prof.scale, frames=frames, size=size)
    model = build_model(exp.model, scale=scale, **prof.builder_options(exp)).to(device).train()
    cfg = dataclasses.replace(prof.train_config(exp), epochs=1, batch_size=batch_size)
    system = SYSTEMS.get(exp.family, AMGESystem)(model, cfg)
    system.log = lambda *a, **k: None  # outside a Trainer: no logging
    opt = torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=cfg.lr)
    system.optimizers = lambda: opt
    batch = _batch(model, batch_size, frames, size, device)
    if channels_last:  # 5-D weights and clips channels-last (2-D ones stay as they are)
        model = model.to(memory_format=torch.channels_last_3d)
        batch = {
            k: v.contiguous(memory_format=torch.channels_last_3d) if v.dim() == 5 else v
            for k, v in batch.items()
        }
    if device.type == "cuda" or cpu_bf16:
        autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    else:
        autocast = nullcontext()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = system._shared_step(batch, "train")["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    counter = FlopCounterMode(display=False)
    with counter:
        step()  # warm-up, counting the FLOPs of one step
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dt = time.perf_counter() - t0
    out = {
        "experiment": name,
        "model": exp.model,
        "profile": profile,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "clips_per_s": steps * batch_size / dt,
        "gflop_per_step": counter.get_total_flops() / 1e9,
        "gflop_per_s": counter.get_total_flops() * steps / dt / 1e9,
        "device": str(device),
        "cpu_bf16": cpu_bf16,
        "channels_last": channels_last,
        "frames": frames,
        "size": size,
    }
    if device.type == "cuda":
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def bench_loader(data: str, profile: str, modality: str, batch_size: int) -> float:
    """Clips per second of one pass over the train loader (the cache warmed by a first pass)."""
    from musclemap_lib.data import MuscleMapDataModule

    prof = get_profile(profile)
    dm = MuscleMapDataModule(data, prof.data, modalities=(modality,), batch_size=batch_size)
    for _ in dm.train_dataloader():  # fills the decoded-clip cache
        pass
    t0, n = time.perf_counter(), 0
    for b in dm.train_dataloader():
        n += b["labels"].shape[0]
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu", choices=list(PROFILES))
    p.add_argument("--models", nargs="*", default=None, help="experiment names (default: all)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the profile's")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--data", default=None, help="also time the train loader on this folder")
    p.add_argument("--json", default=None, help="write the figures to this file")
    p.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast on a CPU too")
    p.add_argument("--channels-last", action="store_true", help="channels-last 3-D weights, clips")
    p.add_argument("--frames", type=int, default=None, help="clip length (default: the profile's)")
    p.add_argument(
        "--size", type=int, default=None, help="clip side in px (default: the profile's)"
    )
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # stage-0 pretraining trains an image model on generated images: not a clip model
    names = args.models or [
        e.name for e in EXPERIMENTS if e.trained and e.family is not Family.PRETRAIN
    ]
    prof = get_profile(args.profile)
    bs = args.batch_size or prof.train_config(get_experiment(names[0])).batch_size
    rows = []
    print(
        f"profile {args.profile}, batch {bs}, device {device}, threads {torch.get_num_threads()}, "
        f"cpu bf16 {args.cpu_bf16}, channels-last {args.channels_last}, "
        f"clip {args.frames or prof.scale.frames} x {args.size or prof.scale.size} px"
    )
    for name in names:
        r = bench_model(
            name,
            args.profile,
            bs,
            args.steps,
            device,
            args.cpu_bf16,
            args.channels_last,
            frames=args.frames,
            size=args.size,
        )
        mem = f"  peak {r['peak_mem_gib']:.2f} GiB" if "peak_mem_gib" in r else ""
        print(
            f"{name:28s} {r['params_m']:8.3f}M params  {r['clips_per_s']:8.1f} train clips/s  "
            f"{r['gflop_per_s']:6.1f} GFLOP/s ({r['gflop_per_step']:.1f} GFLOP/step){mem}",
            flush=True,
        )
        rows.append(r)
    if args.data:
        for modality in ("rgb", "skeleton", "flow"):
            cps = bench_loader(args.data, args.profile, modality, bs)
            print(f"loader {modality:10s} {cps:8.1f} clips/s (cached)", flush=True)
            rows.append({"loader": modality, "clips_per_s": cps})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
