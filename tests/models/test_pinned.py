"""Pinned weights and Random scores: a refactor of the model code must not change either.

``expect/smoke_weights.json`` was recorded on commit 42396e3 (before the models layout refactor)
by :func:`fingerprint` of every registered model built with ``torch.manual_seed(0)`` at the smoke
scale. A model whose modules are constructed in another order draws its initial weights in
another order, so its fingerprint changes; a renamed or reordered state-dict key changes
``keys_sha`` (and old checkpoints would no longer load).

The fingerprint compares sums with a relative tolerance instead of hashing the float bytes, so
that last-bit differences between CPUs (vectorised init kernels) do not fail the test.

``expect/random_scores.json`` holds what ``random(seed=0)`` / ``random(seed=1)`` scored before
the Random baseline took its seed from torch's global RNG: two forward passes of a 3-clip batch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from musclemap_lib.models import build_model, list_models
from musclemap_lib.models.scales import SMOKE

EXPECT = Path(__file__).parent / "expect"


def fingerprint(model: nn.Module) -> dict[str, Any]:
    """Tensor count, element count, key-order hash and two weighted sums of a state dict."""
    sd = model.state_dict()
    total, weighted = 0.0, 0.0
    for i, key in enumerate(sorted(sd)):
        t = sd[key].detach().double()
        total += float(t.sum())
        weighted += (i + 1) * float(t.abs().sum())  # a swap of two tensors' values shows here
    return {
        "tensors": len(sd),
        "numel": sum(t.numel() for t in sd.values()),
        "keys_sha": hashlib.sha256("\n".join(sd).encode()).hexdigest(),
        "sum": total,
        "weighted_abs": weighted,
    }


@pytest.fixture(scope="module")
def weights() -> dict[str, dict[str, Any]]:
    return json.loads((EXPECT / "smoke_weights.json").read_text())


def test_every_registered_model_is_pinned(weights: dict[str, dict[str, Any]]) -> None:
    assert sorted(weights) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_seeded_initialisation_is_unchanged(name: str, weights: dict[str, dict[str, Any]]) -> None:
    torch.manual_seed(0)
    got, want = fingerprint(build_model(name, SMOKE)), weights[name]
    for key in ("tensors", "numel", "keys_sha"):
        assert got[key] == want[key], f"{name}: {key} changed"
    for key in ("sum", "weighted_abs"):
        assert got[key] == pytest.approx(want[key], rel=1e-6, abs=1e-6), f"{name}: {key} changed"


def _seed_everything(seed: int) -> None:
    lightning = pytest.importorskip("lightning")
    lightning.seed_everything(seed, workers=True, verbose=False)  # as the engine seeds a run


@pytest.mark.parametrize("seeder", [torch.manual_seed, _seed_everything])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_scores_follow_the_run_seed(
    seed: int, seeder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``random`` seeded by the run seed scores as ``random(seed=seed)`` did before.

    The engine calls ``lightning.seed_everything(seed)`` (which calls ``torch.manual_seed``)
    before it builds a model; the Random baseline reads that seed from torch's global RNG.
    """
    want = json.loads((EXPECT / "random_scores.json").read_text())[str(seed)]
    for var in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS"):  # restored after the test
        monkeypatch.setenv(var, "0")
    seeder(seed)
    torch.rand(5)  # draws from the global stream do not move the seed the baseline reads
    model = build_model("random", SMOKE)
    batch = {"labels": torch.zeros(3, 20)}
    for expected in want:  # two passes: the stream continues across batches
        # the same random draws; the logit transform may differ in the last bit between CPUs
        torch.testing.assert_close(model(batch), torch.tensor(expected), rtol=1e-6, atol=1e-6)
