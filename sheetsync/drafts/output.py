"""What a run's drafts come to on disk and in reports: entries, file names, the manifest, the mbox, the folder.

Holds :class:`DraftEntry` and :class:`DraftsResult` (every due row accounted
for), the draft file names (:func:`slugify`, :func:`draft_name`), the
manifest and mbox bytes, the checks of the drafts folder, and the end of a
run that writes (:func:`write_result`: the mbox or the clean-up of replaced
``.eml`` files, then the manifest).  This module never renders or builds a
message.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import os
import re
import signal
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..fsutil import write_atomic
from .due import REASONS
from .mime import Draft

FORMATS = ("eml", "mbox")
MANIFEST = "drafts.csv"
MBOX = "drafts.mbox"
#: The manifest's columns: reference 8.3's, then (issue 16) the run's as-of and, for Gmail, where each draft is.
MANIFEST_HEADER = (
    "row",
    "prospect",
    "email",
    "reason",
    "status",
    "file",
    "subject",
    "detail",
    "as_of",
    "mailbox",
    "gmail_id",
)

#: Statuses an entry can have.  ``would-write`` replaces ``written`` on a dry run;
#: ``limited`` marks due drafts left out by ``--limit``; ``gone`` (Gmail) a draft
#: the user sent or deleted since an earlier run of the same as-of made it.
STATUSES = ("written", "would-write", "skipped", "failed", "limited", "gone")
#: The manifest's status for due drafts a run stopped by SIGINT/SIGTERM did not reach.  Such a
#: run ends with ``Stopped``, never with a result, so this is not one of STATUSES.
INTERRUPTED = "interrupted"


# ---------------------------------------------------------------- file names

_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})
SLUG_MAX_BYTES = 120


class _SlugChars(dict[int, str]):
    """Character → itself (lower-cased) when it is a letter, digit or mark of any script, else ``-``.

    Filled lazily and kept, so ``str.translate`` does the per-character work in C.
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        value = ch.lower() if unicodedata.category(ch)[0] in "LNM" else "-"
        self[code] = value
        return value


_SLUG_CHARS = _SlugChars()
_DASHES = re.compile(r"-{2,}")


@functools.lru_cache(maxsize=4096)  # a big sheet repeats company names (branches, several contacts)
def slugify(text: str | None, max_bytes: int = SLUG_MAX_BYTES) -> str:
    """A file-name-safe, never empty piece of the prospect's name.

    Letters of any script (Thai included, with its vowel and tone marks) and
    digits are kept, everything else becomes one ``-``, so the result can't
    hold a path separator, a dot, or a character Windows refuses; it is
    bounded in UTF-8 bytes so the whole name (about 170 bytes at most) stays
    below the 255-byte limit of common file systems.
    """
    slug = _DASHES.sub("-", unicodedata.normalize("NFC", text or "").translate(_SLUG_CHARS)).strip("-")
    if len(slug.encode("utf-8")) > max_bytes:
        # The longest prefix of whole characters within max_bytes: decoding drops a cut character.
        slug = slug.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        cut = slug.rfind("-")
        slug = slug[:cut] if cut > len(slug) // 2 else slug  # end on a whole word when one is near
        slug = slug.rstrip("-")
    if not slug:
        return "prospect"
    if slug in _RESERVED:
        return f"{slug}-1"
    return slug


def draft_name(as_of: dt.date, reason: str, row: int, prospect: str | None) -> str:
    """``<as-of>_<reason>_row<row>_<slug>.eml`` — one name per row and day, so reruns replace."""
    return f"{as_of.isoformat()}_{reason}_row{row}_{slugify(prospect)}.eml"


