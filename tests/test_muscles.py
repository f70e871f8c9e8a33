import numpy as np
import pytest

from musclemap_lib import muscles
from musclemap_lib.muscles import (
    ANATOMY,
    DISPLAY_NAMES,
    MUSCLE_GROUPS,
    indices_to_multihot,
    multihot_to_indices,
    multihot_to_names,
    names_to_multihot,
)


def test_twenty_groups_in_the_papers_order() -> None:
    assert MUSCLE_GROUPS == (
        "neck_head", "chest", "shoulder", "biceps", "triceps", "forearms", "upper_back",
        "latissimus", "obliques", "upper_abdominis", "lower_abdominis", "lower_back",
        "hamstring", "quadriceps", "calves", "inner_thigh", "outer_thigh", "gluteus",
        "feet_ankles", "wrists",
    )  # fmt: skip
    assert muscles.NUM_MUSCLES == 20
    assert set(DISPLAY_NAMES) == set(MUSCLE_GROUPS) == set(ANATOMY)
    assert all(ANATOMY[m] for m in MUSCLE_GROUPS)
    assert "latissimus dorsi" in ANATOMY["latissimus"]


def test_round_trips() -> None:
    vec = names_to_multihot(["triceps", "chest", "chest"])
    assert vec.dtype == np.float32 and vec.shape == (20,)
    assert vec.sum() == 2 and vec[1] == 1 and vec[4] == 1
    assert multihot_to_names(vec) == ["chest", "triceps"]
    assert multihot_to_indices(indices_to_multihot([19, 0])) == [0, 19]
    assert multihot_to_indices(indices_to_multihot([])) == []


@pytest.mark.parametrize("bad", [[20], [-1], [3.0], [True]])
def test_bad_indices_raise(bad: list) -> None:
    with pytest.raises(ValueError, match="muscle index"):
        indices_to_multihot(bad)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown muscle group 'abs'.*upper_abdominis"):
        names_to_multihot(["abs"])


def test_bad_vectors_raise() -> None:
    with pytest.raises(ValueError, match="shape"):
        multihot_to_names(np.zeros(19))
    with pytest.raises(ValueError, match="only 0 and 1"):
        multihot_to_names(np.full(20, 0.5))
