"""The experiment registry and the profiles (no training here)."""

from __future__ import annotations

import dataclasses

import pytest

from musclemap_lib import experiments as E
from musclemap_lib.models import list_models
from musclemap_lib.models.scales import SCALES
from musclemap_lib.models.transm3e import stage1_models, variant_config


def test_every_row_of_tables_2_to_7_is_an_experiment():
    rows = E.table_rows()
    per_table = {t: [r.row for r in rows if r.table == t] for t in range(2, 8)}
    assert {t: len(v) for t, v in per_table.items()} == {2: 14, 3: 4, 4: 6, 5: 5, 6: 4, 7: 3}
    assert per_table[3] == ["w/o MCT", "w/o MCTKD", "w/o MCTF", "w/ all"]
    for r in rows:
        assert r.paper is not None and len(r.paper) == 6
        # The paper's mean columns are the means of known and new (to its rounding).
        assert r.paper[2] == pytest.approx((r.paper[0] + r.paper[1]) / 2, abs=0.051)
        assert r.paper[5] == pytest.approx((r.paper[3] + r.paper[4]) / 2, abs=0.051)
        E.get_experiment(r.experiment)


def test_experiments_use_registered_models_and_the_right_stage1_runs():
    models = set(list_models())
    for e in E.EXPERIMENTS:
        assert e.model in models, e.name
        if e.kind in ("distill", "late_fusion"):
            assert e.depends_on == stage1_models(e.model), e.name
            for d in e.depends_on:
                assert E.get_experiment(d).kind == "single"
        else:
            assert e.depends_on == ()
    # Table 4 SP-MCTKD is filled by w/o MCTF because the two configurations are one.
    assert variant_config("transm3e_sp_mctkd") == variant_config("transm3e_no_mctf")


def test_plan_puts_dependencies_first_and_once():
    order = E.experiments_for_tables((3, 6))
    for name in order:
        for d in E.get_experiment(name).depends_on:
            assert order.index(d) < order.index(name)
    assert len(order) == len(set(order))
    assert {"mvitv2_s_mct", "hdgcn_mct", "mvitv2_s_sct", "hdgcn_sct"} <= set(order)
    everything = E.experiments_for_tables()
    assert "transm3e_rgbdiff_teacher" not in everything  # an extra, run by name
    assert len(everything) == 35
    with pytest.raises(ValueError, match="Tables 2 to 7"):
        E.experiments_for_tables((8,))


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="known experiments: random, all_ones"):
        E.get_experiment("mvit3")
    with pytest.raises(ValueError, match="smoke, cpu, paper"):
        E.get_profile("laptop")


def test_profiles():
    paper = E.get_profile("paper")
    assert (paper.data.num_frames, paper.data.sampling_rate, paper.data.crop_size) == (16, 4, 224)
    assert paper.lr == 1e-4 and paper.epochs == 80 and paper.stage2_epochs == 80
    for name, prof in E.PROFILES.items():
        spec = SCALES[prof.scale]
        assert (prof.data.num_frames, prof.data.crop_size) == (spec.frames, spec.size), name
        assert prof.train_config(E.get_experiment("random")) is None
        t = prof.train_config(E.get_experiment("transm3e"))
        assert t.epochs == prof.stage2_epochs
    rel = E.get_profile("cpu").train_config(E.get_experiment("transm3e_rgbdiff_teacher"))
    assert rel.loss == "softmax_bce"


def test_config_sha_changes_with_what_matters():
    exp, prof = E.get_experiment("mvitv2_s"), E.get_profile("cpu")
    a = E.run_config(exp, prof, seed=0)
    assert a.sha() == E.run_config(exp, prof, seed=0).sha()
    assert a.sha() != E.run_config(exp, prof, seed=1).sha()
    other = dataclasses.replace(prof, epochs=prof.epochs + 1)
    assert a.sha() != E.run_config(exp, other, seed=0).sha()
    assert a.sha() != E.run_config(exp, prof, 0, (("x", "abc"),)).sha()
