"""Stage 0: the generated images, the image models, the weight transfer and its place in the plan."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from musclemap_lib import study
from musclemap_lib.config import SMOKE_SCALE, TrainConfig
from musclemap_lib.models import build_model
from musclemap_lib.pretrain import images
from musclemap_lib.pretrain.images import ImageSetSpec, generate
from musclemap_lib.pretrain.run import pretrain
from musclemap_lib.pretrain.transfer import (
    image_model,
    inflate_centre,
    inflate_i3d,
    load_pretrained,
)
from musclemap_lib.study import Family
from musclemap_lib.study.pipeline import plan_run
from musclemap_lib.study.profiles import get_profile
from musclemap_lib.synth import motions


@pytest.mark.parametrize("kind,classes,per_class", [("fractal", 4, 3), ("people", 24, 1)])
def test_the_generators_give_the_same_bytes_for_the_same_seed(kind, classes, per_class):
    spec = ImageSetSpec(kind, classes, per_class, 24)
    a, b, c = generate(spec, 0), generate(spec, 0), generate(spec, 1)
    assert a.images.shape == (classes * per_class, 24, 24, 3) and a.images.dtype == np.uint8
    assert a.images.tobytes() == b.images.tobytes() and np.array_equal(a.labels, b.labels)
    assert a.digest() == b.digest() != c.digest()
    assert a.labels.min() >= 0 and a.labels.max() < a.num_classes


def test_people_images_never_render_a_new_activity(monkeypatch):
    new = {a.name for a in motions.NEW} | set(motions.PAPER_NEW_ACTIVITIES)
    allowed = images.training_activities()
    assert allowed and not set(allowed) & new
    assert set(allowed) <= {a.name for a in motions.KNOWN}
    seen: list[str] = []
    real = motions.get_activity

    def spy(name: str):
        seen.append(name)
        return real(name)

    monkeypatch.setattr(motions, "get_activity", spy)
    generate(ImageSetSpec("people", 24, 2, 16), 3)
    assert len(seen) == 48 and not set(seen) & new


def _random_bn(model: torch.nn.Module) -> None:
    """BN statistics and affine parameters away from their init, so eval mode is not trivial."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=g) * 0.2 + 1)


def test_inflated_c2d_gives_the_image_models_output_on_a_static_clip():
    torch.manual_seed(0)
    image = image_model("c2d_r50", SMOKE_SCALE, num_classes=7)
    _random_bn(image)
    video = build_model("c2d_r50", scale=SMOKE_SCALE)
    load_pretrained(video, "c2d_r50", image.state_dict(), "test")
    image.eval(), video.eval()
    frame = torch.randn(2, 3, 1, SMOKE_SCALE.size, SMOKE_SCALE.size)
    with torch.no_grad():
        want = image.forward_features(frame)[0].mean(dim=(2, 3, 4))
        got = video.forward_features(frame.repeat(1, 1, SMOKE_SCALE.frames, 1, 1))[0]
    torch.testing.assert_close(got.mean(dim=(2, 3, 4)), want, rtol=1e-4, atol=1e-5)


