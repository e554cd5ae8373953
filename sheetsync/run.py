"""One run: read the source once → check → figures → grids/drafts → write once.

Every command (validate, summary, drafts, sync) is this run with some steps
switched off, so they agree on every number by construction.  :func:`execute`
reads as the flow; the lock, the templates' thread, the drafts helper, the
cancel path and the writability check are each behind a function with a
plain name.  This module never parses a cell, renders a template or builds
a tab itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from . import speed, tabs
from .background import Background
from .config import Config
from .errors import SourceError, UsageError, WriteRefused
from .figures import Figures, compute
from .grid import MARKER, Grid
from .model.fields import Layout
from .model.quotas import Quotas, read_quotas
from .model.reader import Row, read_rows
from .model.values import Value
from .rules import Checked, check
from .sources import is_google, open_book
from .sources.base import Book, find_title

if TYPE_CHECKING:  # drafts (and jinja2 with it) is imported by the templates' thread, off the main one
    from .drafts import DraftsResult, PendingDrafts, Templates

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Options:
    source: str | None = None
    as_of: dt.date | None = None
    summary: bool = False  # compute figures and (unless dry_run) write the tabs
    drafts: bool = False  # render drafts (and unless dry_run write them)
    dry_run: bool = False
    strict: bool = False
    out: Path | None = None
    format: str | None = None
    limit: int | None = None
    credentials: Path | None = None
    to: str | None = None  # where drafts go: "files" or "gmail" (default: [drafts] to)


@dataclass(slots=True)
class Result:
    source: str
    as_of: dt.date
    rows: list[Row]
    layout: Layout
    checked: Checked
    quotas: Quotas | None = None
    figures: Figures | None = None
    drafts: DraftsResult | None = None
    written_tabs: list[str] = field(default_factory=list)
    strict: bool = False
    warnings: list[str] = field(default_factory=list)  # what the write-back wants the user to know

    @property
    def errors(self) -> list[str]:
        """Remote failures the run went on past (a Gmail mailbox that refused): one ``Error:`` line each."""
        return self.drafts.errors if self.drafts is not None else []

    @property
    def exit_code(self) -> int:
        """0, 1 when the data has problems, 3 when Gmail refused drafts (reference 2)."""
        if self.errors:
            return 3
        if self.checked.errors or (self.strict and self.checked.warnings):
            return 1
        if self.drafts is not None and self.drafts.failed:
            return 1
        return 0


def today(config: Config) -> dt.date:
    tz = ZoneInfo(config.timezone) if config.timezone else None
    return dt.datetime.now(tz).date()


def resolve_source(config: Config, source: str | None) -> str:
    chosen = source or config.source
    if not chosen:
        raise UsageError(
            "no source given — pass a workbook path or a Google Sheets URL, "
            "or set `source` in sheetsync.toml (see `sheetsync init`)"
        )
    return chosen


def execute(config: Config, opts: Options, progress: Progress | None = None) -> Result:
    """Run the steps ``opts`` asks for, with the garbage collector off meanwhile (speed.collector_off)."""
    with speed.collector_off():
        return _execute(config, opts, progress)


def _execute(config: Config, opts: Options, progress: Progress | None) -> Result:
    source = resolve_source(config, opts.source)
    as_of = opts.as_of or today(config)
    writes_tabs = opts.summary and not opts.dry_run
    templates = TemplatesMeanwhile(config) if opts.drafts else None
    with _template_error_first(templates), _lock(source, writes_tabs), _opened(source, config, opts) as book:
        if templates is not None:
            templates.start()
        if writes_tabs:
            book.check_writable()  # the backend's "can't write this format" before any work
        result = _read_and_check(book, config, source, as_of, opts)
        if opts.summary:
            # Before the drafts helper is forked, not while it runs: the figures read every
            # row, and after the fork each memory page they touch is copied (see drafts/parallel.py).
            result.figures = compute(
                result.rows, result.checked, config, as_of, result.quotas, "closed_on" in result.layout.columns
            )
        # A template error stops us here, before anything is written.
        drafts = _start_drafts(result, config, opts, templates.result()) if templates is not None else None
        with _cancelled_on_error(drafts):
            if drafts is not None:
                drafts.check()  # a bad --out or unusable Gmail credentials stop us before the write
            if writes_tabs:
                _write_tabs(book, result, config, opts)
    if drafts is not None:
        result.drafts = drafts.finish(progress)  # after the tabs are written and the lock is released
        result.warnings.extend(result.drafts.warnings)
    return result


def _read_and_check(book: Book, config: Config, source: str, as_of: dt.date, opts: Options) -> Result:
    titles = book.titles()
    title = find_title(titles, config.tabs.pipeline)
    if title is None:
        raise SourceError(
            f"{book.location} has no {config.tabs.pipeline!r} tab (tabs found: {', '.join(titles) or 'none'}) "
            '— rename your pipeline tab, or set [tabs] pipeline = "<its name>" in sheetsync.toml '
            f"(`sheetsync init --from {source}` writes a sheetsync.toml for this workbook)"
        )
    layout, rows = read_rows(title, book.rows(title), config)
    quotas = _quotas(book, config)
    checked = check(rows, layout, config, as_of, quotas)
    return Result(source, as_of, rows, layout, checked, quotas=quotas, strict=opts.strict)


def _quotas(book: Book, config: Config) -> Quotas | None:
    title = find_title(book.titles(), config.tabs.quotas)
    return None if title is None else read_quotas(title, book.rows(title), config)


def _write_tabs(book: Book, result: Result, config: Config, opts: Options) -> None:
    """Summary, Checks and History into the source, once every check has passed."""
    grids = _grids(book, result, config)
    result.warnings.extend(book.write(grids))
    result.written_tabs = [g.title for g in grids]


def _grids(book: Book, result: Result, config: Config) -> list[Grid]:
    """The three tabs, after checking that any existing one is ours (reference 7.1)."""
    assert result.figures is not None
    titles = book.titles()
    history_rows: list[list[Value]] = []
    for wanted in (config.tabs.summary, config.tabs.checks, config.tabs.history):
        title = find_title(titles, wanted)
        if title is None:
            continue
        rows = [values for _n, values in book.rows(title)]
        first = rows[0] if rows else []
        if wanted == config.tabs.history:
            header = [str(v).strip().casefold() for v in first[: len(tabs.HISTORY_MARK)]]
            ours = header == [h.casefold() for h in tabs.HISTORY_MARK]
            history_rows = rows[1:]
        else:
            ours = bool(first) and isinstance(first[0], str) and first[0].startswith(MARKER)
        if not ours and rows:
            raise WriteRefused(
                f"{book.location} already has a {title!r} tab that sheetsync did not create — nothing was written. "
                f'Rename that tab, or set [tabs] {_tab_key(config, wanted)} = "<another name>" in sheetsync.toml'
            )
    return [
        tabs.summary_grid(result.figures, config, history_rows),
        tabs.checks_grid(result.checked.findings, result.as_of, config),
        tabs.history_grid(result.figures, history_rows, config),
    ]


def _tab_key(config: Config, wanted: str) -> str:
    for key in ("summary", "checks", "history"):
        if getattr(config.tabs, key) == wanted:
            return key
    return "summary"


# ---------------------------------------------------------------- the steps behind plain names


@contextlib.contextmanager
def _opened(source: str, config: Config, opts: Options) -> Iterator[Book]:
    """The source, open for the run's one read (and one write), closed whatever happens."""
    book = open_book(
        source,
        wanted=[config.tabs.pipeline, config.tabs.quotas, config.tabs.summary, config.tabs.checks, config.tabs.history],
        credentials=opts.credentials or config.google.credentials,
        endpoint=config.google.endpoint,
    )
    try:
        yield book
    finally:
        book.close()


