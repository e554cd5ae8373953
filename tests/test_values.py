"""model/values.py (issue 12): the one home of column letters, serial dates, the address check and tab names.

Each helper had up to four copies before issue 12; these tests pin the
facts every caller relies on, against Excel's own numbering.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetsync.model.values import (
    CellError,
    col_index,
    col_letter,
    from_serial,
    is_blank,
    is_email,
    tab_name_problem,
    to_serial,
)


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (16383, "XFD")]
)
def test_column_letters_are_excels(index: int, letters: str) -> None:
    """0-based index ↔ letters as Excel names columns (XFD is its last)."""
    assert col_letter(index) == letters
    assert col_index(letters) == index


@given(st.integers(min_value=0, max_value=100_000))
def test_column_letters_round_trip(index: int) -> None:
    """Every index comes back from its letters."""
    assert col_index(col_letter(index)) == index


@pytest.mark.parametrize(
    ("day", "system", "serial"),
    [
        (dt.date(1900, 1, 1), "1900", 1),
        (dt.date(1900, 2, 28), "1900", 59),
        (dt.date(1900, 3, 1), "1900", 61),
        (dt.date(2026, 11, 27), "1900", 46353),
        (dt.date(1904, 1, 1), "1904", 0),
        (dt.date(2026, 11, 27), "1904", 44891),
        (dt.date(1899, 12, 31), "plain", 1),
        (dt.date(1900, 1, 1), "plain", 2),
        (dt.date(2026, 11, 27), "plain", 46353),
    ],
)
def test_serials_are_the_spreadsheets(day: dt.date, system: str, serial: int) -> None:
    """Excel's 1900 system counts a phantom 29 February 1900; 1904 starts at 0; Google's plain count has no phantom."""
    assert to_serial(day, system) == serial  # type: ignore[arg-type]
    assert from_serial(serial, system) == day  # type: ignore[arg-type]


def test_serial_edges() -> None:
    """Days a system can't name are None: before its first day, the phantom day, after 9999-12-31."""
    assert to_serial(dt.date(1899, 12, 31), "1900") is None
    assert to_serial(dt.date(1903, 12, 31), "1904") is None
    assert to_serial(dt.date(1800, 1, 1), "plain") == -36522
    assert from_serial(60, "1900") is None
    assert from_serial(0.5, "plain") is None  # numbers read as dates start at day 1
    assert to_serial(dt.date(1899, 12, 30), "plain") == 0
    assert from_serial(2958466, "plain") is None
    assert from_serial(2958465.999999999, "plain") is None  # rounds past the last second: not a date, not a crash
    assert from_serial(2958465, "1900") == dt.date(9999, 12, 31)
    assert from_serial(2957003, "1904") == dt.date(9999, 12, 31)
    assert from_serial(float("nan")) is None
    assert to_serial(dt.datetime(2026, 11, 27, 0, 0), "1900") == 46353
    assert isinstance(to_serial(dt.datetime(2026, 11, 27, 0, 0), "1900"), int)
    assert to_serial(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC), "1904") == 44891.5


SYSTEMS = st.sampled_from(["1900", "1904", "plain"])


@given(st.datetimes(min_value=dt.datetime(1904, 1, 1), max_value=dt.datetime(9999, 12, 30)), SYSTEMS)
def test_date_times_round_trip_to_the_second(moment: dt.datetime, system: str) -> None:
    """A date-time comes back from its serial to the nearest second, whatever the system."""
    moment = moment.replace(microsecond=0)
    serial = to_serial(moment, system)  # type: ignore[arg-type]
    assert serial is not None
    back = from_serial(serial, system)  # type: ignore[arg-type]
    assert back == (moment if moment.time() != dt.time() else moment.date())


@given(st.dates(min_value=dt.date(1900, 3, 1)))
def test_the_1900_and_plain_systems_agree_from_march_1900(day: dt.date) -> None:
    """Which is why a number read from Excel or Google means the same day either way."""
    assert to_serial(day, "1900") == to_serial(day, "plain")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("somchai@example.co.th", True),
        ("a.b+c@ex-ample.com", True),
        ("somchai at example.co.th", False),
        ("a@@example.in.th", False),
        ("a@example", False),
        ("a@b.c, d@e.f", False),
        ("<a@b.c>", False),
    ],
)
def test_address_check(text: str, ok: bool) -> None:
    """One address with a dot in its domain; no spaces, brackets, quotes or second @."""
    assert is_email(text) is ok


def test_blank() -> None:
    """Spaces are blank; an error cell never is, even an empty one."""
    assert is_blank(None) and is_blank("") and is_blank("  \n")
    assert not is_blank(CellError("")) and not is_blank(0) and not is_blank(False)


@pytest.mark.parametrize(
    "name",
    ["Summary", "x" * 31, "Sales 'Q4' plan", "สรุป", "📈" * 15, "a-b_c (1)"],
)
def test_tab_names_excel_holds(name: str) -> None:
    """Up to 31 UTF-16 units, inner apostrophes and any script are fine."""
    assert tab_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "1 to 31"),
        ("x" * 32, "1 to 31"),
        ("📈" * 16, "1 to 31"),  # 16 characters, 32 UTF-16 units: Excel counts units
        ("Q1/Q2", "[ ] : * ? / \\"),
        ("[Summary]", "[ ] : * ? / \\"),
        ("What?", "[ ] : * ? / \\"),
        ("'quoted", "apostrophe"),
        ("quoted'", "apostrophe"),
        ("tab\tname", "control"),
        ("line\nbreak", "control"),
    ],
)
def test_tab_names_excel_refuses(name: str, why: str) -> None:
    """Each Excel rule for a tab name, with the reason it gives."""
    problem = tab_name_problem(name)
    assert problem is not None and why in problem
