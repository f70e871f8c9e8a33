"""Every row of the paper's Tables 2 to 7 as a named experiment, at profiles smoke | cpu | paper.

An :class:`Experiment` names a registered model, the table rows it fills (with the paper's six
numbers for each row: known val, new val, mean val, known test, new test, mean test), and the
stage-1 experiments whose weights it starts from. A :class:`Profile` fixes the data sampling, the
model scale, the epochs and the optimiser for a whole study. ``RunConfig`` = experiment x profile
x seed; its hash decides whether a result is up to date.

Running: :func:`run_experiment` (train + evaluate + record one run), :func:`evaluate_experiment`
(re-evaluate a trained run from its checkpoint), :func:`run_all` (a profile's experiments in
dependency order, skipping the up-to-date ones); ``cli_*`` are the console commands.

Multi-GPU / multi-node: the Trainer uses ``accelerator="auto", devices="auto", strategy="auto"``,
so Lightning picks DDP when several GPUs are visible, and joins an external launch:

* one node, 4 GPUs: ``torchrun --nproc_per_node 4 -m musclemap_lib.cli train transm3e
  --profile paper --data /data/musclemap136``
* two nodes with torchrun: ``torchrun --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d
  --rdzv_endpoint HOST:29500 -m musclemap_lib.cli train ...`` on each node;
* SLURM (e.g. 2 nodes x 4 GPUs): ``#SBATCH --nodes 2 --ntasks-per-node 4 --gpus-per-node 4`` and
  ``srun musclemap train transm3e --profile paper --data ...``.

The number of nodes is read from the launcher (:func:`_num_nodes`); ``batch_size`` is per device
and the learning rate is not rescaled. Only global rank 0 evaluates and writes the results.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from musclemap_lib import paths
from musclemap_lib.config import DataConfig, RunConfig, TrainConfig

log = logging.getLogger(__name__)

SIX: tuple[str, ...] = ("known_val", "new_val", "mean_val", "known_test", "new_test", "mean_test")
Six = tuple[float, float, float, float, float, float]
Kind = Literal["baseline", "single", "distill", "late_fusion"]


# ================================================================================================
# Experiments
# ================================================================================================
@dataclass(frozen=True)
class TableRow:
    """One row of one of the paper's tables, and the experiment that fills it."""

    table: int  # 2..7
    row: str  # the row label as printed in the paper
    experiment: str  # name of the experiment that fills it
    paper: Six | None  # the paper's six numbers (percent), None where the paper has none
    source: str = ""  # where the numbers come from (default "Table <table>")

    @property
    def reference(self) -> str:
        """The source of the paper's numbers, e.g. ``Table 2``."""
        return self.source or f"Table {self.table}"


@dataclass(frozen=True)
class Experiment:
    """A named experiment: which model, which inputs, which rows of the paper it fills."""

    name: str  # unique, lower snake case (equal to the model name for single models)
    model: str  # registry name (musclemap_lib.models.build_model)
    modality: str  # the inputs it reads: rgb, flow, rgb_diff, skeleton, rgb+skeleton, none
    variant: str  # what this experiment changes, in words
    kind: Kind  # baseline (no training) | single | distill (TransM3E stage 2) | late_fusion
    depends_on: tuple[str, ...] = ()  # stage-1 experiments whose weights it starts from
    table: int | None = None  # primary table (None: a stage-1 run or an extra)
    row: str | None = None  # primary row label
    paper: Six | None = None  # the paper's six numbers for the primary row
    also_fills: tuple[TableRow, ...] = ()  # further table rows with the same configuration
    train_overrides: tuple[tuple[str, Any], ...] = ()  # TrainConfig fields changed for this run
    note: str = ""  # why a row maps here, deviations

    def rows(self) -> tuple[TableRow, ...]:
        """Every table row this experiment fills (primary first)."""
        primary = (
            (TableRow(self.table, self.row or self.name, self.name, self.paper),)
            if self.table is not None
            else ()
        )
        return primary + self.also_fills

    @property
    def trained(self) -> bool:
        """False for the statistical baselines, which are only evaluated."""
        return self.kind != "baseline"


_T3_ALL: Six = (97.8, 64.1, 81.0, 97.8, 64.2, 81.0)  # TransM3E in Tables 2 to 6


def _single(
    name: str, modality: str, table: int, row: str, paper: Six, note: str = ""
) -> Experiment:
    return Experiment(
        name, name, modality, "baseline architecture", "single", (), table, row, paper, note=note
    )


def _distill(
    name: str,
    variant: str,
    table: int | None,
    row: str | None,
    paper: Six | None,
    deps: tuple[str, ...] = ("mvitv2_s_mct", "hdgcn_mct"),
    also: tuple[TableRow, ...] = (),
    note: str = "",
    modality: str = "rgb+skeleton",
    train_overrides: tuple[tuple[str, Any], ...] = (),
) -> Experiment:
    return Experiment(
        name,
        name,
        modality,
        variant,
        "distill",
        deps,
        table,
        row,
        paper,
        also,
        train_overrides,
        note,
    )


