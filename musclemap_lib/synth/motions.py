"""The exercise library: base postures, cyclic joint-angle programs, root motion.

An :class:`Activity` is a base :class:`Posture` (standing, plank, supine, ...) plus channel
programs: each channel (a joint angle of :mod:`kinematics`, or root motion ``root_x``/``root_y``/
``root_z``/``air``) is ``base + amp * s(phase)``, with ``s`` a unit wave (``sin``: 0 -> 1 -> 0
per repetition; ``pulse``: active half of each cycle; ``osc``: -1..1; ``hold``: constant 1 with
tremor; ``keys``: cyclic keyframes). A channel key without a side prefix drives both sides, a key
starting with ``~`` drives both sides half a cycle apart (alternating limbs).

Each activity also lists its joint actions under load; :mod:`biomechanics` turns them into
labels. :func:`synthesize` turns an activity, a body and per-clip parameters into 3-D joints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from musclemap_lib.synth.kinematics import (
    ANGLE_NAMES,
    J3,
    BodyShape,
    Pin,
    floor_offset,
    forward_kinematics,
)

ROOT_CHANNELS = ("root_x", "root_y", "root_z", "air")
GLOBAL_CHANNELS = set(ANGLE_NAMES[:7]) | set(ROOT_CHANNELS)
WaveKind = Literal["sin", "pulse", "osc", "hold", "keys"]


@dataclass(frozen=True)
class Wave:
    """One channel program: ``base + amp * s(phase)``."""

    amp: float  # excursion (degrees, or metres for root channels)
    base: float = 0.0  # value added at rest
    kind: WaveKind = "sin"  # unit wave shape
    off: float = 0.0  # phase offset in cycles
    keys: tuple[float, ...] = ()  # cyclic keyframe values of s for kind "keys"
    harm: int = 1  # cycles of this channel per repetition


def W(
    amp: float, base: float = 0.0, kind: WaveKind = "sin", off: float = 0.0, harm: int = 1
) -> Wave:
    """Shorthand for a :class:`Wave`."""
    return Wave(amp=amp, base=base, kind=kind, off=off, harm=harm)


def K(amp: float, *keys: float, base: float = 0.0, off: float = 0.0) -> Wave:
    """Shorthand for a keyframed :class:`Wave` (``s`` runs through ``keys`` once per cycle)."""
    return Wave(amp=amp, base=base, kind="keys", off=off, keys=tuple(keys))


def H(value: float) -> Wave:
    """An isometric hold at ``value``."""
    return Wave(amp=value, kind="hold")


@dataclass(frozen=True)
class Posture:
    """A base posture: rest angles and how the body meets the floor or a prop."""

    base: dict[str, float]  # rest angles (degrees) and root offsets
    mode: Literal["ground", "pinned"]  # ground: lowest surface on the floor each frame
    anchor: tuple[str, ...] = ()  # pinned: joints held at their rest position (pivot)
    solve: tuple[str, str, str] | None = None  # (joint, axis "pitch"/"roll", height key)
    arm_pins: tuple[tuple[float, float, float], ...] = ()  # (pole l, pole r) when hands pinned
    leg_pins: tuple[tuple[float, float, float], ...] = ()  # (pole l, pole r) when feet pinned
    hover: float = 0.0  # rest height of the lowest point (hanging postures)
    props: tuple[str, ...] = ()  # "mat", "bar", "bench", "wall"


def _sym(**kw: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in kw.items():
        if k in GLOBAL_CHANNELS:
            out[k] = v
        else:
            out[f"l_{k}"] = v
            out[f"r_{k}"] = v
    return out


_OUT = 0.7  # elbow pole: outwards
POSTURES: dict[str, Posture] = {
    "stand": Posture(_sym(sh_abd=8, elbow=12, knee=3), "ground"),
    "plank": Posture(
        _sym(pitch=75, sh_flex=75, spine_flex=0, neck_flex=-20, ankle=-40),
        "pinned",
        anchor=("left_toe", "right_toe"),
        solve=("shoulders", "pitch", "arm"),
        arm_pins=((_OUT, 0.3, -1.0), (-_OUT, 0.3, -1.0)),
        props=("mat",),
    ),
    "forearm_plank": Posture(
        _sym(pitch=80, sh_flex=80, elbow=90, neck_flex=-15, ankle=-40),
        "pinned",
        anchor=("left_toe", "right_toe"),
        solve=("shoulders", "pitch", "upper_arm"),
        arm_pins=((0.2, -1.0, -0.4), (-0.2, -1.0, -0.4)),
        props=("mat",),
    ),
    "knee_plank": Posture(
        _sym(pitch=70, sh_flex=70, knee=100, neck_flex=-20),
        "pinned",
        anchor=("left_knee", "right_knee"),
        solve=("shoulders", "pitch", "arm"),
        arm_pins=((_OUT, 0.3, -1.0), (-_OUT, 0.3, -1.0)),
        props=("mat",),
    ),
    "pike": Posture(
        _sym(pitch=150, sh_flex=150, hip_flex=95, spine_flex=10, neck_flex=-10, ankle=-20),
        "pinned",
        anchor=("left_toe", "right_toe"),
        solve=("shoulders", "pitch", "arm"),
        arm_pins=((_OUT, 0.5, 0.3), (-_OUT, 0.5, 0.3)),
        props=("mat",),
    ),
    "quadruped": Posture(
        _sym(pitch=80, sh_flex=80, hip_flex=80, knee=90, neck_flex=-15, ankle=20),
        "pinned",
        anchor=("left_knee", "right_knee"),
        solve=("shoulders", "pitch", "arm"),
        arm_pins=((0.3, 0.2, -1.0), (-0.3, 0.2, -1.0)),
        props=("mat",),
    ),
    "side_plank": Posture(
        {
            "roll": -70,
            "l_sh_abd": 70,
            "l_elbow": 90,
            "r_sh_abd": 15,
            "r_elbow": 20,
            "l_hip_abd": 4,
            "r_hip_abd": -4,
        },
        "pinned",
        anchor=("left_heel", "left_toe"),
        solve=("left_shoulder", "roll", "upper_arm"),
        props=("mat",),
    ),
    "reverse_plank": Posture(
        _sym(pitch=-70, sh_flex=-70, neck_flex=10, ankle=40),
        "pinned",
        anchor=("left_heel", "right_heel"),
        solve=("shoulders", "pitch", "arm"),
        arm_pins=((0.3, 0.2, -1.0), (-0.3, 0.2, -1.0)),
        props=("mat",),
    ),
    "supine": Posture(_sym(pitch=-90, sh_abd=12, elbow=5, ankle=30), "ground", props=("mat",)),
    "prone": Posture(
        _sym(pitch=90, sh_flex=10, sh_abd=10, ankle=60, neck_flex=-10), "ground", props=("mat",)
    ),
    "seated": Posture(
        _sym(pitch=-40, spine_flex=15, hip_flex=75, knee=85, sh_flex=45, elbow=80, sh_abd=-10),
        "ground",
        props=("mat",),
    ),
    "bridge": Posture(
        _sym(pitch=-90, hip_flex=55, knee=110, sh_abd=15, ankle=-10),
        "pinned",
        anchor=("left_shoulder", "right_shoulder"),
        leg_pins=((0.3, 1.0, 0.2), (-0.3, 1.0, 0.2)),
        props=("mat",),
    ),
    "hang": Posture(
        _sym(sh_flex=172, sh_abd=14, knee=15, hip_flex=8, ankle=20),
        "pinned",
        arm_pins=((1.0, -0.5, 0.4), (-1.0, -0.5, 0.4)),
        hover=0.12,
        props=("bar",),
    ),
    "dip": Posture(
        _sym(sh_flex=-40, sh_abd=10, hip_flex=80, knee=75),
        "pinned",
        arm_pins=((0.25, 0.0, -1.0), (-0.25, 0.0, -1.0)),
        leg_pins=((0.2, 1.0, 0.4), (-0.2, 1.0, 0.4)),
        props=("bench",),
    ),
}


@dataclass(frozen=True)
class Activity:
    """A named exercise: posture, tempo, channel programs and joint actions under load."""

    name: str  # exactly as in the paper where the paper names it
    posture: str  # key of POSTURES
    tempo: float  # repetitions per second at tempo factor 1
    ch: dict[str, Wave | float]  # channel programs; a float is a constant offset
    actions: tuple[str, ...]  # joint actions under load (keys of biomechanics.RULES)
    free_arms: bool = False  # do not pin the hands even if the posture does
    props: tuple[str, ...] = ()  # extra props
    role: Literal["known", "new"] = "known"  # new: held out from training (paper section 3.3)
    rest: dict[str, float] = field(default_factory=dict)  # extra rest angles for pin placement


def A(name: str, posture: str, tempo: float, ch: dict, actions: tuple[str, ...], **kw) -> Activity:
    """Shorthand for :class:`Activity`."""
    return Activity(name=name, posture=posture, tempo=tempo, ch=ch, actions=actions, **kw)


# Arm carriage while running/jumping, and hands behind the head.
_PUMP = {"~sh_flex": W(45, kind="osc", off=0.5), "elbow": 85}
_HEAD = {"sh_abd": 110, "sh_flex": 30, "elbow": 150}
_PUSH = ("push_horizontal", "elbow_ext_push", "hand_support", "anti_ext")
_PLANK = ("anti_ext", "hand_support", "shoulder_support")

KNOWN: tuple[Activity, ...] = (
    # Standing: squats and lunges.
    A(
        "squats",
        "stand",
        0.45,
        {"hip_flex": W(95), "knee": W(115), "ankle": W(-45), "pitch": W(30), "sh_flex": W(85)},
        ("knee_ext_bw", "hip_ext_bw"),
    ),
    A(
        "sumo squats",
        "stand",
        0.45,
        {
            "hip_flex": W(80),
            "knee": W(100),
            "hip_abd": 30,
            "pitch": W(15),
            "sh_flex": 40,
            "elbow": 110,
            "sh_abd": -20,
        },
        ("knee_ext_bw", "hip_ext_bw", "hip_add"),
    ),
    A(
        "squat jumps",
        "stand",
        0.7,
        {
            "hip_flex": K(90, 0, 1, 0.3, 0, 0),
            "knee": K(110, 0, 1, 0.2, 0, 0),
            "pitch": K(30, 0, 1, 0, 0, 0),
            "air": K(0.3, 0, 0, 0.6, 1, 0.3),
            "ankle": K(40, 0, -0.5, 1, 1, 0),
            "sh_flex": K(160, 0.2, 0.5, 1, 0.8, 0.2),
        },
        ("knee_ext_bw", "hip_ext_bw", "plantar_bw", "impact"),
    ),
    A(
        "lunges",
        "stand",
        0.35,
        {
            "l_hip_flex": W(80),
            "l_knee": W(90),
            "r_hip_flex": W(-25),
            "r_knee": W(95),
            "r_ankle": W(35),
            "sh_abd": 30,
            "elbow": 120,
        },
        ("knee_ext_bw", "hip_ext_bw"),
    ),
    A(
        "reverse lunges",
        "stand",
        0.35,
        {
            "r_hip_flex": W(-30),
            "r_knee": W(100),
            "r_ankle": W(40),
            "l_hip_flex": W(70),
            "l_knee": W(85),
            "sh_flex": W(40),
            "root_z": W(-0.15),
        },
        ("knee_ext_bw", "hip_ext_bw", "single_leg_balance"),
    ),
    A(
        "side lunges",
        "stand",
        0.35,
        {
            "l_hip_abd": W(35, base=15),
            "r_hip_abd": 15,
            "l_hip_flex": W(70),
            "l_knee": W(90),
            "pitch": W(25),
            "root_x": W(0.25),
            "sh_flex": W(70),
        },
        ("knee_ext_bw", "hip_ext_bw", "hip_add"),
    ),
    A(
        "curtsy lunges",
        "stand",
        0.35,
        {
            "r_hip_flex": W(-15),
            "r_hip_abd": W(-25),
            "r_knee": W(90),
            "l_hip_flex": W(60),
            "l_knee": W(80),
            "sh_abd": 40,
            "elbow": 100,
        },
        ("knee_ext_bw", "hip_ext_bw", "hip_abd"),
    ),
    A(
        "jumping lunges",
        "stand",
        0.5,
        {
            "~hip_flex": W(75, base=-20, kind="osc"),
            "~knee": W(35, base=70, kind="osc"),
            "air": W(0.12, harm=2),
            "~sh_flex": W(40, kind="osc", off=0.5),
            "elbow": 80,
        },
        ("knee_ext_bw", "hip_ext_bw", "plantar_bw", "impact"),
    ),
    A("calf raises", "stand", 0.6, {"ankle": W(35), "knee": -3, "sh_abd": 10}, ("plantar_bw",)),
    A(
        "wall sit",
        "stand",
        0.2,
        {"hip_flex": H(90), "knee": H(90), "sh_flex": 10, "ankle": -5},
        ("knee_ext_bw", "hip_ext_bw"),
        props=("wall",),
    ),
    A(
        "good mornings",
        "stand",
        0.4,
        {"pitch": W(70), "hip_flex": W(65), "knee": 12, **_HEAD},
        ("hip_ext_bw", "trunk_ext"),
    ),
    # Standing: cardio and jumps.
    A(
        "jumping jacks",
        "stand",
        0.9,
        {
            "sh_abd": W(150, base=-5),
            "hip_abd": W(22),
            "air": W(0.06, harm=2),
            "ankle": W(15, harm=2),
        },
        ("arm_cycle", "hip_abd", "hip_add", "impact"),
    ),
    A(
        "star jumps",
        "stand",
        0.6,
        {
            "sh_abd": K(150, 0, 0.3, 1, 0.3, 0),
            "hip_abd": K(35, 0, 0, 1, 0, 0),
            "hip_flex": K(70, 0, 1, 0, 0, 0),
            "knee": K(90, 0, 1, 0, 0.3, 0),
            "air": K(0.35, 0, 0.4, 1, 0, 0),
            "pitch": K(20, 0, 1, 0, 0.2, 0),
        },
        ("knee_ext_bw", "hip_ext_bw", "arm_cycle", "hip_abd", "impact"),
    ),
    A(
        "high knees",
        "stand",
        1.4,
        {
            "~hip_flex": W(95, kind="pulse"),
            "~knee": W(100, kind="pulse"),
            "air": W(0.05, harm=2),
            **_PUMP,
        },
        ("hip_flex_drive", "impact"),
    ),
    A(
        "butt kicks",
        "stand",
        1.4,
        {
            "~knee": W(130, kind="pulse"),
            "~hip_flex": W(-10, kind="pulse"),
            "air": W(0.05, harm=2),
            "pitch": 8,
            **_PUMP,
        },
        ("knee_flex_curl", "impact"),
    ),
    A(
        "skaters",
        "stand",
        0.6,
        {
            "root_x": W(0.5, kind="osc"),
            "~hip_flex": W(60, kind="pulse"),
            "~knee": W(90, kind="pulse"),
            "~hip_abd": W(-25, kind="pulse", off=0.5),
            "pitch": 30,
            "~sh_flex": W(70, kind="osc"),
            "air": W(0.1, harm=2),
        },
        ("knee_ext_bw", "hip_ext_bw", "hip_abd", "single_leg_balance", "impact"),
    ),
    A(
        "jump rope",
        "stand",
        1.6,
        {
            "air": W(0.05),
            "ankle": W(25),
            "knee": W(15),
            "sh_flex": 20,
            "elbow": 70,
            "sh_abd": W(15, base=20),
        },
        ("plantar_bw", "impact", "rope_turn"),
    ),
    A(
        "burpees",
        "stand",
        0.35,
        {
            "pitch": K(85, 0, 0.4, 1, 1, 0.4, 0, 0),
            "hip_flex": K(110, 0, 1, 0, 0, 1, 0, 0),
            "knee": K(120, 0, 1, 0, 0, 1, 0.2, 0),
            "sh_flex": K(160, 0.1, 0.5, 0.55, 0.55, 0.5, 1, 0.1),
            "air": K(0.3, 0, 0, 0, 0, 0, 1, 0),
            "ankle": K(-40, 0, 0, 1, 1, 0, 0, 0),
        },
        ("knee_ext_bw", "hip_ext_bw", "hand_support", "anti_ext", "plantar_bw", "impact"),
    ),
    # Standing: upper body and trunk.
    A(
        "arm circles",
        "stand",
        1.0,
        {
            "sh_abd": W(25, base=80, kind="osc"),
            "sh_flex": W(30, kind="osc", off=0.25),
            "elbow": -10,
        },
        ("arm_cycle",),
    ),
    A(
        "punches",
        "stand",
        1.2,
        {
            "~sh_flex": W(85, base=10, kind="pulse"),
            "~elbow": W(-110, base=130, kind="pulse"),
            "spine_twist": W(25, kind="osc"),
            "knee": 15,
            "l_hip_flex": 15,
        },
        ("punch", "trunk_rot"),
    ),
    A(
        "side leg raises",
        "stand",
        0.6,
        {"l_hip_abd": W(45), "r_hip_abd": W(-5), "sh_abd": 40, "elbow": 110, "spine_side": W(-10)},
        ("hip_abd", "single_leg_balance"),
    ),
    A(
        "standing oblique crunches",
        "stand",
        0.6,
        {
            "~hip_abd": W(40, kind="pulse"),
            "~hip_flex": W(60, kind="pulse"),
            "~knee": W(80, kind="pulse"),
            "spine_side": W(25, kind="osc"),
            **_HEAD,
        },
        ("trunk_lat", "single_leg_balance"),
    ),
    A(
        "windmills",
        "stand",
        0.4,
        {
            "pitch": W(70),
            "hip_flex": W(65),
            "spine_twist": W(45, kind="osc"),
            "hip_abd": 20,
            "sh_abd": 90,
            "knee": 10,
        },
        ("trunk_rot", "hip_ext_bw"),
    ),
    # Floor, supine.
    A(
        "crunches",
        "supine",
        0.55,
        {"spine_flex": W(35), "neck_flex": W(25, base=5), "hip_flex": 50, "knee": 100, **_HEAD},
        ("trunk_flex", "neck_flex_hold"),
    ),
    A(
        "sit ups",
        "supine",
        0.35,
        {
            "pitch": W(80),
            "spine_flex": W(25),
            "hip_flex": W(80, base=50),
            "knee": 100,
            "neck_flex": 15,
            "sh_flex": W(80, base=30),
        },
        ("trunk_flex", "hip_flex_trunk", "neck_flex_hold"),
    ),
    A(
        "bicycle crunches",
        "supine",
        0.7,
        {
            "spine_flex": 30,
            "spine_twist": W(35, kind="osc"),
            "neck_flex": 20,
            "~hip_flex": W(60, base=40, kind="osc"),
            "~knee": W(60, base=60, kind="osc", off=0.5),
            **_HEAD,
        },
        ("trunk_flex", "trunk_rot", "hip_flex_leg_lift", "neck_flex_hold"),
    ),
    A(
        "leg raises",
        "supine",
        0.4,
        {"hip_flex": W(80, base=5), "knee": 5, "sh_abd": 30},
        ("hip_flex_leg_lift",),
    ),
    A(
        "flutter kicks",
        "supine",
        1.5,
        {"~hip_flex": W(25, base=20, kind="osc"), "knee": 5, "neck_flex": 15, "sh_abd": 25},
        ("hip_flex_leg_lift", "straight_leg_hold"),
    ),
    A(
        "dead bug",
        "supine",
        0.45,
        {
            "hip_flex": 90,
            "knee": 90,
            "sh_flex": 90,
            "~l_hip_flex": W(-75, kind="pulse"),
            "~l_knee": W(-85, kind="pulse"),
            "~r_sh_flex": W(85, kind="pulse"),
        },
        ("anti_ext", "hip_flex_leg_lift", "anti_rot"),
    ),
    A(
        "heel touches",
        "supine",
        0.9,
        {
            "spine_flex": 25,
            "neck_flex": 20,
            "spine_side": W(25, kind="osc"),
            "hip_flex": 50,
            "knee": 100,
            "sh_flex": 10,
            "sh_abd": 5,
        },
        ("trunk_lat", "trunk_flex", "neck_flex_hold"),
    ),
    A(
        "toe touches",
        "supine",
        0.5,
        {
            "hip_flex": 90,
            "knee": 5,
            "spine_flex": W(40, base=5),
            "neck_flex": W(20, base=10),
            "sh_flex": W(50, base=100),
        },
        ("trunk_flex", "neck_flex_hold", "straight_leg_hold"),
    ),
    A("glute bridge", "bridge", 0.5, {"pitch": W(-35), "sh_abd": 20}, ("hip_ext_hold",)),
    A(
        "single leg glute bridge",
        "bridge",
        0.45,
        {"pitch": W(-30), "r_knee": H(-110), "sh_abd": 25},
        ("hip_ext_hold", "straight_leg_hold"),
        rest={"r_hip_flex": 0, "r_knee": 0},
    ),
    A(
        "russian twists",
        "seated",
        0.8,
        {"spine_twist": W(40, kind="osc"), "knee": 0, "hip_flex": 0},
        ("trunk_rot", "anti_ext"),
    ),
    # Floor, prone and quadruped.
    A(
        "superman",
        "prone",
        0.4,
        {"spine_flex": W(-25), "neck_flex": W(-15), "hip_flex": W(-20), "sh_flex": W(20, base=150)},
        ("trunk_ext", "hip_ext_leg", "scap_retract"),
    ),
    A("donkey kicks", "quadruped", 0.7, {"l_hip_flex": W(-95)}, ("hip_ext_leg", "hand_support")),
    A("fire hydrants", "quadruped", 0.7, {"l_hip_abd": W(55)}, ("hip_abd", "hand_support")),
    A(
        "bird dog",
        "quadruped",
        0.4,
        {
            "~l_hip_flex": W(-85, kind="pulse"),
            "~l_knee": W(-85, kind="pulse"),
            "~r_sh_flex": W(100, kind="pulse"),
        },
        ("hip_ext_leg", "trunk_ext", "anti_rot", "hand_support"),
        free_arms=True,
    ),
    # Plank family.
    A("push ups", "plank", 0.6, {"pitch": W(16)}, _PUSH),
    A(
        "knee push ups",
        "knee_plank",
        0.6,
        {"pitch": W(14)},
        ("push_horizontal", "elbow_ext_push", "hand_support"),
    ),
    A(
        "wide push ups",
        "plank",
        0.55,
        {"pitch": W(13), "sh_abd": 25, "spine_flex": 0},
        ("push_horizontal", "hand_support", "anti_ext", "shoulder_support"),
    ),
    A(
        "pike push ups",
        "pike",
        0.5,
        {"pitch": W(18)},
        ("push_vertical", "elbow_ext_push", "hand_support"),
    ),
    A(
        "plank",
        "forearm_plank",
        0.25,
        {"neck_flex": W(4, kind="osc")},
        ("anti_ext", "shoulder_support"),
    ),
    A("high plank", "plank", 0.25, {"neck_flex": W(4, kind="osc")}, _PLANK),
    A(
        "mountain climbers",
        "plank",
        1.2,
        {"~hip_flex": W(95, kind="pulse"), "~knee": W(110, kind="pulse")},
        ("anti_ext", "hand_support", "hip_flex_drive"),
    ),
    A(
        "side plank",
        "side_plank",
        0.25,
        {"neck_flex": W(4, kind="osc")},
        ("trunk_lat", "shoulder_support", "hip_abd"),
    ),
    # Bar and bench.
    A(
        "pull ups",
        "hang",
        0.4,
        {"root_y": W(0.45), "knee": W(20, base=20)},
        ("pull_vertical", "elbow_flex_pull", "grip"),
    ),
    A(
        "chin ups",
        "hang",
        0.4,
        {"root_y": W(0.45), "sh_abd": -8, "hip_flex": W(10)},
        ("pull_vertical", "elbow_flex_pull", "grip"),
    ),
    A(
        "hanging knee raises",
        "hang",
        0.45,
        {"hip_flex": W(100), "knee": W(95), "spine_flex": W(15)},
        ("hip_flex_leg_lift", "trunk_flex", "grip"),
    ),
    A(
        "triceps dips",
        "dip",
        0.5,
        {"root_y": W(-0.22)},
        ("elbow_ext_push", "dip_shoulder", "hand_support"),
    ),
)

NEW: tuple[Activity, ...] = tuple(
    Activity(**{**a.__dict__, "role": "new"})
    for a in (
        A(
            "hollow hold",
            "supine",
            0.2,
            {"hip_flex": H(25), "spine_flex": H(25), "neck_flex": H(15), "sh_flex": H(165)},
            ("anti_ext", "neck_flex_hold", "straight_leg_hold"),
        ),
        A(
            "v-ups",
            "supine",
            0.45,
            {
                "pitch": W(55),
                "spine_flex": W(25),
                "hip_flex": W(95, base=5),
                "sh_flex": W(-60, base=170),
                "neck_flex": 10,
            },
            ("trunk_flex", "hip_flex_leg_lift", "straight_leg_hold"),
        ),
        A(
            "calf raise hold",
            "stand",
            0.2,
            {"ankle": H(35), "sh_abd": 10, "knee": -3},
            ("plantar_bw", "forefoot_balance"),
        ),
        A(
            "modified scissors",
            "supine",
            0.9,
            {
                "~hip_flex": W(40, base=30, kind="osc"),
                "~knee": W(40, base=40, kind="osc"),
                "sh_abd": 20,
            },
            ("hip_flex_leg_lift", "hip_add"),
        ),
        A(
            "scissors",
            "supine",
            0.9,
            {
                "hip_flex": 30,
                "~hip_abd": W(25, base=5, kind="osc"),
                "knee": 3,
                "neck_flex": 15,
                "sh_abd": 20,
            },
            ("hip_flex_leg_lift", "straight_leg_hold", "hip_add", "hip_abd"),
        ),
        A(
            "reverse crunches",
            "supine",
            0.5,
            {"hip_flex": W(60, base=60), "knee": 95, "pitch": W(-25), "sh_abd": 25},
            ("hip_flex_leg_lift", "trunk_flex"),
        ),
        A(
            "march twists",
            "stand",
            0.7,
            {
                "~hip_flex": W(85, kind="pulse"),
                "~knee": W(90, kind="pulse"),
                "spine_twist": W(-35, kind="osc"),
                **_HEAD,
            },
            ("hip_flex_drive", "trunk_rot", "single_leg_balance"),
        ),
        A(
            "hops on the spot",
            "stand",
            1.7,
            {"air": W(0.07), "ankle": W(30), "knee": W(18), "sh_abd": 15, "elbow": 80},
            ("plantar_bw", "impact"),
        ),
        A(
            "up and down planks",
            "plank",
            0.3,
            {"pitch": K(14, 0, 1, 1, 0), "neck_flex": -10},
            ("anti_ext", "hand_support", "shoulder_support", "elbow_ext_push"),
        ),
        A(
            "diamond push ups",
            "plank",
            0.55,
            {"pitch": W(15), "sh_abd": -10},
            _PUSH + ("elbows_tucked",),
        ),
        A(
            "running",
            "stand",
            1.5,
            {
                "~hip_flex": W(75, base=-15, kind="osc"),
                "~knee": W(100, kind="pulse", off=0.15),
                "air": W(0.07, harm=2),
                "pitch": 10,
                **_PUMP,
            },
            ("hip_flex_drive", "hip_ext_bw", "plantar_bw", "impact"),
        ),
        A(
            "plank jacks",
            "plank",
            0.9,
            {"hip_abd": W(18), "air": W(0.04)},
            ("anti_ext", "hand_support", "hip_abd", "hip_add", "impact"),
        ),
        A(
            "archer push ups",
            "plank",
            0.4,
            {"pitch": W(12), "root_x": W(0.22, kind="osc"), "sh_abd": 30},
            _PUSH + ("anti_rot",),
        ),
        A(
            "front kicks",
            "stand",
            0.9,
            {
                "~hip_flex": W(95, kind="pulse"),
                "~knee": K(60, 0, 1, 0, 0, 0),
                "sh_flex": 60,
                "elbow": 110,
            },
            ("hip_flex_drive", "straight_leg_hold", "single_leg_balance"),
        ),
        A(
            "triceps dip hold",
            "dip",
            0.2,
            {"root_y": H(-0.18), "hip_flex": -45, "knee": -70},
            ("elbow_ext_push", "dip_shoulder", "hand_support", "straight_leg_hold"),
        ),
        A(
            "side plank rotation",
            "side_plank",
            0.4,
            {"spine_twist": W(-50), "r_sh_abd": W(-100, base=140), "r_elbow": 0},
            ("trunk_lat", "trunk_rot", "shoulder_support", "hip_abd", "arm_sweep"),
        ),
        A(
            "raised leg push ups",
            "plank",
            0.55,
            {"pitch": W(15), "l_hip_flex": H(-25)},
            _PUSH + ("hip_ext_leg",),
        ),
        A(
            "reverse plank kicks",
            "reverse_plank",
            0.6,
            {"~hip_flex": W(55, kind="pulse")},
            ("hip_ext_hold", "hand_support", "shoulder_support", "hip_flex_leg_lift"),
        ),
        A(
            "circle push ups",
            "plank",
            0.45,
            {
                "pitch": W(14),
                "root_x": W(0.12, kind="osc"),
                "root_z": W(0.12, kind="osc", off=0.25),
            },
            _PUSH + ("trunk_rot",),
        ),
        A(
            "shoulder taps",
            "plank",
            0.8,
            {
                "~l_elbow": W(130, kind="pulse"),
                "~l_sh_abd": W(-45, kind="pulse"),
                "~l_sh_flex": W(-25, kind="pulse"),
                "hip_abd": 10,
            },
            _PLANK + ("anti_rot",),
            free_arms=True,
        ),
    )
)

ACTIVITIES: tuple[Activity, ...] = KNOWN + NEW
ACTIVITY_BY_NAME: dict[str, Activity] = {a.name: a for a in ACTIVITIES}
# PAPER: section 3.3, the 20 activities held out for new val/new test, verbatim.
PAPER_NEW_ACTIVITIES: tuple[str, ...] = (
    "hollow hold", "v-ups", "calf raise hold", "modified scissors", "scissors", "reverse crunches",
    "march twists", "hops on the spot", "up and down planks", "diamond push ups", "running",
    "plank jacks", "archer push ups", "front kicks", "triceps dip hold", "side plank rotation",
    "raised leg push ups", "reverse plank kicks", "circle push ups", "shoulder taps",
)  # fmt: skip


def get_activity(name: str) -> Activity:
    """Look an activity up by name (raises a clear error for an unknown name)."""
    try:
        return ACTIVITY_BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown activity {name!r}; see motions.ACTIVITIES") from None


# ---------------------------------------------------------------------------------------------
# Programs -> joint trajectories.


@dataclass(frozen=True)
class ClipParams:
    """Per-clip variation of an activity's program."""

    tempo: float = 1.0  # tempo factor
    rom: float = 1.0  # range-of-motion factor on every amplitude
    phase: float = 0.0  # start phase in cycles
    asym: float = 0.0  # left amplitudes x (1 + asym), right x (1 - asym)
    swap: bool = False  # mirror the program (left <-> right)
    style: dict[str, float] = field(default_factory=dict)  # small per-person rest offsets


