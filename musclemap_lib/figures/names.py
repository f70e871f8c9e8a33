"""Display names: the one place where the study turns ids into the words a reader sees.

Registered model names (STYLE.md section 4) map to the paper's spelling (Table 2), split ids
(``known_val`` ...) to the paper's column headers, and muscle-group ids to
:data:`musclemap_lib.muscles.DISPLAY_NAMES`. An experiment whose name is not listed in
:data:`EXPERIMENT_DISPLAY_NAMES` is shown under its model's name when it is named after a model
(Table 2's rows are); anything else is an error that says where to add the name.
"""

from __future__ import annotations

from musclemap_lib.muscles import DISPLAY_NAMES, MUSCLE_GROUPS

# PAPER: Table 2 (row labels, without the citation numbers); Tables 5-6 for the fusion rows.
MODEL_DISPLAY_NAMES: dict[str, str] = {
    "random": "Random",
    "all_ones": "All Ones",
    "stgcn": "ST-GCN",
    "ctrgcn": "CTR-GCN",
    "hdgcn": "HD-GCN",
    "c2d_r50": "C2D (R50)",
    "i3d_r50": "I3D (R50)",
    "slow_r50": "Slow (R50)",
    "slowfast_r50": "SlowFast (R50)",
    "mvitv2_s": "MViTv2-S",
    "mvitv2_b": "MViTv2-B",
    "videoswin_s": "VideoSwin-S",
    "videoswin_b": "VideoSwin-B",
    "transm3e": "TransM3E",
    # Single-branch MCT models (Table 7 rows and stage 1 of TransM3E).
    "mvitv2_s_mct": "MViTv2-S + MCT (RGB)",
    "mvitv2_s_mct_flow": "MViTv2-S + MCT (Optical Flow)",
    "mvitv2_s_mct_rgb_diff": "MViTv2-S + MCT (RGB Difference)",
    "mvitv2_s_sct": "MViTv2-S (single token)",
    "hdgcn_mct": "HD-GCN + MCT",
    "hdgcn_sct": "HD-GCN (single token)",
    # PAPER: Table 3 (module ablation).
    "transm3e_no_mct": "TransM3E w/o MCT",
    "transm3e_no_mctkd": "TransM3E w/o MCTKD",
    "transm3e_no_mctf": "TransM3E w/o MCTF",
    # PAPER: Table 4 (where and what to distil).
    "transm3e_fl_kd": "FL-KD",
    "transm3e_de_kd": "DE-KD",
    "transm3e_sp_kd": "SP-KD",
    "transm3e_fl_mctkd": "FL-MCTKD",
    "transm3e_de_mctkd": "DE-MCTKD",
    "transm3e_sp_mctkd": "SP-MCTKD",
    # PAPER: Table 5 (token fusion).
    "transm3e_fusion_sum": "Sum",
    "transm3e_fusion_mul": "Multiplication",
    "transm3e_fusion_selfattn": "SelfAttention",
    "transm3e_fusion_crossattn": "CrossAttention",
    # The released code's variant: a frozen RGB-difference MViTv2-S teacher.
    "transm3e_rgbdiff_teacher": "TransM3E (released: RGB-difference teacher)",
    # PAPER: Table 6 (late fusion).
    "late_fusion_sum": "LateFusionSum",
    "late_fusion_concat": "LateFusionConcat",
    "late_fusion_mul": "LateFusionMul",
}

# Experiments that are not simply "train model X" (ablations, modality rows). The experiment
# table (musclemap_lib.experiments) names them; add their display names here, not there.
EXPERIMENT_DISPLAY_NAMES: dict[str, str] = {}

# PAPER: Table 2's column headers.
SPLIT_DISPLAY_NAMES: dict[str, str] = {
    "known_val": "known val",
    "new_val": "new val",
    "mean_val": "mean val",
    "known_test": "known test",
    "new_test": "new test",
    "mean_test": "mean test",
}

# Study profiles (DESIGN.md, "Profiles").
PROFILE_DISPLAY_NAMES: dict[str, str] = {
    "smoke": "smoke (tests)",
    "cpu": "cpu (laptop, MuscleMap-Synth)",
    "paper": "paper (MuscleMap136 or full MuscleMap-Synth)",
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
    """Display name of a registered model (``"mvitv2_s"`` -> ``"MViTv2-S"``).

    Raises:
        ValueError: for a model without a display name, saying where to add it.
    """
    return _lookup(MODEL_DISPLAY_NAMES, model, "model", "MODEL_DISPLAY_NAMES")


def experiment_name(experiment: str) -> str:
    """Display name of an experiment: its own entry, else its model's when named after one.

    Raises:
        ValueError: for an experiment with neither, saying where to add it.
    """
    if experiment in EXPERIMENT_DISPLAY_NAMES:
        return EXPERIMENT_DISPLAY_NAMES[experiment]
    if experiment in MODEL_DISPLAY_NAMES:
        return MODEL_DISPLAY_NAMES[experiment]
    return _lookup(EXPERIMENT_DISPLAY_NAMES, experiment, "experiment", "EXPERIMENT_DISPLAY_NAMES")


def split_name(split: str) -> str:
    """Display name of a split id (``"new_test"`` -> ``"new test"``)."""
    return _lookup(SPLIT_DISPLAY_NAMES, split, "split", "SPLIT_DISPLAY_NAMES")


def muscle_name(muscle: str) -> str:
    """Display name of a muscle-group id (``"neck_head"`` -> ``"Neck & head"``)."""
    if muscle not in MUSCLE_GROUPS:
        raise ValueError(f"unknown muscle group {muscle!r}; expected one of {MUSCLE_GROUPS}")
    return DISPLAY_NAMES[muscle]


def profile_name(profile: str) -> str:
    """Display name of a study profile (``smoke``, ``cpu``, ``paper``)."""
    return _lookup(PROFILE_DISPLAY_NAMES, profile, "profile", "PROFILE_DISPLAY_NAMES")