EXPERIMENTS: tuple[Experiment, ...] = (
    # ---- Table 2: the benchmark ---------------------------------------------------------------
    Experiment(
        "random",
        "random",
        "none",
        "uniform random scores (seeded)",
        "baseline",
        (),
        2,
        "Random",
        (29.7, 29.0, 29.4, 28.9, 29.5, 29.2),
    ),
    Experiment(
        "all_ones",
        "all_ones",
        "none",
        "every muscle predicted active",
        "baseline",
        (),
        2,
        "All Ones",
        (28.2, 28.1, 28.2, 27.8, 28.6, 28.2),
    ),
    _single("stgcn", "skeleton", 2, "ST-GCN", (90.4, 63.5, 77.0, 90.5, 63.3, 76.9)),
    _single("ctrgcn", "skeleton", 2, "CTR-GCN", (93.7, 62.2, 78.0, 93.6, 61.7, 77.7)),
    _single("hdgcn", "skeleton", 2, "HD-GCN", (93.4, 63.1, 78.3, 93.4, 63.1, 78.3)),
    _single("c2d_r50", "rgb", 2, "C2D (R50)", (97.2, 59.1, 78.2, 97.4, 58.5, 78.0)),
    _single("i3d_r50", "rgb", 2, "I3D (R50)", (97.0, 59.4, 78.2, 97.0, 58.4, 77.7)),
    _single("slow_r50", "rgb", 2, "Slow (R50)", (96.8, 60.7, 78.8, 96.9, 60.5, 78.7)),
    _single("slowfast_r50", "rgb", 2, "SlowFast (R50)", (89.7, 60.2, 75.0, 94.4, 59.6, 77.0)),
    _single("mvitv2_s", "rgb", 2, "MViTv2-S", (97.7, 61.4, 79.6, 97.9, 61.4, 79.7)),
    _single("mvitv2_b", "rgb", 2, "MViTv2-B", (97.4, 61.2, 79.3, 97.7, 61.0, 79.4)),
    _single("videoswin_s", "rgb", 2, "VideoSwin-S", (92.6, 58.8, 75.7, 92.4, 58.8, 75.6)),
    _single("videoswin_b", "rgb", 2, "VideoSwin-B", (91.8, 58.7, 75.3, 91.9, 58.3, 75.1)),
    _distill(
        "transm3e",
        "SP-MCTKD + MCTF, HD-GCN skeleton branch, prediction = mean of both branches",
        2,
        "TransM3E (Ours)",
        _T3_ALL,
        also=(
            TableRow(3, "w/ all", "transm3e", _T3_ALL),
            TableRow(5, "MCTF (ours)", "transm3e", _T3_ALL),
            TableRow(6, "Ours", "transm3e", _T3_ALL),
        ),
    ),
    # ---- Table 3: module ablation -------------------------------------------------------------
    # ASSUMPTION: the paper's Table 3 text shows three numeric rows (its check marks are lost).
    # Section 4.7 gives the gains of "w/ all" over each ablation; they identify row 1 as w/o MCT
    # and row 2 as w/o MCTF, and give w/o MCTKD the same gains as w/o MCT, so w/o MCTKD carries
    # row 1's numbers.
    _distill(
        "transm3e_no_mct",
        "one classification (and one distillation) token instead of 20 MCTs",
        3,
        "w/o MCT",
        (95.7, 62.1, 78.9, 95.9, 62.0, 79.0),
        deps=("mvitv2_s_sct", "hdgcn_sct"),
    ),
    _distill(
        "transm3e_no_mctkd",
        "no distillation loss (the tokens and MCTF stay)",
        3,
        "w/o MCTKD",
        (95.7, 62.1, 78.9, 95.9, 62.0, 79.0),
    ),
    _distill(
        "transm3e_no_mctf",
        "classification and distillation MCTs averaged instead of fused by MCTF",
        3,
        "w/o MCTF",
        (95.4, 62.4, 78.9, 95.6, 62.1, 78.9),
        also=(TableRow(4, "SP-MCTKD", "transm3e_no_mctf", _T3_ALL),),
        note=(
            "Table 4 SP-MCTKD is this run: appendix E says every Table 4 row uses MCTs without "
            "MCTF, so its configuration equals w/o MCTF (the registry's transm3e_sp_mctkd is the "
            "same config); the paper prints TransM3E's numbers for it."
        ),
    ),
    # ---- Table 4: where and what to distil (appendix E: no MCTF) -------------------------------
    _distill(
        "transm3e_fl_kd",
        "conventional KD on the classification tokens, final layer",
        4,
        "FL-KD",
        (96.5, 63.0, 79.8, 96.4, 63.4, 79.9),
    ),
    _distill(
        "transm3e_de_kd",
        "conventional KD, after every block",
        4,
        "DE-KD",
        (95.9, 63.9, 79.9, 96.6, 63.9, 80.3),
    ),
    _distill(
        "transm3e_sp_kd",
        "conventional KD, after each reduction and the final block",
        4,
        "SP-KD",
        (97.5, 63.0, 80.3, 96.7, 63.1, 79.9),
    ),
    _distill(
        "transm3e_fl_mctkd",
        "MCTKD at the final layer",
        4,
        "FL-MCTKD",
        (95.1, 63.0, 79.1, 95.5, 62.8, 79.2),
    ),
    _distill(
        "transm3e_de_mctkd",
        "MCTKD after every block",
        4,
        "DE-MCTKD",
        (95.1, 63.3, 79.2, 95.2, 63.4, 79.3),
    ),
    # ---- Table 5: token fusion ------------------------------------------------------------------
    _distill(
        "transm3e_fusion_sum", "token fusion by sum", 5, "Sum", (95.4, 62.4, 78.9, 95.6, 62.1, 78.9)
    ),
    _distill(
        "transm3e_fusion_mul",
        "token fusion by multiplication",
        5,
        "Multiplication",
        (94.5, 62.8, 78.7, 94.7, 62.8, 78.8),
    ),
    _distill(
        "transm3e_fusion_selfattn",
        "token fusion by self-attention",
        5,
        "SelfAttention",
        (97.4, 62.9, 80.2, 97.6, 62.8, 80.2),
    ),
    _distill(
        "transm3e_fusion_crossattn",
        "token fusion by cross-attention",
        5,
        "CrossAttention",
        (94.9, 63.7, 79.3, 95.1, 63.5, 79.3),
    ),
    # ---- Table 6: late fusion of the two stage-1 models ----------------------------------------
    Experiment(
        "late_fusion_sum",
        "late_fusion_sum",
        "rgb+skeleton",
        "mean of the two scores",
        "late_fusion",
        ("mvitv2_s_mct", "hdgcn_mct"),
        6,
        "LateFusionSum",
        (80.6, 59.8, 70.2, 80.1, 60.0, 70.1),
    ),
    Experiment(
        "late_fusion_concat",
        "late_fusion_concat",
        "rgb+skeleton",
        "trained head on the joined features",
        "late_fusion",
        ("mvitv2_s_mct", "hdgcn_mct"),
        6,
        "LateFusionConcat",
        (83.5, 60.8, 72.2, 83.3, 61.2, 72.3),
    ),
    Experiment(
        "late_fusion_mul",
        "late_fusion_mul",
        "rgb+skeleton",
        "product of the two scores",
        "late_fusion",
        ("mvitv2_s_mct", "hdgcn_mct"),
        6,
        "LateFusionMul",
        (82.3, 60.4, 71.4, 82.0, 60.9, 71.5),
    ),
    # ---- Table 7: modality of MViTv2-S with MCT (also the stage-1 runs) -------------------------
    Experiment(
        "mvitv2_s_mct_flow",
        "mvitv2_s_mct_flow",
        "flow",
        "MViTv2-S + MCT on optical flow",
        "single",
        (),
        7,
        "Optical Flow",
        (72.7, 59.8, 66.3, 69.7, 57.7, 63.7),
    ),
    Experiment(
        "mvitv2_s_mct_rgb_diff",
        "mvitv2_s_mct_rgb_diff",
        "rgb_diff",
        "MViTv2-S + MCT on RGB differences (the released teacher's stage 1)",
        "single",
        (),
        7,
        "RGB Difference",
        (96.8, 60.3, 78.6, 97.5, 59.8, 78.7),
    ),
    Experiment(
        "mvitv2_s_mct",
        "mvitv2_s_mct",
        "rgb",
        "MViTv2-S + 20 MCTs on RGB (stage 1 of TransM3E's main branch)",
        "single",
        (),
        7,
        "RGB",
        (98.5, 62.1, 80.3, 98.6, 60.7, 79.7),
    ),
    # ---- stage-1 runs that fill no row ---------------------------------------------------------
    Experiment(
        "hdgcn_mct",
        "hdgcn_mct",
        "skeleton",
        "HD-GCN + 20 MCTs (stage 1 of TransM3E's skeleton branch)",
        "single",
    ),
    Experiment(
        "mvitv2_s_sct",
        "mvitv2_s_sct",
        "rgb",
        "MViTv2-S + one classification token (stage 1 of w/o MCT)",
        "single",
    ),
    Experiment(
        "hdgcn_sct",
        "hdgcn_sct",
        "skeleton",
        "HD-GCN + one classification token (stage 1 of w/o MCT)",
        "single",
    ),
    # ---- extras (no table row; run by name) ----------------------------------------------------
    _distill(
        "transm3e_rgbdiff_teacher",
        "the released code: frozen RGB-difference MViTv2-S teacher, dense KD, main branch only, "
        "softmax + BCE loss",
        None,
        None,
        None,
        deps=("mvitv2_s_mct", "mvitv2_s_mct_rgb_diff"),
        modality="rgb+rgb_diff",
        train_overrides=(("loss", "softmax_bce"),),
    ),
)
_BY_NAME: dict[str, Experiment] = {e.name: e for e in EXPERIMENTS}
assert len(_BY_NAME) == len(EXPERIMENTS), "duplicate experiment names"


