"""A run's drafts into Gmail (reference 8.3, "Gmail"): each due row's draft put into its sender's Drafts.

:func:`gmail_outcomes` is the Gmail way of making a run's drafts, beside
the files way (batch.py): the same rows skipped, limited and rendered, and
instead of a file each built draft is put into the mailbox of its sender
with the client of gmail.py — updating the draft an earlier run with the
same as-of made (its id is in that run's manifest), creating it otherwise.

Mailboxes are independent (Gmail's quota is per mailbox), so with a service
account up to :data:`WORKERS` threads put drafts at once, each into a
mailbox no other thread is serving: one mailbox is never sent two requests
at once, and its drafts go in sheet order.  The plain path
(``SHEETSYNC_PLAIN=gmail``, speed.py) puts them one after another and gives
the same outcomes (tests/test_gmail_cli.py).

A mailbox that refuses fails only its own drafts; an error for the whole
service (quota spent after the retries, the API switched off, a key refused)
stops every further request and fails the drafts not yet put.  Either way
every due row keeps its entry and the caller writes the manifest, so the ids
of the drafts already in Gmail are recorded before the run exits 3.

This module never renders or builds a message (maker.py does), never writes
a file, and sends nothing on a dry run — not even a token request.
"""

from __future__ import annotations

import collections
import dataclasses
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import speed, stopping
from ..config import PLACEHOLDER_ADDRESS
from ..errors import RemoteError
from ..model.reader import Row
from .due import by_urgency
from .gmail import Gmail, MailboxError
from .maker import Built, Maker, Outcome, skip_reason
from .output import INTERRUPTED, DraftEntry, Recorded, manifest_text

#: Mailboxes served at once.  Gmail allows some 250 quota units a second per mailbox and a draft
#: costs 15, so a mailbox is never the limit one request at a time; the latency of each request
#: is.  Four threads keep a team's run at about a quarter of the one-after-another time while
#: staying far from the per-project quota (measured in docs/gmail.md).
WORKERS = 4

Progress = Callable[[int, int], None]


@dataclass
class GmailOutcomes:
    """Every due row's outcome (in row order), the refusals to show (one line each), and what Gmail was sent."""

    outcomes: list[Outcome]
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    units: int = 0


@dataclass(frozen=True, slots=True)
class _Job:
    index: int  # in the run's due rows
    built: Built
    entry: DraftEntry  # the would-be entry: mailbox and any recorded id set
    existing: str | None


def no_mailbox(row: Row) -> str:
    """Why a due row gets no Gmail draft when its sender is the placeholder."""
    who = f"{row.owner} has" if row.owner else "the row has no owner and so"
    return (
        f"no mailbox to put this draft in: {who} no Owner Email, and [drafts] from is the placeholder "
        f"{PLACEHOLDER_ADDRESS} — fill in the Owner Email column, or set [drafts] from in sheetsync.toml"
    )


def gmail_outcomes(
    maker: Maker,
    todo: Sequence[tuple[Row, str]],
    limit: int | None,
    recorded: Sequence[Recorded],
    gmail: Gmail | None,
    progress: Progress | None = None,
) -> GmailOutcomes:
    """Each due row's outcome, with its draft put into Gmail (``gmail`` None: a dry run, nothing is sent).

    Rows are rendered in the order ``--limit`` keeps them (most urgent first,
    :func:`~sheetsync.drafts.due.by_urgency`) and reported in row order.
    """
    outcomes: list[Outcome | None] = [None] * len(todo)
    order = by_urgency(todo) if limit is not None else range(len(todo))
    earlier = _Earlier(recorded)
    jobs: list[_Job] = []
    made = 0
    for position, i in enumerate(order):
        row, reason = todo[i]
        if stopping.requested():
            for j in list(order)[position:]:
                outcomes[j] = maker.interrupted(*todo[j])
            break
        if (skip := skip_reason(row)) is not None:
            outcomes[i] = maker.entry(row, reason, "skipped", detail=skip), None
            continue
        if maker.from_placeholder(row):
            outcomes[i] = maker.entry(row, reason, "skipped", detail=no_mailbox(row)), None
            continue
        mailbox = maker.sender(row)[1]
        existing = earlier.take(row, mailbox)
        if limit is not None and made >= limit:
            entry = maker.entry(row, reason, "limited", detail=f"not put into Gmail: --limit {limit} reached")
            outcomes[i] = dataclasses.replace(entry, mailbox=mailbox, gmail_id=existing), None
            continue
        built = maker.message(row, reason)
        if not isinstance(built, Built):
            outcomes[i] = dataclasses.replace(built[0], mailbox=mailbox, gmail_id=existing), None
            continue
        made += 1
        entry = maker.entry(row, reason, "would-write", subject=built.subject)
        entry = dataclasses.replace(entry, mailbox=mailbox, gmail_id=existing)
        if gmail is None:
            what = f"would update draft {existing}, made earlier on this as-of" if existing else "would create a draft"
            outcomes[i] = dataclasses.replace(entry, detail=what), None
        else:
            jobs.append(_Job(i, built, entry, existing))
    result = GmailOutcomes([])
    if gmail is not None:
        _Putter(gmail, result.errors).run(jobs, outcomes, len(todo), progress)
        result.requests, result.units = gmail.usage.total, gmail.usage.units
    result.outcomes = [outcome for outcome in outcomes if outcome is not None]
    return result


