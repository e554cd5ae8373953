"""Cell → typed value (reference 4.1 "Reading values") and header → field mapping (reference 4.1 "Columns")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.config import Config
from sheetsync.errors import SourceError
from sheetsync.model.fields import FIELD_SPECS, Layout
from sheetsync.model.parse import NO, YES, Parser
from sheetsync.model.quotas import read_quotas
from sheetsync.model.reader import locate_header, read_rows
from sheetsync.model.values import CellError

DEFAULT = Parser(Config())
EXCEL_EPOCH = dt.date(1899, 12, 30)


def parser(**kw: Any) -> Parser:
    return Parser(Config(**kw))


def serial(d: dt.date) -> int:
    return (d - EXCEL_EPOCH).days


# ---------------------------------------------------------------- yes/no


@pytest.mark.parametrize(
    "raw",
    ["yes", "Yes", "YES", "y", "Y", "true", "TRUE", "1", "x", "X", "✓", "ใช่", "  yes  ", True, 1, 1.0],
)
def test_yes_values(raw: Any) -> None:
    """Every spelling of yes in reference 4.1 (English, Thai, tick, 1, x) reads as True."""
    assert DEFAULT.yesno(raw) == (True, None)


@pytest.mark.parametrize(
    "raw",
    ["no", "No", "NO", "n", "N", "false", "FALSE", "0", "ไม่", "ไม่ใช่", "", "   ", None, False, 0, 0.0],
)
def test_no_values(raw: Any) -> None:
    """Every spelling of no, and a blank cell, reads as False."""
    assert DEFAULT.yesno(raw) == (False, None)


@pytest.mark.parametrize("raw", ["maybe", "yes.", "2", 2, "ok?", "si"])
def test_yesno_rejects_other_text(raw: Any) -> None:
    """Anything else is a problem that names the value and says what to write."""
    value, problem = DEFAULT.yesno(raw)
    assert value is None
    assert problem is not None and "yes or no" in problem


@settings(max_examples=150, deadline=None)
@given(
    word=st.sampled_from(sorted((YES | NO) - {""})),
    flips=st.lists(st.booleans(), min_size=8, max_size=8),
    left=st.text(alphabet=" \t\u00a0", max_size=3),
    right=st.text(alphabet=" \t\u00a0", max_size=3),
)
def test_yesno_ignores_case_and_surrounding_space(word: str, flips: list[bool], left: str, right: str) -> None:
    """Property: the case of the word and the spaces around it never change the answer."""
    mixed = "".join(ch.upper() if flips[i % len(flips)] else ch.lower() for i, ch in enumerate(word))
    assert DEFAULT.yesno(left + mixed + right) == (word in YES, None)


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1200000, Decimal("1200000")),
        (45000.5, Decimal("45000.5")),
        ("1,200,000", Decimal("1200000")),
        ("฿45,000", Decimal("45000")),
        ("THB 45,000", Decimal("45000")),
        ("THB45,000", Decimal("45000")),
        ("45,000 THB", Decimal("45000")),
        ("45,000 บาท", Decimal("45000")),
        ("$1,000.50", Decimal("1000.50")),
        ("  12,345.67  ", Decimal("12345.67")),
        ("0", Decimal("0")),
        ("", None),
        (None, None),
    ],
)
def test_amount_reads_numbers_and_currency_text(raw: Any, expected: Decimal | None) -> None:
    """Number cells and text with thousands separators and a currency symbol or code are amounts."""
    assert DEFAULT.amount(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["about 50k", "TBD", "50 kg", "1,2,3", "12,34", "1.2.3", "฿", "n/a", True, "k", "M"])
def test_amount_rejects_text_that_is_not_a_number(raw: Any) -> None:
    """`about 50k`, `TBD` and friends are a problem naming the value, never a guess."""
    value, problem = DEFAULT.amount(raw)
    assert value is None
    assert problem is not None and "not a number" in problem


@pytest.mark.parametrize("raw", ["TBD 50,000", "50,000 max", "50 pcs", "max 1,000"])
def test_amount_rejects_words_that_are_not_currency_codes(raw: str) -> None:
    """Only a currency symbol or code may surround the number; `TBD 50,000` or `50 pcs` are not amounts."""
    value, problem = DEFAULT.amount(raw)
    assert value is None
    assert problem is not None


@pytest.mark.parametrize("raw", [-5, -0.01, "-5", "-฿5,000", "(1,000)", "THB -45,000"])
def test_amount_rejects_negative_budget(raw: Any) -> None:
    """A negative budget is a bad value (budgets are 0 or more)."""
    value, problem = DEFAULT.amount(raw)
    assert value is None
    assert problem is not None and "negative" in problem


def test_number_keeps_the_sign() -> None:
    """The plain number reader (not budgets) keeps negatives, including accounting brackets."""
    assert DEFAULT.number("-฿5,000") == (Decimal("-5000"), None)
    assert DEFAULT.number("(1,000)") == (Decimal("-1000"), None)


@pytest.mark.parametrize("raw", [float("nan"), float("inf")])
def test_number_rejects_nan_and_infinity(raw: float) -> None:
    """NaN and infinity from a broken cell are problems, not numbers."""
    value, problem = DEFAULT.number(raw)
    assert value is None and problem


CURRENCIES = ["", "฿", "$", "€", "£", "THB ", "USD ", "thb", "฿ "]


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(
        min_value=Decimal("-1e15"), max_value=Decimal("1e15"), places=2, allow_nan=False, allow_infinity=False
    ),
    currency=st.sampled_from(CURRENCIES),
    after=st.booleans(),
    pad=st.sampled_from(["", " ", "  "]),
)
def test_number_roundtrip_with_separators_and_currency(amount: Decimal, currency: str, after: bool, pad: str) -> None:
    """Property: any amount with ≤ 2 decimals, written with thousands separators and a currency, parses back exactly."""
    text = f"{amount:,f}"
    text = f"{text} {currency.strip()}" if after and currency else f"{currency}{text}"
    assert DEFAULT.number(pad + text + pad) == (amount, None)


# ---------------------------------------------------------------- percent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (40, Decimal("0.4")),
        ("40", Decimal("0.4")),
        ("40%", Decimal("0.4")),
        (" 40 % ", Decimal("0.4")),
        (0.4, Decimal("0.4")),
        ("0.4", Decimal("0.4")),
        (100, Decimal("1")),
        ("100%", Decimal("1")),
        (0, Decimal("0")),
        ("0%", Decimal("0")),
        (1, Decimal("1")),
        (None, None),
    ],
)
def test_percent_three_forms(raw: Any, expected: Decimal | None) -> None:
    """`40`, `40%` and `0.4` all mean 40 %; a number ≤ 1 is a fraction."""
    assert DEFAULT.percent(raw) == (expected, None)


@pytest.mark.parametrize("raw", [101, "150%", -5, "-5", "-10%", "abc", "forty"])
def test_percent_out_of_range_or_not_a_number(raw: Any) -> None:
    """A percentage outside 0–100 or text that is no number is a problem."""
    value, problem = DEFAULT.percent(raw)
    assert value is None and problem


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "kw", "expected"),
    [
        (dt.date(2026, 11, 27), {}, dt.date(2026, 11, 27)),
        (dt.datetime(2026, 11, 27, 10, 30), {}, dt.date(2026, 11, 27)),
        (46353, {}, dt.date(2026, 11, 27)),
        (46353.0, {}, dt.date(2026, 11, 27)),
        (46353.75, {}, dt.date(2026, 11, 27)),
        ("2026-11-27", {}, dt.date(2026, 11, 27)),
        (" 2026-11-27 ", {}, dt.date(2026, 11, 27)),
        ("27/11/2026", {}, dt.date(2026, 11, 27)),
        ("27.11.2026", {}, dt.date(2026, 11, 27)),
        ("27-11-2026", {}, dt.date(2026, 11, 27)),
        ("1/2/2026", {}, dt.date(2026, 2, 1)),
        ("1/2/2026", {"date_order": "MDY"}, dt.date(2026, 1, 2)),
        ("11/27/2026", {"date_order": "MDY"}, dt.date(2026, 11, 27)),
        ("2026/11/27", {"date_order": "YMD"}, dt.date(2026, 11, 27)),
        ("2026-11-27", {"date_order": "MDY"}, dt.date(2026, 11, 27)),
        ("27/11/2569", {}, dt.date(2026, 11, 27)),
        ("2569-11-27", {}, dt.date(2026, 11, 27)),
        (dt.date(2569, 11, 27), {}, dt.date(2026, 11, 27)),
        ("27/11/2569", {"buddhist_era": "no"}, dt.date(2569, 11, 27)),
        (dt.date(2569, 11, 27), {"buddhist_era": "no"}, dt.date(2569, 11, 27)),
        ("27/11/2569", {"buddhist_era": "yes"}, dt.date(2026, 11, 27)),
        ("", {}, None),
        (None, {}, None),
    ],
)
def test_date_values(raw: Any, kw: dict[str, str], expected: dt.date | None) -> None:
    """Date cells, Excel serials, ISO text, text in date_order and Buddhist Era years (per buddhist_era)."""
    assert parser(**kw).date(raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "kw"),
    [
        ("31/02/2026", {}),
        ("2026-13-01", {}),
        ("27/11/2026", {"date_order": "MDY"}),
        ("27/11/26", {}),
        ("next week", {}),
        ("Q4", {}),
        (0, {}),
        (-3, {}),
        (True, {}),
        (dt.time(10, 30), {}),
    ],
)
def test_invalid_dates(raw: Any, kw: dict[str, str]) -> None:
    """Impossible dates, two-digit years, words and times alone are problems, never a wrong date."""
    value, problem = parser(**kw).date(raw)
    assert value is None
    assert problem


def test_appointment_keeps_time_of_day() -> None:
    """The date-time reader keeps the time (appointments); the date reader drops it."""
    assert DEFAULT.datetime("27/11/2026 10:30") == (dt.datetime(2026, 11, 27, 10, 30), None)
    assert DEFAULT.datetime(46353.5) == (dt.datetime(2026, 11, 27, 12, 0), None)
    assert DEFAULT.date("2026-11-27 10:30") == (dt.date(2026, 11, 27), None)


ORDERS = {
    "DMY": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}",
    "MDY": lambda d: f"{d.month}/{d.day}/{d.year:04d}",
    "YMD": lambda d: f"{d.year:04d}/{d.month}/{d.day}",
}


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2399, 12, 31)), order=st.sampled_from(sorted(ORDERS))
)
def test_date_roundtrip_iso_text_and_serial(day: dt.date, order: str) -> None:
    """Property: any date written as ISO, as text in date_order, or as an Excel serial parses back."""
    p = parser(date_order=order)
    assert p.date(day.isoformat()) == (day, None)
    assert p.date(ORDERS[order](day)) == (day, None)
    assert p.date(serial(day)) == (day, None)
    assert p.date(float(serial(day))) == (day, None)
    assert p.date(day) == (day, None)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=dt.date(1857, 1, 1), max_value=dt.date(9456, 12, 31)))
def test_date_roundtrip_buddhist_era(day: dt.date) -> None:
    """Property: any date written with its Buddhist Era year (C.E. + 543) as text parses back with auto."""
    be = day.year + 543
    assert DEFAULT.date(f"{day.day}/{day.month}/{be}") == (day, None)
    assert DEFAULT.date(f"{be:04d}-{day.month:02d}-{day.day:02d}") == (day, None)


# ---------------------------------------------------------------- text, email, Excel errors


def test_text_strips_and_reads_numbers_as_text() -> None:
    """Text cells are stripped; a whole-number cell in a text column reads without `.0`."""
    assert DEFAULT.text("  Acme Co  ") == ("Acme Co", None)
    assert DEFAULT.text(1234.0) == ("1234", None)
    assert DEFAULT.text("   ") == (None, None)


def test_text_with_control_characters_is_a_problem_and_cleaned() -> None:
    """Invisible control characters are reported and removed from the value."""
    value, problem = DEFAULT.text("Ac\x01me\x07")
    assert value == "Acme"
    assert problem and "control characters" in problem


def test_text_over_excel_limit_is_a_problem() -> None:
    """A 40,000-character cell is reported with its length, not passed on whole."""
    value, problem = DEFAULT.text("a" * 40_000)
    assert problem and "40,000" in problem
    assert value is not None and len(value) <= 32_767


@pytest.mark.parametrize("kind", ["amount", "number"])
def test_number_over_excel_limit_is_a_problem(kind: str) -> None:
    """Issue 11: 40,000 digits are reported with their length, not summed (each sum would cost its length)."""
    value, problem = DEFAULT.kinds[kind]("9" * 40_000)
    assert value is None
    assert problem and "40,000 characters long" in problem


@pytest.mark.parametrize("raw", ["somchai@example.co.th", "  a.b+c@example.com "])
def test_email_valid(raw: str) -> None:
    """Ordinary addresses are accepted (and stripped)."""
    assert DEFAULT.email(raw) == (raw.strip(), None)


@pytest.mark.parametrize("raw", ["somchai", "a@b", "a b@example.com", "a@@example.com", "<a@example.com>"])
def test_email_invalid(raw: str) -> None:
    """Text that is not one address is a problem naming it."""
    value, problem = DEFAULT.email(raw)
    assert value is None
    assert problem and "not an email address" in problem


@pytest.mark.parametrize("kind", ["text", "email", "yesno", "amount", "percent", "date", "datetime"])
@pytest.mark.parametrize("error", ["#N/A", "#REF!", "#DIV/0!", "#VALUE!"])
def test_excel_error_is_a_problem_in_every_kind(kind: str, error: str) -> None:
    """An Excel error cell is never a value, in any column type."""
    value, problem = DEFAULT.kinds[kind](CellError(error))
    assert value is None
    assert problem


@pytest.mark.parametrize("kind", ["text", "amount", "date", "yesno"])
def test_excel_error_message_names_the_error(kind: str) -> None:
    """The problem names the Excel error so the user can find the formula."""
    _value, problem = DEFAULT.kinds[kind](CellError("#N/A"))
    assert problem and "#N/A" in problem


@pytest.mark.parametrize("kind", ["text", "email", "yesno", "amount", "number", "percent", "date", "datetime"])
def test_formula_without_saved_result_is_a_problem(kind: str) -> None:
    """A formula with no cached value (empty CellError) says to open and save the workbook."""
    value, problem = DEFAULT.kinds[kind](CellError(""))
    assert value is None
    assert problem and "formula" in problem


def test_text_that_looks_like_an_error_is_just_text() -> None:
    """A cell that really holds the text `#N/A` (not an error) is text in a text column."""
    assert DEFAULT.text("#N/A") == ("#N/A", None)


# ---------------------------------------------------------------- headers

BASE = ["Prospect", "Stage"]


def layout(headers: list[Any], config: Config | None = None, row: int = 1) -> Layout:
    """The Pipeline tab's layout when ``headers`` are its row ``row`` (the reader's way, required columns checked)."""
    return locate_header("Pipeline", iter([(row, list(headers))]), config or Config())


@pytest.mark.parametrize(
    ("header", "field"),
    [(h, name) for name, (_k, default, aliases) in FIELD_SPECS.items() for h in (default, *aliases)],
)
def test_every_default_header_and_alias_maps_to_its_field(header: str, field: str) -> None:
    """Each header and alias of the reference 4.1 table finds its field."""
    others = [h for h in BASE if FIELD_SPECS[field][1] != h]
    if field == "prospect":
        others = ["Stage"]
    if field == "stage":
        others = ["Prospect"]
    lay = layout([*others, header])
    assert lay.columns[field] == len(others)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("COMPANY", "prospect"),
        ("  Deal   Size ", "budget"),
        ("deal size", "budget"),
        ("NEXT  FOLLOW-UP", "next_follow_up"),
        ("e-MAIL", "email"),
        ("\tOwner Email ", "owner_email"),
    ],
)
def test_headers_ignore_case_and_spaces(header: str, field: str) -> None:
    """Case and surrounding or repeated spaces don't matter."""
    headers = ["Stage", header] if field == "prospect" else ["Prospect", "Stage", header]
    lay = layout(headers)
    assert lay.columns[field] == len(headers) - 1
    assert lay.extras == {}


