"""A workbook file read into memory, and what it was when read (to refuse a write over someone else's change).

The file is read whole, once, with ``read()``; never mapped.  A mapped file
that another program truncates kills the reader with SIGBUS the moment it
touches a page past the new end; bytes in memory can only be short or
stale, which the size check and the fingerprint turn into a clear message.

Kept apart from :mod:`.ooxml.write` (the writer) so that opening a workbook
doesn't import the writer: a run imports it in the background while the sheet
loads (see ``ExcelBook.rows``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the workbook file was when sheetsync read it.

    The digest catches edits that keep size and modification time (a restore
    with ``cp -p``, a sync tool preserving times); the stat fields make the
    common case (saved in Excel) obvious in a debugger.
    """

    size: int
    mtime_ns: int
    inode: int
    device: int
    digest: str


def read_whole(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes and its stat taken before reading them; ``OSError`` passes through.

    ``len(data) != st.st_size`` means another program changed the file while
    it was read (see :func:`changed_while_read`).
    """
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        data = f.read()
    return data, st


def changed_while_read(data: bytes, st: os.stat_result) -> bool:
    return len(data) != st.st_size


def snapshot(path: Path) -> tuple[bytes, Fingerprint]:
    """Read ``path`` once: its bytes, and the fingerprint to hand to ``ooxml.write.write_tabs``."""
    try:
        data, st = read_whole(path)
    except OSError as exc:
        raise SourceError(f"{path} can't be read ({exc.strerror or exc}) — check its permissions") from None
    if changed_while_read(data, st):
        raise SourceError(
            f"{path} changed while sheetsync was reading it (another program is writing it?) — "
            "wait until it is saved and run again"
        )
    return data, fingerprint_of(st, data)


def fingerprint(path: Path) -> Fingerprint:
    """Fingerprint ``path`` as it is now."""
    return snapshot(path)[1]


def fingerprint_of(st: os.stat_result, content: bytes) -> Fingerprint:
    """The fingerprint of a file whose stat and whole content the caller already holds."""
    return Fingerprint(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, hashlib.sha256(content).hexdigest())
