"""A run's drafts as one batch: started early, finished after the tabs, or cancelled (reference 8.3).

:func:`start_drafts` picks the due rows and, for a big run, forks the
helper (parallel.py) so it renders while the run writes the tabs;
:meth:`PendingDrafts.finish` checks the options, makes every due row's
outcome — in one process (:func:`_one_process`, the plain path) or with the
helper — and writes the mbox or removes replaced ``.eml`` files, then the
manifest; :meth:`PendingDrafts.cancel` drops a started batch when the run
fails in between.  :func:`make_drafts` is both steps at once.  This module
never renders or builds a message itself (maker.py does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from .. import stopping
from ..config import Config
from ..errors import Stopped, UsageError
from ..fsutil import sweep_temp_files
from ..model.reader import Row
from . import parallel
from .due import due
from .maker import Maker, Outcome, skip_reason
from .output import FORMATS, MANIFEST, DraftsResult, make_out_folder, stopped_message, write_result
from .templates import Templates, load_templates

Progress = Callable[[int, int], None]


def make_drafts(
    rows: Iterable[Row],
    stale_rows: Collection[int],
    config: Config,
    as_of: dt.date,
    *,
    out: Path | None = None,
    fmt: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    templates: Templates | None = None,
    progress: Progress | None = None,
) -> DraftsResult:
    """Render a draft for every due row and write them (reference 8.3).

    A row that can't be rendered is a ``failed`` entry naming the row, the
    template file and line, and the cause; the others are still written and
    the caller exits 1 on ``result.failed``.  A dry run renders everything (so
    it finds the same failures) and touches nothing on disk.
    """
    pending = start_drafts(
        rows, stale_rows, config, as_of, out=out, fmt=fmt, limit=limit, dry_run=dry_run, templates=templates
    )
    return pending.finish(progress)


def start_drafts(
    rows: Iterable[Row],
    stale_rows: Collection[int],
    config: Config,
    as_of: dt.date,
    *,
    out: Path | None = None,
    fmt: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    templates: Templates | None = None,
) -> PendingDrafts:
    """:func:`make_drafts` in two steps, so a big run's helper process can start rendering early.

    run.py starts the drafts before it writes the tabs, and the helper
    renders its part meanwhile.  Nothing is written and
    no error is raised before ``finish()``, which checks and writes exactly
    what make_drafts did, in the same order; ``cancel()`` stops the helper
    when the run fails in between.
    """
    return PendingDrafts(rows, stale_rows, config, as_of, out, fmt, limit, dry_run, templates)


class PendingDrafts:
    """Drafts started by :func:`start_drafts`: ``finish()`` makes them, ``cancel()`` drops them."""

    def __init__(
        self,
        rows: Iterable[Row],
        stale_rows: Collection[int],
        config: Config,
        as_of: dt.date,
        out: Path | None,
        fmt: str | None,
        limit: int | None,
        dry_run: bool,
        templates: Templates | None,
    ) -> None:
        self.config = config
        self.as_of = as_of
        self.out = Path(out if out is not None else config.drafts.out)
        self.fmt = fmt or config.drafts.format
        self.limit = limit
        self.dry_run = dry_run
        self.templates = templates
        self.todo = due(rows, stale_rows, config, as_of)
        self.maker: Maker | None = None
        self.helper: parallel.DraftsHelper | None = None
        if self.fmt in FORMATS and templates is not None:
            self._start_helper(templates)

    def _start_helper(self, templates: Templates) -> None:
        """Fork a helper for the last drafts when that is worth it and safe; the maker is then this run's."""
        maker = Maker(self.config, self.as_of, templates, self.out, self.fmt, self.dry_run)
        self.helper = parallel.start_helper(maker, self.todo, self.limit)
        if self.helper is not None:
            self.maker = maker

    def cancel(self) -> None:
        if self.helper is not None:
            self.helper.kill()
            self.helper = None

    def finish(self, progress: Progress | None = None) -> DraftsResult:
        try:
            return self._finish(progress)
        finally:
            self.cancel()  # a helper not waited for by now (an error on the way) is killed

    def _finish(self, progress: Progress | None) -> DraftsResult:
        out, fmt, limit, dry_run, as_of = self.out, self.fmt, self.limit, self.dry_run, self.as_of
        if fmt not in FORMATS:
            raise UsageError(f"unknown drafts format {fmt!r} — use eml or mbox")
        if limit is not None and limit < 0:
            raise UsageError(f"--limit must be 0 or more, got {limit}")
        templates = self.templates if self.templates is not None else load_templates(self.config)
        todo = self.todo
        if not dry_run:
            make_out_folder(out)

        if self.maker is None:  # not started early (no templates given): a helper may still pay
            self._start_helper(templates)
        if self.maker is None:
            self.maker = Maker(self.config, as_of, templates, out, fmt, dry_run)
        if not dry_run:
            self.maker.list_folder()
            sweep_temp_files(out, self.maker.present)  # what runs killed mid-write left (reference 9)
        # A SIGINT or SIGTERM from here on stops the drafts between two of them, so the
        # manifest written below lists exactly the drafts that were written.
        with stopping.deferred():
            if self.helper is not None:
                helper, self.helper = self.helper, None
                outcomes = parallel.with_helper(self.maker, todo, helper, progress)
            else:
                outcomes = _one_process(self.maker, todo, limit, progress)
            entries = [entry for entry, _draft in outcomes]
            mbox = [draft for _entry, draft in outcomes if draft is not None] if fmt == "mbox" else []
            signum = stopping.requested()
            result = DraftsResult(entries, out, fmt, dry_run, None if dry_run else out / MANIFEST)
            if not dry_run:
                if signum:
                    sweep_temp_files(out)  # a helper that had to be killed mid-write left its temp file
                write_result(result, mbox, as_of, removing=not signum)
            if signum:
                raise Stopped(signum, stopped_message(result, signum))
        return result


def _one_process(
    maker: Maker, todo: Sequence[tuple[Row, str]], limit: int | None, progress: Progress | None
) -> list[Outcome]:
    """Every due row's outcome, made here one after the other (the plain path of parallel.with_helper)."""
    outcomes: list[Outcome] = []
    made = 0
    for done, (row, reason) in enumerate(todo, 1):
        if stopping.requested():
            outcomes.extend(maker.interrupted(row, reason) for row, reason in todo[done - 1 :])
            break
        if (skip := skip_reason(row)) is not None:
            entry, draft = maker.entry(row, reason, "skipped", detail=skip), None
        elif limit is not None and made >= limit:
            entry, draft = maker.entry(row, reason, "limited", detail=f"not written: --limit {limit} reached"), None
        else:
            entry, draft = maker.make(row, reason)
        if entry.status in ("written", "would-write"):
            made += 1
        outcomes.append((entry, draft))
        if progress is not None:
            progress(done, len(todo))
    return outcomes
