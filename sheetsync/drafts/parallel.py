"""The one place sheetsync forks: a helper process that makes the last drafts of a big run, and dies with the run.

Rendering drafts is pure Python, so a thread can't use a second core; a
forked child can, with the rows, config and compiled templates already in its
memory.  :func:`start_helper` decides whether a run's drafts are worth a
helper and starts one; :func:`with_helper` is the two-process way of making
them, beside the one-process way it replaces (batch.py), and gives exactly
what that gives (tests/test_drafts_parallel.py).  ``SHEETSYNC_NO_FORK=1`` or
``SHEETSYNC_PLAIN=fork`` switches it off (speed.py).

:class:`Helper` is the process itself: it forks at once and ``prepare``s its
items (renders) while the parent does other work (writes the tabs),
``complete``s them (writes the files) only after :meth:`Helper.go`, and
sends back what ``pack`` makes of each result through a pipe.

A helper never outlives the run that made it (reference 9, Reliability):

- on Linux the kernel kills it when its parent dies (``PR_SET_PDEATHSIG``,
  set first thing after the fork); it then checks that its parent is still
  the process that forked it, since the parent may have died before that;
- before each item it checks its parent again, so it stops (and never
  writes another file) even where the kernel would not kill it;
- asked to stop (SIGINT or SIGTERM: a Ctrl-C reaches the whole process
  group, and :meth:`Helper.results` sends SIGTERM when the run is stopping),
  it finishes the item in hand and reports the items it completed, always a
  prefix of its list;
- it closes every descriptor it inherited but its two pipes, so a lock the
  parent holds is released when the parent releases it.

This module never writes a file itself (the maker's ``complete`` does, in
the helper) and never decides who is due.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, Generic, NoReturn, TypeVar

from .. import speed, stopping
from ..model.reader import Row
from ..speed import NO_FORK_ENV
from .maker import Built, Maker, Outcome
from .mime import Draft
from .output import DraftEntry

__all__ = [
    "HELPER_SHARE",
    "NO_FORK_ENV",
    "PARALLEL_MIN",
    "STOP_WAIT",
    "Helper",
    "possible",
    "start_helper",
    "with_helper",
]

#: Fewest due rows worth a helper process: forking a big run costs some 20-50 ms.
PARALLEL_MIN = 500
#: The helper's share of the drafts.  It starts first (while this process writes the
#: tabs, ~0.15 s at 100,000 rows) but is slower per draft: it copies each memory page
#: it writes to, and the two CPUs of the machines measured share a core's resources
#: (two busy processes each run ~45 % slower than one alone).  Measured at 100,000
#: rows: given half, the helper's outcomes reached this process 30-180 ms after it
#: finished its own drafts; given 46 %, 20-27 ms, about what sending them takes.
HELPER_SHARE = 0.46
#: Seconds a stopped helper gets to report what it completed before it is killed.
STOP_WAIT = 5.0

_PR_SET_PDEATHSIG = 1
_POLL = 0.1

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Done = TypeVar("Done")


def possible() -> bool:
    """A second CPU to use, and ``fork`` to use it safely (Linux, no other thread running), unless switched off."""
    if speed.plain("fork"):
        return False
    if sys.platform != "linux" or threading.active_count() != 1:
        return False
    return len(os.sched_getaffinity(0)) >= 2


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, loaded in the parent so the child can call it the moment it starts."""
    if sys.platform != "linux":
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    return fn


class Helper(Generic[Item, Prepared, Done]):
    """A forked copy of this process that prepares ``items`` now and completes them on :meth:`go`.

    ``prepare`` must not change anything outside the process; ``complete`` may
    (it writes files) and is only called after ``go``.  The parent gets
    ``pack(complete(prepare(item)))`` for a prefix of the items from
    :meth:`results`: all of them, unless the helper was stopped or failed.
    """

    def __init__(
        self,
        items: Sequence[Item],
        prepare: Callable[[Item], Prepared],
        complete: Callable[[Prepared], Done],
        pack: Callable[[Done], Any],
    ) -> None:
        self.items = items
        self._payload = bytearray()
        prctl = _prctl()
        parent = os.getpid()
        go_in, self._go = os.pipe()
        self._results, results_out = os.pipe()
        self.pid: int | None = os.fork()
        if self.pid == 0:
            _child(parent, prctl, items, prepare, complete, pack, go_in, results_out)  # never returns
        os.close(go_in)
        os.close(results_out)

    def go(self) -> None:
        """Let it complete (write) what it prepared."""
        os.write(self._go, b"g")
        os.close(self._go)
        self._go = -1

    def results(self) -> list[Any] | None:
        """The packed results of the items it completed (a prefix, normally all), or None if they are unknown.

        Waits for it to finish.  When the run is asked to stop meanwhile
        (:func:`stopping.requested`; the caller defers signals), it asks the
        helper to stop after the item in hand and returns what it completed;
        a helper that doesn't answer within :data:`STOP_WAIT` seconds is
        killed and its results are unknown.  None also when it failed before
        reporting or its report is garbled.
        """
        deadline: float | None = None
        poller = select.poll()
        if self._results >= 0:
            poller.register(self._results, select.POLLIN)
        while self._results >= 0:
            if deadline is None and stopping.requested():
                self._signal(signal.SIGTERM)
                deadline = time.monotonic() + STOP_WAIT
            timeout = _POLL if deadline is None else max(0.0, min(_POLL, deadline - time.monotonic()))
            if poller.poll(timeout * 1000):
                chunk = os.read(self._results, 1 << 16)
                if chunk:
                    self._payload += chunk
                    continue
                os.close(self._results)
                self._results = -1
            elif deadline is not None and time.monotonic() >= deadline:
                break
        self.kill()
        try:
            status, done = pickle.loads(self._payload)
        except Exception:  # killed mid-report: a truncated payload
            return None
        return done if status in ("ok", "stopped", "failed") and isinstance(done, list) else None

    def kill(self) -> None:
        """Stop it if it still runs (it wrote nothing unless told to go), and release everything."""
        self._signal(signal.SIGKILL)
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None
        for fd in (self._go, self._results):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._go = self._results = -1

    def _signal(self, signum: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signum)