def list_experiments(table: int | None = None) -> list[Experiment]:
    """The experiments (of one table, when given), in registry order."""
    if table is None:
        return list(EXPERIMENTS)
    return [e for e in EXPERIMENTS if any(r.table == table for r in e.rows())]


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in _BY_NAME:
        raise ValueError(
            f"unknown experiment {name!r}; known experiments: {', '.join(_BY_NAME)} "
            "(see `musclemap experiments`)"
        )
    return _BY_NAME[name]


def table_rows(table: int | None = None) -> list[TableRow]:
    """Every row of Tables 2-7 (or of one table), in the paper's order within each table."""
    rows = [r for e in EXPERIMENTS for r in e.rows()]
    order = {t: [] for t in range(2, 8)}  # type: dict[int, list[TableRow]]
    for r in rows:
        order[r.table].append(r)
    # PAPER order of rows inside a table (the registry lists experiments, not rows).
    paper_order = {
        3: ["w/o MCT", "w/o MCTKD", "w/o MCTF", "w/ all"],
        4: ["FL-KD", "DE-KD", "SP-KD", "FL-MCTKD", "DE-MCTKD", "SP-MCTKD"],
        5: ["Sum", "Multiplication", "SelfAttention", "CrossAttention", "MCTF (ours)"],
        6: ["LateFusionSum", "LateFusionConcat", "LateFusionMul", "Ours"],
        7: ["Optical Flow", "RGB Difference", "RGB"],
    }
    out: list[TableRow] = []
    for t in range(2, 8):
        if table is not None and t != table:
            continue
        rs = order[t]
        if t in paper_order:
            rs = sorted(rs, key=lambda r: paper_order[t].index(r.row))
        out.extend(rs)
    return out


def dependencies(name: str) -> list[str]:
    """All stage-1 experiments ``name`` needs, transitively, in the order to run them."""
    out: list[str] = []

    def visit(n: str, stack: tuple[str, ...]) -> None:
        if n in stack:
            raise ValueError(f"dependency cycle: {' -> '.join((*stack, n))}")
        for d in get_experiment(n).depends_on:
            visit(d, (*stack, n))
            if d not in out:
                out.append(d)

    visit(name, ())
    return out


def plan(names: Iterable[str]) -> list[str]:
    """``names`` plus their dependencies, each once, dependencies before their dependents."""
    out: list[str] = []
    for n in names:
        for d in [*dependencies(n), n]:
            if d not in out:
                out.append(d)
    return out


def experiments_for_tables(tables: Sequence[int] | None = None) -> list[str]:
    """The experiments filling the rows of ``tables`` (default 2-7), with their dependencies."""
    wanted = range(2, 8) if tables is None else tables
    for t in wanted:
        if t not in range(2, 8):
            raise ValueError(f"unknown table {t}; the study covers Tables 2 to 7")
    names = [e.name for e in EXPERIMENTS if any(r.table in wanted for r in e.rows())]
    return plan(names)


