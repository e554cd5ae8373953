"""Fields, header mapping and cell → typed value (SPEC 4.1).

Parsing never raises for a bad cell: it returns the value or records a
:class:`BadValue` that the rules turn into a ``bad-value`` finding.  Only
problems with the tab's *shape* (missing required column, duplicate header)
raise, because no row can be read without fixing them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from .config import Config
from .errors import SourceError
from .grid import Value
from .sources.base import CellError

# field → (kind, default header, aliases)
FIELD_SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "prospect": ("text", "Prospect", ("Company", "Account")),
    "contact": ("text", "Contact", ("Contact Name", "Name")),
    "email": ("email", "Email", ("Contact Email", "E-mail")),
    "owner": ("text", "Owner", ("Rep", "Sales Rep")),
    "owner_email": ("email", "Owner Email", ()),
    "stage": ("text", "Stage", ()),
    "decision_maker": ("yesno", "Decision Maker", ("Decision Maker Confirmed", "Authority")),
    "budget": ("amount", "Budget", ("Amount", "Deal Size", "Value")),
    "expected_close": ("date", "Expected Close", ("Close Date", "Timeline")),
    "probability": ("percent", "Probability", ()),
    "last_contact": ("date", "Last Contact", ()),
    "next_follow_up": ("date", "Next Follow-up", ("Follow-up", "Next Step Date")),
    "appointment": ("datetime", "Appointment", ("Meeting",)),
    "info_requested": ("yesno", "Info Requested", ()),
    "closed_on": ("date", "Closed On", ("Closed Date",)),
    "created_on": ("date", "Created", ("Created On",)),
    "language": ("text", "Language", ()),
    "do_not_contact": ("yesno", "Do Not Contact", ()),
    "notes": ("text", "Notes", ()),
}
FIELDS = tuple(FIELD_SPECS)
REQUIRED = ("prospect", "stage")

EXCEL_TEXT_LIMIT = 32767
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# An address is local@domain with a dot inside the domain, no space, bracket or quote.  The
# domain is written "one character, then no dot up to the first dot, then the rest" and every
# quantifier is possessive: the obvious ``[^@…]+\.[^@…]+`` may split at any of the domain's
# dots, so a failed match costs time quadratic in its length, and in the whole-column pattern
# below exponential in the number of lines (issue 11).  tests/test_fast_paths.py checks the
# two spellings accept the same strings.
_ADDRESS = r"[^@\s<>()\[\],;:\"\\{0}]++@[^@\s<>()\[\],;:\"\\{0}][^@\s<>()\[\],;:\"\\.{0}]*+\.[^@\s<>()\[\],;:\"\\{0}]++"
_EMAIL = re.compile("^" + _ADDRESS.format("") + "$")
# _EMAIL without control characters: what Parser.email accepts with no problem to report.
_PLAIN_EMAIL = re.compile("^" + _ADDRESS.format(r"\x00-\x1f\x7f") + "$")
# Lines that are each empty or one _PLAIN_EMAIL: a whole chunk of an email column in one match.
# Each line can match in one way only and nothing is given back, so a bad line fails in time
# linear in the chunk instead of making the engine retry every earlier line.
_PLAIN_EMAIL_LINES = re.compile("(?:{0})?+(?:\n(?:{0})?+)*+".format(_ADDRESS.format(r"\x00-\x1f\x7f")))
CURRENCY_CODES = (
    "THB|USD|EUR|GBP|JPY|CNY|HKD|SGD|MYR|IDR|VND|PHP|INR|KRW|TWD|AUD|NZD|CAD|CHF|SEK|NOK|DKK|AED|SAR|LAK|MMK|KHR"
)
# A currency at the start, or at the end with the spaces before it.  The trailing spaces are
# matched only from the first of them (or, right after a leading match, not at all): a bare
# ``\s*`` would be tried from every space of a long run of spaces, quadratic in its length.
_CURRENCY = re.compile(
    rf"^(?:(?:{CURRENCY_CODES})(?![A-Za-z])|[฿$€£¥₩₹₫₱])\s*"
    rf"|(?:(?<!\s)\s*+|(?<=\s))(?:(?<![A-Za-z])(?:{CURRENCY_CODES})|[฿$€£¥₩₹₫₱]|บาท)$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TEXT_DATE = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_INF = float("inf")
YES = frozenset({"yes", "y", "true", "1", "x", "✓", "✔", "ใช่"})
NO = frozenset({"no", "n", "false", "0", "ไม่", "ไม่ใช่", ""})


def normalize_header(text: str) -> str:
    return " ".join(text.split()).casefold()


def col_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True, slots=True)
class BadValue:
    field: str
    col: int
    message: str


class _NoExtra(Mapping[str, Value]):
    """The empty, immutable ``extra`` every row shares until its sheet has extra columns."""

    def __getitem__(self, key: str) -> Value:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0


_NO_EXTRA = _NoExtra()


@dataclass(slots=True)
class Row:
    """One prospect as read; a field is None when empty or unreadable."""

    row: int
    prospect: str | None = None
    contact: str | None = None
    email: str | None = None
    owner: str | None = None
    owner_email: str | None = None
    stage: str | None = None
    decision_maker: bool | None = False
    budget: Decimal | None = None
    expected_close: dt.date | None = None
    probability: Decimal | None = None
    last_contact: dt.date | None = None
    next_follow_up: dt.date | None = None
    appointment: dt.date | dt.datetime | None = None
    info_requested: bool | None = False
    closed_on: dt.date | None = None
    created_on: dt.date | None = None
    language: str | None = None
    do_not_contact: bool | None = False
    notes: str | None = None
    #: Extra columns by header (shared empty mapping until the sheet has extras: rows are many).
    extra: Mapping[str, Value] = _NO_EXTRA
    bad: tuple[BadValue, ...] = ()

    @property
    def appointment_date(self) -> dt.date | None:
        a = self.appointment
        return a.date() if isinstance(a, dt.datetime) else a

    def is_bad(self, name: str) -> bool:
        return any(b.field == name for b in self.bad)


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


def map_headers(tab: str, header_row: int, values: list[Value], config: Config) -> Layout:
    """Find each field's column by header (aliases, case and spacing ignored; ``[columns]`` wins)."""
    wanted: dict[str, str] = {}
    for name, header in config.columns.items():  # your headers first: they beat any alias
        wanted[normalize_header(header)] = name
    for name, (_kind, default, aliases) in FIELD_SPECS.items():
        if name not in config.columns:
            for header in (default, *aliases):
                wanted.setdefault(normalize_header(header), name)
    headers = tuple("" if v is None else str(v).strip() for v in values)
    seen: dict[str, int] = {}
    columns: dict[str, int] = {}
    extras: dict[int, str] = {}
    for col, text in enumerate(headers):
        key = normalize_header(text)
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
    for name in REQUIRED:
        if name not in columns:
            expected = config.columns.get(name) or FIELD_SPECS[name][1]
            found = ", ".join(repr(h) for h in headers if h) or "none"
            raise SourceError(
                f"the {tab} tab has no {expected!r} column (header row {header_row}; headers found: {found}) "
                f'— add the column or set [columns] {name} = "<your header>" in sheetsync.toml'
            )
    return Layout(tab, header_row, columns, extras, headers)


