"""Activity-level muscle labels from joint actions under load: the documented rule set.

Each activity of the exercise library (:mod:`musclemap_lib.synth.motions`) lists the joint
actions its motion program performs *against a load* (body weight, gravity on a lifted limb, a
support). This module is the single place that says which of the 20 muscle groups of
:data:`musclemap_lib.muscles.MUSCLE_GROUPS` each action loads, and why. An activity's label is the
union over its actions, as the paper's annotators marked every region that works during the
exercise (PAPER: section 3.2, activity-level binary labels). The ``rationale`` string written to
``activities.csv`` lists the actions that produced the labels.

ASSUMPTION: the mapping follows standard exercise-science descriptions of prime movers and
stabilisers (e.g. knee extension under body weight -> quadriceps; elbow extension in a push ->
triceps); it is a plausible annotator, not the paper's annotation, which is not released.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from musclemap_lib.muscles import MUSCLE_GROUPS, names_to_multihot


@dataclass(frozen=True)
class JointAction:
    """One joint action under load and the muscle groups that produce or resist it."""

    muscles: tuple[str, ...]  # muscle-group ids from MUSCLE_GROUPS
    why: str  # the joint action, in words


# The rule set: joint action -> muscle groups.
RULES: dict[str, JointAction] = {
    # Lower limb.
    "knee_ext_bw": JointAction(("quadriceps",), "knee extension under body weight"),
    "hip_ext_bw": JointAction(("gluteus", "hamstring"), "hip extension under body weight"),
    "hip_ext_leg": JointAction(("gluteus",), "hip extension lifting a bent leg behind the body"),
    "hip_ext_hold": JointAction(
        ("gluteus", "hamstring", "lower_back"), "hip extension holding the pelvis off the floor"
    ),
    "knee_flex_curl": JointAction(("hamstring",), "knee flexion curling the heel up"),
    "hip_abd": JointAction(("outer_thigh", "gluteus"), "hip abduction moving a leg outwards"),
    "hip_add": JointAction(("inner_thigh",), "hip adduction bringing the legs together"),
    "plantar_bw": JointAction(("calves",), "ankle plantarflexion under body weight"),
    "forefoot_balance": JointAction(
        ("feet_ankles",), "balancing on the forefoot (ankle evertors/invertors)"
    ),
    "impact": JointAction(("feet_ankles", "calves"), "landing and rebounding on the feet"),
    "single_leg_balance": JointAction(("feet_ankles",), "balancing on one foot"),
    "straight_leg_hold": JointAction(
        ("quadriceps",), "holding a straight knee with an unsupported leg (rectus femoris)"
    ),
    "hip_flex_drive": JointAction(
        ("lower_abdominis", "quadriceps"), "fast hip flexion driving the knee up"
    ),
    "hip_flex_leg_lift": JointAction(
        ("lower_abdominis",), "hip flexion lifting the legs against gravity, pelvis braced"
    ),
    "hip_flex_trunk": JointAction(
        ("lower_abdominis",), "hip flexion lifting the trunk towards the thighs"
    ),
    # Trunk and neck.
    "trunk_flex": JointAction(("upper_abdominis",), "trunk flexion curling the ribs to the pelvis"),
    "trunk_rot": JointAction(("obliques",), "trunk rotation"),
    "trunk_lat": JointAction(
        ("obliques",), "lateral trunk flexion or resisting it in side support"
    ),
    "trunk_ext": JointAction(("lower_back",), "trunk extension against gravity"),
    "anti_ext": JointAction(
        ("upper_abdominis", "lower_abdominis"), "bracing the trunk against sagging in prone support"
    ),
    "anti_rot": JointAction(("obliques",), "resisting trunk rotation while a support is lifted"),
    "neck_flex_hold": JointAction(("neck_head",), "holding the head off the floor in flexion"),
    # Upper limb.
    "push_horizontal": JointAction(
        ("chest", "shoulder"), "shoulder flexion/horizontal adduction pushing the body away"
    ),
    "elbow_ext_push": JointAction(("triceps",), "elbow extension pushing against body weight"),
    "push_vertical": JointAction(
        ("shoulder", "upper_back"), "overhead push: shoulder flexion with scapular upward rotation"
    ),
    "dip_shoulder": JointAction(
        ("chest", "shoulder"), "shoulder extension lowering the body behind the hands"
    ),
    # ASSUMPTION: close-grip pushing keeps the elbows adducted against the ribs, which the
    # latissimus stabilises; this is what separates diamond push ups from the known push ups.
    "elbows_tucked": JointAction(
        ("latissimus",), "shoulder adduction keeping the elbows against the ribs"
    ),
    "pull_vertical": JointAction(
        ("latissimus", "upper_back"), "shoulder adduction/extension pulling the body up"
    ),
    "elbow_flex_pull": JointAction(("biceps",), "elbow flexion pulling against body weight"),
    "grip": JointAction(("forearms", "wrists"), "gripping a bar under body weight"),
    "hand_support": JointAction(("wrists", "forearms"), "body weight carried on the hands"),
    "shoulder_support": JointAction(
        ("shoulder",),
        "stabilising the shoulder under body weight in a straight-arm or forearm support",
    ),
    "arm_cycle": JointAction(("shoulder",), "repeated arm abduction or circling against gravity"),
    "arm_sweep": JointAction(("upper_back",), "thoracic rotation with the arm sweeping under"),
    "scap_retract": JointAction(("upper_back",), "scapular retraction lifting the arms behind"),
    "punch": JointAction(("shoulder", "triceps"), "fast shoulder flexion and elbow extension"),
    "rope_turn": JointAction(("forearms", "wrists"), "turning a rope with the wrists"),
}


def _check_rules() -> None:
    for name, rule in RULES.items():
        for m in rule.muscles:
            if m not in MUSCLE_GROUPS:
                raise ValueError(f"rule {name!r} names unknown muscle group {m!r}")


_check_rules()


def labels_for(actions: Iterable[str]) -> tuple[np.ndarray, str]:
    """Muscle labels of an activity from its joint actions.

    Args:
        actions: keys of :data:`RULES`.

    Returns:
        ``(multihot, rationale)``: a ``(20,)`` float32 0/1 vector over MUSCLE_GROUPS, and a
        string ``"action (why) -> muscles; ..."``.

    Raises:
        ValueError: for an unknown action or an empty list.
    """
    actions = tuple(actions)
    if not actions:
        raise ValueError("an activity needs at least one joint action to derive labels from")
    names: list[str] = []
    parts: list[str] = []
    for a in actions:
        if a not in RULES:
            raise ValueError(f"unknown joint action {a!r}; known actions: {', '.join(RULES)}")
        rule = RULES[a]
        names.extend(rule.muscles)
        parts.append(f"{rule.why} -> {', '.join(rule.muscles)}")
    return names_to_multihot(names), "; ".join(parts)
