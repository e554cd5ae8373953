"""What a workbook file was when sheetsync read it, to refuse a write-back over someone else's change.

Kept apart from :mod:`.xlsx_package` (the writer) so that opening a workbook
doesn't import the writer: a run imports it in the background while the sheet
loads (see ``ExcelBook.rows``), and a read-only command never does.
"""

from __future__ import annotations

import hashlib
import mmap
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


def fingerprint(path: Path) -> Fingerprint:
    """Fingerprint ``path`` as it is now; take it when reading, hand it to ``xlsx_package.write_tabs``."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise SourceError(f"can't read {path}: {exc.strerror or exc}") from exc
    return _made(st, digest)


def fingerprint_of(st: os.stat_result, content: mmap.mmap | bytes) -> Fingerprint:
    """The fingerprint of a file whose stat and whole content the caller already holds (the writer's check)."""
    return _made(st, hashlib.sha256(content).hexdigest())


def _made(st: os.stat_result, digest: str) -> Fingerprint:
    return Fingerprint(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, digest)
