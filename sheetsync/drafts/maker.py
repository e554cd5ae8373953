"""The per-run maker: what stays the same for every draft of a run, and one due row → its manifest entry.

:class:`Maker` renders a row's templates (render.py), builds the message
(mime.py), names the file (output.py) and writes one ``.eml``; the same
maker serves this process and the drafts helper (parallel.py), which calls
:meth:`Maker.prepare` before the run may write and :meth:`Maker.complete`
after.  This module never decides who is due, never writes the manifest or
the mbox, and never forks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import signal
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .. import stopping
from ..config import PLACEHOLDER_ADDRESS, Config, StageLookup
from ..fsutil import write_atomic
from ..model.reader import Row
from .mime import Draft, address_list, ascii_address, build_message, usable_address
from .output import INTERRUPTED, MBOX, DraftEntry, check_file_name, draft_name
from .render import RenderError, base_context, draft_context, language_texts, render, renderer
from .templates import Templates, TemplateSet

#: One due row's entry, and its message when one was made (the mbox needs it).
Outcome = tuple[DraftEntry, "Draft | None"]


class Built(NamedTuple):
    """A rendered and built draft, not yet written."""

    row: Row
    reason: str
    name: str  # in the drafts folder
    subject: str
    data: bytes
    sender: str  # the From address: the mailbox a Gmail draft goes into
    message_id: str


class Maker:
    """What stays the same for every draft of one run, and turning one due row into its entry."""

    def __init__(self, config: Config, as_of: dt.date, templates: Templates, out: Path, fmt: str, dry_run: bool):
        self.config = config
        self.as_of = as_of
        self.templates = templates
        self.out = out
        self.out_text = os.fspath(out)
        self.fmt = fmt
        self.dry_run = dry_run
        self.date = draft_date(config, as_of)
        self.base_ctx = base_context(templates.env, config, as_of)
        self.render_with = renderer()
        self.stage_of = StageLookup(config)
        self.present: frozenset[str] | None = None  # the drafts folder's files before we wrote
        self.listed = False
        self.picked: dict[tuple[str | None, str], tuple[str, TemplateSet]] = {}
        self.texts: dict[str, dict[str, str | None]] = {}  # [drafts] offer and attachment_note by language

    def list_folder(self) -> None:
        """Take the drafts folder's listing, once it exists: a draft not in it needn't be compared before writing."""
        self.listed = True
        self.present = None
        with contextlib.suppress(OSError):  # unlisted: every write checks for itself
            self.present = frozenset(os.listdir(self.out))

    def entry(
        self, row: Row, reason: str, status: str, name: str | None = None, subject: str | None = None, detail: str = ""
    ) -> DraftEntry:
        return DraftEntry(row.row, row.prospect, row.email, reason, status, name, subject, detail, self.out)

    def interrupted(self, row: Row, reason: str) -> Outcome:
        """A due row the run was stopped before reaching (SIGINT/SIGTERM): in the manifest, never written."""
        name = signal.Signals(stopping.requested()).name
        detail = f"not written: the run was stopped by {name} before this draft — run again to write it"
        return self.entry(row, reason, INTERRUPTED, detail=detail), None

    def outcome(self, row: Row, reason: str) -> Outcome:
        """One due row's entry and draft, as the one-process path makes it when there is no --limit."""
        return self.complete(self.prepare(row, reason))

    def prepare(self, row: Row, reason: str) -> Outcome | Built:
        """Everything up to writing: the final outcome, or a built draft for ``complete`` to write."""
        if (skip := skip_reason(row)) is not None:
            return self.entry(row, reason, "skipped", detail=skip), None
        return self.build(row, reason)

    def make(self, row: Row, reason: str) -> Outcome:
        """Render, build and (unless a dry run, or an mbox the caller writes) write one draft."""
        return self.complete(self.build(row, reason))

    def complete(self, built: Outcome | Built) -> Outcome:
        """Write a built draft (one .eml; an mbox is written by the caller)."""
        if not isinstance(built, Built):
            return built
        row, reason, name, subject, data, _sender, _message_id = built
        if self.fmt == "eml":
            if not self.listed:  # a helper lists the folder once it writes; this process has listed it
                self.list_folder()
            absent = self.present is not None and name not in self.present
            target = f"{self.out_text}{os.sep}{name}"
            try:
                write_atomic(target, data, absent=absent)
            except OSError as exc:
                detail = f"row {row.row}: can't write {target} ({exc.strerror or exc})"
                return self.entry(row, reason, "failed", subject=subject, detail=detail), None
        return self.entry(row, reason, "written", name, subject), Draft(data, self.date)

    def build(self, row: Row, reason: str) -> Outcome | Built:
        """Render and build one draft: a failed or would-write outcome, or what to write."""
        built = self.message(row, reason)
        if self.dry_run and isinstance(built, Built):
            return self.entry(row, reason, "would-write", built.name, built.subject), None
        return built

    def message(self, row: Row, reason: str) -> Outcome | Built:
        """Render and build one draft, dry run or not: a failed outcome, or the draft."""
        key = (row.language, reason)
        picked = self.picked.get(key)
        if picked is None:
            picked = self.picked[key] = self.templates.pick(row.language, reason)
        language, tset = picked
        texts = self.texts.get(language)
        if texts is None:
            texts = self.texts[language] = language_texts(self.config, language or "en")
        ctx = draft_context(
            self.base_ctx, row, self.stage_of[row.stage or ""], reason, language, self.templates.sender, texts
        )
        how, files, file = self.render_with, self.templates.files, tset.file
        try:
            rendered = {
                name: render(t, ctx, how, file=file, files=files, row=row.row).strip() for name, t in tset.headers
            }
            text = render(tset.body, ctx, how, file=file, files=files, row=row.row).strip("\n")
            html = (
                render(tset.html, ctx, how, file=tset.html_file or file, files=files, row=row.row).strip("\n")
                if tset.html
                else None
            )
        except RenderError as exc:
            return self.entry(row, reason, "failed", detail=exc.detail), None
        subject = rendered.get("Subject", "")

        from_name, from_addr = self.sender(row)
        msg_id = message_id(self.as_of, reason, row, from_addr)
        try:
            data = build_message(
                # Names from cells may span lines (Alt+Enter); in an address they are one line of words.
                sender=(" ".join(from_name.split()), from_addr),
                to=(" ".join((row.contact or "").split()), ascii_address(row.email or "") or ""),
                subject=subject,
                text=text,
                html=html,
                date=self.date,
                message_id=msg_id,
                cc=address_list("Cc", rendered["Cc"]) if rendered.get("Cc") else (),
                reply_to=address_list("Reply-To", rendered["Reply-To"]) if rendered.get("Reply-To") else (),
            )
        except ValueError as exc:  # HeaderInjection included
            shown = subject.replace("\r", "\\r").replace("\n", "\\n")  # one line, and what really came out
            return self.entry(row, reason, "failed", subject=shown, detail=f"row {row.row}: {tset.file}: {exc}"), None

        name = MBOX if self.fmt == "mbox" else draft_name(self.as_of, reason, row.row, row.prospect)
        check_file_name(name)
        return Built(row, reason, name, subject, data, from_addr, msg_id)

    def sender(self, row: Row) -> tuple[str, str]:
        """The row's From: its owner and Owner Email, else ``[drafts] from`` (reference 8.3)."""
        from_name, from_addr = (row.owner or "", row.owner_email) if row.owner_email else self.templates.sender
        return from_name, ascii_address(from_addr) or from_addr

    def from_placeholder(self, row: Row) -> bool:
        """Whether the row's draft would be from the built-in ``sales@example.com``: no one's mailbox."""
        return not row.owner_email and self.templates.sender[1].casefold() == PLACEHOLDER_ADDRESS


