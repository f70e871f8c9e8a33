"""Every registered model at smoke scale: shape, backward, no NaN, determinism, input errors.

Parametrised over ``list_models()``, so a family is tested as soon as it is registered. Each
model reads a batch holding only its own modalities (plus ``labels``), at the smoke input size of
``scales.SMOKE``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pytest
import torch
from torch import nn

from musclemap_lib.models import build_model, list_models
from musclemap_lib.models.flops import example_batch
from musclemap_lib.models.scales import SMOKE

B = 2  # two clips: BatchNorm in training mode needs more than one value per channel
SCALE = SMOKE


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Smoke models: intra-op threads only add contention on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Parameters that legitimately receive no gradient in a training step, per model, with the reason.
# Empty: every trainable parameter of every registered model must be reached.
UNUSED_IN_TRAINING: dict[str, dict[str, str]] = {}


def _logits(out: object) -> torch.Tensor:
    """Models return logits, or a NamedTuple carrying them as ``.logits`` (TransM3E)."""
    return out.logits if hasattr(out, "logits") else out  # type: ignore[union-attr,return-value]


def _training_loss(out: object, labels: torch.Tensor) -> torch.Tensor:
    """Every training signal a model emits: BCE on each logits tensor, plus its KD total.

    A plain model returns logits. A two-branch record (``fusion.FusionOutput``) also carries
    ``main_logits`` / ``aux_logits`` (trained by the distillation system) and ``kd.total`` (the
    distillation loss, which is what trains e.g. TransM3E's KD projections): a parameter is
    "reached" when any of these reaches it.
    """
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(_logits(out).float(), labels)
    for field in ("main_logits", "aux_logits"):
        extra = getattr(out, field, None)
        if isinstance(extra, torch.Tensor):
            loss = loss + bce(extra.float(), labels)
    kd = getattr(getattr(out, "kd", None), "total", None)
    if isinstance(kd, torch.Tensor):
        loss = loss + kd.float()
    return loss


def _build(name: str, seed: int = 0, num_classes: int = 20) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, scale=SCALE, num_classes=num_classes)


@functools.cache
def _shared(name: str) -> nn.Module:
    """One seed-0 instance per model for the tests that never reach a parameter."""
    return _build(name)


def _batch(model: nn.Module, seed: int = 0, num_classes: int = 20) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return example_batch(
        model.modalities, SCALE, batch_size=B, generator=gen, num_classes=num_classes
    )


@pytest.mark.parametrize("name", list_models())
def test_forward_shape_and_finite(name: str) -> None:
    model = _build(name)
    batch = _batch(model)
    assert set(model.modalities) <= set(batch)
    for mode in (True, False):
        model.train(mode)
        logits = _logits(model(batch))
        assert logits.shape == (B, 20)
        assert logits.dtype == torch.float32
        assert torch.isfinite(logits).all(), f"{name}: non-finite logits (train={mode})"


@pytest.mark.parametrize("name", list_models())
def test_num_classes_sets_the_output_width(name: str) -> None:
    model = _build(name, num_classes=7).eval()
    assert _logits(model(_batch(model, num_classes=7))).shape == (B, 7)


@pytest.mark.parametrize("name", list_models())
def test_backward_reaches_every_trainable_parameter(name: str) -> None:
    model = _build(name).train()
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if not params:
        pytest.skip(f"{name} has no trainable parameter")
    batch = _batch(model)
    labels = (torch.rand(B, 20, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    _training_loss(model(batch), labels).backward()
    exempt = UNUSED_IN_TRAINING.get(name, {})
    missing = [n for n, p in params.items() if p.grad is None and n not in exempt]
    assert not missing, f"{name}: no gradient reaches {missing}"
    bad = [n for n, p in params.items() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad, f"{name}: non-finite gradient in {bad}"
    assert any(p.grad.abs().sum() > 0 for p in params.values() if p.grad is not None)


@pytest.mark.parametrize("name", list_models())
def test_same_seed_same_model_and_output(name: str) -> None:
    a, b = _build(name, seed=3).eval(), _build(name, seed=3).eval()
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), f"{name}: {key} differs with the same seed"
    with torch.no_grad():
        assert torch.equal(_logits(a(_batch(a))), _logits(b(_batch(b))))
    if any(p.numel() for p in a.parameters()):
        c = _build(name, seed=4)
        assert any(
            not torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True)
        ), f"{name}: the seed does not change the initialisation"


def _needs_inputs(model: nn.Module, name: str) -> None:
    if not model.modalities:
        pytest.skip(f"{name} reads no modality, so it has no input to check")


@pytest.mark.parametrize("name", list_models())
def test_missing_modality_is_a_key_error_naming_it(name: str) -> None:
    model = _shared(name)
    _needs_inputs(model, name)
    for m in model.modalities:
        batch = _batch(model)
        del batch[m]
        with pytest.raises(KeyError, match=m):
            model(batch)


def _corrupt(batch: Mapping[str, torch.Tensor], m: str, how: str) -> dict[str, torch.Tensor]:
    out = dict(batch)
    x = out[m]
    if how == "channels":  # one channel too many (C for video, the last axis for skeletons)
        dim = -1 if m == "skeleton" else 1
        out[m] = torch.cat([x, x.narrow(dim, 0, 1)], dim=dim)
    elif how == "rank":  # drop the time axis
        out[m] = x[:, :, 0] if m != "skeleton" else x[:, 0]
    elif how == "dtype":
        out[m] = x.round().to(torch.int64)
    return out


@pytest.mark.parametrize("how", ["channels", "rank", "dtype"])
@pytest.mark.parametrize("name", list_models())
def test_bad_input_is_a_value_error_naming_the_modality(name: str, how: str) -> None:
    model = _shared(name)
    _needs_inputs(model, name)
    for m in model.modalities:
        with pytest.raises(ValueError, match=m):
            model(_corrupt(_batch(model), m, how))
