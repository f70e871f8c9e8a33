"""The split names of the study, written once (shared by data, evaluation, study and figures).

PAPER: MuscleMap136 has a train split and, for evaluation, known val/test (activities seen in
training) and new val/test (the 20 held-out activities, "generalizable" in the paper). Table 2's
columns add the derived means.
"""

from __future__ import annotations

DATA_SPLITS: tuple[str, ...] = ("train", "known_val", "new_val", "known_test", "new_test")
VAL_SPLITS: tuple[str, ...] = ("known_val", "new_val")
EVAL_SPLITS: tuple[str, ...] = ("known_val", "new_val", "known_test", "new_test")
# Derived means: PAPER Table 2, "mean val/test denote the averaged mAP of normal and generalizable".
MEANS: dict[str, tuple[str, str]] = {
    "mean_val": ("known_val", "new_val"),
    "mean_test": ("known_test", "new_test"),
}
# PAPER: Table 2's six columns, in its order. The means are derived, never stored by hand.
METRIC_SPLITS: tuple[str, ...] = (
    "known_val",
    "new_val",
    "mean_val",
    "known_test",
    "new_test",
    "mean_test",
)