# ================================================================================================
# Profiles
# ================================================================================================
@dataclass(frozen=True)
class Profile:
    """The settings shared by every run of a study profile."""

    name: str  # smoke | cpu | paper
    scale: str  # model scale (musclemap_lib.models.scales)
    data: DataConfig  # clip sampling, crops, evaluation views, cache
    epochs: int  # single models and stage 1
    stage2_epochs: int  # TransM3E stage 2 and late fusion
    batch_size: int  # clips per optimiser step (per device)
    lr: float  # AdamW learning rate
    warmup_epochs: float  # linear warm-up before the cosine decay
    weight_decay: float = 0.05  # AdamW weight decay on >= 2-D parameters
    num_workers: int = 0  # DataLoader workers
    bootstrap_n: int = 1000  # bootstrap resamples per split
    seeds: tuple[int, ...] = (0,)  # default seeds of run-all (one; more give mean and spread)
    note: str = ""  # how this profile departs from the paper

    def train_config(self, exp: Experiment) -> TrainConfig | None:
        """The TrainConfig of ``exp`` at this profile (None for a baseline)."""
        if not exp.trained:
            return None
        epochs = self.stage2_epochs if exp.kind in ("distill", "late_fusion") else self.epochs
        cfg = TrainConfig(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            warmup_epochs=self.warmup_epochs,
            num_workers=self.num_workers,
        )
        return replace(cfg, **dict(exp.train_overrides)) if exp.train_overrides else cfg


def _data(scale: str, sampling_rate: int, test_views: int, cache: bool) -> DataConfig:
    from musclemap_lib.models.scales import SCALES

    s = SCALES[scale]
    if s.size == 224:
        return DataConfig(
            num_frames=s.frames, sampling_rate=sampling_rate, test_views=test_views, cache=cache
        )
    return DataConfig.with_crop(
        s.size, num_frames=s.frames, sampling_rate=sampling_rate, test_views=test_views, cache=cache
    )


PROFILES: dict[str, Profile] = {
    # Tests and CI: one epoch of everything on the tiny smoke data set.
    "smoke": Profile(
        name="smoke",
        scale="smoke",
        data=_data("smoke", sampling_rate=3, test_views=2, cache=True),
        epochs=1,
        stage2_epochs=1,
        batch_size=8,
        lr=1e-3,
        warmup_epochs=0.0,
        bootstrap_n=50,
        note="plumbing only: numbers are not meaningful",
    ),
    # The default study on a 2-core CPU (all of Tables 2-7 in about an hour).
    # DEVIATION: 8 frames x 64 px at rate 4 (the paper: 16 x 224 at rate 4), widths and depths
    # scaled by musclemap_lib.models.scales, few epochs, lr 1e-3 with a 1-epoch warm-up
    # (ASSUMPTION: a larger step for training from scratch in a few hundred steps; not tuned),
    # one evaluation view (2 views cost ~25 s more per run; smoke and paper use several),
    # 200 bootstrap resamples (1000 cost ~17 s per run on 2 cores).
    # DEVIATION (known limit): the paper's video models start from ImageNet-1K weights (section
    # 4.5); here every RGB model starts from scratch. On the first synth-cpu (4 clips per source,
    # "wild" scenes) none of them left Random within this budget: the training loss of every RGB
    # run sat at the label-prior BCE (0.453) for ~5 epochs, whatever the lr (3e-4 to 3e-3), batch,
    # regularisation or augmentation (mvitv2_s / c2d_r50 known-test mAP 21-27, Random 20.7).
    # Trials of c2d_r50 at these settings (known test): wild 25.5; one clip per source 24.7;
    # + viewpoints within 60 degrees 29.4; + plain backdrop 39.3; + zoom capped by the motion's
    # 3-D size (no head-on close-ups) 29.4 / 32.3; mvitv2_s on the last 30.1 (train loss 0.44).
    # So the data changed (synth.writer PROFILES["cpu"]); the settings below did not.
    # On the new set (full run of b2b895b, known test, Random 20.9 [20.6, 23.3]) the CNNs and
    # MViTv2 reach 29-33 (train loss 0.436-0.447 after 6 epochs), but videoswin_s 23.0,
    # videoswin_b 20.6 and mvitv2_s_mct 21.7 stay at Random: their loss never leaves the
    # label-prior BCE (0.452-0.455) in 6 epochs. Why (measured): at 12 epochs mvitv2_s_mct leaves
    # it at epoch ~8 (loss 0.441, known test 26.9) and videoswin_s does not (0.452, 22.2); both
    # memorise one fixed batch of 16 clips within 120 steps (BCE 0.69 -> 0.05 / 0.09), so the
    # gradient path works and the limit is from-scratch RGB transformers with ~500 steps. The
    # same MViTv2-S with MCT learns from flow (53.8) and RGB difference (40.3) in 6 epochs.
    "cpu": Profile(
        name="cpu",
        scale="cpu",
        data=_data("cpu", sampling_rate=4, test_views=1, cache=True),
        epochs=6,
        stage2_epochs=3,
        batch_size=16,
        lr=1e-3,
        warmup_epochs=1.0,
        bootstrap_n=200,
        note="reduced input, widths, depths and epochs; lr 1e-3 (see experiments.py)",
    ),
    # PAPER: section 4.5 and appendix C: 16 frames, rate 4, 224 x 224, AdamW lr 1e-4, 80 epochs
    # of stage 1 (MCT) and 80 of stage 2 (MCTKD + MCTF).
    # ASSUMPTION: the paper gives no baseline epochs, batch size, weight decay, warm-up or test
    # views: 80 epochs for every model, 16 clips per step (the released 4 GPUs x 4), weight decay
    # 0.05 (released), 5 warm-up epochs, and 5 temporal views (the released NUM_ENSEMBLE_VIEWS; the
    # released test loop actually scores one).
    "paper": Profile(
        name="paper",
        scale="paper",
        data=_data("paper", sampling_rate=4, test_views=5, cache=False),
        epochs=80,
        stage2_epochs=80,
        batch_size=16,
        lr=1e-4,
        warmup_epochs=5.0,
        num_workers=8,
        bootstrap_n=1000,
        note="the paper's settings where it states them",
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``smoke``, ``cpu`` or ``paper``)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]


# ================================================================================================
# Data
# ================================================================================================
def data_dir(profile: str, data: str | Path | None = None) -> Path:
    """The data folder of a run: ``data`` when given, else the profile's MuscleMap-Synth folder.

    Raises:
        FileNotFoundError: when the folder or its ``manifest.csv`` is missing, saying how to make it.
    """
    get_profile(profile)
    if data is not None:
        root = Path(data).expanduser().resolve()
        if not (root / "manifest.csv").is_file():
            raise FileNotFoundError(
                f"--data {root} holds no manifest.csv; point it at a MuscleMap-Synth folder or at "
                "the output of `musclemap import-musclemap`"
            )
        return root
    root = paths.synth_dir(profile)
    if not (root / "manifest.csv").is_file():
        raise FileNotFoundError(
            f"no data for profile {profile!r} at {root}: generate it with "
            f"`make data PROFILE={profile}` or `musclemap data --profile {profile}` "
            "(or pass --data DIR)"
        )
    return root