def test_alias_examples() -> None:
    """Company → prospect, Deal Size → budget, Rep → owner, Meeting → appointment, Close Date → expected_close."""
    lay = layout(["Company", "Stage", "Deal Size", "Rep", "Meeting", "Close Date", "Authority"])
    assert lay.columns == {
        "prospect": 0,
        "stage": 1,
        "budget": 2,
        "owner": 3,
        "appointment": 4,
        "expected_close": 5,
        "decision_maker": 6,
    }


def test_columns_override_sets_the_header() -> None:
    """`[columns] budget = "Budget (THB)"` finds that header; the plain default is then an extra column."""
    config = Config(columns={"budget": "Budget (THB)", "prospect": "Client"})
    lay = layout(["Client", "Stage", "budget  (thb)", "Budget"], config)
    assert lay.columns["budget"] == 2
    assert lay.columns["prospect"] == 0
    assert lay.extras == {3: "Budget"}


def test_columns_override_wins_over_another_fields_alias() -> None:
    """`[columns] owner = "Name"` makes the Name column the owner, although Name is also a contact alias."""
    config = Config(columns={"owner": "Name"})
    lay = layout(["Prospect", "Stage", "Name"], config)
    assert lay.columns.get("owner") == 2
    assert "contact" not in lay.columns


