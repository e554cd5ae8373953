"""The one place sheetsync forks: a helper process that does the tail of a list of work, and dies with the run.

Rendering drafts is pure Python, so a thread can't use a second core; a
forked child can, with the rows, config and compiled templates already in its
memory.  :class:`Helper` forks at once and ``prepare``s its items (renders)
while the parent does other work (writes the tabs), ``complete``s them
(writes the files) only after :meth:`Helper.go`, and sends back what
``pack`` makes of each result through a pipe.

A helper never outlives the run that made it (SPEC 10.5):

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

This module knows nothing about drafts; it never writes a file itself.
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

from . import stopping

__all__ = ["NO_FORK_ENV", "STOP_WAIT", "Helper", "possible"]

#: Set to 1 to never fork: every run takes the one-process path (to compare, or to rule the helper out).
NO_FORK_ENV = "SHEETSYNC_NO_FORK"
#: Seconds a stopped helper gets to report what it completed before it is killed.
STOP_WAIT = 5.0

_PR_SET_PDEATHSIG = 1
_POLL = 0.1

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Done = TypeVar("Done")


def possible() -> bool:
    """A second CPU to use, and ``fork`` to use it safely (Linux, no other thread running), unless switched off."""
    if os.environ.get(NO_FORK_ENV, "").strip() not in ("", "0"):
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