class _Earlier:
    """The drafts an earlier run with this as-of recorded, each matched to at most one due row.

    A row's draft is the one recorded for the same mailbox, contact email and
    prospect (on the same row when the prospect appears twice), so a row
    moved up or down the sheet still updates its own draft.
    """

    def __init__(self, recorded: Sequence[Recorded]) -> None:
        self.by_key: dict[tuple[str, str, str], list[Recorded]] = {}
        for r in recorded:
            self.by_key.setdefault((r.mailbox.casefold(), r.email.casefold(), r.prospect), []).append(r)

    def take(self, row: Row, mailbox: str) -> str | None:
        key = (mailbox.casefold(), (row.email or "").casefold(), manifest_text(row.prospect))
        candidates = self.by_key.get(key)
        if not candidates:
            return None
        chosen = next((r for r in candidates if r.row == row.row), candidates[0])
        candidates.remove(chosen)
        return chosen.gmail_id


class _Mailboxes:
    """The drafts still to put, by mailbox: a worker takes the next draft of a mailbox no other worker serves.

    The mailbox with the most drafts left goes first, so the workers finish
    together instead of one serving the last mailbox alone; each mailbox's
    drafts go in sheet order, one request at a time.
    """

    def __init__(self, by_mailbox: dict[str, list[_Job]]) -> None:
        self.left = {key: collections.deque(jobs) for key, jobs in by_mailbox.items()}
        self.busy: set[str] = set()
        self.changed = threading.Condition()

    def take(self) -> _Job | None:
        with self.changed:
            while True:
                free = [key for key, jobs in self.left.items() if jobs and key not in self.busy]
                if free:
                    key = max(free, key=lambda k: len(self.left[k]))
                    self.busy.add(key)
                    return self.left[key].popleft()
                if not any(self.left.values()):
                    return None
                self.changed.wait()

    def release(self, job: _Job) -> None:
        with self.changed:
            self.busy.discard(_key(job))
            self.changed.notify_all()


def _key(job: _Job) -> str:
    return job.entry.mailbox.casefold() if job.entry.mailbox else ""


class _Putter:
    """Puts built drafts into their mailboxes, up to WORKERS mailboxes at once, until the run stops or Gmail fails."""

    def __init__(self, gmail: Gmail, errors: list[str]) -> None:
        self.gmail = gmail
        self.errors = errors
        self.halted: str | None = None  # an error for the whole service: no further request
        self.lock = threading.Lock()

    def run(self, jobs: list[_Job], outcomes: list[Outcome | None], total: int, progress: Progress | None) -> None:
        by_mailbox: dict[str, list[_Job]] = {}
        for job in jobs:
            by_mailbox.setdefault(_key(job), []).append(job)
        done = total - len(jobs)

        def report(job: _Job, entry: DraftEntry) -> None:
            nonlocal done
            outcomes[job.index] = entry, None
            done += 1
            if progress is not None:
                progress(done, total)

        workers = min(WORKERS, len(by_mailbox))
        if workers <= 1 or not self.gmail.delegated or speed.plain("gmail"):
            for group in by_mailbox.values():
                for job in group:
                    report(job, self.put(job))
            return
        mailboxes = _Mailboxes(by_mailbox)
        finished: queue.Queue[tuple[_Job, DraftEntry] | BaseException | None] = queue.Queue()

        def work() -> None:
            try:
                while (job := mailboxes.take()) is not None:
                    try:
                        finished.put((job, self.put(job)))
                    finally:
                        mailboxes.release(job)
            except BaseException as exc:  # a bug: handed to the main thread, which raises it
                with self.lock:
                    self.halted = self.halted or "not put into Gmail: the run stopped at an error"
                finished.put(exc)
            finally:
                finished.put(None)

        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheetsync-gmail") as pool:
            for _worker in range(workers):
                pool.submit(work)
            running = workers
            while running:
                item = finished.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    failure = failure or item
                else:
                    report(*item)
        if failure is not None:
            raise failure

    def put(self, job: _Job) -> DraftEntry:
        """One draft into its mailbox, as its entry: written, gone, failed, or interrupted."""
        entry, built = job.entry, job.built
        if stopping.requested():
            name = signal.Signals(stopping.requested()).name
            detail = f"not put into Gmail: the run was stopped by {name} before this draft — run again to put it"
            return dataclasses.replace(entry, status=INTERRUPTED, detail=detail)
        with self.lock:
            halted = self.halted
        if halted is not None:
            return dataclasses.replace(entry, status="failed", detail=halted)
        assert entry.mailbox is not None
        try:
            put = self.gmail.put(entry.mailbox, built.data, built.message_id, job.existing)
        except MailboxError as refused:
            self._error(refused.message)
            return dataclasses.replace(entry, status="failed", detail=refused.message)
        except RemoteError as failed:
            detail = f"not put into Gmail: {failed.message}"
            with self.lock:
                if self.halted is None:
                    self.halted = detail
                    self.errors.append(failed.message)
                detail = self.halted
            return dataclasses.replace(entry, status="failed", detail=detail)
        if put.outcome == "gone":
            return dataclasses.replace(
                entry,
                status="gone",
                gmail_id=put.draft_id,
                detail="sent or deleted in Gmail since an earlier run with this as-of made it; "
                "a run with a later as-of makes a new draft",
            )
        what = (
            "created in Gmail Drafts"
            if put.outcome == "created"
            else "updated in Gmail Drafts (made by an earlier run with this as-of)"
        )
        return dataclasses.replace(entry, status="written", gmail_id=put.draft_id, detail=what)

    def _error(self, message: str) -> None:
        with self.lock:
            if message not in self.errors:
                self.errors.append(message)
