"""The biomechanical label rules on canonical exercises, and the exercise library."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap_lib.muscles import MUSCLE_GROUPS, multihot_to_names
from musclemap_lib.synth import biomechanics, motions


def muscles(name: str) -> set[str]:
    vec, _ = biomechanics.labels_for(motions.get_activity(name).actions)
    return set(multihot_to_names(vec))


@pytest.mark.parametrize(
    ("activity", "present", "absent"),
    [
        ("squats", {"quadriceps", "gluteus"}, {"biceps", "chest"}),
        ("push ups", {"chest", "triceps", "shoulder"}, {"quadriceps", "biceps"}),
        ("crunches", {"upper_abdominis"}, {"biceps", "calves"}),
        ("pull ups", {"latissimus", "biceps"}, {"quadriceps", "chest"}),
        ("calf raises", {"calves"}, {"chest", "biceps"}),
        ("russian twists", {"obliques"}, {"biceps", "calves"}),
        ("leg raises", {"lower_abdominis"}, {"chest"}),
        ("glute bridge", {"gluteus", "hamstring"}, {"chest"}),
        ("triceps dips", {"triceps"}, {"quadriceps"}),
        ("superman", {"lower_back"}, {"upper_abdominis"}),
        ("side plank", {"obliques"}, {"biceps"}),
        ("high plank", {"wrists", "upper_abdominis"}, {"biceps"}),
        ("fire hydrants", {"outer_thigh", "gluteus"}, {"chest"}),
        ("sumo squats", {"inner_thigh", "quadriceps"}, {"biceps"}),
    ],
)
def test_canonical_exercise_labels(activity: str, present: set[str], absent: set[str]) -> None:
    got = muscles(activity)
    assert present <= got, f"{activity}: missing {present - got}"
    assert not (absent & got), f"{activity}: should not load {absent & got}"


def test_rationale_names_the_joint_actions() -> None:
    vec, why = biomechanics.labels_for(("knee_ext_bw", "elbow_ext_push"))
    assert "knee extension" in why and "triceps" in why
    assert vec.shape == (len(MUSCLE_GROUPS),) and vec.dtype == np.float32


def test_unknown_action_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown joint action"):
        biomechanics.labels_for(("knee_wiggle",))
    with pytest.raises(ValueError, match="at least one"):
        biomechanics.labels_for(())


def test_library_size_and_required_names() -> None:
    names = {a.name for a in motions.ACTIVITIES}
    assert len(names) == len(motions.ACTIVITIES) >= 60
    assert {a.name for a in motions.NEW} == set(motions.PAPER_NEW_ACTIVITIES)
    required = {
        "squats", "lunges", "push ups", "crunches", "sit ups", "plank", "side plank",
        "jumping jacks", "burpees", "mountain climbers", "glute bridge", "calf raises",
        "high knees", "superman", "bicycle crunches", "russian twists", "side lunges",
        "wall sit", "pike push ups", "leg raises", "flutter kicks", "donkey kicks",
        "fire hydrants", "side leg raises", "squat jumps", "arm circles", "triceps dips",
        "pull ups",
    }  # fmt: skip
    assert required <= {a.name for a in motions.KNOWN}


def test_every_rule_and_action_is_valid() -> None:
    for rule in biomechanics.RULES.values():
        assert set(rule.muscles) <= set(MUSCLE_GROUPS)
    for a in motions.ACTIVITIES:
        biomechanics.labels_for(a.actions)
        assert a.posture in motions.POSTURES


def test_new_activities_share_actions_but_not_muscle_sets_with_known() -> None:
    known_actions = {x for a in motions.KNOWN for x in a.actions}
    known_sets = {frozenset(muscles(a.name)) for a in motions.KNOWN}
    for a in motions.NEW:
        assert set(a.actions) & known_actions, f"{a.name} shares no joint action with training"
        assert frozenset(muscles(a.name)) not in known_sets, a.name


def test_activities_move_and_stay_on_the_floor() -> None:
    rng = np.random.default_rng(0)
    from musclemap_lib.synth import kinematics

    body = kinematics.sample_body(rng)
    t = np.arange(32) / 15
    for a in motions.ACTIVITIES:
        j = motions.synthesize(a, body, t, motions.ClipParams()).joints
        assert j.shape == (32, kinematics.NUM_JOINTS3D, 3)
        assert np.isfinite(j).all()
        assert j[:, :, 1].min() > -0.25, f"{a.name} sinks through the floor"
        dynamic = any(
            isinstance(w, motions.Wave) and w.kind != "hold" and abs(w.amp) >= 10
            for w in a.ch.values()
        )
        if dynamic:  # holds (planks, hollow hold, ...) only sway
            assert np.abs(np.diff(j, axis=0)).max() > 0.01, f"{a.name} does not move"
