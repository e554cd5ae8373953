"""One exception hierarchy; each class carries the exit code of reference section 2.

The CLI turns any ``SheetsyncError``, and a run ``Stopped`` by a signal, into
``Error: <message>`` on stderr and exits with ``exit_code``; nothing else in
the package prints or exits (but for stopping.py's line when a second signal
ends a stopping run at once).
"""

from __future__ import annotations


class SheetsyncError(Exception):
    """A failure the user can act on."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(SheetsyncError):
    """Bad option, bad config, unreadable or unsupported source, missing tab or column (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A problem in sheetsync.toml; the message names the key."""


class SourceError(UsageError):
    """The source can't be opened or read as a pipeline."""


class TemplateError(UsageError):
    """A template folder or template file that can't be used (syntax error, missing folder)."""


class RemoteError(SheetsyncError):
    """Google unreachable, permission denied, not found, quota exhausted (exit 3)."""

    exit_code = 3


class WriteRefused(SheetsyncError):
    """The write-back was refused to keep the user's data safe (exit 4)."""

    exit_code = 4


class OutputError(UsageError):
    """stdout or stderr can't be written: a full disk, or a closed pipe (exit 2, reference 9)."""


class Stopped(BaseException):
    """SIGINT or SIGTERM asked the run to stop (exit 130 / 143, reference 2 and 9).

    Not a ``SheetsyncError`` and not even an ``Exception``: no ``except
    Exception`` on the way up may swallow it.  Code that stops cleanly on it
    (the drafts write their manifest) raises a new one with ``message`` saying
    what was done.
    """

    def __init__(self, signum: int, message: str | None = None) -> None:
        import signal

        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        self.message = message or (
            f"stopped by {self.signal_name} — run again (every file sheetsync writes is written whole or not at all)"
        )
        super().__init__(self.message)
