"""README's "Adding a model", walked: a family file, the models' import list, one catalogue entry.

The test writes a tiny family in a temporary package module, registers it (what importing it from
``musclemap_lib/models/__init__.py`` does), adds one catalogue entry with its Table-2 row, and
checks that everything else follows without another file: the plan, the run config, the model
build, the display name, the table's rows and the paper's reference numbers. It then trains and
evaluates the new model on the smoke data for one epoch.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from musclemap_lib import study
from musclemap_lib.figures import names
from musclemap_lib.models import registry
from musclemap_lib.study import catalogue
from musclemap_lib.study.commands import paper_reference_rows
from musclemap_lib.study.pipeline import build, plan_run

FAMILY = '''
"""A tiny skeleton model: mean over time and joints, then a linear head."""

import torch
from torch import nn

from musclemap_lib.config import PAPER_SCALE, ScaleSpec
from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.registry import register_model
from musclemap_lib.models.scales import scaled_width
from musclemap_lib.muscles import NUM_MUSCLES


class TinyNet(AMGEModel):
    def __init__(self, width: int, num_classes: int) -> None:
        super().__init__(("skeleton",), num_classes)
        self.proj = nn.Linear(3, width)
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).mean(dim=(1, 2, 3))  # (N, M, T, V, C) -> (N, width)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.head(feats)

    def forward(self, batch):
        (x,) = self.inputs(batch)
        return self.forward_head(self.forward_features(x))


@register_model
def tinynet(scale: ScaleSpec = PAPER_SCALE, num_classes: int = NUM_MUSCLES) -> TinyNet:
    return TinyNet(scaled_width(64, scale), num_classes)
'''


@pytest.fixture
def new_model(tmp_path, monkeypatch):
    """Steps 1 and 2: the family file, imported (registration happens on import)."""
    path = tmp_path / "tinynet_family.py"
    path.write_text(FAMILY, encoding="utf-8")
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))  # undone after the test
    spec = importlib.util.spec_from_file_location("tinynet_family", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "tinynet_family", module)
    spec.loader.exec_module(module)
    # Step 3: one catalogue entry (with its Table-2 row and the paper's six numbers).
    entry = catalogue.Experiment(
        "tinynet",
        catalogue.Family.GCN,
        "skeleton",
        "baseline architecture",
        "TinyNet",
        rows=(catalogue.Row(2, "TinyNet", (50.0, 40.0, 45.0, 50.0, 40.0, 45.0)),),
    )
    monkeypatch.setattr(catalogue, "EXPERIMENTS", (*catalogue.EXPERIMENTS, entry))
    monkeypatch.setitem(catalogue._BY_NAME, "tinynet", entry)
    return entry


def test_a_new_model_needs_its_family_file_the_import_and_one_catalogue_entry(new_model):
    assert "tinynet" in registry.list_models()
    assert study.get_experiment("tinynet") is new_model
    assert names.experiment_name("tinynet") == "TinyNet"
    assert "tinynet" in study.experiments_for_tables((2,))
    row = study.table_rows(2)[-1]
    assert (row.label, row.experiment, row.paper[5]) == ("TinyNet", "tinynet", 45.0)
    refs = [r for r in paper_reference_rows() if r["experiment"] == "tinynet"]
    assert len(refs) == 6 and {r["source"] for r in refs} == {"Table 2"}
    run = plan_run(new_model, study.get_profile("smoke"))
    assert run.train == study.get_profile("smoke").train[catalogue.Family.GCN]
    model = build(new_model, run)
    assert model.proj.out_features == 8  # 64 at width 0.125, rounded to the multiple 8


def test_a_new_model_trains_and_is_recorded(new_model, smoke_root, tmp_path, monkeypatch):
    from musclemap_lib import paths
    from musclemap_lib.study.pipeline import run_experiment

    monkeypatch.setenv("MUSCLEMAP_DATA_ROOT", str(smoke_root))
    monkeypatch.setattr(paths, "results_dir", lambda p=None: tmp_path / p if p else tmp_path)
    out = run_experiment("tinynet", "smoke", progress=False)
    assert out.status == "trained"
    assert set(study.SPLITS) <= set(out.metrics)
    assert out.metrics["curve"] and "known_val" in out.metrics["curve"][-1]