# ================================================================================================
# Runs
# ================================================================================================
@dataclass
class RunOutcome:
    """What happened to one run."""

    experiment: str
    seed: int
    status: Literal["trained", "evaluated", "skipped"]
    folder: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def run_config(
    exp: Experiment, prof: Profile, seed: int = 0, stage1: tuple[tuple[str, str], ...] = ()
) -> RunConfig:
    """The RunConfig of ``exp`` at ``prof`` with ``seed`` (and its stage-1 runs' shas)."""
    return RunConfig(
        experiment=exp.name,
        profile=prof.name,
        model=exp.model,
        scale=prof.scale,
        data=prof.data,
        train=prof.train_config(exp),
        seed=seed,
        stage1=stage1,
        skip_bad=False,
        bootstrap_n=prof.bootstrap_n,
    )


def _stage1_shas(exp: Experiment, profile: str, seed: int) -> tuple[tuple[str, str], ...]:
    """``(dependency, config_sha)`` of each finished stage-1 run; raise when one is missing."""
    from musclemap_lib.evaluation import records
    from musclemap_lib.training.callbacks import last_checkpoint

    out = []
    missing = []
    for dep in exp.depends_on:
        folder = records.run_dir(profile, dep, seed)
        ckpt = last_checkpoint(folder / "checkpoints")
        if not records.is_complete(folder) or ckpt is None:
            missing.append(dep)
            continue
        out.append((dep, records.read_json(folder / records.METRICS_JSON)["config_sha"]))
    if missing:
        cmds = "; ".join(f"musclemap train {d} --profile {profile} --seed {seed}" for d in missing)
        raise FileNotFoundError(
            f"{exp.name} starts from the stage-1 run(s) {', '.join(missing)}, which have no "
            f"finished result with a checkpoint at profile {profile!r} (seed {seed}). Train them "
            f"first ({cmds}), or run `musclemap run-all --profile {profile}`, which runs "
            "dependencies first"
        )
    return tuple(out)


def _stage1_state(profile: str, dep: str, seed: int) -> dict[str, Any]:
    """The model weights of a finished stage-1 run (``torch.load(weights_only=True)``)."""
    import torch

    from musclemap_lib.evaluation import records
    from musclemap_lib.training.callbacks import last_checkpoint

    ckpt = last_checkpoint(records.run_dir(profile, dep, seed) / "checkpoints")
    assert ckpt is not None
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}


def _build_model(exp: Experiment, run: RunConfig) -> Any:
    from musclemap_lib.models import build_model

    # The run's seed_everything(seed) seeds every model, the Random baseline included.
    return build_model(exp.model, scale=run.scale)


def _load_stage1(model: Any, exp: Experiment, profile: str, seed: int) -> None:
    main, aux = exp.depends_on
    report = model.load_stage1([_stage1_state(profile, d, seed) for d in exp.depends_on])
    log.info("%s: stage-1 weights from %s and %s\n%s", exp.name, main, aux, report)


