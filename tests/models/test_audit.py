"""The parameter audit: coverage of Table 2 and verdicts consistent with the counts."""

from __future__ import annotations

import pytest
import torch

from musclemap_lib.models import audit, build_model, list_models
from musclemap_lib.models.audit import (
    TABLE2,
    VERDICTS,
    AuditRow,
    count_parameters,
    format_audit,
    judge,
    paper_scale_count,
)


@pytest.fixture(scope="module")
def rows() -> list[AuditRow]:
    return audit()


def test_every_registered_table2_model_has_one_row(rows: list[AuditRow]) -> None:
    audited = [r.model for r in rows]
    assert len(audited) == len(set(audited))
    expected = [m for m in TABLE2 if m in list_models()]
    assert audited == expected  # Table 2's order, nothing registered left out


def test_rows_are_well_formed(rows: list[AuditRow]) -> None:
    for r in rows:
        assert r.verdict in VERDICTS
        assert r.reason.strip()
        assert r.paper == TABLE2[r.model].paper_m
        assert TABLE2[r.model].paper_row in r.source
        assert isinstance(r.ours, int) and r.ours >= 0


def test_exact_verdicts_match_the_reference_count_and_the_paper(rows: list[AuditRow]) -> None:
    for r in rows:
        if r.verdict != "exact":
            continue
        known = TABLE2[r.model].known
        assert r.ours in known and known[r.ours].verdict == "exact", r
        assert round(r.ours / 1e6, 1) == r.paper, r


def test_the_table_is_self_consistent() -> None:
    # Every count the table calls exact must round to the paper's #PM at 0.1M.
    for name, entry in TABLE2.items():
        for count, k in entry.known.items():
            assert k.verdict in VERDICTS
            if k.verdict == "exact":
                assert round(count / 1e6, 1) == entry.paper_m, (name, count)


def test_resnet_rows_follow_the_reference(rows: list[AuditRow]) -> None:
    by_model = {r.model: r for r in rows}
    assert by_model["c2d_r50"].ours == 23_549_012
    assert by_model["c2d_r50"].verdict == "exact"
    expected = {"i3d_r50": 27_264_852, "slow_r50": 31_675_476, "slowfast_r50": 33_690_588}
    for name, count in expected.items():
        assert by_model[name].ours == count
        assert by_model[name].verdict == "not matched"
        assert "3.6" in by_model[name].reason
    assert by_model["random"].ours == by_model["all_ones"].ours == 0


def test_an_unknown_count_is_flagged_as_drift() -> None:
    verdict, reason = judge("c2d_r50", 23_549_013)
    assert verdict == "not matched"
    assert "23,549,012" in reason and "baselines.md" in reason


def test_meta_count_equals_a_real_build() -> None:
    torch.manual_seed(0)
    assert paper_scale_count("c2d_r50") == count_parameters(build_model("c2d_r50", "paper"))


def test_format_lists_every_row(rows: list[AuditRow]) -> None:
    text = format_audit(rows)
    for r in rows:
        assert r.model in text and f"{r.ours:,}" in text


def test_transm3e_is_judged_against_the_budget_hypothesis() -> None:
    # No exact reference count exists (baselines.md 7): any count is "explained", with its delta.
    assert not TABLE2["transm3e"].known
    verdict, reason = judge("transm3e", 56_750_000)
    assert verdict == "explained"
    assert "+1.35M" in reason and "baselines.md 7" in reason
