"""SIGINT and SIGTERM stop a run cleanly (reference 9): where a signal interrupts, and where it only asks.

The console script calls :func:`install`; ``cli`` called in-process (tests,
another program) keeps Python's own handling.  Once installed, a signal
raises :class:`~sheetsync.errors.Stopped` wherever the run is: reading,
checking and computing are simply abandoned, and the workbook is written
whole or not at all whatever the moment (the write is a rename).  Inside
:func:`deferred` — the drafts loops — a signal is only recorded: the loop
sees :func:`requested` between two drafts and stops there, so the manifest
lists exactly the drafts written.  A second signal ends the process at once
(the drafts helper dies with it; a temporary file it leaves is removed by
the next run).

This module never forks, writes files or prints, apart from that one line
on stderr when a second signal ends the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from types import FrameType

from .errors import Stopped

__all__ = ["SIGNALS", "deferred", "install", "requested"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received = 0  # the first signal's number, 0 while none came
_deferring = 0


def install() -> None:
    """Make SIGINT and SIGTERM stop the run cleanly (the console script's first step)."""
    global _received, _deferring
    _received = _deferring = 0
    for signum in SIGNALS:
        signal.signal(signum, _handler)


def _handler(signum: int, _frame: FrameType | None) -> None:
    global _received
    if _received:
        name = signal.Signals(signum).name
        with contextlib.suppress(OSError):
            os.write(2, f"Error: stopped at once by a second {name}\n".encode())
        os._exit(128 + signum)
    _received = signum
    if not _deferring:
        raise Stopped(signum)


def requested() -> int:
    """The number of the signal that asked the run to stop, or 0."""
    return _received


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within this block a signal is only recorded; the code polls :func:`requested` at safe points.

    Leaving the block normally with a signal recorded raises ``Stopped``, so
    a signal is never lost by code that forgot to look.
    """
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _received and not _deferring:
        raise Stopped(_received)