def _num_nodes() -> int:
    """Nodes of a torchrun or SLURM launch (1 otherwise); Lightning needs it as ``num_nodes``."""
    import os

    env = os.environ
    if "WORLD_SIZE" in env and "LOCAL_WORLD_SIZE" in env:  # torchrun
        return max(1, int(env["WORLD_SIZE"]) // max(1, int(env["LOCAL_WORLD_SIZE"])))
    if "SLURM_NNODES" in env and "SLURM_NTASKS" in env:  # srun
        return max(1, int(env["SLURM_NNODES"]))
    return 1


def _trainer(run: RunConfig, folder: Path, callbacks: Sequence[Any], progress: bool) -> Any:
    """The Lightning Trainer of a run: device, precision and distribution come from here."""
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger

    from musclemap_lib.training.callbacks import EpochReseed, WallClock, epoch_checkpoints

    cfg = run.train
    assert cfg is not None
    gpu = torch.cuda.is_available()
    # PAPER: fp32 in the released code; bf16 autocast on a GPU is ours (speed), CPU stays fp32.
    precision = "bf16-mixed" if gpu and cfg.precision in ("auto", "bf16") else "32-true"
    return L.Trainer(
        accelerator="auto",
        devices="auto",
        strategy="auto",
        num_nodes=_num_nodes(),
        precision=precision,
        max_epochs=cfg.epochs,
        gradient_clip_val=cfg.grad_clip,
        gradient_clip_algorithm="norm",
        # Exact on CPU; on a GPU some kernels have no deterministic version: warn instead.
        deterministic=(True if not gpu else "warn") if cfg.deterministic else False,
        logger=CSVLogger(save_dir=str(folder), name="logs"),
        callbacks=[
            EpochReseed(run.seed),
            epoch_checkpoints(folder / "checkpoints"),
            WallClock(),
            *callbacks,
        ],
        log_every_n_steps=cfg.log_every_n_steps,
        check_val_every_n_epoch=max(1, cfg.val_every_n_epochs),
        limit_val_batches=1.0 if cfg.val_every_n_epochs > 0 else 0,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=progress,
    )


def _datamodule(run: RunConfig, root: Path, modalities: Sequence[str]) -> Any:
    from musclemap_lib.data import MuscleMapDataModule

    cfg = run.train
    return MuscleMapDataModule(
        root,
        run.data,
        modalities=modalities,
        batch_size=cfg.batch_size if cfg else 16,
        eval_batch_size=2 * (cfg.batch_size if cfg else 16),
        num_workers=cfg.num_workers if cfg else 0,
        skip_bad=run.skip_bad,
        drop_last=True,
    )


def _label_batches(root: Path, split: str, batch_size: int = 256) -> Iterator[dict[str, Any]]:
    """Batches of labels and clip ids only: the input of the statistical baselines."""
    import torch

    from musclemap_lib.data import load_manifest

    rows = load_manifest(root).split(split)
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        yield {
            "labels": torch.from_numpy(__import__("numpy").stack([r.multihot() for r in chunk])),
            "clip_id": [r.clip_id for r in chunk],
            "skipped": [],
        }


def evaluate_model(
    model: Any, run: RunConfig, root: Path, device: Any = "cpu"
) -> tuple[dict[str, Any], int]:
    """Score the four evaluation splits with ``run.data.test_views`` views; the run's metrics.

    Returns:
        ``(splits, skipped)``: per-split :class:`~musclemap_lib.evaluation.predict.SplitScores`
        and the number of bad clips skipped.
    """
    from musclemap_lib.evaluation.predict import EVAL_SPLITS, score_split

    activation = run.train.loss if run.train else "bce"
    modalities = tuple(getattr(model, "modalities", ()))
    reset = getattr(model, "reset", None)
    if callable(reset):
        # The Random baseline restarts its seeded stream once; the splits are scored in a fixed
        # order, so each split gets its own, reproducible scores.
        reset()
    splits, skipped = {}, 0
    dm = _datamodule(run, root, modalities) if modalities else None
    for split in EVAL_SPLITS:
        if dm is None:
            loader: Iterable[Any] = _label_batches(root, split)
        else:
            loader = dm.split_dataloader(split, views=run.data.test_views)
        scores, n_skipped = score_split(model, loader, activation, device)
        splits[split] = scores
        skipped += n_skipped
    return splits, skipped


def _record(
    exp: Experiment,
    run: RunConfig,
    root: Path,
    fingerprint: str,
    model: Any,
    device: Any,
    train_seconds: float,
    train_skipped: int,
) -> tuple[Path, dict[str, Any]]:
    """Evaluate ``model`` and write the run folder (atomically)."""
    from musclemap_lib.evaluation import records
    from musclemap_lib.evaluation.predict import run_metrics

    t0 = time.perf_counter()
    splits, eval_skipped = evaluate_model(model, run, root, device)
    metrics = run_metrics(splits, bootstrap_n=run.bootstrap_n, bootstrap_seed=0)
    eval_seconds = time.perf_counter() - t0
    sha = run.sha()
    env = records.environment(str(device))
    metrics = {
        "experiment": exp.name,
        "model": exp.model,
        "profile": run.profile,
        "seed": run.seed,
        **metrics,
        "bad_clips_skipped": train_skipped + eval_skipped,
        "wall_time_s": {
            "train": round(train_seconds, 2),
            "evaluate": round(eval_seconds, 2),
            "total": round(train_seconds + eval_seconds, 2),
        },
        "config_sha": sha,
        "data_fingerprint": fingerprint,
        "data_dir": str(root),
        "git_sha": env["git_sha"],
        "created_utc": records.utc_now(),
    }
    config = {**dataclasses.asdict(run), "config_sha": sha}
    folder = records.run_dir(run.profile, exp.name, run.seed)
    records.write_run(folder, config, metrics, env, splits)
    return folder, metrics


def run_experiment(
    name: str,
    profile: str,
    seed: int = 0,
    data: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    callbacks: Sequence[Any] = (),
    progress: bool | None = None,
) -> RunOutcome:
    """Train (unless a baseline), evaluate and record one experiment at a profile.

    Args:
        name: experiment name.
        profile: ``smoke``, ``cpu`` or ``paper``.
        seed: the run's seed.
        data: data folder (default: the profile's MuscleMap-Synth).
        resume: continue from the run's ``checkpoints/last.ckpt``.
        force: run even when an up-to-date result exists.
        callbacks: extra Lightning callbacks (tests use one to kill a run mid-epoch).
        progress: progress bars (default: when stderr is a terminal).

    Returns:
        A :class:`RunOutcome` (``skipped`` when the result was up to date).

    Raises:
        ValueError: unknown experiment or profile.
        FileNotFoundError: data or a stage-1 dependency missing (the message says what to run).
        NonFiniteLossError: the loss became NaN/inf (the message names the step).
    """
    import lightning as L

    from musclemap_lib.data import load_manifest
    from musclemap_lib.evaluation import records
    from musclemap_lib.training.callbacks import WallClock, last_checkpoint
    from musclemap_lib.training.system import AMGESystem, DistillSystem

    exp = get_experiment(name)
    prof = get_profile(profile)
    root = data_dir(profile, data)
    fingerprint = load_manifest(root).fingerprint
    run = run_config(exp, prof, seed, _stage1_shas(exp, profile, seed))
    folder = records.run_dir(profile, name, seed)
    up_to_date = records.is_up_to_date(folder, run.sha(), fingerprint)
    # A trained run is up to date only with its checkpoint: stage 2 and Grad-CAM start from it,
    # and checkpoints are never committed, so a fresh clone's committed results are retrained.
    if up_to_date and exp.trained and last_checkpoint(folder / "checkpoints") is None:
        log.info("%s (seed %d, %s): up to date but no checkpoint: retraining", name, seed, profile)
        up_to_date = False
    if not force and not resume and up_to_date:
        log.info("%s (seed %d, %s): up to date, skipped", name, seed, profile)
        return RunOutcome(
            name, seed, "skipped", folder, records.read_json(folder / records.METRICS_JSON)
        )
    progress = sys.stderr.isatty() if progress is None else progress
    t_start = time.perf_counter()
    L.seed_everything(seed, workers=True, verbose=False)
    model = _build_model(exp, run)
    if exp.depends_on:
        _load_stage1(model, exp, profile, seed)
    if not exp.trained:
        import torch

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        folder, metrics = _record(exp, run, root, fingerprint, model, device, 0.0, 0)
        log.info("%s: evaluated (no training) -> %s", name, folder)
        return RunOutcome(name, seed, "evaluated", folder, metrics, time.perf_counter() - t_start)

    ckpt_dir = folder / "checkpoints"
    ckpt = last_checkpoint(ckpt_dir) if resume else None
    if resume and ckpt is None:
        log.warning(
            "%s: --resume, but %s holds no last.ckpt; training from the start", name, ckpt_dir
        )
    if ckpt is None:
        # A fresh run: drop checkpoints and logs of an older configuration.
        for sub in ("checkpoints", "logs"):
            shutil.rmtree(folder / sub, ignore_errors=True)
    assert run.train is not None
    system_cls = DistillSystem if exp.kind == "distill" else AMGESystem
    system = system_cls(model, run.train)
    dm = _datamodule(run, root, model.modalities)
    trainer = _trainer(run, folder, callbacks, progress)
    log.info(
        "%s (seed %d, %s): training %d epochs%s",
        name,
        seed,
        profile,
        run.train.epochs,
        f", resuming from {ckpt}" if ckpt else "",
    )
    import torch

    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        trainer.fit(system, datamodule=dm, ckpt_path=ckpt, weights_only=True)
    finally:
        # Lightning switches deterministic algorithms on process-wide; leave the process as found.
        torch.use_deterministic_algorithms(was_deterministic)
    if trainer.global_rank != 0:
        return RunOutcome(name, seed, "trained", folder)
    clock = next(c for c in trainer.callbacks if isinstance(c, WallClock))
    folder, metrics = _record(
        exp,
        run,
        root,
        fingerprint,
        system.model,
        system.device,
        clock.seconds,
        len(system.skipped_clips),
    )
    log.info("%s: %s", name, _fmt(metrics))
    return RunOutcome(name, seed, "trained", folder, metrics, time.perf_counter() - t_start)


def evaluate_experiment(
    name: str, profile: str, seed: int = 0, data: str | Path | None = None
) -> RunOutcome:
    """Re-evaluate a trained run from its last checkpoint and rewrite its record.

    Raises:
        FileNotFoundError: when the run has no checkpoint (train it first).
    """
    import torch

    from musclemap_lib.data import load_manifest
    from musclemap_lib.evaluation import records
    from musclemap_lib.training.callbacks import last_checkpoint

    exp = get_experiment(name)
    prof = get_profile(profile)
    root = data_dir(profile, data)
    fingerprint = load_manifest(root).fingerprint
    if not exp.trained:
        return run_experiment(name, profile, seed, data, force=True, progress=False)
    folder = records.run_dir(profile, name, seed)
    ckpt = last_checkpoint(folder / "checkpoints")
    if ckpt is None:
        raise FileNotFoundError(
            f"{name} has no checkpoint at profile {profile!r} (seed {seed}) in "
            f"{folder / 'checkpoints'}; train it first: musclemap train {name} --profile {profile}"
        )
    stage1 = _stage1_shas(exp, profile, seed) if exp.depends_on else ()
    run = run_config(exp, prof, seed, stage1)
    model = _build_model(exp, run)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    weights = {k.removeprefix("model."): v for k, v in state["state_dict"].items()}
    model.load_state_dict(weights)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_s = 0.0
    if records.is_complete(folder):
        train_s = records.read_json(folder / records.METRICS_JSON)["wall_time_s"].get("train", 0.0)
    t0 = time.perf_counter()
    folder, metrics = _record(exp, run, root, fingerprint, model, device, train_s, 0)
    return RunOutcome(name, seed, "evaluated", folder, metrics, time.perf_counter() - t0)


def _fmt(m: dict[str, Any]) -> str:
    return "  ".join(f"{k} {m[k]:.1f}" for k in SIX if k in m)


def run_all(
    profile: str,
    tables: Sequence[int] | None = None,
    seeds: Sequence[int] = (0,),
    data: str | Path | None = None,
    names: Sequence[str] | None = None,
    progress: bool | None = None,
) -> list[RunOutcome]:
    """Run the experiments of ``tables`` (default 2-7) in dependency order, for every seed.

    Up-to-date runs are skipped; ``summary.csv`` is rebuilt at the end.
    """
    from musclemap_lib.evaluation import records

    todo = plan(names) if names is not None else experiments_for_tables(tables)
    data_dir(profile, data)  # fail early when the data is missing
    outcomes = []
    t0 = time.perf_counter()
    for seed in seeds:
        for i, name in enumerate(todo, 1):
            log.info("[%d/%d] %s (seed %d)", i, len(todo), name, seed)
            outcomes.append(run_experiment(name, profile, seed, data, progress=progress))
    records.rebuild_summary(profile)
    log.info(
        "run-all %s: %d runs (%d skipped) in %.0f s",
        profile,
        len(outcomes),
        sum(o.status == "skipped" for o in outcomes),
        time.perf_counter() - t0,
    )
    return outcomes


# ================================================================================================
# Command line
# ================================================================================================
def _seeds(text: str | None, profile: str) -> tuple[int, ...]:
    if not text:
        return get_profile(profile).seeds
    try:
        return tuple(int(s) for s in str(text).split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from None


def _tables(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(t) for t in str(text).split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--tables must be comma-separated table numbers, got {text!r}") from None


def cli_experiments(args: Any) -> int:
    """``musclemap experiments [--json] [--table N]``: one line (or object) per table row."""
    rows = table_rows(args.table)
    if args.json:
        items = []
        for r in rows:
            e = get_experiment(r.experiment)
            items.append(
                {
                    "name": e.name,
                    "table": r.table,
                    "row": r.row,
                    "paper": None if r.paper is None else dict(zip(SIX, r.paper, strict=True)),
                    "source": r.reference,
                    "model": e.model,
                    "modality": e.modality,
                    "variant": e.variant,
                    "kind": e.kind,
                    "depends_on": list(dependencies(e.name)),
                }
            )
        if args.table is None:  # stage-1 runs and extras fill no row; list them too
            for e in EXPERIMENTS:
                if not e.rows():
                    items.append(
                        {
                            "name": e.name,
                            "table": None,
                            "row": None,
                            "paper": None,
                            "source": "",
                            "model": e.model,
                            "modality": e.modality,
                            "variant": e.variant,
                            "kind": e.kind,
                            "depends_on": list(dependencies(e.name)),
                        }
                    )
        print(json.dumps(items, indent=2))
        return 0
    print(f"{'table':>5}  {'row':<18} {'experiment':<26} {'modality':<13} paper mean val/test")
    for r in rows:
        e = get_experiment(r.experiment)
        p = "-" if r.paper is None else f"{r.paper[2]:.1f} / {r.paper[5]:.1f}"
        print(f"{r.table:>5}  {r.row:<18} {e.name:<26} {e.modality:<13} {p}")
    if args.table is None:
        for e in EXPERIMENTS:
            if not e.rows():
                deps = f" (needs {', '.join(e.depends_on)})" if e.depends_on else ""
                print(f"{'-':>5}  {'(stage 1/extra)':<18} {e.name:<26} {e.modality:<13} {deps}")
    return 0


def cli_data(args: Any) -> int:
    """``musclemap data --profile P [--data DIR]``: make sure the profile's data exists."""
    from musclemap_lib.data import load_manifest

    get_profile(args.profile)
    if args.data:
        report = load_manifest(data_dir(args.profile, args.data)).verify()
        print(f"{report.root}: {report.num_clips} clips verified, fingerprint {report.fingerprint}")
        return 0
    root = paths.synth_dir(args.profile)
    if (root / "manifest.csv").is_file():
        report = load_manifest(root).verify()
        print(
            f"{root}: present, {report.num_clips} clips verified, fingerprint {report.fingerprint}"
        )
        return 0
    from musclemap_lib.synth.writer import generate

    synth = paths.SYNTH_PROFILE_FOR[args.profile]
    t0 = time.perf_counter()
    generate(root, synth, seed=0, progress=sys.stderr.isatty())
    report = load_manifest(root).verify()
    print(
        f"{root}: generated MuscleMap-Synth '{synth}' ({report.num_clips} clips, "
        f"{time.perf_counter() - t0:.0f} s), fingerprint {report.fingerprint}"
    )
    return 0


def _diverged(err: Exception) -> int:
    log.error("%s", err)
    print(f"musclemap: training diverged: {err}", file=sys.stderr)
    return 3


def cli_train(args: Any) -> int:
    """``musclemap train EXP --profile P [--data DIR] [--seed N] [--resume]``."""
    from musclemap_lib.evaluation import records
    from musclemap_lib.training.system import NonFiniteLossError

    try:
        out = run_experiment(
            args.experiment, args.profile, args.seed, args.data, resume=args.resume
        )
    except NonFiniteLossError as err:
        return _diverged(err)
    records.rebuild_summary(args.profile)
    print(f"{out.experiment} (seed {out.seed}, {args.profile}): {out.status} -> {out.folder}")
    if out.metrics:
        print("  " + _fmt(out.metrics))
    return 0


def cli_evaluate(args: Any) -> int:
    """``musclemap evaluate EXP --profile P [--data DIR] [--seed N]``."""
    from musclemap_lib.evaluation import records

    out = evaluate_experiment(args.experiment, args.profile, args.seed, args.data)
    records.rebuild_summary(args.profile)
    print(f"{out.experiment} (seed {out.seed}, {args.profile}): evaluated -> {out.folder}")
    print("  " + _fmt(out.metrics))
    return 0


def _print_outcomes(outcomes: Sequence[RunOutcome], profile: str) -> None:
    from musclemap_lib.evaluation import records

    print(
        f"{'experiment':<28}{'seed':>5}  {'status':<10}{'time s':>8}  "
        + "  ".join(f"{s:>10}" for s in SIX)
    )
    for o in outcomes:
        vals = "  ".join(f"{o.metrics.get(s, float('nan')):>10.1f}" for s in SIX)
        print(f"{o.experiment:<28}{o.seed:>5}  {o.status:<10}{o.seconds:>8.0f}  {vals}")
    seeds = {o.seed for o in outcomes}
    if len(seeds) > 1:
        agg = records.aggregate_seeds(records.load_metrics(profile))
        print("\nmean +- std over seeds")
        for _, r in agg.iterrows():
            print(
                f"{r['experiment']:<28} n={int(r['n_seeds'])}  "
                + "  ".join(f"{r[s]:.1f}+-{r[s + '_std']:.1f}" for s in SIX if s in r)
            )


def cli_run_all(args: Any) -> int:
    """``musclemap run-all --profile P [--tables 2,3] [--seeds 0,1,2] [--data DIR]``."""
    from musclemap_lib.training.system import NonFiniteLossError

    try:
        outcomes = run_all(
            args.profile, _tables(args.tables), _seeds(args.seeds, args.profile), args.data
        )
    except NonFiniteLossError as err:
        return _diverged(err)
    _print_outcomes(outcomes, args.profile)
    return 0


def cli_reproduce(args: Any) -> int:
    """``musclemap reproduce --profile P [--data DIR]``: see :mod:`musclemap_lib.reproduce`."""
    from musclemap_lib.reproduce import cli_reproduce as _reproduce

    return _reproduce(args)


# ================================================================================================
# The paper's numbers as data
# ================================================================================================
def paper_reference_rows() -> list[dict[str, Any]]:
    """Every number of the paper's Tables 2-7 as tidy rows (``results/paper_reference.csv``).

    Columns: those of ``summary.csv`` plus ``source`` (``Table N``; the row label is
    :func:`table_rows`' ``row``, the experiment identifies it within a table). ``profile`` is
    ``paper`` (the paper's own setting), the provenance columns are empty, and ``metric`` is
    ``map`` in percent.
    """
    out = []
    for r in table_rows():
        if r.paper is None:
            continue
        e = get_experiment(r.experiment)
        for split, value in zip(SIX, r.paper, strict=True):
            out.append(
                {
                    "experiment": e.name,
                    "model": e.model,
                    "profile": "paper",
                    "split": split,
                    "metric": "map",
                    "value": value,
                    "seed": "",
                    "git_sha": "",
                    "config_sha": "",
                    "data_fingerprint": "",
                    "created_utc": "",
                    "source": f"Table {r.table}",
                }
            )
    return out


def write_paper_reference(path: Path | None = None) -> Path:
    """Write :func:`paper_reference_rows` to ``results/paper_reference.csv`` (or ``path``)."""
    import csv

    from musclemap_lib.evaluation.records import REFERENCE_COLUMNS, paper_reference_path

    path = Path(path) if path is not None else paper_reference_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(REFERENCE_COLUMNS), lineterminator="\n")
        w.writeheader()
        w.writerows(paper_reference_rows())
    return path
