"""The pipeline's fields, the headers and aliases that name them, and where each sits in a tab.

:func:`locate_header` finds the header row (the first of the first 30
non-empty rows with two known headers, or ``[tabs] header_row``) and
:func:`map_headers` turns it into a :class:`Layout`; they raise
``SourceError`` only for a tab whose *shape* is wrong (no header row, a
missing required column, a duplicate header), because no row can be read
until that is fixed.  Nothing here parses a cell value or knows a backend;
which field an unused header resembles is :mod:`.likeness`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import SourceError
from .values import Value, col_letter, is_blank

# field → (kind, default header, aliases): reference 4.1 and its second edition (10.1), in that order.
FIELD_SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "prospect": (
        "text",
        "Prospect",
        ("Company", "Account", "Company Name", "Customer", "Client", "บริษัท", "ลูกค้า", "ชื่อลูกค้า"),
    ),
    "contact": ("text", "Contact", ("Contact Name", "Name", "Contact Person", "ผู้ติดต่อ", "ชื่อผู้ติดต่อ")),
    "email": ("email", "Email", ("Contact Email", "E-mail", "Email Address", "อีเมล")),
    "owner": (
        "text",
        "Owner",
        ("Rep", "Sales Rep", "Salesperson", "Account Owner", "ผู้รับผิดชอบ", "พนักงานขาย", "เซลส์"),
    ),
    "owner_email": (
        "email",
        "Owner Email",
        ("Rep Email", "Sales Rep Email", "Owner E-mail", "อีเมลผู้รับผิดชอบ"),
    ),
    "stage": ("text", "Stage", ("Status", "Deal Stage", "สถานะ", "ขั้นตอน")),
    "decision_maker": (
        "yesno",
        "Decision Maker",
        ("Decision Maker Confirmed", "Authority", "DM", "DM Confirmed", "ผู้มีอำนาจตัดสินใจ"),
    ),
    "budget": ("amount", "Budget", ("Amount", "Deal Size", "Value", "Deal Value", "มูลค่า", "งบประมาณ")),
    "expected_close": (
        "date",
        "Expected Close",
        ("Close Date", "Timeline", "Est. Close", "Expected Close Date", "วันที่คาดว่าจะปิด"),
    ),
    "probability": ("percent", "Probability", ("Prob", "Win Probability", "โอกาส")),
    "last_contact": ("date", "Last Contact", ("Last Contacted", "ติดต่อล่าสุด")),
    "next_follow_up": ("date", "Next Follow-up", ("Follow-up", "Next Step Date", "Next Step", "ติดตามครั้งถัดไป")),
    "appointment": ("datetime", "Appointment", ("Meeting", "Meeting Date", "นัดหมาย")),
    "info_requested": ("yesno", "Info Requested", ("ขอข้อมูล",)),
    "closed_on": ("date", "Closed On", ("Closed Date", "Close Won Date", "วันที่ปิด")),
    "created_on": ("date", "Created", ("Created On", "Date Added", "วันที่สร้าง")),
    "language": ("text", "Language", ("Lang", "ภาษา")),
    "do_not_contact": ("yesno", "Do Not Contact", ("ห้ามติดต่อ",)),
    "notes": ("text", "Notes", ("Comments", "หมายเหตุ")),
}
FIELDS = tuple(FIELD_SPECS)
REQUIRED = ("prospect", "stage")
#: The Quotas tab's two columns (reference 4.3): ``[columns]`` key → headers, in order of preference.
#: A quota header may also be any header containing one of QUOTA_WORDS (``Q4 Target``).
QUOTA_SPECS: dict[str, tuple[str, ...]] = {
    "quota_owner": ("Owner", "Rep", "Sales Rep", "Salesperson", "Name", "พนักงานขาย", "ผู้รับผิดชอบ"),
    "quota": ("Quota", "Target", "Goal", "เป้า", "เป้าหมาย"),
}
QUOTA_COLUMNS = tuple(QUOTA_SPECS)
QUOTA_WORDS = ("quota", "target", "เป้า")
#: How far down a tab the header row is looked for: its first 30 non-empty rows (reference 4.1).
HEADER_SEARCH_ROWS = 30


def normalize_header(text: str) -> str:
    """Case and runs of spaces ignored: how owners (and stage-like text) are matched."""
    return " ".join(text.split()).casefold()


def header_key(text: str) -> str:
    """How headers are matched: case, runs of spaces and a trailing ``?``, ``:`` or ``.`` ignored (reference 4.1)."""
    return normalize_header(text).rstrip("?:.").rstrip()


class ColumnNames(Protocol):
    """What header matching needs of the config: ``[columns]`` and ``[tabs] header_row``."""

    @property
    def columns(self) -> Mapping[str, str]: ...

    @property
    def header_row(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each field sits in the tab."""

    tab: str
    header_row: int
    columns: Mapping[str, int]  # field → 0-based column
    extras: Mapping[int, str]  # 0-based column → header text
    headers: tuple[str, ...]

    def cell(self, name: str, row: int) -> str:
        return f"{self.tab}!{col_letter(self.columns[name])}{row}"

    def cell_at(self, col: int, row: int) -> str:
        return f"{self.tab}!{col_letter(col)}{row}"

    def header(self, name: str) -> str:
        """The header a field is read from, or its default header when the tab has no such column."""
        col = self.columns.get(name)
        return FIELD_SPECS[name][1] if col is None else self.headers[col]


