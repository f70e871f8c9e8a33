"""Grad-CAM on MViT token models: map size and range, dependence on the target, the TransM3E
wrapper, the token reshape, marks, and the figure of one clip."""

from __future__ import annotations

import figfixtures
import numpy as np
import pytest
import torch

from musclemap_lib.figures import gradcam
from musclemap_lib.models import build_model

# Fixtures shared with the other figure tests.
fake_results = figfixtures.fake_results


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _batch(model, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    cfg = gradcam.video_backbone(model).cfg
    batch = {"rgb": torch.randn(1, 3, cfg.num_frames, cfg.crop_size, cfg.crop_size, generator=g)}
    if "skeleton" in model.modalities:
        batch["skeleton"] = torch.rand(1, 1, cfg.num_frames, 17, 3, generator=g) * cfg.crop_size
    return batch


def test_token_reshape_drops_prefix_and_orders_grid():
    p, thw, d = 3, (2, 2, 3), 5
    grid = torch.arange(2 * 2 * 3 * d, dtype=torch.float32).reshape(1, 12, d)
    x = torch.cat([torch.full((1, p, d), -1.0), grid], dim=1)  # (1, P + THW, D)
    y = gradcam.token_reshape(p, thw)(x)
    assert y.shape == (1, d, 2, 2, 3)
    # token (t, h, w) = (1, 0, 2) is grid index 1*6 + 0*3 + 2 = 8
    assert torch.equal(y[0, :, 1, 0, 2], grid[0, 8])
    with pytest.raises(ValueError, match="prefix"):
        gradcam.token_reshape(p + 1, thw)(x)


def test_mvit_gradcam_frame_sized_in_unit_range_and_target_dependent():
    torch.manual_seed(0)
    model = build_model("mvitv2_s", scale="smoke")
    batch = _batch(model)
    cam_a, target_a, probs = gradcam.gradcam_maps(model, batch)
    assert cam_a.shape == tuple(batch["rgb"].shape[2:])  # (T, H, W) of the input
    assert cam_a.min() >= 0.0 and cam_a.max() <= 1.0 and cam_a.max() > 0.5
    assert target_a == int(np.argmax(probs)) and probs.shape == (20,)
    maps = [
        gradcam.gradcam_maps(model, batch, target=k)[0] for k in range(0, 20, 4) if k != target_a
    ]
    assert max(float(np.abs(cam_a - m).max()) for m in maps) > 0.05  # the target matters
    with pytest.raises(ValueError, match="muscle index"):
        gradcam.gradcam_maps(model, batch, target=20)


def test_transm3e_wrapper_returns_logits_and_cam_uses_rgb_branch():
    torch.manual_seed(0)
    model = build_model("transm3e", scale="smoke").eval()
    batch = _batch(model)
    wrapped = gradcam.logits_only(model, batch)
    with torch.no_grad():
        out = wrapped(batch["rgb"])
        full = model(batch).logits
    assert isinstance(out, torch.Tensor) and out.shape == (1, 20)
    assert torch.allclose(out, full)
    assert gradcam.num_prefix_tokens(model) == model.main.num_cls + model.main.num_distill
    cam, _, _ = gradcam.gradcam_maps(model, batch)
    assert cam.shape == tuple(batch["rgb"].shape[2:]) and 0 <= cam.min() and cam.max() <= 1


def test_non_video_models_are_refused():
    with pytest.raises(TypeError, match="MViT"):
        gradcam.video_backbone(build_model("stgcn", scale="smoke"))


def test_marks_follow_threshold():
    probs = np.zeros(20)
    labels = np.zeros(20)
    probs[[0, 1]] = 0.9
    labels[[1, 2]] = 1
    m = gradcam.marks(probs, labels)
    assert m == {"neck_head": "false", "chest": "true", "shoulder": "missed"}


def test_missing_checkpoint_message_and_trained_model(fake_results):
    assert gradcam.checkpoint_path("smoke", "stgcn", results=fake_results) is None
    msg = gradcam.missing_checkpoint_message("smoke", "stgcn", results=fake_results)
    assert "no checkpoint" in msg and "stgcn" in msg and "run-all" in msg
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        gradcam.load_trained_model("smoke", "stgcn", results=fake_results)
    model = gradcam.load_trained_model("smoke", "mvitv2_s", results=fake_results)
    assert not model.training


def test_render_gradcam_figures_from_real_clips(fake_results, smoke_data, tmp_path):
    rec = gradcam.render_gradcam_figures(
        "smoke",
        tmp_path,
        experiments=("mvitv2_s", "stgcn"),
        n_known=1,
        n_new=1,
        data=smoke_data,
        results=fake_results,
    )
    assert rec["figures"] == ["gradcam_known_test_0.png", "gradcam_new_test_0.png"]
    assert set(rec["missing"]) == {"stgcn"}  # no checkpoint -> named, never drawn
    for name in rec["figures"]:
        assert (tmp_path / name).stat().st_size > 5000
    assert (tmp_path / "gradcam.json").is_file()
    assert {c["split"] for c in rec["clips"]} == {"known_test", "new_test"}


def test_render_gradcam_without_any_checkpoint_draws_nothing(fake_results, tmp_path):
    rec = gradcam.render_gradcam_figures(
        "smoke", tmp_path, experiments=("stgcn",), results=fake_results
    )
    assert rec["figures"] == [] and "stgcn" in rec["missing"]
    assert not list(tmp_path.glob("*.png"))
