"""Parameters, FLOPs per clip and measured throughput of every Table-2 model (the efficiency page).

:func:`measure_efficiency` writes ``results/<profile>/efficiency.json``; the book's efficiency
page reads it through :func:`musclemap_lib.figures.efficiency.load_efficiency`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from pathlib import Path

import torch

from musclemap_lib import paths
from musclemap_lib.config import ScaleSpec
from musclemap_lib.evaluation import records
from musclemap_lib.models import build_model
from musclemap_lib.models.audit import audit, count_parameters
from musclemap_lib.models.flops import example_batch, flops_per_clip
from musclemap_lib.study.profiles import get_profile

log = logging.getLogger(__name__)


def clips_per_second(name: str, scale: ScaleSpec, batch: int, repeats: int) -> float:
    """Forward-only throughput of a model at a scale (eval mode, the fastest of ``repeats``)."""
    model = build_model(name, scale=scale).eval()
    x = example_batch(model.modalities, scale, batch, generator=torch.Generator().manual_seed(0))
    best = float("inf")
    with torch.no_grad():
        model(x)  # warm-up (allocations, lazy init)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t0)
    return batch / best


def measure_efficiency(profile: str, batch: int = 4, repeats: int = 3) -> Path:
    """Parameters, FLOPs per clip and measured clips per second of every Table-2 model.

    Writes ``results/<profile>/efficiency.json``: per model, the parameter count at paper scale
    and the paper's #PM (:func:`musclemap_lib.models.audit.audit`), the parameter count at the
    profile's scale, FLOPs per clip at the scale of each profile in the profile's
    ``flop_scales`` (counting the paper scale of the 14 Table-2 models takes about 2 minutes on
    2 cores, too long for the smoke study of the test suite, which counts its own scale only),
    and the forward throughput at the profile's scale (batch ``batch``, the fastest of
    ``repeats`` timed passes, torch's current thread count), with the machine it was measured on.
    """
    prof = get_profile(profile)
    scales = [get_profile(p).scale for p in prof.flop_scales]
    t0 = time.perf_counter()
    models = []
    for row in audit():
        with torch.device("meta"):
            at_scale = count_parameters(build_model(row.model, scale=prof.scale))
        models.append(
            {
                "model": row.model,
                "params_paper_scale": row.ours,
                "paper_params_m": row.paper,
                "params_verdict": row.verdict,
                "params_source": row.source,
                "params_profile_scale": at_scale,
                "flops_per_clip": {s.name: flops_per_clip(row.model, s) for s in scales},
                "clips_per_s": clips_per_second(row.model, prof.scale, batch, repeats),
            }
        )
        log.info("efficiency %s: %s", row.model, models[-1]["clips_per_s"])
    out = {
        "profile": profile,
        "scale": prof.scale.name,
        "throughput": {
            "what": "forward pass, eval mode, no grad, random clips at the profile's scale",
            "batch_size": batch,
            "timed_passes": repeats,
            "statistic": "fastest pass (timeit convention)",
            "torch_threads": torch.get_num_threads(),
        },
        "flop_scales": [s.name for s in scales],
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "device": "cpu",
        },
        "models": models,
        "git_sha": records.git_sha(),
        "created_utc": records.utc_now(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    path = paths.results_dir(profile) / records.EFFICIENCY_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    records.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return path
