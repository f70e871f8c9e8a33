"""Locks and permissions of run folders: only one process writes a run, and only where it can.

:func:`run_lock` holds ``results/<profile>/.locks/<run folder>.lock`` (``filelock``) for the whole
run, with a JSON file beside it naming the holder, so a second run of the same experiment waits or
stops with a message naming the first. :func:`check_writable` refuses before any work when a
folder cannot be written.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from musclemap_lib.evaluation.records import atomic_write_text, utc_now

LOCKS_DIR = ".locks"  # results/<profile>/.locks/<run folder>.lock (+ .json: who holds it)


class RunLockedError(RuntimeError):
    """Another process holds the lock of a run folder; the message names it."""


def lock_path(folder: Path) -> Path:
    """The lock file of a run folder: ``<parent>/.locks/<name>.lock``."""
    folder = Path(folder)
    return folder.parent / LOCKS_DIR / f"{folder.name}.lock"


def _holder_text(info_path: Path) -> str:
    try:
        h = json.loads(info_path.read_text())
        return (
            f"pid {h['pid']} on {h['host']} (user {h['user']}, since {h['since']}: {h['command']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def run_lock(folder: Path, wait: float = 0.0) -> Iterator[Path]:
    """Hold the lock of a run folder for the duration of a run (an OS file lock: released when
    the process ends, however it ends).

    Args:
        folder: the run folder.
        wait: seconds to wait for another holder to finish (0: refuse at once; < 0: forever).

    Raises:
        RunLockedError: when another process holds it after ``wait`` seconds, naming that
            process (pid, host, user, start time, command).
        PermissionError: when the lock cannot be created (results folder not writable).
    """
    path = lock_path(folder)
    check_writable(path.parent, "the results folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=wait)
    info = path.with_suffix(".json")
    try:
        lock.acquire()
    except Timeout:
        raise RunLockedError(
            f"{Path(folder)} is being written by {_holder_text(info)}; wait until it has "
            f"finished (or pass --wait SECONDS), then run again (lock {path})"
        ) from None
    try:
        atomic_write_text(
            info,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "user": _user(),
                    "since": utc_now(),
                    "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                }
            ),
        )
        yield path
    finally:
        info.unlink(missing_ok=True)
        lock.release()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def check_writable(folder: Path, what: str) -> None:
    """Raise a ``PermissionError`` naming ``folder`` (or the ancestor it would be made in) and the
    fix when this process cannot write there."""
    p = Path(folder).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    if not os.access(p, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{what} {p} is not writable by user {_user()}; make it writable (chmod -R u+w {p}) "
            "or run from a clone you own"
        )
