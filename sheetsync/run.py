"""One run: read the source once → check → figures → grids/drafts → write once.

Every command (validate, summary, drafts, sync) is this run with some steps
switched off, so they agree on every number by construction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import tabs
from .background import Background
from .config import Config
from .errors import SourceError, UsageError, WriteRefused
from .figures import Figures, compute
from .grid import MARKER, Grid
from .model.fields import Layout
from .model.quotas import Quotas, read_quotas
from .model.reader import Row, read_rows
from .rules import Checked, check
from .sources import is_google, open_book
from .sources.base import Book, find_title

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


@dataclass(slots=True)
class Result:
    source: str
    as_of: dt.date
    rows: list[Row]
    layout: Layout
    checked: Checked
    quotas: Quotas | None = None
    figures: Figures | None = None
    drafts: Any = None  # drafts.DraftsResult
    written_tabs: list[str] = field(default_factory=list)
    strict: bool = False
    warnings: list[str] = field(default_factory=list)  # what the write-back wants the user to know

    @property
    def exit_code(self) -> int:
        """0, or 1 when the data has problems (SPEC 2)."""
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
    """Run the steps ``opts`` asks for; the garbage collector stays off meanwhile.

    A big pipeline is ~100,000 row objects built in one go and never in a
    reference cycle; with the collector on, CPython re-scans them again and
    again as they accumulate, which tripled the time to read 100,000 rows.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _execute(config, opts, progress)
    finally:
        if was_enabled:
            gc.enable()


def _execute(config: Config, opts: Options, progress: Progress | None) -> Result:
    source = resolve_source(config, opts.source)
    as_of = opts.as_of or today(config)
    writes_tabs = opts.summary and not opts.dry_run
    templates = _Templates(config) if opts.drafts else None
    try:
        result, drafts = _read_check_write(config, opts, source, as_of, writes_tabs, templates)
    except Exception:
        if templates is not None:
            templates.result()  # a template error is the one reported, as when templates were compiled first
        raise
    if drafts is not None:
        result.drafts = drafts.finish(progress)  # after the tabs are written and the lock is released
    return result


def _start_drafts(result: Result, config: Config, opts: Options, templates: Any) -> Any:
    """The drafts, started before the tabs are written (see drafts.start_drafts), finished after them."""
    from .drafts import start_drafts

    drafts_cfg = config.drafts
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
    )


class _Templates:
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
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.job: Background | None = None

    def start(self) -> None:
        if self.job is None:
            self.job = Background(_load_templates, self.config)

    def result(self) -> Any:
        return self.job.result() if self.job is not None else _load_templates(self.config)


def _load_templates(config: Config) -> Any:
    from .drafts import load_templates

    return load_templates(config)


def _read_check_write(
    config: Config, opts: Options, source: str, as_of: dt.date, writes_tabs: bool, templates: _Templates | None
) -> tuple[Result, Any]:
    with _lock(source, writes_tabs):
        book = open_book(
            source,
            wanted=[
                config.tabs.pipeline,
                config.tabs.quotas,
                config.tabs.summary,
                config.tabs.checks,
                config.tabs.history,
            ],
            credentials=opts.credentials or config.google.credentials,
            endpoint=config.google.endpoint,
        )
        if templates is not None:
            templates.start()
        try:
            if writes_tabs and not book.writable:
                book.write([])  # raises the backend's "can't write this format" error before any work
            result = _read_and_check(book, config, source, as_of, opts)
            if opts.summary:
                # Before the drafts helper is forked, not while it runs: the figures read every
                # row, and after the fork each memory page they touch is copied (see parallel.py).
                result.figures = compute(result.rows, result.checked, config, as_of, result.quotas)
            # A template error stops us here, before anything is written.
            drafts = _start_drafts(result, config, opts, templates.result()) if templates is not None else None
            try:
                if opts.summary and writes_tabs:
                    grids = _grids(book, result, config)
                    if opts.drafts:
                        from .drafts import check_out_folder

                        check_out_folder(opts.out or config.drafts.out)  # a bad --out stops us before the write
                    result.warnings.extend(book.write(grids))
                    result.written_tabs = [g.title for g in grids]
            except BaseException:
                if drafts is not None:
                    drafts.cancel()
                raise
        finally:
            book.close()
    return result, drafts


def _read_and_check(book: Book, config: Config, source: str, as_of: dt.date, opts: Options) -> Result:
    titles = book.titles()
    title = find_title(titles, config.tabs.pipeline)
    if title is None:
        raise SourceError(
            f"{book.location} has no {config.tabs.pipeline!r} tab (tabs found: {', '.join(titles) or 'none'}) "
            '— rename your pipeline tab, or set [tabs] pipeline = "<its name>" in sheetsync.toml'
        )
    layout, rows = read_rows(title, book.rows(title), config)
    quotas = _quotas(book, config)
    checked = check(rows, layout, config, as_of, quotas)
    return Result(source, as_of, rows, layout, checked, quotas=quotas, strict=opts.strict)


def _quotas(book: Book, config: Config) -> Quotas | None:
    title = find_title(book.titles(), config.tabs.quotas)
    return None if title is None else read_quotas(title, book.rows(title), config)


def _grids(book: Book, result: Result, config: Config) -> list[Grid]:
    """The three tabs, after checking that any existing one is ours (SPEC 7.1)."""
    assert result.figures is not None
    titles = book.titles()
    history_rows: list[list[Any]] = []
    for wanted in (config.tabs.summary, config.tabs.checks, config.tabs.history):
        title = find_title(titles, wanted)
        if title is None:
            continue
        rows = [values for _n, values in book.rows(title)]
        first = rows[0] if rows else []
        if wanted == config.tabs.history:
            header = [str(v).strip().casefold() for v in first[: len(tabs.HISTORY_HEADER)]]
            ours = header == [h.casefold() for h in tabs.HISTORY_HEADER]
            history_rows = rows[1:]
        else:
            ours = bool(first) and isinstance(first[0], str) and first[0].startswith(MARKER)
        if not ours and rows:
            raise WriteRefused(
                f"{book.location} already has a {title!r} tab that sheetsync did not create — nothing was written. "
                f'Rename that tab, or set [tabs] {_tab_key(config, wanted)} = "<another name>" in sheetsync.toml'
            )
    return [
        tabs.summary_grid(result.figures, config),
        tabs.checks_grid(result.checked.findings, result.as_of, config),
        tabs.history_grid(result.figures, history_rows, config),
    ]


def _tab_key(config: Config, wanted: str) -> str:
    for key in ("summary", "checks", "history"):
        if getattr(config.tabs, key) == wanted:
            return key
    return "summary"


@contextlib.contextmanager
def _lock(source: str, writes: bool) -> Iterator[None]:
    """Two runs that write one workbook, or one Google Sheet from this machine, never interleave (SPEC 7.2, 10.5)."""
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