def test_extra_columns_are_kept_under_their_header() -> None:
    """Unknown headers are extras, passed on in row.extra under the header text as written."""
    rows = [(1, ["Prospect", "Stage", "Industry", " Lead  Source "]), (2, ["Acme", "Lead", "Retail", 7.0])]
    lay, parsed = read_rows("Pipeline", rows, Config())
    assert lay.extras == {2: "Industry", 3: "Lead  Source"}
    assert parsed[0].extra == {"Industry": "Retail", "Lead  Source": 7.0}


@pytest.mark.parametrize(
    ("headers", "cells"),
    [
        (["Prospect", "Stage", "Notes", "Notes"], ("Pipeline!C3", "Pipeline!D3")),
        (["Prospect", "Stage", "Industry", "INDUSTRY "], ("Pipeline!C3", "Pipeline!D3")),
        (["Prospect", "Stage", "Budget", "Deal Size"], ("Pipeline!C3", "Pipeline!D3")),
        (["Company", "Prospect", "Stage"], ("Pipeline!A3", "Pipeline!B3")),
    ],
)
def test_duplicate_headers_are_an_error_naming_tab_and_cells(headers: list[str], cells: tuple[str, str]) -> None:
    """Two columns with the same header, or two for the same field, stop the run (exit 2) and name both cells."""
    with pytest.raises(SourceError) as info:
        layout(headers, row=3)
    message = info.value.message
    assert cells[0] in message and cells[1] in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("headers", "missing"), [(["Prospect", "Owner"], "Stage"), (["Stage", "Owner"], "Prospect")])
