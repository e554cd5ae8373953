"""Issue 11: no input can hang sheetsync, and every fast path answers what the plain path would.

- The hang that was reported (a malformed address among addresses on two-part
  domains made the whole-column email regex backtrack exponentially) is
  reproduced with the real CLI in a subprocess that must finish in time.
- Each regular expression rewritten to run in linear time is compared with its
  old spelling on adversarial strings: the same strings are accepted (for the
  currency pattern, ``sub`` gives the same text).
- Each fast path of the row reader is compared with a plain reference on
  adversarial values: the whole-chunk email check with ``Parser.email`` per
  cell, the memoised column reader with the parser per cell, the chunked
  ``_rows`` with an obvious row-by-row reading written here.
- A hang guard runs ``validate`` and ``sync --dry-run`` on 5,000 rows of
  adversarial values.  It is not a speed test: 60 s is many times what they take.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import random
import re
import subprocess
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import xlsxwriter  # type: ignore[import-untyped]
from conftest import HEADERS, SHEETSYNC, same
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync import drafts, rules, speed
from sheetsync.config import Config
from sheetsync.model import fields as model_fields
from sheetsync.model import parse as model_parse
from sheetsync.model import reader as model_reader
from sheetsync.model import values as model_values
from sheetsync.model.values import CellError
from sheetsync.sources import excel

AS_OF = "2026-11-27"
#: Generous: what these runs take is a second or two; the bug took longer than the age of the universe.
HANG_GUARD_S = 60


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script in a process of its own, killed (and the test failed) after HANG_GUARD_S."""
    return subprocess.run(
        [SHEETSYNC, *args], cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD_S, stdin=subprocess.DEVNULL
    )


# ---------------------------------------------------------------- the reported hang


