"""MuscleMap-Synth: the generated benchmark (humanoid, exercise library, labels, renderer, writer)."""

from musclemap_lib.synth.biomechanics import RULES, labels_for
from musclemap_lib.synth.motions import ACTIVITIES, KNOWN, NEW, PAPER_NEW_ACTIVITIES
from musclemap_lib.synth.writer import PROFILES, generate, get_profile, plan_sources

__all__ = [
    "ACTIVITIES",
    "KNOWN",
    "NEW",
    "PAPER_NEW_ACTIVITIES",
    "PROFILES",
    "RULES",
    "generate",
    "get_profile",
    "labels_for",
    "plan_sources",
]