def test_missing_required_column_lists_headers_found(headers: list[str], missing: str) -> None:
    """A missing Prospect or Stage column names the tab, the header and the headers that are there."""
    with pytest.raises(SourceError) as info:
        layout(headers)
    message = info.value.message
    assert "Pipeline" in message
    assert repr(missing) in message
    for h in headers:
        assert repr(h) in message


def test_missing_required_column_names_the_configured_header() -> None:
    """With `[columns] stage = "Status"` the error asks for Status, not Stage."""
    with pytest.raises(SourceError, match="'Status'"):
        layout(["Prospect", "Stage"], Config(columns={"stage": "Status"}))


# ---------------------------------------------------------------- rows


def test_read_rows_header_is_first_non_empty_row_and_blank_rows_skipped() -> None:
    """Blank rows above the header and between rows are skipped; row numbers are the sheet's."""
    rows = [
        (1, [None, None]),
        (2, ["", "  "]),
        (3, ["Prospect", "Stage"]),
        (4, ["Acme", "Lead"]),
        (5, [None, ""]),
        (7, ["Beta", "Demo"]),
    ]
    lay, parsed = read_rows("Pipeline", rows, Config())
    assert lay.header_row == 3
    assert [(r.row, r.prospect, r.stage) for r in parsed] == [(4, "Acme", "Lead"), (7, "Beta", "Demo")]
    assert lay.cell("stage", 7) == "Pipeline!B7"