def _unit(w: Wave, phi: np.ndarray) -> np.ndarray:
    p = (phi * w.harm + w.off) % 1.0
    if w.kind == "sin":
        return 0.5 - 0.5 * np.cos(2 * np.pi * p)
    if w.kind == "pulse":
        return np.maximum(0.0, np.sin(2 * np.pi * p)) ** 0.8
    if w.kind == "osc":
        return np.sin(2 * np.pi * p)
    if w.kind == "hold":
        return np.ones_like(p)
    keys = np.asarray(w.keys + w.keys[:1], dtype=np.float64)
    x = p * (len(keys) - 1)
    i = np.minimum(x.astype(int), len(keys) - 2)
    f = x - i
    f = f * f * (3 - 2 * f)  # smoothstep between keyframes
    return keys[i] * (1 - f) + keys[i + 1] * f


def _expand(ch: dict[str, Wave | float]) -> dict[str, tuple[Wave | float, float]]:
    """Channel keys -> concrete channel names with a phase shift (alternating sides)."""
    out: dict[str, tuple[Wave | float, float]] = {}
    for key, w in ch.items():
        alt = key.startswith("~")
        k = key.lstrip("~")
        if k in GLOBAL_CHANNELS:
            out[k] = (w, 0.0)
        elif k[:2] in ("l_", "r_"):
            out[k] = (w, 0.0)
            if alt:  # "~l_x": the same program on the other side, half a cycle later
                other = ("r_" if k[0] == "l" else "l_") + k[2:]
                out[other] = (w, 0.5)
        else:
            out[f"l_{k}"] = (w, 0.0)
            out[f"r_{k}"] = (w, 0.5 if alt else 0.0)
    return out


