"""The ``musclemap`` console script: argument parsing only; every command calls the library.

Each subcommand names the library function it calls (``module:function``, taking the parsed
``argparse.Namespace``); the import happens when the command runs, so ``musclemap --help`` stays
fast and a command never loads torch it does not need.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from musclemap_lib.study.profiles import PROFILES  # torch-free: --help stays fast


def _synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="folder to write the data set into")
    p.add_argument("--profile", choices=("smoke", "cpu", "full"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing data set in --out")


def _import(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lists", required=True, help="folder with the authors' pickled split lists")
    p.add_argument("--videos", required=True, help="folder holding the MuscleMap136 videos")
    p.add_argument("--out", required=True, help="folder to write manifest.csv into")
    p.add_argument("--skeletons", default=None, help="optional folder of (T, 17, 3) .npy skeletons")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty --out (replaces its manifest)",
    )


def _profile(p: argparse.ArgumentParser, data: bool = True) -> None:
    p.add_argument("--profile", choices=list(PROFILES), default="cpu")
    if data:
        p.add_argument(
            "--data", default=None, help="data folder (default: the profile's MuscleMap-Synth)"
        )


def _overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one setting of the run, e.g. --set train.epochs=40 --set data.test_views=2 "
        "(keys: train.<TrainConfig field>, data.<DataConfig field>, model.<builder option> such "
        "as model.drop_path_rate=0, bootstrap_n); repeatable",
    )


def _wait(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another process is running the same experiment, wait this long for it "
        "(default 0: stop at once and name that process; -1: wait as long as it takes)",
    )


def _experiment(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="an experiment name (see `musclemap experiments`)")
    _profile(p)
    p.add_argument("--seed", type=int, default=0)
    _overrides(p)
    _wait(p)


def _train(p: argparse.ArgumentParser) -> None:
    _experiment(p)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")


def _experiments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--table", type=int, default=None, help="only the rows of this paper table")


def _run_all(p: argparse.ArgumentParser) -> None:
    _profile(p)
    p.add_argument("--tables", default=None, help="comma-separated paper tables, e.g. 2,3")
    p.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    _overrides(p)
    _wait(p)


def _reproduce(p: argparse.ArgumentParser) -> None:
    _profile(p)
    p.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        help="training notebooks at once, each on cores // jobs torch threads (default: the "
        "profile's: 2 for cpu, 1 otherwise)",
    )
    p.add_argument(
        "--experiments",
        default=None,
        metavar="NAME,NAME",
        help="only these experiments, with the runs they depend on (default: every row of "
        "Tables 2-7; names from `musclemap experiments`); summary, notebooks and book still "
        "cover every run folder",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# name -> (help, argument adder, "module:function")
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {
    "synth": ("generate MuscleMap-Synth", _synth, "musclemap_lib.synth.writer:cli_synth"),
    "import-musclemap": (
        "turn the authors' MuscleMap136 split lists into our manifest",
        _import,
        "musclemap_lib.data.musclemap136:cli_import",
    ),
    "data": (
        "make sure the data of a profile exists (generate MuscleMap-Synth or verify --data)",
        _profile,
        "musclemap_lib.study.commands:cli_data",
    ),
    "experiments": (
        "list the experiments (every row of Tables 2-7)",
        _experiments,
        "musclemap_lib.study.commands:cli_experiments",
    ),
    "train": (
        "train and evaluate one experiment",
        _train,
        "musclemap_lib.study.commands:cli_train",
    ),
    "evaluate": (
        "evaluate a trained experiment",
        _experiment,
        "musclemap_lib.study.commands:cli_evaluate",
    ),
    "run-all": (
        "train and evaluate every experiment of a profile, in dependency order",
        _run_all,
        "musclemap_lib.study.commands:cli_run_all",
    ),
    "summary": (
        "rebuild results/<profile>/summary.csv from the run folders",
        lambda p: _profile(p, data=False),
        "musclemap_lib.evaluation.records:cli_summary",
    ),
    "reproduce": (
        "the whole study for a profile: data, every experiment, summary, notebooks, book",
        _reproduce,
        "musclemap_lib.study.commands:cli_reproduce",
    ),
    "book": (
        "render the book from results/<profile> (no training)",
        lambda p: _profile(p, data=False),
        "musclemap_lib.study.commands:cli_book",
    ),
    "efficiency": (
        "measure results/<profile>/efficiency.json (parameters, FLOPs, clips per second)",
        lambda p: _profile(p, data=False),
        "musclemap_lib.study.commands:cli_efficiency",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``musclemap`` command."""
    parser = argparse.ArgumentParser(prog="musclemap", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_args, _target) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


# What to do about an operating-system error, by errno.
_OS_FIXES: dict[int, str] = {
    errno.EACCES: "check its permissions (ls -l) and make it readable/writable for you "
    "(chmod u+rw), or work in a clone you own",
    errno.EPERM: "check its owner and permissions (ls -l), or work in a clone you own",
    errno.EROFS: "the file system is read-only: work in a writable clone or data copy",
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.ENOENT: "check the path",
    errno.EISDIR: "a folder is in the way of a file: remove or rename it",
    errno.ENOTDIR: "a file is in the way of a folder: remove or rename it",
}


def describe_error(err: BaseException) -> str:
    """One line (the library's messages may add an indented list) naming the file and the fix."""
    if isinstance(err, OSError) and err.strerror and (err.filename or err.filename2):
        # A raw error from the operating system: name the file and say what to do.
        where = err.filename if err.filename2 is None else f"{err.filename} -> {err.filename2}"
        fix = _OS_FIXES.get(err.errno or 0, "")
        return f"{where}: {err.strerror}" + (f"; {fix}" if fix else "")
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        return err.args[0]  # str(KeyError) would quote the message
    if isinstance(err, RecursionError):
        return (
            "an input file is nested too deeply to be read (RecursionError); it is damaged or "
            "crafted: replace it (run with -v to see which)"
        )
    if isinstance(err, (ValueError, OSError, RuntimeError, KeyError, TypeError)):
        text = str(err) or type(err).__name__
        return text if not isinstance(err, TypeError) else f"{type(err).__name__}: {text}"
    return (
        f"unexpected {type(err).__name__}: {err}; run again with -v for the traceback and report it"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code.

    Every failure is reported as one message naming the file and the fix (exit code 2);
    ``-v`` shows the traceback instead.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    module_name, func_name = COMMANDS[args.command][2].split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        result = func(args)
    except Exception as err:  # noqa: BLE001 - every failure becomes one clear line
        if args.verbose:
            raise
        print(f"musclemap {args.command}: error: {describe_error(err)}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