def check_file_name(name: str) -> None:
    """Refuse a file name that could leave the drafts folder (defence in depth)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"unsafe file name {name!r}")


# ---------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class DraftEntry:
    """One due row's outcome, as the manifest and ``--json`` report it."""

    row: int
    prospect: str | None
    email: str | None
    reason: str
    status: str  # one of STATUSES
    name: str | None  # the .eml's (or drafts.mbox's) name in ``folder``; the would-be file's on a dry run
    subject: str | None
    detail: str
    folder: Path | None = None
    mailbox: str | None = None  # Gmail: the sender's mailbox the draft is (or would be) in
    gmail_id: str | None = None  # Gmail: the draft's id there

    @property
    def file(self) -> Path | None:
        """The file in the drafts folder (made on demand: a big run has 5,000 entries, and pathlib is slow)."""
        return None if self.name is None or self.folder is None else self.folder / self.name

    def as_json(self) -> dict[str, object]:
        return {
            "row": self.row,
            "prospect": self.prospect,
            "email": self.email,
            "reason": self.reason,
            "file": str(self.file) if self.file is not None else None,
            "status": self.status,
            "subject": self.subject,
            "detail": self.detail,
            "mailbox": self.mailbox,
            "gmail_id": self.gmail_id,
        }


@dataclass(slots=True)
class DraftsResult:
    """Every due row accounted for, in row order."""

    entries: list[DraftEntry]
    out: Path
    fmt: str
    dry_run: bool
    manifest: Path | None  # None on a dry run
    removed: list[Path] = field(default_factory=list)  # earlier drafts of the same as-of replaced away
    to: str = "files"  # or "gmail" ([drafts] to, --to)
    #: What a person should know though the drafts were made: one line each (the placeholder sender).
    warnings: list[str] = field(default_factory=list)
    #: Gmail refusals (a mailbox, or the whole service), one line each: the run exits 3.
    errors: list[str] = field(default_factory=list)
    #: Gmail requests sent (every try) and the quota units they cost.
    requests: int = 0
    units: int = 0

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def written(self) -> int:
        return self.count("written")

    @property
    def would_write(self) -> int:
        return self.count("would-write")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def limited(self) -> int:
        return self.count("limited")

    @property
    def gone(self) -> int:
        return self.count("gone")

    def counts(self) -> dict[str, int]:
        """Every status with how many entries have it, plus ``due``: for logs and monitoring."""
        out = {"due": len(self.entries)}
        out.update((status.replace("-", "_"), self.count(status)) for status in STATUSES)
        return out

    def entries_json(self) -> list[dict[str, object]]:
        return [e.as_json() for e in self.entries]

    def summary_text(self, shown: int = 20) -> str:
        """The terminal lines: what was written where, then every failure and the first skips."""
        lines = [self._head()]
        failures: dict[str, list[DraftEntry]] = {}
        for e in self.entries:
            if e.status == "failed":
                failures.setdefault(e.detail, []).append(e)
        for detail, failed in failures.items():
            if len(failed) == 1:
                lines.append(f"  failed  row {failed[0].row} {failed[0].prospect or ''}: {detail}")
            else:  # one mailbox refused: one line for all its drafts
                lines.append(f"  failed  rows {_rows(failed)}: {detail}")
        listed = [e for e in self.entries if e.status == ("would-write" if self.dry_run else "skipped")]
        for e in listed[:shown]:
            if e.status == "would-write":
                what = e.name if e.name is not None else f"{e.mailbox}: {e.detail}"
            else:
                what = e.detail
            lines.append(f"  {e.status:<7} row {e.row} {e.prospect or ''}: {what}")
        if len(listed) > shown:
            lines.append(f"  … and {len(listed) - shown} more (--json lists them all)")
        return "\n".join(lines)

    def _head(self) -> str:
        gmail = self.to == "gmail"
        where = "the Gmail Drafts" if gmail else self.out / MBOX if self.fmt == "mbox" else self.out
        boxes = len(
            {e.mailbox.casefold() for e in self.entries if e.mailbox and e.status in ("written", "would-write")}
        )
        mailboxes = f" of {boxes} mailbox{'es' * (boxes != 1)}" if gmail else ""
        if not self.entries:
            head = "Drafts: no prospect is due."
        elif self.dry_run:
            nothing = "nothing was sent to Google" if gmail else "nothing was written"
            verb = "put into" if gmail else "written to"
            head = f"Dry run: {self.would_write} draft(s) would be {verb} {where}{mailboxes} ({nothing})"
        elif gmail:
            updated = sum(1 for e in self.entries if e.status == "written" and e.detail.startswith("updated"))
            head = (
                f"Drafts: {self.written} put into {where}{mailboxes} ({self.written - updated} new, {updated} updated)"
            )
        else:
            head = f"Drafts: {self.written} written to {where}"
        extra = [
            f"{n} {label}"
            for n, label in (
                (self.skipped, "skipped (no usable email or no mailbox)" if gmail else "skipped (no usable email)"),
                (self.gone, "already sent or deleted in Gmail"),
                (self.failed, "failed"),
                (self.limited, "left out by --limit"),
            )
            if n
        ]
        if extra:
            head += "; " + ", ".join(extra)
        if gmail and self.requests:
            head += f"; {self.requests} Gmail request(s), {self.units} quota units"
        if self.manifest is not None and self.entries:
            head += f"; manifest {self.manifest}"
        return head


