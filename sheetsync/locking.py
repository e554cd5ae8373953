"""One sheetsync run per workbook, and per Google Sheet, at a time.

Two runs on one workbook (cron plus a person, or two cron entries) would each
read, compute and write; the second write would silently undo the first or
be refused half-way (on a Google Sheet: drop the History row the first one
added).  A lock file serialises them.  For a workbook it lies beside the
workbook, named ``.~sheetsync-<name>.lock`` so nothing mistakes it for
Excel's ``~$`` owner file; for a Google Sheet, which has no folder of its own,
it is ``gsheet-<key>.lock`` in the user's ``~/.cache/sheetsync/locks/`` (reference
7.3).  Either is held with ``flock``, which the kernel releases when the
process dies, so a crash never leaves a lock that blocks the next run.

This module only locks; it never reads or writes the workbook or the sheet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import WriteRefused

__all__ = ["google_lock", "google_lock_path", "lock_path", "run_lock"]

_POLL = 0.1


def lock_path(path: Path) -> Path:
    """The lock file for a workbook, beside its real location (a symlink and its target share one lock)."""
    real = Path(os.path.realpath(path))
    return real.parent / f".~sheetsync-{real.name}.lock"


def google_lock_path(key: str) -> Path:
    """The lock file for the Google Sheet ``key``, in a folder of this user's made private (0700).

    Always under the home folder, never ``$XDG_RUNTIME_DIR`` or
    ``$XDG_CACHE_HOME``: a login session has those set and cron has not, and
    the point is that cron and a person at a terminal share one lock.
    """
    folder = Path.home() / ".cache" / "sheetsync" / "locks"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise WriteRefused(
            f"can't create the lock folder {folder}: {exc.strerror or exc} — "
            "check that HOME is set to a home folder this user can write"
        ) from exc
    return folder / f"gsheet-{key}.lock"


@contextlib.contextmanager
def run_lock(path: Path, *, wait: float = 10.0) -> Iterator[None]:
    """Hold the run lock on the workbook at ``path`` for the body of a ``with``.

    Waits up to ``wait`` seconds for another run to finish, then raises
    ``WriteRefused`` (exit 4) naming the run that holds it.  The lock file is
    removed on the way out.
    """
    with _held(lock_path(path), str(path), f"check that the folder of {path.name} is writable", wait):
        yield


@contextlib.contextmanager
def google_lock(key: str, *, wait: float = 10.0) -> Iterator[None]:
    """:func:`run_lock` for the Google Sheet ``key``: two syncs of one sheet from this machine never interleave."""
    lock = google_lock_path(key)
    with _held(lock, f"the Google Sheet gsheet:{key}", f"check that {lock.parent} is writable", wait):
        yield


@contextlib.contextmanager
def _held(lock: Path, what: str, fix: str, wait: float) -> Iterator[None]:
    deadline = time.monotonic() + wait
    fd = _acquire(lock, what, fix, deadline)
    try:
        os.ftruncate(fd, 0)
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode(), 0)
        yield
    finally:
        # Unlink while still holding the lock: a waiter that then gets the old
        # inode sees it is no longer the file at ``lock`` and starts over.
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _acquire(lock: Path, what: str, fix: str, deadline: float) -> int:
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise WriteRefused(f"can't create the lock file {lock}: {exc.strerror or exc} — {fix}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WriteRefused(
                    f"another sheetsync run ({holder}) is working on {what} — wait for it to finish and run again"
                ) from None
            time.sleep(min(_POLL, remaining))
            continue
        except OSError as exc:
            os.close(fd)
            raise WriteRefused(f"can't lock {lock}: {exc.strerror or exc}") from exc
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed this file as we waited on it; lock the new one


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "starting up"
