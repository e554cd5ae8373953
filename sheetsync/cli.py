"""The command line: each command parses its options, calls one core function, prints the result.

The edge of sheetsync: it alone imports click, turns every
:class:`~sheetsync.errors.SheetsyncError` into ``Error: …`` and its exit
code, and (through console.py and cronlog.py) owns the terminal and the
``--log-file``.  It never computes anything itself.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__, console, cronlog, speed, stopping
from .config import Config, find_config, load_config
from .errors import SheetsyncError, Stopped

if TYPE_CHECKING:
    from .run import Result

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
    help="Google service-account or authorized-user JSON, for a Google Sheets source and for --to gmail.",
)
TO = click.option(
    "--to",
    type=click.Choice(["files", "gmail"]),
    help="Where drafts go: .eml/.mbox files in --out, or each sender's Gmail Drafts (default: [drafts] to, files).",
)
OUT = click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for drafts (default: drafts/)."
)
SOURCE = click.argument("source", required=False)


def _config_after(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--config`` after the command name means what it means before it (reference 2)."""
    if value is None:
        return
    before = ctx.obj.get("config_path")
    if before is not None and before != value:
        raise click.UsageError(f"--config is given twice ({before} and {value}) — give it once")
    ctx.obj["config_path"] = value


CONFIG = click.option(
    "--config",
    type=click.Path(dir_okay=True, path_type=str),
    expose_value=False,
    callback=_config_after,
    help="sheetsync.toml to use (also accepted before the command name).",
)


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
            ctx.obj.setdefault("log_file", cronlog.log_file_argument(ctx.meta.get("sheetsync.args", [])))
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


def _famine_style(text: str) -> str:
    """Famine months in the forecast strip, in red on a terminal (never in a pipe or --json)."""
    return click.style(text, fg="red", bold=True)


def _as_of(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _execute(ctx: click.Context, command: str, as_json: bool, verbose: bool = False, **options: Any) -> None:
    """Run the command's steps (run.execute) and print the result; the exit code is the result's."""
    # Imported here, not at the top: --help, --version and init don't pay for the run's imports.
    from .report import as_json as to_json
    from .report import problem_lines, run_text
    from .run import Options, execute, today

    config = _config(ctx)
    opts = Options(**options)
    ctx.obj["source"] = opts.source or config.source
    ctx.obj["as_of"] = (opts.as_of or today(config)).isoformat()
    with console.progress_bar() as progress:
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
        click.echo(run_text(result, command, verbose, _famine_style if sys.stdout.isatty() else None))
    for error in result.errors:  # what Gmail refused: the run went on without it, and exits 3
        click.echo(f"Error: {error}", err=True)
    ctx.obj["result"] = result
    code = result.exit_code
    _log_success(ctx, command, result)
    ctx.exit(code)


@cli.command()
@SOURCE
@CONFIG
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
@CONFIG
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
@CONFIG
@AS_OF
@OUT
@click.option("--format", "fmt", type=click.Choice(["eml", "mbox"]), help="One .eml per draft, or one drafts.mbox.")
@TO
@click.option("--limit", type=click.IntRange(min=0), help="Make at most N drafts, the most urgent first.")
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
    to: str | None,
    limit: int | None,
    as_json: bool,
    dry_run: bool,
    credentials: Path | None,
) -> None:
    """Render follow-up email drafts for every prospect that is due.

    \b
    Examples:
        sheetsync drafts pipeline.xlsx --as-of 2026-11-27 --out drafts
        sheetsync drafts pipeline.xlsx --to gmail --credentials sa.json
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
        to=to,
        limit=limit,
        dry_run=dry_run,
        credentials=credentials,
    )


@cli.command()
@SOURCE
@CONFIG
@AS_OF
@OUT
@TO
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
    to: str | None,
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
        to=to,
        dry_run=dry_run,
        credentials=credentials,
    )


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--from",
    "workbook",
    metavar="WORKBOOK",
    help="Set up for a workbook you already have (a path, a Google Sheets URL or gsheet:KEY): no sample is written.",
)
@CONFIG
@CREDENTIALS
@click.pass_context
def init(ctx: click.Context, directory: Path | None, workbook: str | None, credentials: Path | None) -> None:
    """Write a commented sheetsync.toml and a templates/ folder into DIRECTORY, with a sample workbook,
    or, with --from, a config for your own workbook.

    Existing files are never overwritten.  With --config FILE the config is
    written there (DIRECTORY then defaults to its folder).

    \b
    Examples:
        sheetsync init --from Deals.xlsx
        sheetsync init my-pipeline && cd my-pipeline && sheetsync sync
    """
    from .init import init_from, init_project

    config_path = ctx.obj.get("config_path")
    config_file = Path(config_path) if config_path else None
    folder = directory or (config_file.parent if config_file is not None else Path("."))
    if workbook is not None:
        setup = init_from(workbook, folder, config_file, credentials)
    else:
        setup = init_project(folder, config_file)
    for line in setup.found:
        click.echo(line)
    for path, written in setup.files:
        click.echo(f"{'wrote  ' if written else 'kept   '} {path}" + ("" if written else " (already there)"))
    click.echo("\nNext:")
    for step in setup.next_steps:
        click.echo(f"  {step}")


# ---------------------------------------------------------------- cron log


def _log_success(ctx: click.Context, command: str, result: Result) -> None:
    log_file = ctx.obj.get("log_file")
    if log_file:
        seconds = time.monotonic() - ctx.obj.get("started", time.monotonic())
        _append_log(log_file, cronlog.success_record(command, result, seconds))


def _log_failure(ctx: click.Context, exit_code: int, message: str) -> None:
    obj = ctx.obj or {}
    log_file = obj.get("log_file")
    if log_file:
        record = cronlog.failure_record(ctx.invoked_subcommand, obj.get("source"), obj.get("as_of"), exit_code, message)
        _append_log(log_file, record)


def _append_log(path: Path, record: dict[str, Any]) -> None:
    warning = cronlog.append(path, record)
    if warning is not None:
        click.echo(warning, err=True)


def main() -> NoReturn:
    """The console script: one command, then the process ends.

    Only the console script stops cleanly on SIGINT and SIGTERM (exit 130
    and 143, see stopping.py), turns a failed write to stdout or stderr (a
    full disk, a closed pipe) into one line and exit 2 (console.py), and
    keeps the cyclic collector off for the whole command and frozen at its
    end (speed.collector_off); ``cli`` called in-process (tests, CliRunner)
    keeps Python's own handling and the collector as it was.
    """
    stopping.install()
    console.guard_output()
    with speed.collector_off(until_exit=True):
        try:
            cli(prog_name="sheetsync")
            status = 0  # click always ends with SystemExit; this is for form
        except SystemExit as exc:
            status = console.exit_status(exc.code)
        except (SheetsyncError, Stopped) as exc:  # failed outside a command, or while reporting another failure
            status = exc.exit_code
            console.say(f"Error: {exc.message}")
        status = console.flush_output(status)
    sys.exit(status)