def _rows(entries: Sequence[DraftEntry], shown: int = 10) -> str:
    numbers = ", ".join(str(e.row) for e in entries[:shown])
    return numbers + (f" and {len(entries) - shown} more" if len(entries) > shown else "")


# ---------------------------------------------------------------- the drafts folder


def make_out_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"can't create the drafts folder {out} ({exc.strerror or exc}) — pass another --out") from None


def check_out_folder(out: Path) -> None:
    """Refuse an ``--out`` that can't be made, without making it: a run checks before it writes anything."""
    probe = out.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"can't create the drafts folder {out} ({probe} is not a folder) — pass another --out")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"can't create the drafts folder {out} ({probe} is not writable) — pass another --out")


_FORMULA_START = frozenset("=+-@\t\r")


def manifest_text(value: str | None) -> str:
    """Text as the manifest writes it: starting like a formula, it opens as text in Excel (no CSV injection)."""
    text = value or ""
    return "'" + text if text[:1] in _FORMULA_START else text


def manifest_bytes(entries: Sequence[DraftEntry], as_of: dt.date) -> bytes:
    day = as_of.isoformat()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADER)
    # One writerows over a comprehension: a big run has 5,000 entries.  manifest_text is
    # only called for text that could start like a formula.
    writer.writerows(
        [
            e.row,
            manifest_text(e.prospect) if e.prospect and e.prospect[0] in _FORMULA_START else e.prospect or "",
            manifest_text(e.email) if e.email and e.email[0] in _FORMULA_START else e.email or "",
            e.reason,
            e.status,
            e.name or "",
            manifest_text(e.subject) if e.subject and e.subject[0] in _FORMULA_START else e.subject or "",
            manifest_text(e.detail) if e.detail and e.detail[0] in _FORMULA_START else e.detail,
            day,
            e.mailbox or "",
            e.gmail_id or "",
        ]
        for e in entries
    )
    # A byte-order mark so Excel opens the Thai text as UTF-8.
    return buf.getvalue().encode("utf-8-sig")


def mbox_bytes(drafts: Sequence[Draft]) -> bytes:
    """mboxrd: a ``From`` separator line per message, LF line ends, ``>From`` quoting."""
    out = io.BytesIO()
    for d in drafts:
        stamp = d.date.astimezone(dt.UTC).strftime("%a %b %d %H:%M:%S %Y")
        out.write(f"From sheetsync@localhost {stamp}\n".encode("ascii"))
        body = d.data.replace(b"\r\n", b"\n")
        out.write(re.sub(rb"(?m)^(>*From )", rb">\1", body))
        if not body.endswith(b"\n"):
            out.write(b"\n")
        out.write(b"\n")
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Recorded:
    """A Gmail draft an earlier run with the same as-of made, as its manifest lists it."""

    row: int
    prospect: str  # as the manifest holds it (a formula-like name with its leading ')
    email: str
    mailbox: str
    gmail_id: str


