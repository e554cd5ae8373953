"""The command line: parse options, call one core function, print the result."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, stopping
from .config import Config, find_config, load_config
from .errors import OutputError, SheetsyncError, Stopped

AS_OF = click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Treat this day (YYYY-MM-DD) as today. Default: today in the configured time zone.",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print the machine-readable result on stdout only.")
DRY_RUN = click.option("--dry-run", is_flag=True, help="Compute and print everything, write nothing.")
CREDENTIALS = click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Google service-account or authorized-user JSON (Google Sheets sources only).",
)
OUT = click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for drafts (default: drafts/)."
)
SOURCE = click.argument("source", required=False)


class SheetsyncGroup(click.Group):
    """Turns every SheetsyncError (and a run stopped by a signal) into ``Error: …`` on stderr and its exit code.

    The one place that does, but for what fails outside a command (``--help``
    into a full disk), which :func:`main` reports the same way.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["sheetsync.args"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SheetsyncError, Stopped) as exc:
            _log_failure(ctx, exc.exit_code, exc.message)
            click.echo(f"Error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except click.UsageError as exc:
            # A bad option stops click before the command runs; cron still wants its log line.
            ctx.obj = ctx.obj or {}
            ctx.obj.setdefault("log_file", _log_file_argument(ctx.meta.get("sheetsync.args", [])))
            _log_failure(ctx, exc.exit_code, exc.format_message())
            raise


@click.group(cls=SheetsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sheetsync")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=True, path_type=str),
    help="sheetsync.toml to use (default: ./sheetsync.toml when present, or $SHEETSYNC_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Keep a sales pipeline spreadsheet qualified, summarised and followed up.

    \b
    Example:
        sheetsync sync pipeline.xlsx --as-of 2026-11-27
    """
    ctx.obj = {"config_path": config_path}


def _config(ctx: click.Context) -> Config:
    path = find_config(ctx.obj["config_path"])
    return load_config(path)


def _as_of(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long work, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < 200:
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


def _execute(ctx: click.Context, command: str, as_json: bool, verbose: bool = False, **options: Any) -> None:
    from .report import as_json as to_json
    from .report import problem_lines, run_text
    from .run import Options, execute, today

    config = _config(ctx)
    opts = Options(**options)
    ctx.obj["source"] = opts.source or config.source
    ctx.obj["as_of"] = (opts.as_of or today(config)).isoformat()
    with _progress() as progress:
        result = execute(config, opts, progress=progress)
    for warning in result.warnings:  # on stderr in every mode, cron's included
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        click.echo(to_json(result, command))
    elif command == "sync" and not verbose and not sys.stdout.isatty():
        # cron: silent unless something needs a person; that goes to stderr
        for line in problem_lines(result):
            click.echo(line, err=True)
    else:
        click.echo(run_text(result, command))
    ctx.obj["result"] = result
    code = result.exit_code
    _log_success(ctx, command, result)
    ctx.exit(code)


@cli.command()
@SOURCE
@AS_OF
@JSON
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@CREDENTIALS
@click.pass_context
def validate(
    ctx: click.Context,
    source: str | None,
    as_of: dt.datetime | None,
    as_json: bool,
    strict: bool,
    credentials: Path | None,
) -> None:
    """Check every row against the qualification rules.

    Exit 0 when there is no error, 1 when there is (any finding with --strict).

    \b
    Example:
        sheetsync validate pipeline.xlsx --as-of 2026-11-27
    """
    _execute(ctx, "validate", as_json, source=source, as_of=_as_of(as_of), strict=strict, credentials=credentials)


@cli.command()
@SOURCE
@AS_OF
@JSON
@DRY_RUN
@CREDENTIALS
@click.pass_context
def summary(
    ctx: click.Context,
    source: str | None,
    as_of: dt.datetime | None,
    as_json: bool,
    dry_run: bool,
    credentials: Path | None,
) -> None:
    """Compute the figures and write the Summary, Checks and History tabs.

    \b
    Example:
        sheetsync summary pipeline.xlsx --as-of 2026-11-27 --dry-run
    """
    _execute(
        ctx,
        "summary",
        as_json,
        source=source,
        as_of=_as_of(as_of),
        summary=True,
        dry_run=dry_run,
        credentials=credentials,
    )


@cli.command()
@SOURCE
@AS_OF
@OUT
@click.option("--format", "fmt", type=click.Choice(["eml", "mbox"]), help="One .eml per draft, or one drafts.mbox.")
@click.option("--limit", type=click.IntRange(min=0), help="Write at most N drafts.")
@JSON
@DRY_RUN
@CREDENTIALS
@click.pass_context
def drafts(
    ctx: click.Context,
    source: str | None,
    as_of: dt.datetime | None,
    out: Path | None,
    fmt: str | None,
    limit: int | None,
    as_json: bool,
    dry_run: bool,
    credentials: Path | None,
) -> None:
    """Render follow-up email drafts for every prospect that is due.

    \b
    Example:
        sheetsync drafts pipeline.xlsx --as-of 2026-11-27 --out drafts
    """
    _execute(
        ctx,
        "drafts",
        as_json,
        source=source,
        as_of=_as_of(as_of),
        drafts=True,
        out=out,
        format=fmt,
        limit=limit,
        dry_run=dry_run,
        credentials=credentials,
    )


@cli.command()
@SOURCE
@AS_OF
@OUT
@JSON
@DRY_RUN
@CREDENTIALS
@click.option("-v", "--verbose", is_flag=True, help="Print the full report even when not on a terminal.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append one JSON line per run (figures, counts, exit code) for monitoring.",
)
@click.pass_context
def sync(
    ctx: click.Context,
    source: str | None,
    as_of: dt.datetime | None,
    out: Path | None,
    as_json: bool,
    dry_run: bool,
    credentials: Path | None,
    verbose: bool,
    log_file: Path | None,
) -> None:
    """Validate, write the tabs and render drafts in one run — the command cron runs.

    On a terminal it prints the full report; otherwise (cron) only warnings
    and errors, on stderr, unless --verbose.

    \b
    Example:
        sheetsync sync pipeline.xlsx --as-of 2026-11-27 --out drafts
    """
    ctx.obj["log_file"] = log_file
    ctx.obj["started"] = time.monotonic()
    _execute(
        ctx,
        "sync",
        as_json,
        verbose,
        source=source,
        as_of=_as_of(as_of),
        summary=True,
        drafts=True,
        out=out,
        dry_run=dry_run,
        credentials=credentials,
    )


@cli.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Write a commented sheetsync.toml, a templates/ folder and a sample workbook into DIRECTORY.

    Existing files are never overwritten.

    \b
    Example:
        sheetsync init my-pipeline && cd my-pipeline && sheetsync sync
    """
    from .init import init_project

    for path, written in init_project(directory):
        click.echo(f"{'wrote  ' if written else 'kept   '} {path}" + ("" if written else " (already there)"))


# ---------------------------------------------------------------- cron log


def _log_success(ctx: click.Context, command: str, result: Any) -> None:
    log_file = ctx.obj.get("log_file")
    if not log_file:
        return
    figures = result.figures
    record: dict[str, Any] = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "source": result.source,
        "as_of": result.as_of.isoformat(),
        "exit_code": result.exit_code,
        "rows": len(result.rows),
        "errors": result.checked.errors,
        "warnings": result.checked.warnings,
        "seconds": round(time.monotonic() - ctx.obj.get("started", time.monotonic()), 3),
    }
    if figures is not None:
        fj = figures.as_json()
        for key in ("won_this_period", "expected", "to_generate", "quota", "open_count", "weighted_pipeline"):
            record[key] = fj[key]
    if result.drafts is not None:
        record["drafts"] = result.drafts.counts()
    if result.warnings:
        record["run_warnings"] = result.warnings  # "warnings" counts the findings
    _append_log(log_file, record)


def _log_failure(ctx: click.Context, exit_code: int, message: str) -> None:
    obj = ctx.obj or {}
    log_file = obj.get("log_file")
    if log_file:
        _append_log(
            log_file,
            {
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "command": ctx.invoked_subcommand,
                "source": obj.get("source"),
                "as_of": obj.get("as_of"),
                "exit_code": exit_code,
                "error": message,
            },
        )


def _log_file_argument(args: list[str]) -> Path | None:
    """``--log-file`` from raw arguments, for a run click refused before parsing them."""
    for i, arg in enumerate(args):
        if arg == "--log-file" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--log-file="):
            return Path(arg.split("=", 1)[1])
    return None


def _append_log(path: Path, record: dict[str, Any]) -> None:
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        click.echo(f"Warning: can't write the log file {path} ({exc.strerror})", err=True)


def main() -> NoReturn:
    """The console script: one command, then the process ends.

    The cyclic collector stays off for the whole command, not only during
    ``run.execute``: a big run's ~1.5 million objects were all created while
    it was off, so the first collection after turning it back on scanned
    every one of them (~0.2 s at 100,000 rows).  And the process ends with
    ``os._exit`` once the output is flushed, as nothing is left to do but
    free memory the kernel takes back anyway: freeing those objects one by
    one and tearing the interpreter down took another ~0.05 s.  Every file
    the command writes is closed by then, and sheetsync registers no
    ``atexit`` work.  Only the console script does this; ``cli`` called
    in-process (tests, CliRunner) keeps the collector as it was.

    Only the console script, too, stops cleanly on SIGINT and SIGTERM
    (exit 130 and 143, see stopping.py) and turns a failed write to stdout
    or stderr (a full disk, a closed pipe) into one line and exit 2.
    """
    gc.disable()
    stopping.install()
    sys.stdout = _Guarded.wrap(sys.stdout, "stdout")
    sys.stderr = _Guarded.wrap(sys.stderr, "stderr")
    try:
        cli(prog_name="sheetsync")
        status = 0  # click always ends with SystemExit; this is for form
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except (SheetsyncError, Stopped) as exc:  # failed outside a command, or while reporting another failure
        status = exc.exit_code
        _say(f"Error: {exc.message}")
    try:
        sys.stdout.flush()
    except OutputError as exc:
        if status in (0, 1):  # the command's own outcome was fine: the output is what failed
            status = exc.exit_code
            _say(f"Error: {exc.message}")
    except ValueError:  # closed
        pass
    with contextlib.suppress(OutputError, ValueError):
        sys.stderr.flush()
    os._exit(status)


def _say(line: str) -> None:
    """A last line on stderr, if stderr can still take one."""
    with contextlib.suppress(OutputError, OSError, ValueError):
        click.echo(line, err=True)


class _Guarded:
    """``sys.stdout`` or ``sys.stderr``, whose failed writes raise :class:`OutputError` (SPEC 10.5).

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
            raise _output_error(self._name, exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _output_error(self._name, exc) from None

    @property
    def buffer(self) -> Any:
        """The binary stream under a text one (click writes bytes there), guarded the same way."""
        return _Guarded(self._stream.buffer, self._name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._stream, attribute)


def _output_error(name: str, exc: OSError) -> OutputError:
    if exc.errno in (errno.EPIPE, errno.ECONNRESET):
        return OutputError(f"{name} was closed before sheetsync finished writing (the program reading it stopped)")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return OutputError(f"can't write {name}: {exc.strerror} — free some disk space, or send the output elsewhere")
    return OutputError(f"can't write {name}: {exc.strerror or exc} — check where the output goes")


def _exit_status(code: object) -> int:
    """``sys.exit``'s rules: None is 0, a number is itself, anything else is printed and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
