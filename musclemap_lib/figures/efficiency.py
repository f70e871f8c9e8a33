"""The efficiency page: parameters beside the paper's #PM, FLOPs per clip, measured clips per second.

Reads ``results/<profile>/efficiency.json`` (written by
:func:`musclemap_lib.study.efficiency.measure_efficiency` during ``make reproduce``); nothing here
measures or counts, so the page builds in seconds and shows only numbers that were measured.
"""

from __future__ import annotations

import json
from typing import Any

from musclemap_lib import paths
from musclemap_lib.evaluation import records
from musclemap_lib.figures import names

NOT_MEASURED = "not measured"  # what the page says when efficiency.json is missing


def load_efficiency(profile: str) -> dict[str, Any] | None:
    """``results/<profile>/efficiency.json``, or None when reproduce has not written it yet."""
    path = paths.results_dir(profile) / records.EFFICIENCY_JSON
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def efficiency_table(data: dict[str, Any] | None) -> Any:
    """One row per Table-2 model: parameters, the paper's #PM, FLOPs per clip, clips per second.

    Args:
        data: the content of ``efficiency.json`` (None when it does not exist).

    Returns:
        A DataFrame indexed by the model's display name with columns ``params (M), paper scale``,
        ``paper #PM (M)``, ``difference (M)``, ``verdict``, ``params (M), <scale> scale``,
        ``GFLOPs/clip, <scale>`` for each counted scale and ``clips/s, <scale> (measured)``;
        empty when ``data`` is None. The parameter-free baselines are left out.
    """
    import pandas as pd

    if data is None:
        return pd.DataFrame()
    scale = data["scale"]
    # The statistical baselines (Random, All Ones) have no parameters and no compute to report.
    models = [m for m in data["models"] if m["params_paper_scale"] > 0 or m["paper_params_m"] > 0]
    rows = []
    for m in models:
        row: dict[str, Any] = {
            "params (M), paper scale": m["params_paper_scale"] / 1e6,
            "paper #PM (M)": m["paper_params_m"],
            "difference (M)": m["params_paper_scale"] / 1e6 - m["paper_params_m"],
            "verdict": m["params_verdict"],
            f"params (M), {scale} scale": m["params_profile_scale"] / 1e6,
        }
        for s in data["flop_scales"]:
            row[f"GFLOPs/clip, {s}"] = m["flops_per_clip"][s] / 1e9
        row[f"clips/s, {scale} (measured)"] = m["clips_per_s"]
        rows.append(row)
    index = pd.Index([names.model_name(m["model"]) for m in models], name="model")
    return pd.DataFrame(rows, index=index)


def split_table(table: Any) -> tuple[Any, Any]:
    """The efficiency table as two narrower ones that fit a page: parameters, then compute
    (FLOPs and clips per second)."""
    params = [c for c in table.columns if not c.startswith(("GFLOPs", "clips/s"))]
    return table[params], table.drop(columns=params)


def styled(table: Any) -> Any:
    """The efficiency table formatted for reading (2 decimals for millions, 3 digits of GFLOPs)."""
    fmt: dict[str, str] = {}
    for c in table.columns:
        if c == "verdict":
            continue
        if c.startswith("difference"):
            fmt[c] = "{:+.2f}"
        elif c.startswith("GFLOPs"):
            fmt[c] = "{:.3g}"  # 3 significant digits: smoke-scale clips cost a few MFLOPs
        elif c.startswith("clips/s"):
            fmt[c] = "{:.1f}"
        else:
            fmt[c] = "{:.2f}"
    return table.style.format(fmt, na_rep="\N{EM DASH}").set_table_attributes(
        'class="efficiency-table"'
    )


def glue_values(data: dict[str, Any] | None) -> dict[str, float | str | int]:
    """The values the efficiency page glues (``eff_*``): Python floats rounded to 0.1 (glued
    without a format spec), ``not measured`` when ``efficiency.json`` is missing."""
    if data is None:
        return {
            "eff_threads": NOT_MEASURED,
            "eff_machine": NOT_MEASURED,
            "eff_batch": NOT_MEASURED,
            "eff_scale": NOT_MEASURED,
            "eff_created": NOT_MEASURED,
            "eff_fastest_name": NOT_MEASURED,
            "eff_fastest_clips_per_s": NOT_MEASURED,
            "eff_transm3e_params_m": NOT_MEASURED,
            "eff_transm3e_paper_params_m": NOT_MEASURED,
        }
    models = {m["model"]: m for m in data["models"]}
    trained = [m for m in data["models"] if m["params_paper_scale"] > 0]
    fastest = max(trained, key=lambda m: m["clips_per_s"]) if trained else None
    t = models.get("transm3e")
    machine = data["machine"]
    return {
        "eff_threads": int(data["throughput"]["torch_threads"]),
        "eff_machine": f"{machine['processor']}, {machine['cpu_count']} cores "
        f"({machine['platform']})",
        "eff_batch": int(data["throughput"]["batch_size"]),
        "eff_scale": str(data["scale"]),
        "eff_created": str(data["created_utc"]),
        "eff_fastest_name": names.model_name(fastest["model"]) if fastest else NOT_MEASURED,
        "eff_fastest_clips_per_s": float(round(fastest["clips_per_s"], 1))
        if fastest
        else NOT_MEASURED,
        "eff_transm3e_params_m": float(round(t["params_paper_scale"] / 1e6, 1))
        if t
        else NOT_MEASURED,
        "eff_transm3e_paper_params_m": float(t["paper_params_m"]) if t else NOT_MEASURED,
    }