# ---------------------------------------------------------------- values

Parsed = tuple[Any, str | None]  # (value, problem)


class Parser:
    """Typed readers configured once per run (date order, Buddhist Era)."""

    def __init__(self, config: Config) -> None:
        self.date_order = config.date_order
        self.buddhist_era = config.buddhist_era
        self.kinds: dict[str, Callable[[Value], Parsed]] = {
            "text": self.text,
            "email": self.email,
            "yesno": self.yesno,
            "amount": self.amount,
            "number": self.number,
            "percent": self.percent,
            "date": self.date,
            "datetime": self.datetime,
        }

    # Each reader returns (value, None) or (None, what is wrong).

    def text(self, v: Value) -> Parsed:
        if isinstance(v, CellError):
            return None, _error_problem(v)
        if v is None:
            return None, None
        if isinstance(v, str):
            s = v.strip()
        elif isinstance(v, bool):
            s = "TRUE" if v else "FALSE"
        elif isinstance(v, float) and v.is_integer():
            s = str(int(v))
        elif isinstance(v, dt.datetime) and not (v.hour or v.minute or v.second):
            s = v.date().isoformat()
        elif isinstance(v, dt.date):
            s = v.isoformat()
        else:
            s = str(v)
        if not s:
            return None, None
        if _CONTROL.search(s):
            return _CONTROL.sub("", s).strip() or None, "contains invisible control characters — retype the cell"
        if len(s) > EXCEL_TEXT_LIMIT:
            return s[:EXCEL_TEXT_LIMIT], f"is {len(s):,} characters long, over the 32,767 a cell may hold"
        return s, None

    def email(self, v: Value) -> Parsed:
        if type(v) is str:
            # Every address in a big sheet is a different cell value, so the memo never
            # helps here; one regex that also rules out control characters settles the
            # usual clean address without going through text().
            s = v.strip()
            if len(s) <= EXCEL_TEXT_LIMIT and _PLAIN_EMAIL.match(s):
                return s, None
        s, problem = self.text(v)
        if s is None or problem:
            return None, problem
        if _EMAIL.match(s):
            return s, None
        return None, f"{_show(s)} is not an email address — write it like name@example.com"

    def yesno(self, v: Value) -> Parsed:
        if isinstance(v, CellError):
            return None, _error_problem(v)
        if v is None:
            return False, None
        if isinstance(v, bool):
            return v, None
        if isinstance(v, int | float) and v in (0, 1):
            return bool(v), None
        s = str(v).strip().casefold()
        if s in YES:
            return True, None
        if s in NO:
            return False, None
        return None, f"{_show(v)} is not yes or no — write yes/no (or ใช่/ไม่)"

    def number(self, v: Value) -> Parsed:
        if type(v) is float and v == v and v not in (_INF, -_INF):
            return Decimal(repr(v)), None
        if v is None or v == "":
            return None, None
        if isinstance(v, CellError):
            return None, _error_problem(v)
        if isinstance(v, bool):
            return None, f"{_show(v)} is not a number"
        if isinstance(v, int):
            return Decimal(v), None
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                return None, f"{v} is not a number"
            return Decimal(repr(v)), None
        if isinstance(v, Decimal):
            return v, None
        if not isinstance(v, str):
            return None, f"{_show(v)} is not a number — type the amount, e.g. 45,000"
        s = v.strip()
        if not s:
            return None, None
        if len(s) > EXCEL_TEXT_LIMIT:
            # Not only a cell no spreadsheet should hold: tens of thousands of digits make every
            # exact sum of the figures slow, and a million overflow them.
            return None, f"{_show(v)} is {len(s):,} characters long, over the 32,767 a cell may hold — type the amount"
        negative = s.startswith("(") and s.endswith(")")
        if negative:
            s = s[1:-1].strip()
        s = _CURRENCY.sub("", s).strip().replace("\u00a0", "").replace(" ", "")
        if s.startswith(("+", "-")) and len(s) > 1:
            # "-฿5,000" style: the currency may follow the sign
            s = s[0] + _CURRENCY.sub("", s[1:]).strip()
        if not _NUMBER.match(s):
            return None, f"{_show(v)} is not a number — type the amount, e.g. 45,000 or ฿45,000"
        try:
            d = Decimal(s.replace(",", ""))
        except InvalidOperation:
            return None, f"{_show(v)} is not a number"
        return (-d if negative else d), None

    def amount(self, v: Value) -> Parsed:
        if type(v) is float and 0 <= v < _INF:
            return Decimal(repr(v)), None
        d, problem = self.number(v)
        if d is not None and d < 0:
            return None, f"{_show(v)} is a negative budget — budgets are 0 or more"
        return d, problem

    def percent(self, v: Value) -> Parsed:
        if isinstance(v, CellError):
            return None, _error_problem(v)
        s = v.strip() if isinstance(v, str) else v
        had_sign = isinstance(s, str) and s.endswith("%")
        d, problem = self.number(s[:-1] if had_sign and isinstance(s, str) else s)
        if d is None:
            if problem:
                problem = f"{_show(v)} is not a percentage — write 40, 40% or 0.4"
            return None, problem
        frac = d if not had_sign and d <= 1 else d / 100
        if frac < 0 or frac > 1:
            return None, f"{_show(v)} is not a percentage between 0 and 100"
        return frac, None

    def datetime(self, v: Value) -> Parsed:
        """A date, keeping the time of day when the cell has one (appointments)."""
        if isinstance(v, CellError):
            return None, _error_problem(v)
        if v is None or v == "":
            return None, None
        if isinstance(v, dt.datetime):
            return self._era_dt(v), None
        if isinstance(v, dt.date):
            return self._era(v), None
        if isinstance(v, bool):
            return None, f"{_show(v)} is not a date"
        if isinstance(v, int | float | Decimal):
            serial = float(v)
            if not 1 <= serial < 2958466:
                return None, f"{_show(v)} is not a date — type it as a date, e.g. 2026-11-27"
            stamp = _EXCEL_EPOCH + dt.timedelta(days=serial)
            stamp = stamp.replace(microsecond=0) + dt.timedelta(seconds=round(stamp.microsecond / 1e6))
            return (stamp if serial % 1 else stamp.date()), None
        if isinstance(v, dt.time | dt.timedelta):
            return None, f"{_show(v)} is a time without a date — type the date too"
        if not isinstance(v, str):
            return None, f"{_show(v)} is not a date"
        return self._text_date(v)

    def date(self, v: Value) -> Parsed:
        d, problem = self.datetime(v)
        if isinstance(d, dt.datetime):
            d = d.date()
        return d, problem

    def _text_date(self, v: str) -> Parsed:
        s = v.strip()
        if not s:
            return None, None
        bad = f"{_show(v)} is not a date — use a date cell or 2026-11-27"
        m = _ISO_DATE.match(s)
        iso = m is not None
        if m:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
        else:
            m = _TEXT_DATE.match(s)
            if not m:
                return None, bad
            a, b, c = int(m[1]), int(m[2]), int(m[3])
            if self.date_order == "DMY":
                d, mo, y = a, b, c
            elif self.date_order == "MDY":
                mo, d, y = a, b, c
            else:
                y, mo, d = a, b, c
            if len(m[1 if self.date_order == "YMD" else 3]) != 4:
                return None, f"{_show(v)} has no four-digit year — write the year in full, e.g. 27/11/2026"
        y = self._year(y)
        try:
            if m[4] is not None:
                return dt.datetime(y, mo, d, int(m[4]), int(m[5]), int(m[6] or 0)), None
            return dt.date(y, mo, d), None
        except ValueError:
            if iso:
                return None, f"{_show(v)} is not a valid date (year-month-day) — check the month and day"
            order = {"DMY": "day/month/year", "MDY": "month/day/year", "YMD": "year-month-day"}[self.date_order]
            return None, f"{_show(v)} is not a valid date (read as {order}; set [pipeline] date_order if wrong)"

    def _year(self, y: int) -> int:
        if self.buddhist_era == "yes" or (self.buddhist_era == "auto" and y >= 2400):
            return y - 543
        return y

    def _era(self, d: dt.date) -> dt.date:
        y = self._year(d.year)
        return d if y == d.year else _replace_year(d, y)

    def _era_dt(self, d: dt.datetime) -> dt.datetime:
        y = self._year(d.year)
        return d if y == d.year else _replace_year(d, y)


