"""The study as typed data: catalogue, tables, profiles and overrides (no training here)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from musclemap_lib import study
from musclemap_lib.models import list_models
from musclemap_lib.models.transm3e import stage1_models, variant_config
from musclemap_lib.study import Family
from musclemap_lib.study.commands import paper_reference_rows
from musclemap_lib.study.overrides import apply_overrides, parse_overrides, valid_keys
from musclemap_lib.study.pipeline import plan_run


def test_every_row_of_tables_2_to_7_is_an_experiment():
    rows = study.table_rows()
    per_table = {t: [r.label for r in rows if r.table == t] for t in range(2, 8)}
    assert {t: len(v) for t, v in per_table.items()} == {2: 23, 3: 4, 4: 6, 5: 5, 6: 4, 7: 3}
    assert per_table[3] == ["w/o MCT", "w/o MCTKD", "w/o MCTF", "w/ all"]
    ours = [r.label for r in rows if r.paper is None]  # rows of ours beside the paper's
    assert len(ours) == 9 and all(label.endswith("(ours)") for label in ours)
    for r in rows:
        study.get_experiment(r.experiment)
        if r.paper is None:
            continue
        assert len(r.paper) == 6
        # The paper's mean columns are the means of known and new (to its rounding).
        assert r.paper[2] == pytest.approx((r.paper[0] + r.paper[1]) / 2, abs=0.051)
        assert r.paper[5] == pytest.approx((r.paper[3] + r.paper[4]) / 2, abs=0.051)
        study.get_experiment(r.experiment)
    assert [t.number for t in study.TABLES.values()] == list(range(2, 8))
    assert study.get_table(6).experiments[-1] == "transm3e"


def test_a_table_refuses_a_print_order_that_misses_a_row():
    broken = dataclasses.replace(study.get_table(3), order=("w/o MCT", "w/ all"))
    with pytest.raises(ValueError, match="Table 3: the catalogue's rows"):
        _ = broken.rows


def test_experiments_use_registered_models_and_the_right_stage1_runs():
    models = set(list_models())
    for e in study.EXPERIMENTS:
        assert e.model in models, e.name
        if e.family in (Family.STAGE2, Family.LATE_FUSION):
            assert e.depends_on == stage1_models(e.model), e.name
            for d in e.depends_on:
                assert study.get_experiment(d).family in (Family.GCN, Family.VIDEO_TRANSFORMER)
        elif e.depends_on:
            # Stage-0 variants (issue 13): one pretraining run; a row only from the fractal one
            (dep,) = e.depends_on
            assert study.get_experiment(dep).family is Family.PRETRAIN, e.name
            assert not e.rows or dep.endswith("_fractal"), e.name
    # Table 4 SP-MCTKD is filled by w/o MCTF because the two configurations are one.
    assert variant_config("transm3e_sp_mctkd") == variant_config("transm3e_no_mctf")


def test_plan_puts_dependencies_first_and_once():
    order = study.experiments_for_tables((3, 6))
    for name in order:
        for d in study.get_experiment(name).depends_on:
            assert order.index(d) < order.index(name)
    assert len(order) == len(set(order))
    assert {"mvitv2_s_mct", "hdgcn_mct", "mvitv2_s_sct", "hdgcn_sct"} <= set(order)
    everything = study.experiments_for_tables()
    assert "transm3e_rgbdiff_teacher" not in everything  # an extra, run by name
    # 35 paper-table experiments, five fractal stage-0 runs, the eight pretrained video rows of
    # Table 2, and the softmax ST-GCN row of ours
    assert len(everything) == 49
    with pytest.raises(ValueError, match="Tables 2 to 7"):
        study.experiments_for_tables((8,))


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="known experiments: random, all_ones"):
        study.get_experiment("mvit3")
    with pytest.raises(ValueError, match="smoke, cpu, paper"):
        study.get_profile("laptop")


def test_profiles_hold_one_scale_for_data_and_models_and_a_budget_per_family():
    paper = study.get_profile("paper")
    assert (paper.data.num_frames, paper.data.sampling_rate, paper.data.crop_size) == (16, 4, 224)
    t = paper.train_config(study.get_experiment("transm3e"))
    assert t.lr == 1e-4 and t.epochs == 80
    for name, prof in study.PROFILES.items():
        assert (prof.data.num_frames, prof.data.crop_size) == (prof.scale.frames, prof.scale.size)
        assert prof.train_config(study.get_experiment("random")) is None
        assert set(prof.train) == {f for f in Family if f.trained}, name
        for e in study.EXPERIMENTS:
            if e.trained:
                assert prof.train_config(e) is not None
    cpu = study.get_profile("cpu")
    assert cpu.train_config(study.get_experiment("transm3e")) == cpu.train[Family.STAGE2]
    rel = cpu.train_config(study.get_experiment("transm3e_rgbdiff_teacher"))
    assert rel.loss == "softmax_bce"
    with pytest.raises(ValueError, match="data .* and its scale .* disagree"):
        dataclasses.replace(cpu, data=paper.data)
    with pytest.raises(ValueError, match="no TrainConfig for gcn"):
        dataclasses.replace(cpu, train={f: c for f, c in cpu.train.items() if f != Family.GCN})


def test_catalogue_is_read_only_data():
    e = study.get_experiment("transm3e_rgbdiff_teacher")
    with pytest.raises(TypeError):
        e.train["loss"] = "bce"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.name = "x"  # type: ignore[misc]


def test_config_sha_changes_with_what_matters():
    exp, prof = study.get_experiment("mvitv2_s"), study.get_profile("cpu")
    a = plan_run(exp, prof, seed=0)
    assert a.sha() == plan_run(exp, prof, seed=0).sha()
    assert a.sha() != plan_run(exp, prof, seed=1).sha()
    assert a.sha() != plan_run(exp, prof, 0, overrides={"train.epochs": 7}).sha()
    assert a.sha() != plan_run(exp, prof, 0, (("x", "abc"),)).sha()


def test_overrides_are_typed_and_validated():
    got = parse_overrides(
        [
            "train.epochs=40",
            "train.lr=3e-4",
            "train.grad_clip=none",
            "train.loss=softmax_bce",
            "train.deterministic=false",
            "data.train_jitter_scales=80,96",
            "bootstrap_n=10",
        ]
    )
    assert got == {
        "train.epochs": 40,
        "train.lr": 3e-4,
        "train.grad_clip": None,
        "train.loss": "softmax_bce",
        "train.deterministic": False,
        "data.train_jitter_scales": (80, 96),
        "bootstrap_n": 10,
    }
    run = plan_run(study.get_experiment("stgcn"), study.get_profile("cpu"), overrides=got)
    assert (run.train.epochs, run.train.lr, run.data.train_jitter_scales) == (40, 3e-4, (80, 96))
    assert run.bootstrap_n == 10
    # A baseline has no training: train.* does not apply to it.
    base = plan_run(study.get_experiment("random"), study.get_profile("cpu"), overrides=got)
    assert base.train is None
    with pytest.raises(ValueError, match="unknown key; valid keys: .*train.epochs"):
        parse_overrides(["train.epoch=4"])
    with pytest.raises(ValueError, match="expected int"):
        parse_overrides(["train.epochs=many"])
    with pytest.raises(ValueError, match="choose from bce, softmax_bce"):
        parse_overrides(["train.loss=mse"])
    with pytest.raises(ValueError, match="write KEY=VALUE"):
        parse_overrides(["train.epochs"])
    # The config's own validation still runs on the changed value.
    run = plan_run(study.get_experiment("stgcn"), study.get_profile("cpu"))
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        apply_overrides(run, parse_overrides(["train.epochs=0"]))
    assert "data.test_views" in valid_keys() and "bootstrap_n" in valid_keys()


def test_model_options_from_the_command_line_reach_the_run():
    got = parse_overrides(["model.drop_path_rate=0", "model.head_dropout=0.1", "model.variant=l1"])
    assert got == {"model.drop_path_rate": 0, "model.head_dropout": 0.1, "model.variant": "l1"}
    exp, prof = study.get_experiment("mvitv2_s_mct"), study.get_profile("smoke")
    base = plan_run(exp, prof)
    run = plan_run(exp, prof, overrides={"model.drop_path_rate": 0.0})
    assert dict(run.model_args)["drop_path_rate"] == 0.0
    assert {k: v for k, v in run.model_args if k != "drop_path_rate"} == dict(base.model_args)
    assert run.sha() != base.sha()
    with pytest.raises(ValueError, match="unknown key"):
        parse_overrides(["model.not-a-name=1"])
    with pytest.raises(ValueError, match="expected a number"):
        parse_overrides(["model.drop_path_rate=[1, 2]"])


def test_a_profile_gives_each_family_its_builder_options():
    smoke = study.get_profile("smoke")
    prof = dataclasses.replace(
        smoke, model_args={Family.VIDEO_TRANSFORMER: {"drop_path_rate": 0.0, "head_dropout": 0.0}}
    )
    mvit, gcn = study.get_experiment("mvitv2_s"), study.get_experiment("stgcn")
    assert dict(plan_run(mvit, prof).model_args) == {"drop_path_rate": 0.0, "head_dropout": 0.0}
    assert plan_run(gcn, prof).sha() == plan_run(gcn, smoke).sha()  # other families unchanged
    # An experiment's own options win over its family's.
    mine = dataclasses.replace(mvit, model_args={"drop_path_rate": 0.1})
    assert prof.builder_options(mine) == {"drop_path_rate": 0.1, "head_dropout": 0.0}
    with pytest.raises(TypeError):
        prof.model_args[Family.GCN] = {}  # type: ignore[index]
    with pytest.raises(ValueError, match="model_args for pretrain"):
        dataclasses.replace(smoke, model_args={Family.PRETRAIN: {"images": "people"}})


def test_a_profile_changes_the_budget_of_one_experiment():
    smoke = study.get_profile("smoke")
    swin, mvit = "pretrain_swin_s_fractal", "pretrain_mvitv2_s_fractal"
    prof = dataclasses.replace(smoke, experiment_train={swin: {"epochs": 3}})
    assert prof.train_config(study.get_experiment(swin)).epochs == 3
    assert prof.train_config(study.get_experiment(mvit)) == smoke.train[Family.PRETRAIN]
    assert (
        plan_run(study.get_experiment(swin), prof).sha()
        != plan_run(study.get_experiment(swin), smoke).sha()
    )
    # It wins over the experiment's own train fields.
    rel = study.get_experiment("transm3e_rgbdiff_teacher")
    prof = dataclasses.replace(smoke, experiment_train={rel.name: {"loss": "bce"}})
    assert smoke.train_config(rel).loss == "softmax_bce" and prof.train_config(rel).loss == "bce"
    with pytest.raises(TypeError):
        prof.experiment_train[rel.name]["epochs"] = 2  # type: ignore[index]
    with pytest.raises(ValueError, match="known experiments"):
        dataclasses.replace(smoke, experiment_train={"swin3": {"epochs": 3}})
    with pytest.raises(ValueError, match="sets epoch, not TrainConfig fields"):
        dataclasses.replace(smoke, experiment_train={swin: {"epoch": 3}})
    with pytest.raises(ValueError, match="a baseline that is never trained"):
        dataclasses.replace(smoke, experiment_train={"random": {"epochs": 3}})


def test_the_catalogue_imports_no_torch():
    code = (
        "import sys; import musclemap_lib.study, musclemap_lib.study.book, "
        "musclemap_lib.study.overrides, musclemap_lib.figures.names; "
        "bad = [m for m in ('torch', 'lightning') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_paper_reference_rows_cover_every_row():
    rows = paper_reference_rows()
    assert len(rows) == 6 * len([r for r in study.table_rows() if r.paper is not None])
    assert {r["source"] for r in rows} == {f"Table {t}" for t in range(2, 8)}