def wanted_headers(config: ColumnNames) -> dict[str, str]:
    """Header key → field: your ``[columns]`` first (they beat any alias), then each field's header and aliases."""
    wanted: dict[str, str] = {}
    for name, header in config.columns.items():
        if name in FIELD_SPECS:  # [columns] also holds the Quotas tab's quota_owner and quota
            wanted[header_key(header)] = name
    for name, (_kind, default, aliases) in FIELD_SPECS.items():
        if name not in config.columns:
            for header in (default, *aliases):
                wanted.setdefault(header_key(header), name)
    return wanted


def matched_fields(values: Sequence[Value], wanted: Mapping[str, str]) -> set[str]:
    """The fields a row's cells name, as a header row would map them."""
    return {field for v in values if isinstance(v, str) and (field := wanted.get(header_key(v))) is not None}


Table = Iterator[tuple[int, list[Value]]]


@dataclass(frozen=True, slots=True)
class HeaderSearch:
    """Where a tab's header row is: the row found (or None), and the first non-empty row (or None: an empty tab)."""

    found: tuple[int, list[Value]] | None
    first: tuple[int, list[Value]] | None
    fixed: bool  # [tabs] header_row said where


def find_header_row(rows: Table, qualifies: Callable[[list[Value]], bool], fixed: int | None = None) -> HeaderSearch:
    """The header row: row ``fixed``, else the first of the first 30 non-empty rows that ``qualifies``.

    Reads ``rows`` only as far as the header row, so the rows after it can
    be read from the same iterator.
    """
    first: tuple[int, list[Value]] | None = None
    seen = 0
    for number, values in rows:
        if fixed is not None and number > fixed:
            break
        if not any(not is_blank(v) for v in values):
            continue
        first = first or (number, values)
        if fixed is not None:
            if number == fixed:
                return HeaderSearch((number, values), first, True)
            continue
        if qualifies(values):
            return HeaderSearch((number, values), first, False)
        seen += 1
        if seen == HEADER_SEARCH_ROWS:
            break
    return HeaderSearch(None, first, fixed is not None)


def map_headers(tab: str, header_row: int, values: Sequence[Value], config: ColumnNames) -> Layout:
    """Find each field's column by header (aliases, case, spacing and end punctuation ignored; ``[columns]`` wins).

    A duplicate header, or two headers that mean one field, raise
    ``SourceError``; a missing required column is the reader's to report
    (:func:`~.reader.locate_header`), since ``init --from`` maps sheets that
    lack one.
    """
    wanted = wanted_headers(config)
    headers = tuple("" if v is None else str(v).strip() for v in values)
    seen: dict[str, int] = {}
    columns: dict[str, int] = {}
    extras: dict[int, str] = {}
    for col, text in enumerate(headers):
        key = header_key(text)
        if not key:
            continue
        if key in seen:
            raise SourceError(
                f"duplicate header {text!r} in {tab}!{col_letter(seen[key])}{header_row} and "
                f"{tab}!{col_letter(col)}{header_row} — rename or delete one of the columns"
            )
        seen[key] = col
        field_name = wanted.get(key)
        if field_name is None:
            extras[col] = text
        elif field_name in columns:
            first = columns[field_name]
            raise SourceError(
                f"columns {headers[first]!r} ({tab}!{col_letter(first)}{header_row}) and {text!r} "
                f"({tab}!{col_letter(col)}{header_row}) both mean the {field_name.replace('_', ' ')} field — "
                "rename one, or set the header to use in [columns]"
            )
        else:
            columns[field_name] = col
    return Layout(tab, header_row, columns, extras, headers)
