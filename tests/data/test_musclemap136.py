"""MuscleMap136 import: pickled split lists -> manifest, with a restricted unpickler."""

from __future__ import annotations

import os
import pickle
import shutil
from argparse import Namespace

import numpy as np
import pytest

from musclemap_lib.cli import main
from musclemap_lib.data.manifest import load_manifest
from musclemap_lib.data.musclemap136 import SPLIT_MAP, ListImportError, cli_import, safe_load_list

OFFICIAL = list(SPLIT_MAP)


def _make(tmp_path, tiny_data, layout="flat"):
    """Authors-style lists: absolute paths under .../musclemap_trimmed/<activity>/<name>.mp4."""
    videos = tmp_path / "videos"
    lists = tmp_path / "lists"
    lists.mkdir()
    k = 0
    for split in OFFICIAL:
        paths, labels = [], []
        for j in range(2):
            # The split protocol: known activities act0-act2, new ones only in the unseen splits.
            act = f"new{k % 2}" if split.endswith("unseen") else f"act{k % 2}"
            (videos / act).mkdir(parents=True, exist_ok=True)
            shutil.copy(tiny_data / "videos" / f"c{k % 10}.mp4", videos / act / f"vid{k}_{j}.mp4")
            paths.append(f"/home/authors/musclemap_trimmed/{act}/vid{k}_{j}.mp4")
            labels.append([k % 20, (k + 3) % 20])
            k += 1
        _dump(lists, split, paths, labels, layout)
    return lists, videos


def _dump(lists, split, paths, labels, layout="flat"):
    if layout == "flat":
        vp, lp = lists / f"{split}_videos.pkl", lists / f"{split}_labels.pkl"
    else:
        vp, lp = lists / split / "video" / "list", lists / split / "label" / "list"
        vp.parent.mkdir(parents=True, exist_ok=True)
        lp.parent.mkdir(parents=True, exist_ok=True)
    vp.write_bytes(pickle.dumps(paths))
    lp.write_bytes(pickle.dumps(labels))


@pytest.mark.parametrize("layout", ["flat", "released"])
def test_import_writes_loadable_manifest(tmp_path, tiny_data, layout):
    lists, videos = _make(tmp_path, tiny_data, layout)
    out = tmp_path / "mm136"
    cli_import(Namespace(lists=str(lists), videos=str(videos), out=str(out), skeletons=None))
    m = load_manifest(out)
    assert m.split_sizes() == {s: 2 for s in SPLIT_MAP.values()}
    row = m.split("known_val")[0]  # val_seen, k = 2
    assert row.activity == "act0" and row.video.is_file() and row.skeleton is None
    assert row.multihot()[[2, 5]].tolist() == [1, 1] and row.multihot().sum() == 2
    assert m.info["fingerprint"].startswith("mm136-")
    assert m.verify().fingerprint == m.fingerprint


def test_import_with_skeletons(tmp_path, tiny_data):
    lists, videos = _make(tmp_path, tiny_data)
    skel = tmp_path / "skel"
    for v in videos.rglob("*.mp4"):
        (skel / v.parent.name).mkdir(parents=True, exist_ok=True)
        np.save(skel / v.parent.name / f"{v.stem}.npy", np.zeros((40, 17, 3), np.float32))
    out = tmp_path / "out"
    cli_import(Namespace(lists=str(lists), videos=str(videos), out=str(out), skeletons=str(skel)))
    assert load_manifest(out).has_skeletons()
    os.remove(next(skel.rglob("*.npy")))
    with pytest.raises(ListImportError, match="no skeleton"):
        cli_import(
            Namespace(
                lists=str(lists),
                videos=str(videos),
                out=str(out),
                skeletons=str(skel),
                overwrite=True,
            )
        )


def test_import_onto_a_data_set_is_refused(tmp_path, tiny_data, capsys):
    """Issue 15 probe 3: --out at an existing data set replaced its manifest silently."""
    lists, videos = _make(tmp_path, tiny_data)
    out = tmp_path / "data"
    shutil.copytree(tiny_data, out)
    before = {n: (out / n).read_bytes() for n in ("manifest.csv", "dataset.json")}
    argv = ["import-musclemap", "--lists", str(lists), "--videos", str(videos), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--out {out} already holds files" in err and "pass --overwrite" in err
    assert {n: (out / n).read_bytes() for n in before} == before  # untouched
    assert main([*argv, "--overwrite"]) == 0
    assert load_manifest(out).split_sizes() == {s: 2 for s in SPLIT_MAP.values()}
    assert (out / "videos" / "c0.mp4").is_file()  # only the manifest files were replaced


def test_deeply_nested_pickle_is_one_error(tmp_path, tiny_data, capsys):
    """Issue 15 probe 4: a 200,000-deep nested list reached the user as a RecursionError."""
    n = 200_000
    deep = tmp_path / "deep.pkl"
    deep.write_bytes(b"\x80\x04" + b"]" * n + b"a" * (n - 1) + b".")  # [[[...]]]
    with pytest.raises(ListImportError, match="deep.pkl: item 0.0. is a nested list"):
        safe_load_list(deep)
    lists, videos = _make(tmp_path, tiny_data)
    shutil.copy(deep, lists / "train_labels.pkl")
    out = tmp_path / "o"
    argv = ["import-musclemap", "--lists", str(lists), "--videos", str(videos), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train_labels.pkl" in err and "Traceback" not in err


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_malicious_pickle_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "train_videos.pkl"
    p.write_bytes(pickle.dumps(["a.mp4", _Evil()]))
    with pytest.raises(ListImportError, match=r"refusing to load the global (posix|nt)\.system"):
        safe_load_list(p)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_only_lists_strings_ints(tmp_path):
    cases = {
        "numpy": [[np.int64(3)]],
        "dict": [{"a": 1}],
        "float": [[1.5]],
        "tuple": [(1, 2)],
    }
    for name, obj in cases.items():
        p = tmp_path / f"{name}.pkl"
        p.write_bytes(pickle.dumps(obj))
        with pytest.raises(ListImportError, match=f"{name}.pkl"):
            safe_load_list(p)
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ListImportError, match="junk.pkl"):
        safe_load_list(tmp_path / "junk.pkl")
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps([[1, 2], [3]]))
    assert safe_load_list(ok) == [[1, 2], [3]]


def test_bad_lists_reported(tmp_path, tiny_data):
    lists, videos = _make(tmp_path, tiny_data)
    _dump(
        lists,
        "val_unseen",
        ["/x/musclemap_trimmed/act0/gone.mp4", "/x/act1/vid9_0.mp4"],
        [[1], [25]],
    )
    with pytest.raises(ListImportError) as exc:
        import_args = Namespace(
            lists=str(lists), videos=str(videos), out=str(tmp_path / "o"), skeletons=None
        )
        cli_import(import_args)
    msg = str(exc.value)
    assert "gone.mp4' not found" in msg and "outside 0..19" in msg and "nothing was written" in msg
    assert not (tmp_path / "o" / "manifest.csv").exists()
    _dump(lists, "val_unseen", ["/x/act1/vid9_0.mp4"], [[1], [2]])
    with pytest.raises(ListImportError, match="1 videos but .* 2 label lists"):
        cli_import(import_args)
    (lists / "test_seen_labels.pkl").unlink()
    with pytest.raises(ListImportError, match="no lists for split 'test_seen'"):
        cli_import(import_args)