def test_read_rows_short_rows_are_padded() -> None:
    """A row shorter than the header reads its missing cells as empty."""
    _lay, parsed = read_rows("Pipeline", [(1, ["Prospect", "Stage", "Budget"]), (2, ["Acme"])], Config())
    assert parsed[0].prospect == "Acme" and parsed[0].stage is None and parsed[0].budget is None


def test_read_rows_records_bad_values_with_their_column() -> None:
    """A bad cell becomes a BadValue on the row (field, 0-based column), the field stays None."""
    rows = [(1, ["Prospect", "Stage", "Budget", "Expected Close"]), (2, ["Acme", "Lead", "TBD", "soon"])]
    _lay, parsed = read_rows("Pipeline", rows, Config())
    row = parsed[0]
    assert row.budget is None and row.expected_close is None
    assert [(b.field, b.col) for b in row.bad] == [("budget", 2), ("expected_close", 3)]


def test_read_rows_blank_yesno_is_no() -> None:
    """A blank yes/no cell reads as no, not as missing."""
    rows = [(1, ["Prospect", "Stage", "Decision Maker", "Do Not Contact"]), (2, ["Acme", "Lead", None, ""])]
    _lay, parsed = read_rows("Pipeline", rows, Config())
    assert parsed[0].decision_maker is False and parsed[0].do_not_contact is False


