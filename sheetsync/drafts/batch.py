"""A run's drafts as one batch: started early, finished after the tabs, or cancelled (reference 8.3).

:func:`start_drafts` picks the due rows and, for a big run, forks the
helper (parallel.py) so it renders while the run writes the tabs;
:meth:`PendingDrafts.check` refuses a drafts folder or Gmail credentials
that can't be used before the run writes anything;
:meth:`PendingDrafts.finish` checks the options, makes every due row's
outcome — in one process (:func:`_one_process`, the plain path), with the
helper, or into Gmail (gmail_batch.py) — and writes the mbox or removes
replaced ``.eml`` files, then the manifest; :meth:`PendingDrafts.cancel`
drops a started batch when the run fails in between.  :func:`make_drafts`
is both steps at once.  This module never renders or builds a message
itself (maker.py does) and never talks to Google itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import stopping
from ..config import DESTINATIONS, PLACEHOLDER_ADDRESS, Config
from ..errors import Stopped, UsageError
from ..fsutil import sweep_temp_files
from ..model.reader import Row
from . import parallel
from .due import by_urgency, due
from .maker import Maker, Outcome, skip_reason
from .output import (
    FORMATS,
    MANIFEST,
    DraftEntry,
    DraftsResult,
    check_out_folder,
    make_out_folder,
    recorded_drafts,
    stopped_message,
    write_result,
)
from .templates import Templates, load_templates

if TYPE_CHECKING:
    from .gmail import Gmail

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
    to: str | None = None,
    credentials: Path | None = None,
    progress: Progress | None = None,
) -> DraftsResult:
    """Render a draft for every due row and write them (reference 8.3).

    A row that can't be rendered is a ``failed`` entry naming the row, the
    template file and line, and the cause; the others are still written and
    the caller exits 1 on ``result.failed``.  A dry run renders everything (so
    it finds the same failures) and touches nothing on disk.
    """
    pending = start_drafts(
        rows,
        stale_rows,
        config,
        as_of,
        out=out,
        fmt=fmt,
        limit=limit,
        dry_run=dry_run,
        templates=templates,
        to=to,
        credentials=credentials,
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
    to: str | None = None,
    credentials: Path | None = None,
) -> PendingDrafts:
    """:func:`make_drafts` in two steps, so a big run's helper process can start rendering early.

    run.py starts the drafts before it writes the tabs, and the helper
    renders its part meanwhile.  Nothing is written and
    no error is raised before ``finish()``, which checks and writes exactly
    what make_drafts did, in the same order; ``cancel()`` stops the helper
    when the run fails in between.
    """
    return PendingDrafts(rows, stale_rows, config, as_of, out, fmt, limit, dry_run, templates, to, credentials)


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
        to: str | None = None,
        credentials: Path | None = None,
    ) -> None:
        self.config = config
        self.as_of = as_of
        self.out = Path(out if out is not None else config.drafts.out)
        self.fmt = fmt or config.drafts.format
        self.to = to or config.drafts.to
        self.credentials = credentials if credentials is not None else config.google.credentials
        self.limit = limit
        self.dry_run = dry_run
        self.templates = templates
        self.todo = due(rows, stale_rows, config, as_of)
        self.maker: Maker | None = None
        self.helper: parallel.DraftsHelper | None = None
        self.gmail: Gmail | None = None
        self.checked = False
        # Putting drafts into Gmail waits on the network, not the CPU: no helper process.
        if self.fmt in FORMATS and self.to == "files" and templates is not None:
            self._start_helper(templates)

    def _start_helper(self, templates: Templates) -> None:
        """Fork a helper for the last drafts when that is worth it and safe; the maker is then this run's."""
        maker = Maker(self.config, self.as_of, templates, self.out, self.fmt, self.dry_run)
        self.helper = parallel.start_helper(maker, self.todo, self.limit)
        if self.helper is not None:
            self.maker = maker

    def check(self) -> None:
        """Refuse, before the run writes anything, a drafts folder that can't be made or Gmail credentials
        that can't be used (exit 2).  A dry run checks neither: it writes nothing and calls no one."""
        if self.checked:
            return
        if self.to not in DESTINATIONS:
            raise UsageError(f"unknown drafts destination {self.to!r} — use files or gmail")
        if not self.dry_run:
            check_out_folder(self.out)
            if self.to == "gmail" and self.gmail is None:
                from .gmail import open_gmail  # google-auth only for a run that puts drafts into Gmail

                self.gmail = open_gmail(self.credentials, None)  # reads the key; no request yet
        self.checked = True

    def cancel(self) -> None:
        if self.helper is not None:
            self.helper.kill()
            self.helper = None
        if self.gmail is not None:
            self.gmail.close()
            self.gmail = None

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
        self.check()
        todo = self.todo
        if not dry_run:
            make_out_folder(out)
        if self.to == "gmail":
            return self._finish_gmail(templates, progress)

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
            result.warnings = sender_warnings(self.maker, todo, entries)
            if not dry_run:
                if signum:
                    sweep_temp_files(out)  # a helper that had to be killed mid-write left its temp file
                write_result(result, mbox, as_of, removing=not signum)
            if signum:
                raise Stopped(signum, stopped_message(result, signum))
        return result

    def _finish_gmail(self, templates: Templates, progress: Progress | None) -> DraftsResult:
        """Each draft into its sender's Gmail Drafts, then the manifest with their ids (no draft file)."""
        from .gmail_batch import gmail_outcomes

        out, as_of, dry_run = self.out, self.as_of, self.dry_run
        maker = Maker(self.config, as_of, templates, out, self.fmt, dry_run)
        recorded, unreadable = recorded_drafts(out, as_of)
        with stopping.deferred():
            made = gmail_outcomes(maker, self.todo, self.limit, recorded, self.gmail, progress)
            entries = [entry for entry, _draft in made.outcomes]
            result = DraftsResult(entries, out, self.fmt, dry_run, None if dry_run else out / MANIFEST, to="gmail")
            result.errors, result.requests, result.units = made.errors, made.requests, made.units
            result.warnings = ([unreadable] if unreadable else []) + sender_warnings(maker, self.todo, entries)
            signum = stopping.requested()
            if not dry_run:
                write_result(result, [], as_of, removing=False)  # the ids of what is in Gmail, whatever failed
            if signum:
                raise Stopped(signum, stopped_message(result, signum))
        return result


