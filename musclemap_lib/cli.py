"""The ``musclemap`` console script: argument parsing only; every command calls the library.

Each subcommand names the library function it calls (``module:function``, taking the parsed
``argparse.Namespace``); the import happens when the command runs, so ``musclemap --help`` stays
fast and a command never loads torch it does not need.
"""

from __future__ import annotations

import argparse
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
        "(keys: train.<TrainConfig field>, data.<DataConfig field>, bootstrap_n); repeatable",
    )


def _experiment(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="an experiment name (see `musclemap experiments`)")
    _profile(p)
    p.add_argument("--seed", type=int, default=0)
    _overrides(p)


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
        _profile,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    module_name, func_name = COMMANDS[args.command][2].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        result = func(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as err:
        # Bad input is reported as one clear line, not a traceback (use -v for the traceback).
        if args.verbose:
            raise
        print(f"musclemap {args.command}: error: {err}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
