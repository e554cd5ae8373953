"""Temporary files beside a workbook, named for the run that made them, and the sweep of dead runs' leftovers.

A write-back builds the new workbook in ``.~sheetsync-<host>-<pid>-<random>.tmp``
beside the old one and renames it into place.  A run killed in between (power
cut, ``kill -9``) leaves that file behind; the next write-back in the same
folder removes it once the process named in it is gone.  It never touches a
file of a run that is still alive, one made on another host (a shared folder:
that pid means nothing here), one it can't parse (made by an older version),
or anything else — run locks (``.~sheetsync-<name>.lock``) included.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
from pathlib import Path

PREFIX = ".~sheetsync-"
SUFFIX = ".tmp"
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


def host_tag() -> str:
    """This machine's name as it goes into a file name (no separators, no spaces, not too long)."""
    return _UNSAFE.sub("_", socket.gethostname())[:64] or "localhost"


def temp_file(folder: Path) -> tuple[int, Path]:
    """A new, empty temporary file in ``folder`` named for this process: (open fd, path).

    ``OSError`` (a read-only folder, a full disk) passes through.
    """
    head = f"{PREFIX}{host_tag()}-{os.getpid()}-"
    while True:
        path = folder / f"{head}{secrets.token_hex(4)}{SUFFIX}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
        return fd, path


def owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of the run that made the temporary file called ``name``; None when it isn't one of ours."""
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return None
    fields = name[len(PREFIX) : -len(SUFFIX)].rsplit("-", 2)
    if len(fields) != 3:
        return None
    host, pid, token = fields
    if not host or not pid.isascii() or not pid.isdigit() or len(token) != 8:
        return None
    try:
        int(token, 16)
    except ValueError:
        return None
    return host, int(pid)


def alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (one we may not signal still counts)."""
    if pid <= 0:
        return True  # never ours to judge: 0 and negatives name process groups
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False  # no such pid can exist
    return True


def sweep_dead_temp_files(folder: Path) -> list[Path]:
    """Remove the temporary files in ``folder`` whose run (on this host) is no longer alive; return them."""
    here = host_tag()
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed  # the write that follows reports an unreadable folder properly
    for name in names:
        made_by = owner(name)
        if made_by is None or made_by[0] != here or made_by[1] == os.getpid() or alive(made_by[1]):
            continue
        path = folder / name
        with contextlib.suppress(OSError):  # gone already (another run swept it), or not ours to remove
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
    return removed