def sender_warnings(maker: Maker, todo: Sequence[tuple[Row, str]], entries: Sequence[DraftEntry]) -> list[str]:
    """One line per owner whose drafts are from the placeholder ``sales@example.com`` (or, into Gmail, were
    skipped for want of a mailbox), naming the fix (reference 8.3; issue 16: they came without a word)."""
    by_owner: dict[str, list[DraftEntry]] = {}
    for (row, _reason), entry in zip(todo, entries, strict=True):
        made = entry.status in ("written", "would-write") or (entry.status == "skipped" and skip_reason(row) is None)
        if made and maker.from_placeholder(row):
            by_owner.setdefault(row.owner or "", []).append(entry)
    lines = []
    for owner, owned in by_owner.items():
        rows = ", ".join(str(e.row) for e in owned[:5]) + (f" and {len(owned) - 5} more" if len(owned) > 5 else "")
        if owned[0].status == "skipped":
            what = f"were skipped: no mailbox to put them in, as their sender is the placeholder {PLACEHOLDER_ADDRESS}"
        else:
            what = f"are from the placeholder {PLACEHOLDER_ADDRESS}"
        fix = f"put {owner}'s address in an Owner Email column" if owner else "fill in Owner and Owner Email"
        lines.append(
            f"{len(owned)} draft(s) for {owner or 'rows with no owner'} (row {rows}) {what} — {fix}, "
            "or set [drafts] from in sheetsync.toml"
        )
    return lines


def _one_process(
    maker: Maker, todo: Sequence[tuple[Row, str]], limit: int | None, progress: Progress | None
) -> list[Outcome]:
    """Every due row's outcome, made here one after the other (the plain path of parallel.with_helper).

    With ``--limit`` the rows are made most urgent first (:func:`by_urgency`),
    so the limit keeps those; the outcomes are in row order all the same.
    """
    order = by_urgency(todo) if limit is not None else range(len(todo))
    outcomes: list[Outcome | None] = [None] * len(todo)
    made = 0
    for done, i in enumerate(order, 1):
        row, reason = todo[i]
        if stopping.requested():
            for j in list(order)[done - 1 :]:
                outcomes[j] = maker.interrupted(*todo[j])
            break
        if (skip := skip_reason(row)) is not None:
            entry, draft = maker.entry(row, reason, "skipped", detail=skip), None
        elif limit is not None and made >= limit:
            entry, draft = maker.entry(row, reason, "limited", detail=f"not written: --limit {limit} reached"), None
        else:
            entry, draft = maker.make(row, reason)
        if entry.status in ("written", "would-write"):
            made += 1
        outcomes[i] = entry, draft
        if progress is not None:
            progress(done, len(todo))
    return [outcome for outcome in outcomes if outcome is not None]