def _replace_year(d: Any, year: int) -> Any:
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February of a B.E. year that is not a leap year in C.E.
        return d.replace(year=year, day=28)


def _error_problem(v: CellError) -> str:
    if v:
        return f"holds the Excel error {v} — fix the formula or type the value"
    return "is a formula with no saved result — open and save the workbook in Excel, or type the value"


def _show(v: Value) -> str:
    text = repr(v) if not isinstance(v, str) else f"'{v}'"
    return text if len(text) <= 60 else text[:57] + "…'"


# ---------------------------------------------------------------- rows


def read_rows(tab: str, rows: Iterable[tuple[int, list[Value]]], config: Config) -> tuple[Layout, list[Row]]:
    """Header row = first non-empty row; every later non-blank row becomes a :class:`Row`."""
    it = iter(rows)
    for number, values in it:
        if any(not _blank(v) for v in values):
            layout = map_headers(tab, number, values, config)
            break
    else:
        raise SourceError(f"the {tab} tab is empty — put the header row (Prospect, Stage, …) on top")
    return layout, list(_rows(layout, it, config))


def _blank(v: Value) -> bool:
    return v is None or (isinstance(v, str) and not v.strip() and not isinstance(v, CellError))


_CACHE_LIMIT = 8192
_CACHEABLE = (str, dt.date, dt.datetime, CellError)
#: Cell types that can't compare equal to a number of another type (``True == 1 == 1.0``):
#: a chunk of a column holding only these is looked up in the memo for every cell.
_LOOKUP_SAFE = frozenset({str, float, dt.date, dt.datetime, type(None), CellError})
# Rows parsed together.  Small enough that a chunk's freshly decoded cells are still
# in the CPU cache when its columns are parsed: 512 rows parse 100,000 in ~0.5 s,
# 4,096 took ~0.8 s, most of it python-calamine writing strings to cold memory.
_CHUNK = 512
_ROW_FIELDS = FIELDS  # Row's positional order after `row`
_YESNO = frozenset(n for n, spec in FIELD_SPECS.items() if spec[0] == "yesno")