def recorded_drafts(out: Path, as_of: dt.date) -> tuple[list[Recorded], str | None]:
    """The Gmail drafts the manifest in ``out`` records for ``as_of``, and a warning when it can't be read.

    No manifest, or one of another day, records nothing: those drafts are
    another day's and are never touched.  An unreadable one is a warning, not
    an error: drafts made earlier are still found by their Message-ID.
    """
    path = out / MANIFEST
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [], None
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        return [], f"can't read the earlier manifest {path} ({why}); drafts it lists are found by their Message-ID"
    day = as_of.isoformat()
    found: list[Recorded] = []
    try:
        for line in csv.DictReader(io.StringIO(text, newline="")):
            if line.get("as_of") != day or not line.get("gmail_id") or not line.get("mailbox"):
                continue
            found.append(
                Recorded(
                    int(line["row"]), line["prospect"] or "", line["email"] or "", line["mailbox"], line["gmail_id"]
                )
            )
    except (csv.Error, ValueError, KeyError, TypeError):
        return (
            [],
            f"the earlier manifest {path} is not one sheetsync wrote; drafts it lists are found by their Message-ID",
        )
    return found, None


def remove_replaced(out: Path, as_of: dt.date, keep: set[str]) -> list[Path]:
    """Drop our own ``.eml`` files of the same as-of that this run did not write again.

    Without this a renamed prospect or a row that is no longer due would
    leave a second, stale draft beside the new one; only names this module
    makes (``<as-of>_<reason>_row<n>_…``) are ever touched.
    """
    pattern = re.compile(rf"^{re.escape(as_of.isoformat())}_(?:{'|'.join(REASONS)})_row\d+_[^/\\]+\.eml$")
    removed: list[Path] = []
    try:
        names = os.listdir(out)
    except OSError:
        return removed
    for name in names:
        if name not in keep and pattern.match(name):
            path = out / name
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
    return removed


def write_result(result: DraftsResult, mbox: Sequence[Draft], as_of: dt.date, *, removing: bool) -> None:
    """The mbox or the clean-up of replaced ``.eml`` files, then the manifest (the end of every run that writes)."""
    out = result.out
    if result.to == "gmail":
        pass  # the drafts are in Gmail: no draft file to write or clean up
    elif result.fmt == "mbox":
        try:
            write_atomic(out / MBOX, mbox_bytes(mbox))
        except OSError as exc:
            raise UsageError(f"can't write {out / MBOX} ({exc.strerror or exc}) — check the folder") from None
    elif removing:  # a stopped run leaves the drafts it did not reach as they were
        kept = {e.name for e in result.entries if e.status == "written" and e.name is not None}
        result.removed = remove_replaced(out, as_of, kept)
    try:
        write_atomic(out / MANIFEST, manifest_bytes(result.entries, as_of))
    except OSError as exc:
        raise UsageError(f"can't write {out / MANIFEST} ({exc.strerror or exc}) — check the folder") from None


def stopped_message(result: DraftsResult, signum: int) -> str:
    """What a run stopped by a signal while making drafts says: how far it got, and where that is listed."""
    name = signal.Signals(signum).name
    if result.dry_run:
        return f"stopped by {name} while rendering drafts (a dry run: nothing was written) — run again"
    if result.to == "gmail":
        return (
            f"stopped by {name} while putting drafts into Gmail — {result.written} of {len(result.entries)} put, "
            f"listed in {result.manifest} (the rest marked {INTERRUPTED}); run again to put them"
        )
    where = f"to {result.out / MBOX}" if result.fmt == "mbox" else f"in {result.out}"
    return (
        f"stopped by {name} while writing drafts — {result.written} of {len(result.entries)} written {where}, "
        f"listed in {result.manifest} (the rest marked {INTERRUPTED}); run again to write them"
    )
