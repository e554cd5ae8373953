"""Files written whole or not at all, and the temporary files killed runs leave behind.

Every file sheetsync writes into a user's folder (the workbook, each draft,
the manifest, the mbox) goes to a temporary file beside it first and is then
renamed over it, so a crash leaves the old file or the new one, never half of
one.  A temporary file's name says whose it is,
``.~sheetsync-<pid>-<host>-<anything>.tmp`` (``<host>``: eight hex digits
naming this machine), so the next run in a folder can remove the ones whose
run was killed (reference 9) and never one that a live run is still writing,
nor one written from another machine sharing the folder.

This module never touches a file whose name does not have that form: the run
lock (``.~sheetsync-<name>.lock``), the user's files and other programs'
temporary files are left alone.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import os
import re
import secrets
import socket
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "host_tag", "pid_alive", "sweep_temp_files", "temp_file", "temp_prefix", "write_atomic"]

TEMP_SUFFIX = ".tmp"

_TEMP = re.compile(r"\.~sheetsync-(\d{1,10})-([0-9a-f]{8})-[^/\\]*\.tmp\Z")
_COUNTER = itertools.count()


@functools.cache
def host_tag() -> str:
    """This machine, in eight hex digits: a pid means something only on the host that issued it."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]


def temp_prefix(pid: int | None = None) -> str:
    """The start of the temporary file names of this process (or ``pid``); add something unique and ``.tmp``.

    The pid is read on every call: a forked helper writes under its own.
    For ``tempfile.mkstemp(prefix=temp_prefix(), suffix=TEMP_SUFFIX, dir=folder)``.
    """
    return f".~sheetsync-{os.getpid() if pid is None else pid}-{host_tag()}-"


def temp_file(folder: str | Path) -> tuple[int, Path]:
    """A new, empty temporary file in ``folder`` named for this process: (open descriptor, path).

    For a file built in steps (the workbook); :func:`write_atomic` is for bytes
    already in hand.  ``OSError`` (a read-only folder, a full disk) passes through.
    """
    while True:
        path = Path(folder) / f"{temp_prefix()}{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
        return fd, path


def write_atomic(path: str | Path, data: bytes, *, absent: bool = False) -> bool:
    """Temp file + rename, so a crash leaves the old file or the new one, never half of one.

    A file that already holds exactly these bytes (a rerun) is left alone:
    that keeps its timestamp and saves the create and rename, which cost far
    more than the comparison on slow or busy disks.  Returns whether it wrote.
    ``absent``: the caller listed the folder and the file wasn't there, so
    the check is skipped.  Paths are handled as text: pathlib's ``with_name``
    cost more than the writing itself (a big run writes 5,000 drafts).  The
    temporary file is named by :func:`temp_prefix`, so if this process is
    killed the next run in the folder removes it.
    """
    if not absent:
        try:
            if os.stat(path).st_size == len(data):
                with open(path, "rb") as fh:
                    if fh.read() == data:
                        return False
        except OSError:
            pass
    head, sep, _tail = os.fspath(path).rpartition(os.sep)
    tmp = f"{head}{sep}{temp_prefix()}{next(_COUNTER)}{TEMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (another user's counts, a zombie too)."""
    if pid <= 0:
        return True  # 0 and negative numbers name process groups, never a run: not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False  # more than any pid can be
    return True


def sweep_temp_files(folder: str | Path, names: Iterable[str] | None = None) -> list[str]:
    """Remove the temporary files in ``folder`` left by sheetsync runs on this machine that are gone.

    A file is removed only when its name has this module's form, it was
    written on this host, and its pid names no live process.  A folder that
    can't be listed, or a file that can't be removed (or that another run
    swept first), is passed over: the sweep is housekeeping and never stops
    a run.  ``names``: the folder's listing, when the caller has just taken
    one (a drafts folder holds thousands of files).  Returns the names removed.
    """
    if names is None:
        try:
            names = os.listdir(folder)
        except OSError:
            return []
    host = host_tag()
    removed: list[str] = []
    for name in names:
        if not name.startswith(".~sheetsync-"):
            continue
        match = _TEMP.match(name)
        if match is None or match[2] != host or pid_alive(int(match[1])):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            continue
        removed.append(name)
    return removed
