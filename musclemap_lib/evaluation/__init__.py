"""Evaluation: the paper's metric, multi-view scoring and result records."""

from musclemap_lib.evaluation.metrics import (
    bootstrap_map,
    mean_average_precision,
    per_muscle_average_precision,
)

__all__ = ["bootstrap_map", "mean_average_precision", "per_muscle_average_precision"]