def _rows(layout: Layout, it: Iterator[tuple[int, list[Value]]], config: Config) -> Iterator[Row]:
    """Parse rows a chunk at a time, column by column.

    This is the hot loop of a big sync: working on a column at a time lets
    each cell cost one dictionary look-up when its value was seen before
    (stages, owners, dates, yes/no repeat endlessly), and Row objects are
    built by ``map`` instead of attribute by attribute.  The checks that a
    chunk needs no special care (no blank-looking row, no blank row to drop)
    are made on whole chunks with C-level ``all``/``in`` so the common case
    never runs Python code per row.
    """
    parser = Parser(config)
    readers = {
        name: _ColumnReader(
            parser.kinds[FIELD_SPECS[name][0]],
            name in _YESNO,
            _plain_emails if FIELD_SPECS[name][0] == "email" else None,
        )
        for name in layout.columns
    }
    extras = list(layout.extras.items())
    prospect_col = layout.columns.get("prospect")
    while True:
        raw_chunk = list(itertools.islice(it, _CHUNK))
        if not raw_chunk:
            return
        numbers, values = zip(*raw_chunk, strict=True)
        if not all(map(any, values)):  # a row with no truthy cell may be empty: look row by row
            chunk = [(n, v) for n, v in raw_chunk if any(v) or any(x is not None and x != "" for x in v)]
            if not chunk:
                continue
            numbers = tuple(n for n, _ in chunk)
            values = tuple(v for _, v in chunk)
        # Rows of one sheet usually have one length, and zip is quicker than zip_longest.
        rectangular = len(set(map(len, values))) == 1
        columns = list(zip(*values, strict=True) if rectangular else itertools.zip_longest(*values))
        size = len(values)
        per_field: list[Iterable[Any]] = []
        problems: list[tuple[int, BadValue]] = []
        for name in _ROW_FIELDS:
            col = layout.columns.get(name)
            if col is None:
                per_field.append(itertools.repeat(False if name in _YESNO else None, size))
                continue
            cells = columns[col] if col < len(columns) else (None,) * size
            per_field.append(readers[name].read(cells, name, col, problems))
        rows = list(map(Row, numbers, *per_field))
        for i, bad in problems:
            rows[i].bad = (*rows[i].bad, bad)
        if extras:
            for row, row_values in zip(rows, values, strict=True):
                n = len(row_values)
                extra: dict[str, Value] = {}
                row.extra = extra
                for col, header in extras:
                    raw = row_values[col] if col < n else None
                    if type(raw) is str and _CONTROL.search(raw):
                        raw = _CONTROL.sub("", raw)
                    extra[header] = None if type(raw) is CellError else raw
        # A row with neither prospect nor stage may be only spaces: a blank row.  The
        # prospect column is always there (it is required), so when it has no None
        # in this chunk there is nothing to drop.
        if prospect_col is None or None in per_field[_PROSPECT_INDEX]:
            for row, row_values in zip(rows, values, strict=True):
                if row.prospect is None and row.stage is None and not row.bad and all(_blank(v) for v in row_values):
                    continue  # only spaces: a blank row
                yield row
        else:
            yield from rows