def _child(
    parent: int,
    prctl: Callable[..., int] | None,
    items: Sequence[Any],
    prepare: Callable[[Any], Any],
    complete: Callable[[Any], Any],
    pack: Callable[[Any], Any],
    go_in: int,
    results_out: int,
) -> NoReturn:
    """The helper process: prepare, wait for go, complete, report; never returns into the caller."""
    try:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the kernel was told to kill us with it
            os._exit(0)
        stop = _StopFlag()
        low, high = sorted((go_in, results_out))
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, 1 << 16)
        status, done = "ok", []
        try:
            prepared = []
            for item in items:
                if stop.asked:
                    break
                if os.getppid() != parent:
                    os._exit(0)
                prepared.append(prepare(item))
            # Nothing is written unless the parent says go: end of file (the parent gone) means stop.
            if not stop.asked and os.read(go_in, 1) == b"g":
                for p in prepared:
                    if stop.asked:
                        break
                    if os.getppid() != parent:
                        os._exit(0)
                    done.append(pack(complete(p)))
            if len(done) < len(items):
                status = "stopped"
        except BaseException:
            status = "failed"
        payload = pickle.dumps((status, done), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(results_out, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(0)


class _StopFlag:
    """SIGINT and SIGTERM in the helper: finish the item in hand, then report."""

    def __init__(self) -> None:
        self.asked = False
        for signum in stopping.SIGNALS:
            signal.signal(signum, self._ask)

    def _ask(self, _signum: int, _frame: FrameType | None) -> None:
        self.asked = True


# ---------------------------------------------------------------- a run's drafts in two processes

DraftsHelper = Helper[tuple[Row, str], Outcome | Built, Outcome]


def start_helper(maker: Maker, todo: Sequence[tuple[Row, str]], limit: int | None) -> DraftsHelper | None:
    """A forked helper rendering the last drafts of ``todo``, when that is worth it and safe, else None."""
    if limit is not None or len(todo) < PARALLEL_MIN or not possible():
        return None  # with --limit a draft depends on the ones before it
    fmt = maker.fmt
    return Helper(
        todo[len(todo) - int(len(todo) * HELPER_SHARE) :],
        prepare=lambda item: maker.prepare(*item),
        complete=maker.complete,
        pack=lambda outcome: _fields(*outcome, fmt),
    )


def with_helper(
    maker: Maker, todo: Sequence[tuple[Row, str]], helper: DraftsHelper, progress: Callable[[int, int], None] | None
) -> list[Outcome]:
    """This process makes the first drafts while the helper writes the rest it has rendered.

    Each draft is made exactly as the one-process path makes it (no
    ``--limit``, so drafts don't depend on each other).  Whatever the helper
    did not complete (it failed, or was stopped on its own), this process
    makes itself, so the result, and any error, is what one process would
    have produced.  One difference remains: when making a draft raises here
    (a bug, not a template or write error, which are outcomes), the helper
    may already have written later drafts that one process would not have
    reached.  When the run is asked to stop, both stop between two drafts and
    the drafts neither reached are marked interrupted.
    """
    mine = len(todo) - len(helper.items)
    shown = 0

    def report(done: int) -> None:
        nonlocal shown
        if progress is not None and done > shown:
            shown = done
            progress(done, len(todo))

    helper.go()
    try:
        outcomes = _until_stopped(
            maker,
            todo[:mine],
            lambda done: report(min(len(todo) - 1, done * len(todo) // max(1, mine))),  # both halves at one pace
        )
        packed = helper.results()
    finally:
        helper.kill()
    theirs = [] if packed is None else _unpack(packed, maker)
    theirs += _until_stopped(maker, todo[mine + len(theirs) :], lambda _done: None)
    report(len(todo))
    return outcomes + theirs


def _until_stopped(maker: Maker, todo: Sequence[tuple[Row, str]], report: Callable[[int], None]) -> list[Outcome]:
    """Each due row's outcome as :meth:`Maker.outcome` makes it, until the run is asked to stop."""
    outcomes: list[Outcome] = []
    for done, (row, reason) in enumerate(todo, 1):
        if stopping.requested():
            outcomes.extend(maker.interrupted(row, reason) for row, reason in todo[done - 1 :])
            break
        outcomes.append(maker.outcome(row, reason))
        report(done)
    return outcomes


def _fields(e: DraftEntry, draft: Draft | None, fmt: str) -> tuple[tuple[Any, ...], bytes | None]:
    """An outcome as plain values for the pipe.

    Both sides know the run's drafts folder and Date, so a file travels as
    its name (unpickling a whole path costs more than joining the name).  The
    message itself travels only for an mbox, which the parent writes; an
    ``.eml`` is on disk already.
    """
    return (e.row, e.prospect, e.email, e.reason, e.status, e.name, e.subject, e.detail), (
        draft.data if draft is not None and fmt == "mbox" else None
    )


def _unpack(packed: list[Any], maker: Maker) -> list[Outcome]:
    """The helper's outcomes, as :func:`_fields` packed them."""
    out, date = maker.out, maker.date
    return [
        (
            DraftEntry(row, prospect, email, reason, state, name, subject, detail, out),
            None if data is None else Draft(data, date),
        )
        for (row, prospect, email, reason, state, name, subject, detail), data in packed
    ]
