"""The LightningModules, losses and callbacks of the engine, with small stand-in models."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from musclemap_lib.config import TrainConfig
from musclemap_lib.evaluation.metrics import mean_average_precision
from musclemap_lib.models.fusion import DistillLosses, FusionOutput
from musclemap_lib.training.callbacks import EpochReseed, epoch_checkpoints, last_checkpoint
from musclemap_lib.training.losses import (
    classification_loss,
    distillation_loss,
    logits_of,
    scores_from_logits,
)
from musclemap_lib.training.system import (
    AMGESystem,
    DistillSystem,
    NonFiniteLossError,
    parameter_groups,
    warmup_cosine_factor,
)


class ToyClips(Dataset):
    """Random 'rgb' features whose first 20 dims carry the labels (learnable, seeded)."""

    def __init__(self, n: int = 24, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = (torch.rand(n, 20, generator=g) > 0.6).float()
        self.x = torch.randn(n, 32, generator=g)
        self.x[:, :20] += 2 * self.labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        # Augmentation noise from the global RNG, as a real pipeline's random crops.
        return {
            "x": self.x[i] + 0.1 * torch.randn(32),
            "labels": self.labels[i],
            "clip_id": f"c{i}",
        }


class ToyModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 20))

    def forward(self, batch: dict) -> torch.Tensor:
        return self.net(batch["x"])


class ToyFusion(ToyModel):
    """Returns the fusion record with one distillation term."""

    def forward(self, batch: dict) -> FusionOutput:
        logits = self.net(batch["x"])
        term = (logits**2).mean() * 0.01
        kd = DistillLosses(terms=(term,), positions=("final",), total=term)
        aux = logits.flip(1)
        return FusionOutput(logits=(logits + aux) / 2, main_logits=logits, aux_logits=aux, kd=kd)


CFG = TrainConfig(epochs=3, batch_size=8, lr=1e-2, warmup_epochs=1, log_every_n_steps=1, loss="bce")


def _fit(
    make_model, cfg: TrainConfig, tmp: Path, system=AMGESystem, callbacks=(), ckpt=None, val=None
):
    L.seed_everything(0, workers=True)
    model = make_model()
    sys_ = system(model, cfg, val_metric=mean_average_precision)
    trainer = L.Trainer(
        max_epochs=cfg.epochs,
        accelerator="cpu",
        deterministic=True,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[EpochReseed(0), epoch_checkpoints(tmp), *callbacks],
        gradient_clip_val=cfg.grad_clip,
    )
    loader = DataLoader(ToyClips(), batch_size=cfg.batch_size, shuffle=True)
    trainer.fit(
        sys_, train_dataloaders=loader, val_dataloaders=val, ckpt_path=ckpt, weights_only=True
    )
    sys_.trainer_metrics = dict(trainer.callback_metrics)
    return sys_


def test_bce_matches_torch_and_softmax_bce_is_the_released_loss():
    logits = torch.randn(4, 20)
    y = (torch.rand(4, 20) > 0.5).float()
    assert torch.allclose(classification_loss(logits, y, "bce"), nn.BCEWithLogitsLoss()(logits, y))
    expected = nn.BCELoss()(torch.softmax(logits, dim=1), y)
    assert torch.allclose(classification_loss(logits, y, "softmax_bce"), expected)
    assert torch.allclose(scores_from_logits(logits, "softmax_bce").sum(1), torch.ones(4))
    with pytest.raises(ValueError, match="unknown loss"):
        classification_loss(logits, y, "focal")
    with pytest.raises(ValueError, match="differ"):
        classification_loss(logits, y[:, :19], "bce")


def test_distillation_loss_reads_the_fusion_record():
    t = torch.tensor(0.5)
    out = FusionOutput(
        torch.zeros(2, 20), torch.zeros(2, 20), None, DistillLosses((t, 2 * t), ("a", "b"), t * 1.5)
    )
    total, terms = distillation_loss(out)
    assert float(total) == 0.75 and set(terms) == {"a", "b"}
    empty = out._replace(kd=DistillLosses((), (), torch.zeros(())))
    assert distillation_loss(empty) == (None, {})
    assert distillation_loss(torch.zeros(2, 20)) == (None, {})
    assert logits_of(out) is out.logits
    with pytest.raises(TypeError, match="logits"):
        logits_of({"logits": 1})


def test_warmup_then_cosine_schedule():
    f = [warmup_cosine_factor(s, 100, 10, 1e-3, 1e-5, 1e-6) * 1e-3 for s in range(101)]
    assert math.isclose(f[0], 1e-5) and math.isclose(f[10], 1e-3)
    assert all(a < b for a, b in zip(f[:10], f[1:11], strict=True))  # rising warm-up
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False))  # falling cosine
    assert math.isclose(f[100], 1e-6)


def test_weight_decay_only_on_matrices_and_frozen_left_out():
    m = ToyModel()
    m.net[0].weight.requires_grad_(False)
    groups = parameter_groups(m, 0.05)
    decayed = {id(p) for p in groups[0]["params"]}
    assert groups[0]["weight_decay"] == 0.05 and groups[1]["weight_decay"] == 0.0
    assert id(m.net[3].weight) in decayed and id(m.net[3].bias) not in decayed
    assert all(p is not m.net[0].weight for g in groups for p in g["params"])


def test_training_reduces_the_loss_and_checkpoints_every_epoch(tmp_path):
    data = ToyClips()
    L.seed_everything(0)
    before = nn.BCEWithLogitsLoss()(ToyModel().eval()({"x": data.x}), data.labels)
    model = _fit(ToyModel, CFG, tmp_path).model
    after = nn.BCEWithLogitsLoss()(model.eval()({"x": data.x}), data.labels)
    assert after < before
    assert last_checkpoint(tmp_path) is not None
    state = torch.load(last_checkpoint(tmp_path), weights_only=True, map_location="cpu")
    assert state["epoch"] == CFG.epochs - 1
    assert state["hyper_parameters"]["train"]["lr"] == CFG.lr


class Boom(L.Callback):
    """Raises after a number of training steps: a kill in the middle of an epoch."""

    def __init__(self, after: int) -> None:
        self.after = after

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.after:
            raise KeyError("killed")


def test_resume_after_a_kill_mid_epoch_gives_identical_weights(tmp_path):
    ref = _fit(ToyModel, CFG, tmp_path / "ref")
    with pytest.raises(KeyError, match="killed"):
        _fit(ToyModel, CFG, tmp_path / "run", callbacks=[Boom(after=5)])  # 3 steps per epoch
    ckpt = last_checkpoint(tmp_path / "run")
    assert torch.load(ckpt, weights_only=True)["epoch"] == 0  # only epoch 0 completed
    resumed = _fit(ToyModel, CFG, tmp_path / "run", ckpt=ckpt)
    for (k, a), b in zip(
        ref.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k


def test_nan_loss_stops_and_names_the_step(tmp_path):
    class NaNModel(ToyModel):
        def forward(self, batch):
            out = super().forward(batch)
            return out * float("nan") if self.training and self._step > 3 else out

        def train(self, mode=True):
            self._step = getattr(self, "_step", 0) + (1 if mode else 0)
            return super().train(mode)

    class NaNAfter(ToyModel):
        calls = 0

        def forward(self, batch):
            NaNAfter.calls += 1
            out = super().forward(batch)
            return out * float("nan") if NaNAfter.calls > 4 else out

    with pytest.raises(NonFiniteLossError, match="global step 4 .epoch 1"):
        _fit(NaNAfter, CFG, tmp_path)
    # The last good checkpoint (epoch 0) is kept.
    assert torch.load(last_checkpoint(tmp_path), weights_only=True)["epoch"] == 0


def test_distill_system_adds_the_kd_total(tmp_path):
    model = ToyFusion().eval()  # no dropout: two forwards agree
    system = DistillSystem(model, CFG)
    batch = next(iter(DataLoader(ToyClips(), batch_size=4)))
    system.log = lambda *a, **k: None  # outside a Trainer
    system.optimizers = lambda: torch.optim.SGD(model.parameters(), lr=0.1)
    out = system._shared_step(batch, "train")
    rec = model(batch)
    y = batch["labels"]
    expected = (
        classification_loss(rec.main_logits, y, "bce")
        + classification_loss(rec.aux_logits, y, "bce")
        + rec.kd.total
    )
    assert torch.allclose(out["loss"], expected)


def test_untrainable_model_is_refused():
    from musclemap_lib.models import build_model

    system = AMGESystem(build_model("all_ones", scale="smoke"), CFG)
    with pytest.raises(ValueError, match="no trainable parameter"):
        system.configure_optimizers()


def test_validation_logs_the_map_of_known_and_new_val(tmp_path):
    val = [DataLoader(ToyClips(seed=s), batch_size=8) for s in (1, 2)]
    metrics = _fit(ToyModel, CFG, tmp_path, val=val).trainer_metrics
    for key in ("val/map_known_val", "val/map_new_val"):
        assert 0.0 < float(metrics[key]) <= 100.0
