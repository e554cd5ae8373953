"""One sheetsync run per workbook at a time.

Two runs on one workbook (cron plus a person, or two cron entries) would each
read, compute and write; the second write would silently undo the first or
be refused half-way.  A lock file beside the workbook serialises them.  It is
named ``.~sheetsync-<name>.lock`` so nothing mistakes it for Excel's ``~$``
owner file, and it is held with ``flock``, which the kernel releases when the
process dies, so a crash never leaves a lock that blocks the next run.
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

__all__ = ["lock_path", "run_lock"]

_POLL = 0.1


def lock_path(path: Path) -> Path:
    """The lock file for a workbook, beside its real location (a symlink and its target share one lock)."""
    real = Path(os.path.realpath(path))
    return real.parent / f".~sheetsync-{real.name}.lock"


@contextlib.contextmanager
def run_lock(path: Path, *, wait: float = 10.0) -> Iterator[None]:
    """Hold the run lock on the workbook at ``path`` for the body of a ``with``.

    Waits up to ``wait`` seconds for another run to finish, then raises
    ``WriteRefused`` (exit 4) naming the run that holds it.  The lock file is
    removed on the way out.
    """
    lock = lock_path(path)
    deadline = time.monotonic() + wait
    fd = _acquire(lock, path, deadline)
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


def _acquire(lock: Path, path: Path, deadline: float) -> int:
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise WriteRefused(
                f"can't create the lock file {lock}: {exc.strerror or exc} — "
                f"check that the folder of {path.name} is writable"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WriteRefused(
                    f"another sheetsync run ({holder}) is working on {path} — wait for it to finish and run again"
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
