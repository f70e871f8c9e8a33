"""The 20 muscle groups of MuscleMap, in the paper's order (appendix B).

Every label vector in the study is a multi-hot vector over ``MUSCLE_GROUPS``; index ``i`` of a
vector always means ``MUSCLE_GROUPS[i]``. Display names live in :data:`DISPLAY_NAMES`, the
anatomical muscles that the paper's annotators grouped into each region in :data:`ANATOMY`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# PAPER: appendix B lists the regions in this order; the released code's label indices 0..19
# follow the same order (reference/official-code.md, "Label format").
MUSCLE_GROUPS: tuple[str, ...] = (
    "neck_head",
    "chest",
    "shoulder",
    "biceps",
    "triceps",
    "forearms",
    "upper_back",
    "latissimus",
    "obliques",
    "upper_abdominis",
    "lower_abdominis",
    "lower_back",
    "hamstring",
    "quadriceps",
    "calves",
    "inner_thigh",
    "outer_thigh",
    "gluteus",
    "feet_ankles",
    "wrists",
)
NUM_MUSCLES: int = len(MUSCLE_GROUPS)
MUSCLE_INDEX: dict[str, int] = {name: i for i, name in enumerate(MUSCLE_GROUPS)}

DISPLAY_NAMES: dict[str, str] = {
    "neck_head": "Neck & head",
    "chest": "Chest",
    "shoulder": "Shoulder",
    "biceps": "Biceps",
    "triceps": "Triceps",
    "forearms": "Forearms",
    "upper_back": "Upper back",
    "latissimus": "Latissimus",
    "obliques": "Obliques",
    "upper_abdominis": "Upper abdominis",
    "lower_abdominis": "Lower abdominis",
    "lower_back": "Lower back",
    "hamstring": "Hamstring",
    "quadriceps": "Quadriceps",
    "calves": "Calves",
    "inner_thigh": "Inner thigh",
    "outer_thigh": "Outer thigh",
    "gluteus": "Gluteus",
    "feet_ankles": "Feet & ankles",
    "wrists": "Wrists",
}

# PAPER: appendix B, "We rearrange ... as ... region" (spelling as in the paper, except
# "massicatorii", kept verbatim, and "feet ankles", written with an ampersand-free id).
ANATOMY: dict[str, tuple[str, ...]] = {
    "neck_head": (
        "occipitofrontalis",
        "temporoparietalis",
        "levator labii superioris",
        "massicatorii",
        "sternocleidomastoideus",
    ),
    "chest": ("pectoralis major",),
    "shoulder": ("deltoides",),
    "biceps": ("biceps brachii",),
    "triceps": ("triceps brachii",),
    "forearms": ("flexor carpi radialis", "palmaris longus", "abductor pollicis longus"),
    "upper_back": ("trapezius",),
    "latissimus": ("latissimus dorsi",),
    "obliques": ("external oblique", "serratus anterior"),
    "upper_abdominis": ("rectus abdominis", "quadratus lumborum"),
    "lower_abdominis": ("transversus abdominis", "pyramidalis"),
    "lower_back": ("erector spinae",),
    "hamstring": ("biceps femoris", "semimembranosus", "semitendinosus"),
    "quadriceps": ("rectus femoris", "vastus medialis"),
    "calves": ("gastrocnemius", "soleus"),
    "inner_thigh": ("adductor longus", "sartorius", "gracilis"),
    "outer_thigh": ("iliotibial tract",),
    "gluteus": ("gluteus maximus",),
    "feet_ankles": (
        "peroneus longus",
        "peroneus brevis",
        "extensor digitorum longus",
        "flexor hallucis longus",
        "flexor digitorum longus",
        "peroneus tertius",
        "tibialis posterior",
    ),
    "wrists": ("extensor pollicis", "1st dorsal interosseous", "pronator quadratus"),
}


def muscle_index(name: str) -> int:
    """Return the index of a muscle-group id.

    Raises:
        ValueError: if ``name`` is not one of :data:`MUSCLE_GROUPS`.
    """
    try:
        return MUSCLE_INDEX[name]
    except KeyError:
        raise ValueError(
            f"unknown muscle group {name!r}; expected one of {', '.join(MUSCLE_GROUPS)}"
        ) from None


def _check_index(i: object) -> int:
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise ValueError(f"muscle index {i!r} is not an integer; expected 0..{NUM_MUSCLES - 1}")
    if not 0 <= int(i) < NUM_MUSCLES:
        raise ValueError(f"muscle index {int(i)} is outside 0..{NUM_MUSCLES - 1}")
    return int(i)


def indices_to_multihot(indices: Iterable[int]) -> np.ndarray:
    """Turn a list of muscle indices into a multi-hot vector.

    Args:
        indices: indices in 0..19 (the released code's label format); repeats are allowed.

    Returns:
        A ``(20,)`` ``float32`` vector of 0/1.

    Raises:
        ValueError: for an index that is not an integer in 0..19.
    """
    vec = np.zeros(NUM_MUSCLES, dtype=np.float32)
    for i in indices:
        vec[_check_index(i)] = 1.0
    return vec


def names_to_multihot(names: Iterable[str]) -> np.ndarray:
    """Turn muscle-group ids (e.g. ``["chest", "triceps"]``) into a ``(20,)`` multi-hot vector.

    Raises:
        ValueError: for a name that is not one of :data:`MUSCLE_GROUPS`.
    """
    return indices_to_multihot(muscle_index(n) for n in names)


def _as_binary_vector(vector: Sequence[float] | np.ndarray) -> np.ndarray:
    vec = np.asarray(vector)
    if vec.shape != (NUM_MUSCLES,):
        raise ValueError(f"expected a multi-hot vector of shape ({NUM_MUSCLES},), got {vec.shape}")
    if not np.isin(vec, (0, 1)).all():
        raise ValueError("a multi-hot vector must hold only 0 and 1")
    return vec


def multihot_to_indices(vector: Sequence[float] | np.ndarray) -> list[int]:
    """Return the indices set in a ``(20,)`` multi-hot vector, in ascending order."""
    return [int(i) for i in np.flatnonzero(_as_binary_vector(vector))]


def multihot_to_names(vector: Sequence[float] | np.ndarray) -> list[str]:
    """Return the muscle-group ids set in a ``(20,)`` multi-hot vector, in the paper's order."""
    return [MUSCLE_GROUPS[i] for i in multihot_to_indices(vector)]