def test_i3d_inflation_preserves_a_static_input_away_from_the_temporal_border():
    torch.manual_seed(0)
    w2d = torch.randn(5, 4, 1, 3, 3)
    frame = torch.randn(1, 4, 1, 8, 8)
    clip = frame.repeat(1, 1, 9, 1, 1)
    for t in (3, 5):
        out = torch.nn.functional.conv3d(clip, inflate_i3d(w2d, t), padding=(t // 2, 1, 1))
        ref = torch.nn.functional.conv3d(frame, w2d, padding=(0, 1, 1))
        inner = out[:, :, t // 2 : 9 - t // 2]
        torch.testing.assert_close(inner, ref.expand_as(inner), rtol=1e-5, atol=1e-5)
        # centre inflation: exact on every frame, borders included
        out_c = torch.nn.functional.conv3d(clip, inflate_centre(w2d, t), padding=(t // 2, 1, 1))
        torch.testing.assert_close(out_c, ref.expand_as(out_c), rtol=1e-5, atol=1e-5)


def test_loading_reports_what_it_loaded_inflated_and_left_at_init():
    image = image_model("mvitv2_s", SMOKE_SCALE, num_classes=5)
    video = build_model("mvitv2_s", scale=SMOKE_SCALE)
    before = {k: v.clone() for k, v in video.state_dict().items()}
    report = load_pretrained(video, "mvitv2_s", image.state_dict(), "pretrain_x (config sha abc)")
    state = video.state_dict()
    assert report.source == "pretrain_x (config sha abc)" and "abc" in str(report)
    assert "patch_embed.weight" in report.inflated
    assert state["patch_embed.weight"].shape[2] == 3
    assert torch.equal(
        state["patch_embed.weight"][:, :, 1], image.state_dict()["patch_embed.weight"][:, :, 0]
    )
    rel_t = [k for k in state if k.endswith("rel_pos_t")]
    assert rel_t and set(rel_t) <= set(report.at_init)
    assert {"head.weight", "head.bias"} <= set(report.at_init)
    assert set(report.unused) == {"head.weight", "head.bias"}
    for k in report.at_init:
        assert torch.equal(state[k], before[k]), k
    for k in report.loaded:
        assert torch.equal(state[k], image.state_dict()[k]), k
    n = len(report.loaded) + len(report.inflated) + len(report.at_init)
    assert n == len(state)
    # the MCT model: the backbone is loaded, its tokens stay at init
    mct = build_model("mvitv2_s_mct", scale=SMOKE_SCALE)
    r2 = load_pretrained(mct, "mvitv2_s_mct", image.state_dict(), "x")
    assert "cls_tokens" in r2.at_init and "backbone.patch_embed.weight" in r2.inflated
    assert "prefix_tokens" in r2.unused


def test_resnet_loading_covers_every_pathway_tensor_and_refuses_another_scale():
    image = image_model("i3d_r50", SMOKE_SCALE, num_classes=5)
    video = build_model("i3d_r50", scale=SMOKE_SCALE)
    report = load_pretrained(video, "i3d_r50", image.state_dict(), "x")
    assert report.at_init == ["fc.weight", "fc.bias"]
    assert "pathways.0.stem.conv.weight" in report.inflated
    stem = video.state_dict()["pathways.0.stem.conv.weight"]
    torch.testing.assert_close(
        stem.sum(dim=2), image.state_dict()["pathways.0.stem.conv.weight"][:, :, 0]
    )
    big = build_model("i3d_r50", scale=study.profiles.get_profile("cpu").scale)
    with pytest.raises(ValueError, match="same scale"):
        load_pretrained(big, "i3d_r50", image.state_dict(), "x")


def test_a_short_pretraining_runs_and_its_weights_load():
    spec = ImageSetSpec("fractal", 3, 10, SMOKE_SCALE.size + 4)
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-3)
    result = pretrain("c2d_r50", SMOKE_SCALE, spec, cfg, seed=0)
    assert result.stats["steps"] == 27 // 8 and result.stats["num_images"] == 30
    assert result.stats["data_digest"] == generate(spec, 0).digest()
    video = build_model("slow_r50", scale=SMOKE_SCALE)
    report = load_pretrained(video, "slow_r50", result.state, "x")
    assert report.inflated and report.at_init == ["fc.weight", "fc.bias"]


def test_pretraining_is_planned_before_its_dependents_for_every_video_row_of_table_2():
    assert study.plan(["c2d_r50_pt"]) == ["pretrain_r50_fractal", "c2d_r50_pt"]
    assert study.plan(["videoswin_b_pt"]) == ["pretrain_swin_b_fractal", "videoswin_b_pt"]
    assert study.plan(["mvitv2_s_mct_pt_people"])[0] == "pretrain_mvitv2_s_people"
    default = study.experiments_for_tables()
    pre = [n for n in default if study.get_experiment(n).family is Family.PRETRAIN]
    assert sorted(pre) == sorted(
        f"pretrain_{k}_fractal" for k in ("r50", "mvitv2_s", "mvitv2_b", "swin_s", "swin_b")
    )
    pretrained = sorted(n for n in default if n.endswith("_pt"))
    assert pretrained == sorted(
        f"{m}_pt"
        for m in ("c2d_r50", "i3d_r50", "slow_r50", "slowfast_r50")
        + ("mvitv2_s", "mvitv2_b", "videoswin_s", "videoswin_b")
    )
    for name in pretrained:
        (dep,) = study.get_experiment(name).depends_on
        assert default.index(dep) < default.index(name)
    for name in pretrained:  # the paper's row is the pretrained run; from scratch stays beside it
        scratch = name.removesuffix("_pt")
        assert study.get_experiment(name).rows[0].paper is not None
        assert scratch in default and study.get_experiment(scratch).rows[0].paper is None
    for e in study.EXPERIMENTS:
        if e.family is Family.PRETRAIN:
            assert e.depends_on == () and not e.rows
    # The pretraining's config sha enters the dependent's config: another pretraining, another run.
    prof = get_profile("cpu")
    exp = study.get_experiment("c2d_r50_pt")
    a = plan_run(exp, prof, stage1=(("pretrain_r50_fractal", "aaaa"),))
    b = plan_run(exp, prof, stage1=(("pretrain_r50_fractal", "bbbb"),))
    assert a.sha() != b.sha()
    pre = plan_run(study.get_experiment("pretrain_r50_fractal"), prof)
    assert pre.train is not None and pre.train.batch_size == 64
    assert dataclasses.asdict(pre)["model_args"]


@pytest.mark.parametrize("name", ["videoswin_s", "videoswin_b"])
def test_inflated_swin_gives_the_image_models_features_on_a_static_clip(name):
    torch.manual_seed(0)
    image = image_model(name, SMOKE_SCALE, num_classes=5)
    with torch.no_grad():  # bias tables away from their (near-zero) init
        for k, v in image.state_dict().items():
            if k.endswith("relative_position_bias_table"):
                v.copy_(torch.randn_like(v))
    video = build_model(name, scale=SMOKE_SCALE)
    report = load_pretrained(video, name, image.state_dict(), "x")
    tables = [k for k in video.state_dict() if k.endswith("relative_position_bias_table")]
    assert tables and set(tables) <= set(report.inflated)
    assert "patch_embed.proj.weight" in report.inflated
    assert {"head.weight", "head.bias"} <= set(report.at_init) and report.unused == [
        "head.bias",
        "head.weight",
    ]
    image.eval(), video.eval()
    frame = torch.randn(2, 3, 1, SMOKE_SCALE.size, SMOKE_SCALE.size)
    a, b = image.patch_embed(frame), video.patch_embed(frame.repeat(1, 1, SMOKE_SCALE.frames, 1, 1))
    window = video.cfg.window_size[1]
    compared = 0
    with torch.no_grad():
        for fa, fb in zip(image.features, video.features, strict=True):
            a, b = fa(a), fb(b)
            if a.shape[2] < window:
                # torchvision slices relative_position_index[:n, :n] for a window clamped to a
                # smaller grid, which indexes 2-D and 3-D tables differently: stop here.
                break
            for t in range(b.shape[1]):  # every temporal token equals the image token
                torch.testing.assert_close(b[:, t], a[:, 0], rtol=1e-4, atol=1e-5)
            compared += 1
    assert compared >= 3


def test_transm3e_stage1_runs_start_from_the_mvitv2_s_stage0_and_flow_takes_the_channel_mean():
    default = study.experiments_for_tables()
    for name in ("mvitv2_s_mct", "mvitv2_s_sct", "mvitv2_s_mct_flow", "mvitv2_s_mct_rgb_diff"):
        assert study.get_experiment(name).depends_on == ("pretrain_mvitv2_s_fractal",), name
        assert default.index("pretrain_mvitv2_s_fractal") < default.index(name)
    assert default.index("mvitv2_s_mct") < default.index("transm3e")
    image = image_model("mvitv2_s", SMOKE_SCALE, num_classes=5)
    flow = build_model("mvitv2_s_mct_flow", scale=SMOKE_SCALE)
    report = load_pretrained(flow, "mvitv2_s_mct_flow", image.state_dict(), "x")
    w = flow.state_dict()["backbone.patch_embed.weight"]
    assert w.shape[1] == 2 and "backbone.patch_embed.weight" in report.inflated
    mean = image.state_dict()["patch_embed.weight"][:, :, 0].mean(dim=1)
    for c in range(2):  # the centre frame of every flow channel holds the RGB kernel's mean
        torch.testing.assert_close(w[:, c, w.shape[2] // 2], mean)
    assert "cls_tokens" in report.at_init
