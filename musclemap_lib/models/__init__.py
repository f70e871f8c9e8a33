"""Models of the study. Importing this package registers every family (STYLE.md section 4)."""

from musclemap_lib.models import baselines  # noqa: F401  (registers random, all_ones)
from musclemap_lib.models import ctrgcn, hdgcn, stgcn  # noqa: F401  (skeleton GCNs)
from musclemap_lib.models import mvit  # noqa: F401  (mvitv2_s, mvitv2_b)
from musclemap_lib.models import resnet3d  # noqa: F401  (c2d_r50, i3d_r50, slow_r50, slowfast_r50)
from musclemap_lib.models import swin  # noqa: F401  (videoswin_s, videoswin_b)
from musclemap_lib.models import transm3e  # noqa: F401  (transm3e*, *_mct, late_fusion_*)
from musclemap_lib.models.audit import audit  # the parameter audit (Table 2 #PM)
from musclemap_lib.models.registry import build_model, list_models, register_model

__all__ = ["audit", "build_model", "list_models", "register_model"]
