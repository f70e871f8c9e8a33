"""Learning curves: read from the training logs (a resumed run adds a version), plateau check."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

from musclemap_lib.evaluation.curves import plateau_change, read_curve  # noqa: E402
from musclemap_lib.figures import curves  # noqa: E402

HEADER = "epoch,step,train/loss_epoch,train/loss_step,val/map_known_val,val/map_new_val\n"


def _log(folder, version: int, rows: list[str]) -> None:
    path = folder / "logs" / f"version_{version}" / "metrics.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")


def test_read_curve_merges_versions_one_row_per_epoch(tmp_path):
    _log(tmp_path, 0, ["0,4,,0.9,,", "0,4,,,40.0,30.0", "0,4,0.8,,,", "1,9,,,50.0,35.0"])
    # The run was resumed in epoch 1: version 1 logs epoch 1 again (it wins) and epoch 2.
    _log(tmp_path, 1, ["1,9,0.6,,52.0,36.0", "2,14,0.5,,53.0,36.5"])
    assert read_curve(tmp_path) == [
        {"epoch": 0, "train_loss": 0.8, "known_val": 40.0, "new_val": 30.0},
        {"epoch": 1, "known_val": 52.0, "new_val": 36.0, "train_loss": 0.6},
        {"epoch": 2, "train_loss": 0.5, "known_val": 53.0, "new_val": 36.5},
    ]
    assert read_curve(tmp_path / "nothing") == []


def test_plateau_change_is_the_spread_of_the_last_fifth():
    curve = [
        {"epoch": e, "known_val": v}
        for e, v in enumerate([10, 30, 50, 70, 80, 89, 90, 91, 90, 91.5])
    ]
    assert plateau_change(curve) == 1.5  # the last 2 of 10 epochs: 90 and 91.5
    assert math.isnan(plateau_change(curve[:1]))
    assert math.isnan(plateau_change([{"epoch": 0, "train_loss": 1.0}]))


def test_run_curves_and_plot(tmp_path, monkeypatch):
    from musclemap_lib import paths

    monkeypatch.setattr(paths, "results_dir", lambda p=None: tmp_path / p if p else tmp_path)
    run = tmp_path / "smoke" / "stgcn"
    run.mkdir(parents=True)
    curve = [{"epoch": 0, "train_loss": 0.7, "known_val": 40.0, "new_val": 30.0}]
    (run / "metrics.json").write_text(json.dumps({"curve": curve}), encoding="utf-8")
    for name in ("config.json", "env.json", "scores.npz"):  # the rest of a complete record
        (run / name).write_text("{}", encoding="utf-8")
    got = curves.run_curves("smoke", ["stgcn", "hdgcn"])  # hdgcn has no record: left out
    assert got == {"stgcn": curve}
    table = curves.plateau_table(got)
    assert table.loc["ST-GCN", "last known val"] == 40.0
    fig = curves.plot_curves(got)
    loss_ax, map_ax = fig.axes[:2]
    assert len(loss_ax.lines) == 1 and len(map_ax.lines) == 2  # known solid, new dashed
    assert map_ax.get_legend() is not None
    empty = curves.plot_curves({"stgcn": [{"epoch": 0, "train_loss": 0.7}]})
    assert not empty.axes[1].lines and empty.axes[1].get_legend() is not None
