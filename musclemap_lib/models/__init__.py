"""Models of the study. Importing this package registers every family (STYLE.md section 4)."""

# Each family module registers its builders on import.
from musclemap_lib.models import (  # noqa: F401
    baselines,  # random, all_ones
    ctrgcn,  # skeleton GCNs
    fusion,  # late_fusion_*
    hdgcn,
    mvit,  # mvitv2_s, mvitv2_b
    resnet3d,  # c2d_r50, i3d_r50, slow_r50, slowfast_r50
    stgcn,
    swin,  # videoswin_s, videoswin_b
    tokens,  # mvitv2_s_mct*, mvitv2_s_sct, hdgcn_mct, hdgcn_sct
    transm3e,  # transm3e*
)
from musclemap_lib.models.audit import audit  # the parameter audit (Table 2 #PM)
from musclemap_lib.models.registry import build_model, list_models, register_model
from musclemap_lib.models.scales import CPU, PAPER, SCALES, SMOKE, ScaleSpec

__all__ = [
    "CPU",
    "PAPER",
    "SCALES",
    "SMOKE",
    "ScaleSpec",
    "audit",
    "build_model",
    "list_models",
    "register_model",
]
