"""A table of raw cells → a :class:`Layout` and typed :class:`Row` objects (reference 4.1).

The header row is found by :func:`locate_header` (rows above it, a
title or notes, are ignored); every later non-blank row becomes
a Row, its unreadable cells recorded as :class:`BadValue` for the rules.
Two ways to read the rows, which give the same rows (tests/test_fast_paths.py
proves it on adversarial tables): the plain path, one cell at a time through
the parser, and the fast path this module uses by default, a chunk of rows
at a time, column by column, with a memo of values already seen and one
regex over a whole chunk of an email column.  ``SHEETSYNC_PLAIN=reader``
(see :mod:`sheetsync.speed`) switches the fast path off.  Nothing here opens a file or knows a backend.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from .. import speed
from ..config import Config
from ..errors import SourceError
from .fields import (
    FIELD_SPECS,
    FIELDS,
    HEADER_SEARCH_ROWS,
    REQUIRED,
    ColumnNames,
    Layout,
    Table,
    find_header_row,
    map_headers,
    matched_fields,
    wanted_headers,
)
from .likeness import suggest_columns
from .parse import CONTROL, Parsed, Parser
from .values import EXCEL_TEXT_LIMIT, CellError, Value, address_pattern, is_blank

# Lines that are each empty or one clean address (no control characters): a whole chunk of
# an email column in one match.  Each line can match in one way only and nothing is given
# back, so a bad line fails in time linear in the chunk instead of making the engine retry
# every earlier line.
_PLAIN_EMAIL_LINES = re.compile("(?:{0})?+(?:\n(?:{0})?+)*+".format(address_pattern(r"\x00-\x1f\x7f")))


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


def locate_header(tab: str, rows: Table, config: ColumnNames) -> Layout:
    """The pipeline tab's header row mapped to fields (reference 4.1): the first row with two known headers.

    Raises ``SourceError`` for an empty tab, a ``[tabs] header_row`` that is
    empty, and for a tab whose headers lack a required column, naming the row
    it looked at and the header that looks like the missing one.
    """
    wanted = wanted_headers(config)
    search = find_header_row(rows, lambda values: len(matched_fields(values, wanted)) >= 2, config.header_row)
    if search.first is None and not search.fixed:
        raise SourceError(f"the {tab} tab is empty — put the header row (Prospect, Stage, …) on top")
    if search.found is None and search.fixed:
        raise SourceError(
            f"[tabs] header_row = {config.header_row}, but row {config.header_row} of the {tab} tab is empty "
            "— set it to the row that holds your headers, or remove it to let sheetsync find them"
        )
    number, values = search.found or search.first  # type: ignore[misc]
    layout = map_headers(tab, number, values, config)
    for name in REQUIRED:
        if name not in layout.columns:
            raise SourceError(_missing_required(layout, name, config, search.found is not None))
    return layout


def _missing_required(layout: Layout, name: str, config: ColumnNames, found: bool) -> str:
    """The missing-column message: the row looked at, what it holds, and the fix most likely to be right."""
    tab, row = layout.tab, layout.header_row
    expected = config.columns.get(name) or FIELD_SPECS[name][1]
    headers = ", ".join(repr(h) for h in layout.headers if h) or "none"
    if found:
        where = f"header row {row}; headers found: {headers}"
    elif config.header_row is not None:
        where = f"header row {row}, from [tabs] header_row; headers found: {headers}"
    else:
        where = (
            f"no row among the first {HEADER_SEARCH_ROWS} has two headers sheetsync knows, so it looked at row {row}, "
            f"the first non-empty one: {headers}"
        )
    guess = suggest_columns(layout).get(name)
    if guess is not None:
        fix = f'{guess!r} looks like it: set [columns] {name} = "{guess}" in sheetsync.toml'
    else:
        fix = f'add the column or set [columns] {name} = "<your header>" in sheetsync.toml'
    if not found and config.header_row is None:
        fix += "; if your headers are further down, set [tabs] header_row = <their row number>"
    return f"the {tab} tab has no {expected!r} column ({where}) — {fix}"


def read_rows(tab: str, rows: Iterable[tuple[int, list[Value]]], config: Config) -> tuple[Layout, list[Row]]:
    """The header row (:func:`locate_header`), then every later non-blank row as a :class:`Row`."""
    it = iter(rows)
    layout = locate_header(tab, it, config)
    return layout, list((_plain_rows if speed.plain("reader") else _rows)(layout, it, config))


def _plain_rows(layout: Layout, it: Iterator[tuple[int, list[Value]]], config: Config) -> Iterator[Row]:
    """The plain path: every field of every row through the parser, one cell at a time."""
    parser = Parser(config)
    present = [
        (name, col, parser.kinds[FIELD_SPECS[name][0]])
        for name in FIELDS
        if (col := layout.columns.get(name)) is not None
    ]
    extras = list(layout.extras.items())
    for number, values in it:
        n = len(values)
        fields: dict[str, Any] = {}
        bad: list[BadValue] = []
        for name, col, parse in present:
            fields[name], problem = parse(values[col] if col < n else None)
            if problem is not None:
                bad.append(BadValue(name, col, problem))
        if fields.get("prospect") is None and fields.get("stage") is None and not bad and all(map(is_blank, values)):
            continue  # empty, or only spaces: a blank row
        row = Row(number, **fields, bad=tuple(bad))
        if extras:
            row.extra = {header: _extra(values[col] if col < n else None) for col, header in extras}
        yield row


def _extra(raw: Value) -> Value:
    """An extra column's cell as rows carry it: control characters dropped, an error cell empty."""
    if type(raw) is CellError:
        return None
    if type(raw) is str and CONTROL.search(raw):
        return CONTROL.sub("", raw)
    return raw


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
                    extra[header] = _extra(row_values[col] if col < n else None)
        # A row with neither prospect nor stage may be only spaces: a blank row.  The
        # prospect column is always there (it is required), so when it has no None
        # in this chunk there is nothing to drop.
        if prospect_col is None or None in per_field[_PROSPECT_INDEX]:
            for row, row_values in zip(rows, values, strict=True):
                if row.prospect is None and row.stage is None and not row.bad and all(is_blank(v) for v in row_values):
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
