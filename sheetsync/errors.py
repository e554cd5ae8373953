"""One exception hierarchy; each class carries the exit code of SPEC section 2.

The CLI turns any ``SheetsyncError`` into ``Error: <message>`` on stderr and
exits with ``exit_code``; nothing else in the package prints or exits.
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