_PROSPECT_INDEX = _ROW_FIELDS.index("prospect")


class _Memo(dict[Any, Parsed]):
    """Cell value → (value, problem): hits are answered by ``dict`` in C, misses parse.

    Numbers repeat too (budgets), but a float key would also answer for the
    bool or int equal to it (``True == 1.0``), so floats are only memoized
    while ``floats`` is set, which the reader does for chunks it has checked
    hold no such cell.  ``saw_float`` tells the reader a column has floats at
    all; the others never pay for the check.
    """

    __slots__ = ("blank", "floats", "parse", "saw_float")

    def __init__(self, parse: Callable[[Value], Parsed], blank: Parsed) -> None:
        super().__init__({None: blank, "": blank})
        self.parse = parse
        self.blank = blank
        self.floats = False
        self.saw_float = False

    def __missing__(self, v: Value) -> Parsed:
        if type(v) is str and not v.strip():
            return self.blank
        parsed = self.parse(v)
        kind = type(v)
        if kind in _CACHEABLE:
            if len(self) < _CACHE_LIMIT:
                self[v] = parsed
        elif kind is float:
            self.saw_float = True
            # 0.0 is left out because -0.0 equals it but parses to another Decimal,
            # NaN because it never equals itself.
            if self.floats and v == v and v != 0 and len(self) < _CACHE_LIMIT:
                self[v] = parsed
        return parsed


