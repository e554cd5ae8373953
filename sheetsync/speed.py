"""The switches that turn sheetsync's speed tricks off, and the one trick that is the whole process's: the collector.

Every speed trick lives beside the plain path it replaces and gives exactly
what the plain path gives (the tests compare the two).  ``SHEETSYNC_PLAIN``
turns tricks off, to compare a run with its plain path or to rule a trick
out: a comma-separated list of the names below, or ``all``.

========  ==========================================================  ====================================
name      the trick                                                   its plain path (and where it lives)
========  ==========================================================  ====================================
fork      a forked helper renders the last part of a big run's drafts  one process (drafts/parallel.py)
thread    templates compile in a thread while the sheet loads         compiled before the sheet is read
                                                                      (run.py)
jinja     templates render without Jinja copying their context        ``Template.render`` (drafts/render.py)
gc        the cyclic garbage collector kept off a run's objects       the collector as Python sets it
                                                                      (:func:`collector_off`, here)
reader    rows read a chunk at a time, column by column, with a memo  one cell at a time through the parser
          and one regex over a chunk of an email column               (model/reader.py)
scan      error cells found by ``bytes.find`` on their markers        whole-text searches of the sheet XML
                                                                      (sources/excel.py)
gmail     drafts go into up to four Gmail mailboxes at once           one draft after another
                                                                      (drafts/gmail_batch.py)
========  ==========================================================  ====================================

``SHEETSYNC_NO_FORK=1`` (the older switch) is ``SHEETSYNC_PLAIN=fork``.
This module reads the environment and sets the collector; it never changes
what a run computes or writes.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator

__all__ = ["NO_FORK_ENV", "PLAIN_ENV", "TRICKS", "collector_off", "plain"]

PLAIN_ENV = "SHEETSYNC_PLAIN"
#: Set to 1 to never fork: every run takes the one-process path.
NO_FORK_ENV = "SHEETSYNC_NO_FORK"
TRICKS = ("fork", "thread", "jinja", "gc", "reader", "scan", "gmail")


def plain(trick: str) -> bool:
    """Whether ``trick`` (one of :data:`TRICKS`) is switched off, so the run takes its plain path."""
    if trick == "fork" and os.environ.get(NO_FORK_ENV, "").strip() not in ("", "0"):
        return True
    names = {name.strip().casefold() for name in os.environ.get(PLAIN_ENV, "").split(",")}
    return trick in names or "all" in names


@contextlib.contextmanager
def collector_off(*, until_exit: bool = False) -> Iterator[None]:
    """The cyclic garbage collector off within the block: the one place sheetsync touches it.

    A big run builds ~1.5 million objects (rows, values, findings, entries)
    in one go, none of them in a reference cycle.  With the collector on,
    CPython scans them again and again as they accumulate: reading 100,000
    rows took three times as long.  After a run (``run.execute``) the
    collector is put back as it was.

    The console script passes ``until_exit``: one command, then the process
    ends.  It keeps the collector off to the end, since turned back on while
    the run's objects were alive its first collection would scan every one
    of them (~0.2 s at 100,000 rows), and freezes what is left
    (``gc.freeze``), so the collection the interpreter makes as it exits
    scans none of it.  Exiting normally this way costs ~6 ms more than
    ``os._exit`` did (docs/benchmarks.md); without the freeze, ~21 ms.
    """
    if plain("gc"):
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if until_exit:
            gc.freeze()
        elif was_enabled:
            gc.enable()