def channels(
    act: Activity, t: np.ndarray, p: ClipParams, rest_only: bool = False
) -> dict[str, np.ndarray]:
    """Channel values (degrees / metres) over time ``t`` (seconds): posture rest + programs."""
    post = POSTURES[act.posture]
    n = t.shape[0]
    vals: dict[str, np.ndarray] = {k: np.zeros(n) for k in (*ANGLE_NAMES, *ROOT_CHANNELS)}
    for k, v in post.base.items():
        vals[k] += v
    for k, v in p.style.items():
        if k in vals:
            vals[k] += v
    phi = t * act.tempo * p.tempo + p.phase
    for k, (w, shift) in _expand(act.ch).items():
        if p.swap and k[:2] in ("l_", "r_"):
            k = ("r_" if k[0] == "l" else "l_") + k[2:]
        if isinstance(w, (int, float)):
            vals[k] += float(w)
            continue
        vals[k] += w.base
        if rest_only and w.kind != "hold":
            continue
        amp = w.amp * (p.rom if w.kind != "hold" else 1.0)
        if k.startswith("l_"):
            amp *= 1 + p.asym
        elif k.startswith("r_"):
            amp *= 1 - p.asym
        vals[k] += amp * _unit(w, phi + shift)
    if rest_only:
        for k, v in act.rest.items():
            vals[k] = np.full(n, float(v) + post.base.get(k, 0.0))
    if p.swap:
        # Mirrored programs also mirror the signed trunk channels.
        for k in ("spine_side", "spine_twist", "roll", "root_x"):
            if act.posture != "side_plank" or k != "roll":
                vals[k] = -vals[k]
    return vals