def _plain_emails(cells: Sequence[Value]) -> tuple[list[Value], list[int]] | None:
    """A chunk of an email column read at C speed: its values, and the cells to read one by one.

    Addresses are all different, so the memo can't help: the cells are joined
    by line breaks and checked with one regex, each line empty or a clean
    address (a cell holding a line break itself shows up as one line too
    many).  The match stops at the first line that isn't; it is left to the
    parser and the match goes on from the next line, since a team's sheet has
    a mistyped address in most chunks.  None means "read every cell": something other than text.
    """
    if not set(map(type, cells)) <= _TEXT_OR_NONE:
        return None
    texts = cast("Sequence[str | None]", cells)
    text = "\n".join([v or "" for v in texts] if None in texts else cast("Sequence[str]", texts))
    if text.count("\n") != len(texts) - 1:
        return None
    if len(text) > EXCEL_TEXT_LIMIT and max(len(v or "") for v in texts) > EXCEL_TEXT_LIMIT:
        return None  # text() would cut it down and say so
    values: list[Value] = [v or None for v in texts]
    odd: list[int] = []
    pos = line = 0  # the number of the line starting at pos
    while (end := _PLAIN_EMAIL_LINES.match(text, pos).end()) < len(text):  # type: ignore[union-attr]
        # The match stops in (or at the start of) the first line that isn't clean.
        bad = line + text.count("\n", pos, text.rfind("\n", 0, end) + 1)
        odd.append(bad)
        pos = text.find("\n", end) + 1
        if not pos:
            break
        line = bad + 1
    return values, odd


_TEXT_OR_NONE = frozenset({str, type(None)})