def test_read_rows_excel_error_in_extra_column_is_empty() -> None:
    """An error cell in an extra column is passed on as empty, not as the error text."""
    rows = [(1, ["Prospect", "Stage", "Industry"]), (2, ["Acme", "Lead", CellError("#N/A")])]
    _lay, parsed = read_rows("Pipeline", rows, Config())
    assert parsed[0].extra == {"Industry": None}


def test_read_rows_empty_tab_is_an_error() -> None:
    """A tab with no header row at all is a SourceError naming the tab."""
    with pytest.raises(SourceError, match="Pipeline"):
        read_rows("Pipeline", [(1, [None, ""])], Config())


# ---------------------------------------------------------------- quotas


def test_read_quotas_sums_owners_and_reports_problems() -> None:
    """Owner | Quota rows give per-owner quotas; bad amounts and duplicates are problems naming the cell."""
    rows = [
        (1, ["Owner", "Quota"]),
        (2, ["Somchai", 1_200_000]),
        (3, ["Nattaya", "฿1,000,000"]),
        (4, ["David", "TBD"]),
        (5, ["Somchai", 5]),
        (6, [None, None]),
    ]
    quotas = read_quotas("Quotas", rows, Config())
    assert quotas.by_owner == {"Somchai": Decimal(1_200_000), "Nattaya": Decimal(1_000_000)}
    assert quotas.total == Decimal(2_200_000)
    assert [cell for cell, _n, _m in quotas.problems] == ["Quotas!B4", "Quotas!B5"]


def test_read_quotas_without_headers_is_an_error() -> None:
    """A Quotas tab whose header row lacks Owner or Quota says which headers it found."""
    with pytest.raises(SourceError, match="'Amount'"):
        read_quotas("Quotas", [(1, ["Owner", "Amount"])], Config())


# ---------------------------------------------------------------- issue 13: the team's own sheet

# SPEC 10.1's aliases, copied as the spec writes them: each must find its field.
SPEC_ALIASES = {
    "prospect": ["Company Name", "Customer", "Client", "บริษัท", "ลูกค้า", "ชื่อลูกค้า"],
    "contact": ["Contact Person", "ผู้ติดต่อ", "ชื่อผู้ติดต่อ"],
    "email": ["Email Address", "อีเมล"],
    "owner": ["Salesperson", "Account Owner", "ผู้รับผิดชอบ", "พนักงานขาย", "เซลส์"],
    "owner_email": ["Rep Email", "Sales Rep Email", "Owner E-mail", "อีเมลผู้รับผิดชอบ"],
    "stage": ["Status", "Deal Stage", "สถานะ", "ขั้นตอน"],
    "decision_maker": ["DM", "DM Confirmed", "ผู้มีอำนาจตัดสินใจ"],
    "budget": ["Deal Value", "มูลค่า", "งบประมาณ"],
    "expected_close": ["Est. Close", "Expected Close Date", "วันที่คาดว่าจะปิด"],
    "probability": ["Prob", "Win Probability", "โอกาส"],
    "last_contact": ["Last Contacted", "ติดต่อล่าสุด"],
    "next_follow_up": ["Next Step", "ติดตามครั้งถัดไป"],
    "appointment": ["Meeting Date", "นัดหมาย"],
    "info_requested": ["ขอข้อมูล"],
    "closed_on": ["Close Won Date", "วันที่ปิด"],
    "created_on": ["Date Added", "วันที่สร้าง"],
    "language": ["Lang", "ภาษา"],
    "do_not_contact": ["ห้ามติดต่อ"],
    "notes": ["Comments", "หมายเหตุ"],
}


@pytest.mark.parametrize(("field", "header"), [(f, h) for f, hs in SPEC_ALIASES.items() for h in hs])
@pytest.mark.parametrize("dress", ["{}", "{}?", "{}:", "{}.", "  {} ", "{}  ?"])
def test_second_edition_aliases_match_ignoring_case_and_end_punctuation(field: str, header: str, dress: str) -> None:
    """Issue 13: SPEC 10.1's aliases, with a trailing ?, : or . and any case, find their field."""
    typed = dress.format(header.upper())
    others = {"prospect": ["Stage"], "stage": ["Prospect"]}.get(field, ["Prospect", "Stage"])
    lay = layout([*others, typed])
    assert lay.columns[field] == len(others) and lay.extras == {}


