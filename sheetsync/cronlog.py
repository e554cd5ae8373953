"""The ``--log-file`` of ``sheetsync sync``: one JSON line per run, for monitoring (see docs/cron.md).

A run that ends with a result logs its figures and counts
(:func:`success_record`), one that fails logs its exit code and message
(:func:`failure_record`); :func:`append` adds the line.  This module never
prints: a log file that can't be written is a warning the caller shows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run import Result

#: The figures a success line carries, by their ``--json`` keys.
FIGURES = ("won_this_period", "expected", "to_generate", "quota", "open_count", "weighted_pipeline")


def success_record(command: str, result: Result, seconds: float) -> dict[str, Any]:
    """The line for a run that ended with a result (exit 0 or 1)."""
    record: dict[str, Any] = {
        "time": _now(),
        "command": command,
        "source": result.source,
        "as_of": result.as_of.isoformat(),
        "exit_code": result.exit_code,
        "rows": len(result.rows),
        "errors": result.checked.errors,
        "warnings": result.checked.warnings,
        "seconds": round(seconds, 3),
    }
    if result.figures is not None:
        fj = result.figures.as_json()
        for key in FIGURES:
            record[key] = fj[key]
    if result.drafts is not None:
        record["drafts"] = result.drafts.counts()
    if result.warnings:
        record["run_warnings"] = result.warnings  # "warnings" counts the findings
    if result.errors:
        record["error"] = " | ".join(result.errors)  # Gmail refused drafts: exit 3, the run went on
    return record


def failure_record(
    command: str | None, source: str | None, as_of: str | None, exit_code: int, message: str
) -> dict[str, Any]:
    """The line for a run that failed before it had a result."""
    return {
        "time": _now(),
        "command": command,
        "source": source,
        "as_of": as_of,
        "exit_code": exit_code,
        "error": message,
    }


def log_file_argument(args: list[str]) -> Path | None:
    """``--log-file`` from raw arguments, for a run click refused before parsing them."""
    for i, arg in enumerate(args):
        if arg == "--log-file" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--log-file="):
            return Path(arg.split("=", 1)[1])
    return None


def append(path: Path, record: dict[str, Any]) -> str | None:
    """Add the line to ``path``; a warning to show when that fails, else None."""
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        return f"Warning: can't write the log file {path} ({exc.strerror})"
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
