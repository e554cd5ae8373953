"""The terminal side of the console script: the progress bar, and stdout/stderr that fail with one line and exit 2.

Part of the command-line edge, like cli.py (it prints with click): the
core never imports it.  :class:`Guarded` turns a failed write to stdout or
stderr — a full disk, a closed pipe — into :class:`OutputError`
(reference 9, Reliability); :func:`flush_output` ends a command's output and
gives its final exit status.  This module never runs a command or reads a
workbook.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from .errors import OutputError

#: The fewest drafts worth a progress bar.
PROGRESS_MIN = 200


@contextlib.contextmanager
def progress_bar() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long work, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < PROGRESS_MIN:
            return
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label="Writing drafts", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


def guard_output() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` raise :class:`OutputError` when a write fails."""
    sys.stdout = Guarded.wrap(sys.stdout, "stdout")
    sys.stderr = Guarded.wrap(sys.stderr, "stderr")


def flush_output(status: int) -> int:
    """Flush stdout and stderr; the exit status, 2 when the command was fine but its output could not be written.

    A stream that can't be written to is pointed at ``/dev/null``: what it
    still holds can't be delivered, and the interpreter flushes both streams
    again as it exits, which would otherwise fail and make the status 120.
    """
    try:
        sys.stdout.flush()
    except OutputError as exc:
        _silence(sys.stdout)
        if status in (0, 1):  # the command's own outcome was fine: the output is what failed
            status = exc.exit_code
            say(f"Error: {exc.message}")
    except ValueError:  # closed
        pass
    try:
        sys.stderr.flush()
    except OutputError:
        _silence(sys.stderr)
    except ValueError:
        pass
    return status


def say(line: str) -> None:
    """A last line on stderr, if stderr can still take one."""
    with contextlib.suppress(OutputError, OSError, ValueError):
        click.echo(line, err=True)


def exit_status(code: object) -> int:
    """``sys.exit``'s rules: None is 0, a number is itself, anything else is printed and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _silence(stream: Any) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


class Guarded:
    """``sys.stdout`` or ``sys.stderr``, whose failed writes raise :class:`OutputError`.

    Output is the last thing a command does and the one thing the user's
    shell decides: ``> /dev/full`` (ENOSPC), ``| head -1`` (EPIPE once head
    has gone).  Either used to end in a traceback, or in click's silent exit
    1 for a closed pipe.  Everything else is the stream's own.
    """

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name

    @classmethod
    def wrap(cls, stream: Any, name: str) -> Any:
        return stream if stream is None else cls(stream, name)

    def write(self, data: Any) -> int:
        try:
            return int(self._stream.write(data))
        except OSError as exc:
            raise output_error(self._name, exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise output_error(self._name, exc) from None

    @property
    def buffer(self) -> Any:
        """The binary stream under a text one (click writes bytes there), guarded the same way."""
        return Guarded(self._stream.buffer, self._name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._stream, attribute)


def output_error(name: str, exc: OSError) -> OutputError:
    """The one-line error for a failed write to ``stdout`` or ``stderr``."""
    if exc.errno in (errno.EPIPE, errno.ECONNRESET):
        return OutputError(f"{name} was closed before sheetsync finished writing (the program reading it stopped)")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return OutputError(f"can't write {name}: {exc.strerror} — free some disk space, or send the output elsewhere")
    return OutputError(f"can't write {name}: {exc.strerror or exc} — check where the output goes")