def test_headers_differing_only_by_end_punctuation_are_duplicates() -> None:
    """`Notes` and `Notes:` are one header written twice: exit 2 naming both cells."""
    with pytest.raises(SourceError, match=r"Pipeline!C1 and Pipeline!D1"):
        layout(["Prospect", "Stage", "Notes", "Notes:"])


def test_two_new_aliases_of_one_field_are_refused_naming_both() -> None:
    """`Company` and `Customer` both mean the prospect: the run stops rather than pick one."""
    with pytest.raises(SourceError, match="both mean the prospect field"):
        layout(["Company", "Customer", "Stage"])


TITLED = [
    (1, ["Siam Sales — Q4 deals"] * 4),  # a title merged over the header's width
    (2, ["updated 27 Nov by Khun Nid", None, None, None]),
    (4, ["Company", "Status", "Deal Size", "Notes"]),
    (5, ["Acme", "Lead", "120k", "call back"]),
]


def test_header_row_is_the_first_row_with_two_known_headers() -> None:
    """Issue 13: a title and a note above the headers are skipped; row numbers stay the sheet's."""
    lay, parsed = read_rows("Pipeline", TITLED, Config())
    assert lay.header_row == 4
    assert [(r.row, r.prospect, r.stage, r.budget, r.notes) for r in parsed] == [
        (5, "Acme", "Lead", Decimal(120_000), "call back")
    ]


def test_a_row_with_one_known_header_is_not_the_header_row() -> None:
    """A title that happens to be a header word ('Notes') is one match: not enough."""
    rows = [(1, ["Notes", None, None]), (2, ["Prospect", "Stage", "Budget"]), (3, ["Acme", "Lead", 5])]
    lay, parsed = read_rows("Pipeline", rows, Config())
    assert lay.header_row == 2 and len(parsed) == 1


def test_configured_headers_count_for_finding_the_header_row() -> None:
    """Headers set under [columns] are known headers too."""
    rows = [(1, ["Report"]), (2, ["Firma", "Phase"]), (3, ["Acme", "Lead"])]
    lay, _parsed = read_rows("Pipeline", rows, Config(columns={"prospect": "Firma", "stage": "Phase"}))
    assert lay.header_row == 2


def test_header_row_further_down_than_30_non_empty_rows_is_not_found() -> None:
    """Only the first 30 non-empty rows are looked at; then the error names the row it looked at and header_row."""
    rows = [(n, [f"note {n}"]) for n in range(1, 31)] + [(31, ["Prospect", "Stage"]), (32, ["Acme", "Lead"])]
    with pytest.raises(SourceError) as info:
        read_rows("Pipeline", rows, Config())
    message = info.value.message
    assert "looked at row 1" in message and "'note 1'" in message
    assert "[tabs] header_row" in message and info.value.exit_code == 2
    assert read_rows("Pipeline", rows[1:], Config())[0].header_row == 31  # the 30th non-empty row is looked at


def test_header_row_setting_fixes_the_row() -> None:
    """`[tabs] header_row = N` reads row N as the header row, even where finding would choose another."""
    from sheetsync.config import Tabs

    rows = [(1, ["Prospect", "Stage"]), (2, ["Company", "Status", "Owner"]), (3, ["Acme", "Lead", "Nid"])]
    lay, parsed = read_rows("Pipeline", rows, Config(tabs=Tabs(header_row=2)))
    assert lay.header_row == 2 and lay.columns == {"prospect": 0, "stage": 1, "owner": 2}
    assert [r.row for r in parsed] == [3]
    with pytest.raises(SourceError, match=r"header_row = 5, but row 5 of the Pipeline tab is empty"):
        read_rows("Pipeline", rows, Config(tabs=Tabs(header_row=5)))