class _ColumnReader:
    """One column's reader with a memo of values already seen (value, problem)."""

    __slots__ = ("bulk", "memo")

    def __init__(
        self,
        parse: Callable[[Value], Parsed],
        yesno: bool,
        bulk: Callable[[Sequence[Value]], tuple[list[Value], list[int]] | None] | None = None,
    ) -> None:
        self.memo = _Memo(parse, (False if yesno else None, None))
        self.bulk = bulk  # a whole-chunk check that may answer without the memo

    def read(self, cells: Sequence[Value], name: str, col: int, problems: list[tuple[int, BadValue]]) -> list[Any]:
        memo = self.memo
        if self.bulk is not None and (answer := self.bulk(cells)) is not None:
            values, odd = answer
            for i in odd:
                values[i], problem = memo[cells[i]]  # text: no bool or int to confuse with a float
                if problem is not None:
                    problems.append((i, BadValue(name, col, problem)))
            return values
        # Until the memo holds a float no look-up can go wrong; after that, only
        # chunks without bools and ints are looked up wholesale.
        checked = memo.saw_float and set(map(type, cells)) <= _LOOKUP_SAFE
        if checked or not memo.saw_float:
            memo.floats = checked
            parsed = list(map(memo.__getitem__, cells))
        else:
            # A bool or int equals a float (True == 1.0) and would find its memo entry:
            # those cells are parsed, never looked up.
            memo.floats = True
            parse = memo.parse
            parsed = [memo[v] if type(v) in _LOOKUP_SAFE else parse(v) for v in cells]
        out, found = zip(*parsed, strict=True)
        if found.count(None) != len(found):
            problems.extend((i, BadValue(name, col, p)) for i, p in enumerate(found) if p is not None)
        return out  # type: ignore[return-value]


# ---------------------------------------------------------------- quotas


@dataclass(frozen=True, slots=True)
class Quotas:
    by_owner: dict[str, Decimal]
    problems: list[tuple[str, int, str]]  # (cell, row, message)

    @property
    def total(self) -> Decimal | None:
        return sum(self.by_owner.values(), Decimal(0)) if self.by_owner else None


def read_quotas(tab: str, rows: Iterable[tuple[int, list[Value]]], config: Config) -> Quotas:
    """The optional Quotas tab (SPEC 4.3): columns Owner and Quota."""
    parser = Parser(config)
    by_owner: dict[str, Decimal] = {}
    seen: dict[str, str] = {}
    problems: list[tuple[str, int, str]] = []
    it = iter(rows)
    owner_col = quota_col = -1
    for number, values in it:
        if any(not _blank(v) for v in values):
            keys = [normalize_header(str(v)) if v is not None else "" for v in values]
            if "owner" not in keys or "quota" not in keys:
                found = ", ".join(repr(str(v)) for v in values if not _blank(v))
                raise SourceError(
                    f"the {tab} tab needs an 'Owner' and a 'Quota' column in its header row {number} "
                    f"(found: {found}) — fix the headers, or rename the tab if it is not a quota list"
                )
            owner_col, quota_col = keys.index("owner"), keys.index("quota")
            break
    else:
        return Quotas({}, [])
    for number, values in it:
        owner, _ = parser.text(values[owner_col] if owner_col < len(values) else None)
        raw = values[quota_col] if quota_col < len(values) else None
        if owner is None and _blank(raw):
            continue
        cell = f"{tab}!{col_letter(quota_col)}{number}"
        if owner is None:
            problems.append(
                (f"{tab}!{col_letter(owner_col)}{number}", number, "quota with no owner — add the owner's name")
            )
            continue
        amount, problem = parser.amount(raw)
        if problem or amount is None:
            problems.append((cell, number, f"quota for {owner} {problem or 'is empty'} — type the amount"))
            continue
        key = normalize_header(owner)  # owners match case- and space-insensitively, as in the figures
        if key in seen:
            problems.append(
                (
                    cell,
                    number,
                    f"{owner} is listed twice on the {tab} tab (also as {seen[key]!r}); the first quota is used",
                )
            )
            continue
        seen[key] = owner
        by_owner[owner] = amount
    return Quotas(by_owner, problems)