@contextlib.contextmanager
def _lock(source: str, writes: bool) -> Iterator[None]:
    """Two runs writing one workbook, or one Google Sheet from this machine, never interleave (reference 7.2, 7.3)."""
    if not writes:
        yield
        return
    from .locking import google_lock, run_lock

    wait = float(os.environ.get("SHEETSYNC_LOCK_WAIT", "30"))
    if is_google(source):
        from .sources.gsheets import parse_key

        with google_lock(parse_key(source), wait=wait):
            yield
        return
    path = Path(source)
    if not path.is_file():
        yield  # open_book reports the missing file properly
        return
    with run_lock(path, wait=wait):
        yield


def _start_drafts(result: Result, config: Config, opts: Options, templates: Templates) -> PendingDrafts:
    """The drafts, started before the tabs are written (see drafts.start_drafts), finished after them."""
    from .drafts import start_drafts  # imported already: the templates were compiled

    drafts_cfg = config.drafts
    if opts.format and (opts.to or drafts_cfg.to) == "gmail":
        raise UsageError(
            "--format is for draft files, and drafts going into Gmail (--to gmail or [drafts] to) make none "
            "— leave out --format, or pass --to files"
        )
    included = [r for r in result.rows if r.row not in result.checked.excluded]
    return start_drafts(
        included,
        result.checked.stale,
        config,
        result.as_of,
        out=opts.out or drafts_cfg.out,
        fmt=opts.format or drafts_cfg.format,
        limit=opts.limit,
        dry_run=opts.dry_run,
        templates=templates,
        to=opts.to,
        credentials=opts.credentials,
    )


@contextlib.contextmanager
def _cancelled_on_error(drafts: PendingDrafts | None) -> Iterator[None]:
    """Started drafts are dropped (their helper stopped, nothing written) when the run fails before finishing them."""
    try:
        yield
    except BaseException:
        if drafts is not None:
            drafts.cancel()
        raise


@contextlib.contextmanager
def _template_error_first(templates: TemplatesMeanwhile | None) -> Iterator[None]:
    """When the run fails, a broken template is the error reported, as when templates were compiled first."""
    try:
        yield
    except Exception:
        if templates is not None:
            templates.result()
        raise


class TemplatesMeanwhile:
    """The run's compiled templates, made in a thread while python-calamine loads the sheet.

    Loading a sheet doesn't hold the GIL, so compiling the templates (and
    importing jinja2, ~0.15 s together) meanwhile is free on a second core.
    The thread starts once the workbook is open, not before: started earlier
    it competed for the GIL with opening the workbook instead.  ``result()``
    is awaited before anything is written, and on any failure, so a template
    error is still the error reported, as when templates were compiled first;
    if the thread never started, ``result()`` compiles them there and then.
    (The one difference: a broken template is now reported after the run lock
    was taken and the workbook read, not before.)

    The plain path (``SHEETSYNC_PLAIN=thread``, speed.py) compiles them here,
    before the lock is taken and the workbook opened.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.job: Background | None = None
        self.compiled: Templates | None = None
        if speed.plain("thread"):
            self.compiled = _load_templates(config)

    def start(self) -> None:
        if self.job is None and self.compiled is None:
            self.job = Background(_load_templates, self.config)

    def result(self) -> Templates:
        if self.compiled is None:
            self.compiled = self.job.result() if self.job is not None else _load_templates(self.config)
        return self.compiled


def _load_templates(config: Config) -> Templates:
    """drafts.load_templates, importing the drafts package (and jinja2) where it runs: in the thread."""
    from .drafts import load_templates

    return load_templates(config)
