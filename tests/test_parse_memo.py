"""The column reader's memo (schema._ColumnReader) answers exactly what parsing each cell would.

Cells that compare equal across types (``True == 1 == 1.0``, ``0.0 == -0.0``)
and values that never equal themselves (NaN) are the cases a memo can get
wrong; they are mixed into columns over several chunks.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from conftest import same
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync import schema
from sheetsync.config import Config
from sheetsync.sources.base import CellError

CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "TBD", "฿45,000", "yes", "no", "1", "0", "2026-11-27", "a@b.example"]),
    st.sampled_from([True, False, 0, 1, 2, 0.0, -0.0, 1.0, 2.0, 0.5, 45000.0, -5.0, math.nan, math.inf]),
    st.sampled_from([dt.date(2026, 11, 27), dt.datetime(2026, 11, 27, 14, 30), dt.datetime(2026, 11, 27)]),
    st.sampled_from([CellError("#N/A"), CellError(""), CellError("TBD")]),
    st.text(max_size=8),
)
KINDS = ["text", "email", "yesno", "amount", "number", "percent", "date", "datetime"]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), chunks=st.lists(st.lists(CELLS, min_size=1, max_size=12), min_size=1, max_size=5))
def test_memo_answers_what_the_parser_says(kind: str, chunks: list[list[Any]]) -> None:
    parser = schema.Parser(Config())
    parse = parser.kinds[kind]
    reader = schema._ColumnReader(parse, kind == "yesno")
    blank = (False if kind == "yesno" else None, None)
    for cells in chunks:
        problems: list[tuple[int, schema.BadValue]] = []
        values = reader.read(cells, "field", 3, problems)
        found = dict(problems)
        for i, cell in enumerate(cells):
            expected = blank if cell is None or (type(cell) is str and not cell.strip()) else parse(cell)
            assert same(values[i], expected[0]), (cell, values[i], expected)
            assert (found[i].message if i in found else None) == expected[1], cell


EMAILISH = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "a@b.example", " a@b.example", "a@b.example\nc@d.example", "a@b.examplea@b.example"]),
    st.sampled_from(["ผู้ใช้@example.co.th", "a@b", "a b@c.example", "a@b.example\x01", "x" * 40000 + "@b.example"]),
    st.sampled_from([CellError("#N/A"), 1.0, True]),
    st.from_regex(r"[a-z.\n@ ]{1,12}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.lists(EMAILISH, min_size=1, max_size=12), min_size=1, max_size=4))
def test_whole_chunk_email_check_answers_what_the_parser_says(chunks: list[list[Any]]) -> None:
    parse = schema.Parser(Config()).email
    reader = schema._ColumnReader(parse, False, schema._plain_emails)
    for cells in chunks:
        problems: list[tuple[int, schema.BadValue]] = []
        values = reader.read(cells, "email", 2, problems)
        found = dict(problems)
        for i, cell in enumerate(cells):
            expected = (None, None) if cell is None or (type(cell) is str and not cell.strip()) else parse(cell)
            assert same(values[i], expected[0]), (cell, values[i], expected)
            assert (found[i].message if i in found else None) == expected[1], cell