def test_issue_11_a_malformed_address_among_two_part_domains_does_not_hang(tmp_path: Path) -> None:
    """31 rows on ``.co.th`` addresses and one ``somchai at company.co.th``: validated at once, the bad one reported.

    Before the fix each added row doubled the time (20 rows 1 s, 22 rows 5.6 s):
    31 rows never finished.
    """
    path = tmp_path / "pipeline.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Contact", "Email", "Stage"])
    for i in range(1, 32):
        email = "somchai at company.co.th" if i == 31 else f"contact{i}@company{i}.co.th"
        ws.write_row(i, 0, [f"Company {i}", f"Contact {i}", email, "Lead"])
    wb.close()
    done = run_cli("validate", str(path), "--as-of", AS_OF, "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    findings = [f for f in json.loads(done.stdout)["findings"] if f["rule"] == "bad-value"]
    assert [f["cell"] for f in findings] == ["Pipeline!C32"]
    assert "'somchai at company.co.th' is not an email address" in findings[0]["message"]


# ---------------------------------------------------------------- old and new patterns accept the same strings

# The patterns as they were before issue 11 (quadratic, and exponential for the lines pattern).
_C = r"[^@\s<>()\[\],;:\"\\]"
_PC = r"[^@\s<>()\[\],;:\"\\\x00-\x1f\x7f]"
OLD_EMAIL = re.compile(rf"^{_C}+@{_C}+\.{_C}+$")
OLD_PLAIN_EMAIL = re.compile(rf"^{_PC}+@{_PC}+\.{_PC}+$")
OLD_PLAIN_EMAIL_LINES = re.compile(r"(?:{0})?(?:\n(?:{0})?)*".format(OLD_PLAIN_EMAIL.pattern[1:-1]))
OLD_CURRENCY = re.compile(
    rf"^(?:(?:{model_parse.CURRENCY_CODES})(?![A-Za-z])|[฿$€£¥₩₹₫₱])\s*"
    rf"|\s*(?:(?<![A-Za-z])(?:{model_parse.CURRENCY_CODES})|[฿$€£¥₩₹₫₱]|บาท)$",
    re.IGNORECASE,
)

# Characters that matter to the address patterns: the separators, what they exclude, and
# the unicode a Thai sheet holds (Thai, a combining mark, right-to-left marks, U+2028).
ADDRESS_CHARS = 'a.@-_ \t\n<>"\\,;:()[]\x00\x01\x1f\x7f\x85ก\u0e34\u0301\u200f\u202e\u2028é'
ADDRESS_TEXT = st.text(alphabet=st.sampled_from(ADDRESS_CHARS), max_size=24) | st.builds(
    lambda local, parts, tail: local + "@" + ".".join(parts) + tail,
    st.text(alphabet=st.sampled_from("a.-ก\x01"), max_size=4),
    st.lists(st.text(alphabet=st.sampled_from("ab-ก\u0301"), max_size=3), min_size=1, max_size=5),
    st.sampled_from(["", ".", "<", " ", "\n", "@", "\x01", "..", "a"]),
)


@settings(max_examples=2000, deadline=None)
@given(ADDRESS_TEXT)
def test_address_patterns_accept_what_they_accepted(text: str) -> None:
    """The linear _EMAIL and _PLAIN_EMAIL accept exactly the strings the old patterns did."""
    assert bool(model_values.EMAIL.match(text)) == bool(OLD_EMAIL.match(text)), text
    assert bool(model_parse._PLAIN_EMAIL.match(text)) == bool(OLD_PLAIN_EMAIL.match(text)), text


@settings(max_examples=1000, deadline=None)
@given(st.lists(ADDRESS_TEXT | st.sampled_from(["", "a@b.co.th", "x@y.in.th", "a@b.c.d.e"]), max_size=7))
def test_address_lines_pattern_accepts_what_it_accepted(lines: list[str]) -> None:
    """The whole-chunk pattern: the same chunks accepted (few lines, or the old one would take too long)."""
    text = "\n".join(lines)
    assert bool(model_reader._PLAIN_EMAIL_LINES.fullmatch(text)) == bool(OLD_PLAIN_EMAIL_LINES.fullmatch(text)), text


CURRENCY_TEXT = st.lists(
    st.sampled_from(["THB", "thb", "ThB", "USD", "฿", "$", "บาท", " ", "  ", "\t", "\n", "\u00a0", "1", "45,000", "."])
    | st.sampled_from(["a", "X", "-", "+", "(", ")", "k", "ล้าน", "THBX", "ATHB", "\u2028"]),
    max_size=10,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(CURRENCY_TEXT)
def test_currency_pattern_removes_what_it_removed(text: str) -> None:
    """The currency pattern takes the same pieces out of any text, spaces before a trailing code included."""
    assert model_parse._CURRENCY.sub("", text) == OLD_CURRENCY.sub("", text), text
    assert [m.span() for m in model_parse._CURRENCY.finditer(text)] == [m.span() for m in OLD_CURRENCY.finditer(text)]


def old_slugify(text: str, max_bytes: int) -> str:
    """drafts.slugify before issue 11: it dropped one character at a time, encoding the rest each time."""
    slug = drafts.output._DASHES.sub(
        "-", unicodedata.normalize("NFC", text).translate(drafts.output._SLUG_CHARS)
    ).strip("-")
    if len(slug.encode("utf-8")) > max_bytes:
        while len(slug.encode("utf-8")) > max_bytes:
            slug = slug[:-1]
        cut = slug.rfind("-")
        slug = slug[:cut] if cut > len(slug) // 2 else slug
        slug = slug.rstrip("-")
    if not slug:
        return "prospect"
    return f"{slug}-1" if slug in drafts.output._RESERVED else slug


def old_first_name(value: str) -> str:
    """drafts.first_name_filter before issue 11: it copied the list of words once per title it dropped."""
    words = value.split()
    while len(words) > 1 and words[0].rstrip(".").casefold() in drafts.filters._HONORIFICS:
        words = words[1:]
    if not words:
        return ""
    first = words[0]
    for title in drafts.filters._THAI_TITLES:
        if first.startswith(title) and len(first) > len(title):
            return first[len(title) :]
    return first


NAME_TEXT = st.lists(
    st.sampled_from(["Mr", "mr.", "Dr", "Khun", "K", "คุณวิภา", "ศรีสุข", "Jane", "-", "--", "con", "ก\u0301", "😀", "é"])
    | st.text(max_size=4),
    max_size=12,
).map(" ".join)


@settings(max_examples=1500, deadline=None)
@given(NAME_TEXT, st.integers(min_value=1, max_value=40))
def test_slugs_first_names_and_stage_hints_are_what_they_were(text: str, max_bytes: int) -> None:
    """slugify's cut and the first-name filter give what the old code gave; the stage hint what brute force gives.

    The old slugify and first-name loops copied the whole text once per
    character or word they dropped, quadratic in a 32,767-character cell.
    The unknown-stage hint (issue 13: edit distance, no longer difflib)
    skips every name whose length is too far off; brute force compares all.
    """
    assert drafts.slugify.__wrapped__(text, max_bytes) == old_slugify(text, max_bytes)
    assert drafts.filters.first_name_filter(text) == old_first_name(text)
    names = [s.name for s in Config().stages]
    for word in (text, text * 7, text + "Won", "Lead" + text):
        assert rules.close_name(word, names) == brute_close_name(word, names)


def brute_close_name(word: str, names: list[str]) -> str | None:
    """rules.close_name without its length shortcut: every name's full edit distance (issue 13)."""

    def osa(a: str, b: str) -> int:
        d = {(i, j): max(i, j) if min(i, j) == 0 else 0 for i in range(len(a) + 1) for j in range(len(b) + 1)}
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    d[i, j] = min(d[i, j], d[i - 2, j - 2] + 1)
        return d[len(a), len(b)]

    typed = " ".join(word.split()).casefold()[:60]  # longer than any name + 2 can't be close: keep the test quick
    scored = [(osa(typed, " ".join(n.split()).casefold()), n) for n in names]
    fits = [(d, n) for d, n in scored if d <= (1 if len(" ".join(n.split())) <= 8 else 2)]
    return min(fits, key=lambda dn: dn[0])[1] if fits else None


# ---------------------------------------------------------------- fast paths against the plain path

LONG = "x" * 40_000
#: What took the old patterns seconds to minutes in one cell (and a valid address past 32,767 characters).
SLOW_FOR_OLD_PATTERNS = ["a@" + "a." * 16_500 + "<", "1" + " " * 20_000 + "1 THB", "a@" + "b." * 16_400 + "th"]
TEXTS = [
    "",
    " ",
    "\t",
    "\u2028",
    "\u00a0",
    "\x85",
    "TBD",
    "yes",
    " YES ",
    "no",
    "ใช่",
    "ไม่",
    "x",
    "1",
    "0",
    "1.0",
    "2026-11-27",
    "27/11/2026",
    "27/11/2569",
    "31/02/2027",
    "27/11/69",
    "2026-11-27 14:30",
    "฿45,000",
    "THB 45,000",
    "(1,000)",
    "45,000 บาท",
    "-฿5,000",
    "40%",
    "0.4",
    "120%",
    "about 50k",
    "1" * 40,
    "a@b.co.th",
    "a@b.in.th",
    " a@b.com ",
    "somchai at company.co.th",
    "a@@b.co.th",
    "a@b",
    "a@b.co.th; c@d.com",
    "Ac\x01me",
    "bell\x07",
    "\x00",
    "\x7f",
    "บริษัท สยาม ฟู้ดส์ จำกัด",
    "e\u0301",
    "\u202eabc",
    "\u200fสยาม",
    "a\u2028b",
    "a\nb",
    LONG,
    "ก" * 33_000,
    *SLOW_FOR_OLD_PATTERNS,
]
VALUES = [
    None,
    True,
    False,
    0,
    1,
    2,
    -1,
    10**30,
    0.0,
    -0.0,
    1.0,
    2.0,
    0.5,
    45000.0,
    -5.0,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    5e-324,
    dt.date(2026, 11, 27),
    dt.datetime(2026, 11, 27),
    dt.datetime(2026, 11, 27, 14, 30),
    dt.datetime(2026, 11, 27, 14, 30, 0, 500_000),
    dt.date(2568, 2, 29),
    dt.time(14, 30),
    dt.timedelta(hours=1),
    CellError("#N/A"),
    CellError(""),
    CellError("TBD"),
    CellError("yes"),
]
CELLS = st.sampled_from(TEXTS) | st.sampled_from(VALUES) | st.text(max_size=8)
KINDS = ["text", "email", "yesno", "amount", "number", "percent", "date", "datetime"]


def read_column(reader: model_reader._ColumnReader, cells: Sequence[Any]) -> list[tuple[Any, str | None]]:
    """What the fast reader says of each cell: (value, problem)."""
    problems: list[tuple[int, model_reader.BadValue]] = []
    values = reader.read(cells, "field", 3, problems)
    found = {i: bad.message for i, bad in problems}
    assert len(found) == len(problems) and all(bad.field == "field" and bad.col == 3 for _i, bad in problems)
    return [(values[i], found.get(i)) for i in range(len(cells))]


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(KINDS), chunks=st.lists(st.lists(CELLS, min_size=1, max_size=12), min_size=1, max_size=6))
def test_memoised_column_reader_answers_what_the_parser_says(kind: str, chunks: list[list[Any]]) -> None:
    """_ColumnReader and its _Memo give, cell for cell, what the parser gives.

    Chunks follow each other through one reader, so the memo carries values
    over: cells that compare equal across types (``True == 1 == 1.0``,
    ``0.0 == -0.0``), NaN (never equal to itself), error cells that look like
    text, and cells past 32,767 characters are the cases a memo can get wrong.
    """
    parse = model_parse.Parser(Config()).kinds[kind]
    reader = model_reader._ColumnReader(parse, kind == "yesno")
    for cells in chunks:
        assert all(same(got, parse(cell)) for got, cell in zip(read_column(reader, cells), cells, strict=True)), cells


ADDRESSES = st.builds(
    lambda user, i, domain: f"{user}{i}@{domain}",
    st.sampled_from(["contact", "somchai.jaidee", "a_b-c", "x"]),
    st.integers(0, 999),
    st.sampled_from(["company.co.th", "company.in.th", "example.com", "a.b.c.d.e", "บริษัท.ไทย"]),
)
ODD_ADDRESSES = st.sampled_from(
    ["somchai at company.co.th", "a@@b.in.th", "a@b", "a.b.co.th", "a@b.co.th;c@d.com", "a@b.co.th.", " a@b.co.th",
     "a@b.co.th\x01", "a@b.co.th\n", "a@b\u2028.co.th", "ผู้ใช้@example.co.th", "a@b.coma@b.com", "", "  ",
     *SLOW_FOR_OLD_PATTERNS, LONG + "@b.co.th"]
)  # fmt: skip


@st.composite
def email_chunks(draw: st.DrawFn) -> list[Any]:
    """Mostly addresses on multi-dot domains, with a few odd cells (bad, blank, long, not text) anywhere."""
    cells: list[Any] = draw(st.lists(ADDRESSES | st.none(), min_size=1, max_size=40))
    for _ in range(draw(st.integers(0, 3))):
        odd = draw(ODD_ADDRESSES | st.sampled_from(TEXTS) | st.sampled_from(VALUES))
        cells.insert(draw(st.integers(0, len(cells))), odd)
    return cells


@settings(max_examples=400, deadline=None)
@given(st.lists(email_chunks(), min_size=1, max_size=4))
def test_bulk_email_check_answers_what_the_parser_says(chunks: list[list[Any]]) -> None:
    """The whole-chunk address check (_plain_emails) gives, cell for cell, what Parser.email gives.

    And it does the work: a chunk of text and blanks with no line break in a
    cell and nothing past 32,767 characters is never handed back to the
    parser whole, and of its cells only the odd ones are.
    """
    parse = model_parse.Parser(Config()).email
    reader = model_reader._ColumnReader(parse, False, model_reader._plain_emails)
    for cells in chunks:
        assert all(same(got, parse(cell)) for got, cell in zip(read_column(reader, cells), cells, strict=True)), cells
        answer = model_reader._plain_emails(cells)
        textual = all(v is None or (type(v) is str and "\n" not in v and len(v) <= 32_767) for v in cells)
        assert (answer is not None) == textual, cells
        if answer is not None:
            clean = [i for i, v in enumerate(cells) if v is None or v == "" or model_parse._PLAIN_EMAIL.fullmatch(v)]
            assert sorted(set(range(len(cells))) - set(clean)) == answer[1]


HEADER_CHOICES = [spec[1] for spec in model_fields.FIELD_SPECS.values()] + ["Industry", "ลำดับ", "Notes 2"]


@st.composite
def sheets(draw: st.DrawFn) -> list[tuple[int, list[Any]]]:
    """A header row (Prospect and Stage among some other fields and extra columns) and rows of adversarial cells."""
    headers = draw(st.lists(st.sampled_from(HEADER_CHOICES), unique=True, max_size=8))
    headers = draw(st.permutations(["Prospect", "Stage", *(h for h in headers if h not in ("Prospect", "Stage"))]))
    width = len(headers)
    row = st.lists(CELLS | st.sampled_from(["Lead", "Won", " lead ", "Qualifed", "Acme", "Acme "]), max_size=width + 2)
    blankish = st.sampled_from([[], [None], ["", " "], [None, "\u2028"], [CellError("")], [0], [False], [math.nan]])
    data = draw(st.lists(row | blankish, max_size=30))
    gaps = draw(st.lists(st.integers(1, 3), min_size=len(data) + 1, max_size=len(data) + 1))
    numbers = list(itertools.accumulate(gaps))
    return [(numbers[0], list(headers)), *zip(numbers[1:], data, strict=True)]


def control_free(text: str) -> str:
    return "".join(ch for ch in text if not ((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127))


def row_by_row(tab: str, table: list[tuple[int, list[Any]]], config: Config) -> list[model_reader.Row]:
    """The plain reading: every field of every row through the parser, one cell at a time."""
    parser = model_parse.Parser(config)
    number, header = table[0]
    layout = model_fields.map_headers(tab, number, header, config)
    rows = []
    for number, values in table[1:]:
        fields: dict[str, Any] = {}
        bad = []
        for name, (kind, _header, _aliases) in model_fields.FIELD_SPECS.items():
            col = layout.columns.get(name)
            raw = values[col] if col is not None and col < len(values) else None
            fields[name], problem = parser.kinds[kind](raw)
            if problem is not None:
                bad.append(model_reader.BadValue(name, col, problem))  # type: ignore[arg-type]
        blank = all(v is None or (type(v) is str and not v.strip()) for v in values)
        if fields["prospect"] is None and fields["stage"] is None and not bad and blank:
            continue
        extra = {}
        for col, header_text in layout.extras.items():
            raw = values[col] if col < len(values) else None
            extra[header_text] = None if isinstance(raw, CellError) else control_free(raw) if type(raw) is str else raw
        rows.append(model_reader.Row(number, **fields, extra=extra, bad=tuple(bad)))
    return rows


def row_items(row: model_reader.Row) -> list[tuple[str, Any]]:
    items = [(f.name, getattr(row, f.name)) for f in dataclasses.fields(row) if f.name != "extra"]
    return [*items, ("extra", list(row.extra.items()))]


@settings(max_examples=400, deadline=None)
@given(sheets(), st.sampled_from([1, 2, 3, 7, 512]))
def test_chunked_row_reader_reads_what_a_row_by_row_reading_gives(
    table: list[tuple[int, list[Any]]], chunk: int
) -> None:
    """read_rows (chunks of rows, column by column, memos, whole-chunk checks) equals the plain reading.

    Rows of different lengths, blank-looking rows (spaces, an error cell, a
    lone 0 or False), extra columns with control characters and error cells,
    and chunk boundaries anywhere.
    """
    config = Config()
    with mock.patch.object(model_reader, "_CHUNK", chunk):
        layout, rows = model_reader.read_rows("Pipeline", iter(table), config)
    assert layout == model_fields.map_headers("Pipeline", table[0][0], table[0][1], config)
    expected = row_by_row("Pipeline", table, config)
    assert [r.row for r in rows] == [r.row for r in expected]
    for got, want in zip(rows, expected, strict=True):
        for (name, a), (_name, b) in zip(row_items(got), row_items(want), strict=True):
            assert same(a, b), (name, a, b)


@settings(max_examples=300, deadline=None)
@given(sheets(), st.sampled_from([1, 7, 512]))
def test_reader_switched_to_its_plain_path_reads_the_same_rows(table: list[tuple[int, list[Any]]], chunk: int) -> None:
    """Issue 12: SHEETSYNC_PLAIN=reader makes read_rows take the plain path, which gives the fast path's rows."""
    config = Config()
    with mock.patch.object(model_reader, "_CHUNK", chunk):
        _layout, fast = model_reader.read_rows("Pipeline", iter(table), config)
    with mock.patch.dict(os.environ, {speed.PLAIN_ENV: "reader"}):
        assert speed.plain("reader")
        _layout, plain = model_reader.read_rows("Pipeline", iter(table), config)
    assert [r.row for r in fast] == [r.row for r in plain]
    for got, want in zip(fast, plain, strict=True):
        for (name, a), (_name, b) in zip(row_items(got), row_items(want), strict=True):
            assert same(a, b), (name, a, b)


def test_sync_without_fast_paths_gives_the_same_result(tmp_path: Path) -> None:
    """Issue 12: a dry-run sync of the sample with the speed tricks off prints the same JSON, byte for byte."""
    sample = Path(__file__).resolve().parent.parent / "sample_workbooks" / "pipeline.xlsx"
    book = tmp_path / "pipeline.xlsx"
    book.write_bytes(sample.read_bytes())
    args = ("sync", str(book), "--as-of", AS_OF, "--dry-run", "--json")
    fast = run_cli(*args, cwd=tmp_path)
    with mock.patch.dict(os.environ, {speed.PLAIN_ENV: "reader,scan"}):
        plain = run_cli(*args, cwd=tmp_path)
    assert fast.returncode == plain.returncode == 1, fast.stderr
    assert json.loads(fast.stdout)["rows"] == 40
    assert plain.stdout == fast.stdout


def test_merged_range_is_filled_as_far_as_the_row_reaches() -> None:
    """A range merged over 16,384 columns fills the row's own cells only: no row grows to the sheet's full width.

    Rows beyond the used columns have no header, so nothing is lost; filled
    to its end, such a range cost 16,384 cells on every row it covers.
    """
    rows = [["Prospect", "Stage", "Notes"], *([f"P{i}", "Lead", None] for i in range(2000))]
    merged = [((1, 2), (2000, 16_383)), ((0, 0), (0, 1))]
    out = list(excel._overlaid(iter(rows), 0, merged, {}, "Pipeline", Path("p.xlsx")))
    assert out[0] == (1, ["Prospect", "Stage", "Notes"])
    assert out[1] == (2, ["P0", "Lead", None]) and out[2] == (3, ["P1", "Lead", None])
    rows[1][2] = "see notes"
    out = list(excel._overlaid(iter(rows), 0, merged, {}, "Pipeline", Path("p.xlsx")))
    assert {len(values) for _n, values in out} == {3}
    assert [values[2] for _n, values in out[1:]] == ["see notes"] * 2000


# ---------------------------------------------------------------- the hang guard


def adversarial_sheet(path: Path, rows: int = 5_000) -> Path:
    """A pipeline of adversarial values: every 7th row due for a draft, the rest a mix of what once cost time.

    Addresses on multi-dot domains with malformed ones in between; on every
    40th row one huge cell (past 32,767 characters, as XlsxWriter is told not
    to cut them): a long run of spaces before a currency, tens of thousands
    of digits, a long address or stage; "Mr Mr Mr …" contacts, long prospect
    names, control characters, Thai, combining marks, right-to-left marks,
    U+2028, error cells, and Owner cells merged over runs.
    """
    rng = random.Random(11)
    bad_addresses = [
        "somchai at company.co.th",
        "a@@b.in.th",
        "a@b",
        "a.b.co.th",
        "a@b.co.th; c@d.com",
        "a@b.co.th\x01",
    ]
    small = [t for t in TEXTS if len(t) < 100] + [CellError("#N/A"), True, 0.0, -1, dt.date(2026, 11, 27)]
    huge = [t for t in TEXTS if len(t) >= 100] + ["9" * 40_000, "1" + " " * 20_000 + "THB", "1" * 40_000]
    headers = [*HEADERS, "Notes", "Industry"]
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.xls_strmax = 10**6
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, headers)
    follow_up = dt.date(2026, 11, 20)
    for r in range(1, rows + 1):
        due = r % 7 == 0
        odd = rng.choice(small)
        values: list[Any] = [
            f"Prospect {r} " + ("ก\u0301" * 20_000 if r % 100 == 0 else rng.choice(["", "\u202eสยาม", "e\u0301"])),
            "Mr " * 12_000 + f"Tom{r}" if r % 80 == 0 else rng.choice(["คุณวิภา ศรีสุข", "Ms. Jane Porter", odd]),
            f"contact{r}@company{r}.co.th" if due or rng.random() < 0.9 else rng.choice(bad_addresses),
            None,  # owners: merged below
            rng.choice(["Lead", "Qualified", "Proposal"]) if due else rng.choice(["Lead", "Won", f"{odd}{r}"]),
            rng.choice(["yes", "no", odd]),
            rng.choice([45_000, "฿45,000", odd, "1" * 40]),
            rng.choice([dt.date(2027, 1, 15), odd]),
            rng.choice([dt.date(2026, 11, 25), odd]),
            follow_up if due else rng.choice([dt.date(2026, 12, 1), odd]),
            None,
            rng.choice([None, dt.date(2026, 11, 1), odd]),
            None,
            rng.choice([None, odd, "call\x07back"]),
            rng.choice([None, odd, "ยา\u2028นยนต์"]),
        ]
        if r % 40 == 0:
            values[rng.choice([2, 4, 5, 6, 7, 8, 11, 13, 14] if not due else [5, 6, 7, 11, 13, 14])] = rng.choice(huge)
        for c, v in enumerate(values):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, v, date)
            elif isinstance(v, CellError):
                ws.write_formula(r, c, "=NA()", None, "#N/A")
            elif v is not None:
                ws.write(r, c, v)
    first = 1
    while first <= rows:  # owners in runs of 1-8 rows, most runs merged
        last = min(rows, first + rng.randint(0, 7))
        if last > first:
            ws.merge_range(first, 3, last, 3, rng.choice(["Somchai", "Nattaya"]))
        else:
            ws.write(first, 3, "David")
        first = last + 1
    wb.close()
    return path


def test_adversarial_sheet_validates_and_syncs_in_bounded_time(tmp_path: Path) -> None:
    """Hang guard (issue 11): `validate` and `sync --dry-run` on 5,000 adversarial rows each finish within 60 s.

    Not a speed test: a few seconds is the normal time.  Before issue 11 the
    first chunk with a malformed address behind a run of ``.co.th`` addresses
    never finished, and single cells took minutes (a run of spaces before a
    currency) or seconds (a long contact, prospect or stage).
    """
    path = adversarial_sheet(tmp_path / "pipeline.xlsx")
    before = path.read_bytes()
    done = run_cli("validate", str(path), "--as-of", AS_OF, "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data["rows"] == 5_000
    rules_found = {f["rule"] for f in data["findings"]}
    assert {"bad-value", "unknown-stage"} <= rules_found
    done = run_cli("sync", str(path), "--as-of", AS_OF, "--dry-run", "--json", "--out", "drafts", cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert "Traceback" not in done.stderr
    statuses = [d["status"] for d in result["drafts"]]
    assert statuses.count("would-write") >= 5_000 // 7 and set(statuses) <= {"would-write", "skipped"}
    assert result["owners"] and path.read_bytes() == before