def skip_reason(row: Row) -> str | None:
    """Why a due row gets no draft (no usable address), or None."""
    if row.email is None:
        if row.is_bad("email"):
            return "the email cell is not a valid address (see the Checks tab) — fix it to get a draft"
        return "no email address — add the contact's email to get a draft"
    if usable_address(row.email) is None:
        return f"{row.email!r} can't be used as a draft address (non-ASCII or unusual mailbox name)"
    return None


def draft_date(config: Config, as_of: dt.date) -> dt.datetime:
    """09:00 on the as-of day in the configured time zone: reruns give identical files."""
    nine = dt.datetime.combine(as_of, dt.time(9))
    return nine.replace(tzinfo=ZoneInfo(config.timezone)) if config.timezone else nine.astimezone()


def message_id(as_of: dt.date, reason: str, row: Row, from_addr: str) -> str:
    domain = from_addr.rpartition("@")[2] or "sheetsync.invalid"
    digest = hashlib.sha256(f"{as_of}|{reason}|{row.row}|{row.prospect}".encode()).hexdigest()[:16]
    return f"<sheetsync.{_compact_date(as_of)}.{reason}.row{row.row}.{digest}@{domain}>"


@functools.lru_cache(maxsize=16)
def _compact_date(day: dt.date) -> str:
    return f"{day:%Y%m%d}"  # strftime costs more than the rest of a Message-ID; a run has one as-of day
