"""Display names: the one place where the study turns ids into the words a reader sees.

Experiments (and the models named after them) are shown under their catalogue ``label``
(:mod:`musclemap_lib.study.catalogue`), profiles under theirs (:mod:`musclemap_lib.study.profiles`),
split ids (``known_val`` ...) under the paper's column headers, and muscle-group ids under
:data:`musclemap_lib.muscles.DISPLAY_NAMES`.
"""

from __future__ import annotations

from musclemap_lib.muscles import DISPLAY_NAMES, MUSCLE_GROUPS
from musclemap_lib.study.catalogue import get_experiment
from musclemap_lib.study.profiles import get_profile

# PAPER: Table 2's column headers.
SPLIT_DISPLAY_NAMES: dict[str, str] = {
    "known_val": "known val",
    "new_val": "new val",
    "mean_val": "mean val",
    "known_test": "known test",
    "new_test": "new test",
    "mean_test": "mean test",
}


def _lookup(table: dict[str, str], name: str, what: str, where: str) -> str:
    try:
        return table[name]
    except KeyError:
        raise ValueError(
            f"no display name for {what} {name!r}; add it to {where} in "
            f"musclemap_lib/figures/names.py (known: {', '.join(sorted(table))})"
        ) from None


def model_name(model: str) -> str:
    """Display name of a registered model that has an experiment of its own (``"mvitv2_s"`` ->
    ``"MViTv2-S"``): Table 2's models, the MCT models and the late fusions.

    Raises:
        ValueError: for a model without such an experiment, saying where to add one.
    """
    try:  # a video model's paper row is its pretrained run; ``model`` alone is from scratch
        rows = get_experiment(f"{model}_pt").rows
    except ValueError:
        rows = ()
    return rows[0].label if rows else experiment_name(model)


def experiment_name(experiment: str) -> str:
    """Display name of an experiment: its ``label`` in the catalogue.

    Raises:
        ValueError: for an unknown experiment, naming the known ones and the catalogue file.
    """
    return get_experiment(experiment).label


def split_name(split: str) -> str:
    """Display name of a split id (``"new_test"`` -> ``"new test"``)."""
    return _lookup(SPLIT_DISPLAY_NAMES, split, "split", "SPLIT_DISPLAY_NAMES")


def muscle_name(muscle: str) -> str:
    """Display name of a muscle-group id (``"neck_head"`` -> ``"Neck & head"``)."""
    if muscle not in MUSCLE_GROUPS:
        raise ValueError(f"unknown muscle group {muscle!r}; expected one of {MUSCLE_GROUPS}")
    return DISPLAY_NAMES[muscle]


def profile_name(profile: str) -> str:
    """Display name of a study profile (``smoke``, ``cpu``, ``paper``): its ``label``."""
    return get_profile(profile).label