_LEG = ("hip_flex", "hip_abd", "knee", "ankle")
_HEIGHT_KEYS = {
    "arm": lambda b: b.arm + 0.02 * b.height,
    "upper_arm": lambda b: b.upper_arm + 0.03 * b.height,
}


def _joint_of(j: np.ndarray, name: str) -> np.ndarray:
    if name == "shoulders":
        return 0.5 * (j[:, J3["left_shoulder"]] + j[:, J3["right_shoulder"]])
    return j[:, J3[name]]


def _solve_rest(
    act: Activity, body: BodyShape, ang: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Adjust the rest pitch/roll so the support joint sits at its height above the anchor."""
    post = POSTURES[act.posture]
    if post.solve is None:
        return ang
    joint, axis, hkey = post.solve
    target = _HEIGHT_KEYS[hkey](body)
    ang = dict(ang)
    for _ in range(4):
        j = forward_kinematics(body, np.zeros((1, 3)), ang)
        anchor = np.mean([j[:, J3[a]] for a in post.anchor], axis=0)
        vec = _joint_of(j, joint) - anchor
        length = float(np.linalg.norm(vec))
        cur = float(np.degrees(np.arcsin(np.clip(vec[0, 1] / length, -1, 1))))
        want = float(np.degrees(np.arcsin(np.clip(target / length, -1, 1))))
        delta = want - cur
        if axis == "pitch":
            # + pitch leans forward: for a face-down body this lowers the head end.
            sign = -1.0 if ang["pitch"][0] >= 0 else 1.0
            ang["pitch"] = ang["pitch"] + sign * delta
            for s in ("l", "r"):
                ang[f"{s}_sh_flex"] = ang[f"{s}_sh_flex"] + sign * delta
        else:
            ang["roll"] = ang["roll"] + delta
            ang["l_sh_abd"] = ang["l_sh_abd"] - delta
        if abs(delta) < 0.2:
            break
    return ang


@dataclass(frozen=True)
class Motion:
    """A synthesised clip of 3-D motion."""

    joints: np.ndarray  # (T, NUM_JOINTS3D, 3) world positions
    props: tuple[tuple[str, np.ndarray], ...]  # (kind, geometry) of props to draw


def synthesize(act: Activity, body: BodyShape, t: np.ndarray, p: ClipParams) -> Motion:
    """3-D joints of one clip of an activity.

    Args:
        act: the activity.
        body: the person.
        t: (T,) frame times in seconds.
        p: per-clip variation.

    Returns:
        The :class:`Motion` with (T, NUM_JOINTS3D, 3) joints in world metres (floor y = 0).
    """
    post = POSTURES[act.posture]
    n = t.shape[0]
    vals = channels(act, t, p)
    ang = {k: vals[k] for k in ANGLE_NAMES}
    props: list[tuple[str, np.ndarray]] = [(k, np.zeros(0)) for k in post.props + act.props]
    if post.mode == "ground":
        root = np.stack([vals["root_x"], np.full(n, body.leg + 0.05), vals["root_z"]], axis=1)
        j = forward_kinematics(body, root, ang)
        j[:, :, 1] -= floor_offset(j, body)[:, None]
        j[:, :, 1] += np.maximum(vals["air"], 0.0)[:, None]
        return Motion(j.astype(np.float32), tuple(props))
    # Pinned: a rest pose fixes the pins and anchors; the program moves the body around them.
    rest_vals = channels(act, t[:1], p, rest_only=True)
    rest_ang = _solve_rest(act, body, {k: rest_vals[k] for k in ANGLE_NAMES})
    delta = {
        k: rest_ang[k][0] - rest_vals[k][0]
        for k in ("pitch", "roll", "l_sh_flex", "r_sh_flex", "l_sh_abd")
    }
    for k, d in delta.items():
        ang[k] = ang[k] + d
    rj = forward_kinematics(body, np.zeros((1, 3)), rest_ang)
    lift = -floor_offset(rj, body)[0] + post.hover
    rj[:, :, 1] += lift
    pins: list[Pin] = []
    if post.arm_pins and not act.free_arms:
        for s, name, pole in zip(("l", "r"), ("left", "right"), post.arm_pins, strict=True):
            tgt = rj[0, J3[f"{name}_wrist"]].copy()
            pins.append(Pin(s, "arm", tgt, pole))
    if post.leg_pins:
        for s, name, pole in zip(("l", "r"), ("left", "right"), post.leg_pins, strict=True):
            if act.rest.get(f"{s}_hip_flex") is not None:
                continue  # this leg is lifted by the program
            pins.append(Pin(s, "leg", rj[0, J3[f"{name}_ankle"]].copy(), pole))
    root = np.zeros((n, 3))
    root[:, 1] = lift
    if post.anchor:
        # The anchor follows the rest legs, so a moving leg does not drag the body along.
        legs = {k: np.full(n, rest_ang[k][0]) for k in ANGLE_NAMES if k[2:] in _LEG}
        j0 = forward_kinematics(body, root, {**ang, **legs})
        ref = np.mean([rj[0, J3[a]] for a in post.anchor], axis=0)
        cur = np.mean([j0[:, J3[a]] for a in post.anchor], axis=0)
        root += ref[None, :] - cur
    root += np.stack([vals["root_x"], vals["root_y"], vals["root_z"]], axis=1)
    root[:, 1] += np.maximum(vals["air"], 0.0)
    j = forward_kinematics(body, root, ang, tuple(pins))
    for kind in post.props + act.props:
        if kind == "bar":
            wl, wr = rj[0, J3["left_wrist"]], rj[0, J3["right_wrist"]]
            props = [(k, g) for k, g in props if k != "bar"]
            props.append(("bar", np.stack([wl + (wl - wr) * 0.6, wr + (wr - wl) * 0.6])))
        if kind == "bench":
            wl, wr = rj[0, J3["left_wrist"]], rj[0, J3["right_wrist"]]
            props = [(k, g) for k, g in props if k != "bench"]
            props.append(("bench", np.stack([wl, wr])))
    return Motion(j.astype(np.float32), tuple(props))
