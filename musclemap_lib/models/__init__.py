"""Models of the study. Importing this package registers every family (STYLE.md section 4)."""

from musclemap_lib.models import baselines  # noqa: F401  (registers random, all_ones)
from musclemap_lib.models.registry import build_model, list_models, register_model

__all__ = ["build_model", "list_models", "register_model"]