def test_missing_prospect_suggests_the_header_that_looks_like_it() -> None:
    """With no Prospect column, a header that resembles it is named in the fix."""
    with pytest.raises(SourceError, match=r"'Customer Name' looks like it: set \[columns\] prospect"):
        layout(["Customer Name", "Stage"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("120k", Decimal(120_000)),
        ("120K", Decimal(120_000)),
        ("1.2M", Decimal(1_200_000)),
        ("1.2m", Decimal(1_200_000)),
        ("2.5 ล้าน", Decimal(2_500_000)),
        ("3 แสน", Decimal(300_000)),
        ("5 หมื่น", Decimal(50_000)),
        ("8 พัน", Decimal(8_000)),
        ("฿120k", Decimal(120_000)),
        ("THB 1.2M", Decimal(1_200_000)),
        ("1.2M THB", Decimal(1_200_000)),
        ("2.5 ล้าน บาท", Decimal(2_500_000)),
        ("2.5ล้านบาท", Decimal(2_500_000)),
        ("$ 1,200k", Decimal(1_200_000)),
        ("0.0015k", Decimal("1.5")),
        ("1.23456M", Decimal("1234560")),
    ],
)
def test_amount_shorthands(raw: str, expected: Decimal) -> None:
    """Issue 13: 120k, 1.2M, 2.5 ล้าน … with or without a currency, exactly (1.2M is 1,200,000, not 1199999.99…)."""
    value, problem = DEFAULT.amount(raw)
    assert problem is None and value == expected and str(value) == str(expected)


@pytest.mark.parametrize("raw", ["about 50k", "50 kg", "k", "1.2MM", "1.2 M k", "-5k", "5k-", "1.2B", "ล้าน"])
def test_amount_shorthand_is_no_licence_to_guess(raw: str) -> None:
    """A word around the shorthand, a unit alone or a negative amount is still a bad value."""
    value, problem = DEFAULT.amount(raw)
    assert value is None and problem is not None


def test_shorthand_quota_and_target_headers_on_a_titled_quotas_tab() -> None:
    """Issue 13: `Sales Rep` | `Q4 Target` under a title row, quotas typed 1.5M, are read."""
    rows = [(1, ["Targets 2026"]), (2, ["Sales Rep", "Q4 Target"]), (3, ["Somchai", 2_500_000.0]), (4, ["Nid", "1.5M"])]
    quotas = read_quotas("Targets", rows, Config())
    assert quotas.by_owner == {"Somchai": Decimal(2_500_000), "Nid": Decimal(1_500_000)}


@pytest.mark.parametrize(
    ("header", "owner_col", "quota_col"),
    [
        (["Owner", "Quota"], 0, 1),
        (["Name", "เป้าหมาย"], 0, 1),
        (["พนักงานขาย", "เป้า"], 0, 1),
        (["Region", "Salesperson", "Goal"], 1, 2),
        (["Rep", "Quarterly quota (THB)"], 0, 1),
        (["Owner", "Quota", "Stretch Target"], 0, 1),  # an alias beats a header that merely holds the word
        (["Name", "Rep", "Target"], 1, 2),  # Rep comes before Name in the owner headers
    ],
)
def test_quota_headers(header: list[str], owner_col: int, quota_col: int) -> None:
    """The Quotas tab's owner and quota columns by alias, or any header holding quota/target/เป้า."""
    rows = [
        (1, header),
        (2, ["x" if i not in (owner_col, quota_col) else "Nid" if i == owner_col else 10 for i in range(len(header))]),
    ]
    assert read_quotas("Quotas", rows, Config()).by_owner == {"Nid": Decimal(10)}


def test_quota_columns_set_in_config_and_two_quota_columns_refused() -> None:
    """`[columns] quota_owner` / `quota` pick the columns; two headers holding "target" are refused, not guessed."""
    rows = [(1, ["Person", "Q1 Target", "Q4 Target"]), (2, ["Nid", 5.0, 7.0])]
    config = Config(columns={"quota_owner": "Person", "quota": "q4 target"})
    assert read_quotas("Quotas", rows, config).by_owner == {"Nid": Decimal(7)}
    with pytest.raises(SourceError, match=r"more than one quota column.*'Q1 Target'.*'Q4 Target'.*\[columns\] quota"):
        read_quotas("Quotas", [(1, ["Owner", "Q1 Target", "Q4 Target"]), (2, ["Nid", 5.0, 7.0])], Config())


def test_quota_columns_in_config_are_not_pipeline_fields() -> None:
    """`[columns] quota = "Target"` names the Quotas tab's column: a pipeline `Target` column stays an extra."""
    lay = layout(["Prospect", "Stage", "Target"], Config(columns={"quota": "Target"}))
    assert lay.extras == {2: "Target"}
