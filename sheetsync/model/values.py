"""Cell values and the spreadsheet facts every layer shares: one home for each.

Holds :data:`Value` (a raw cell as a backend reads it), :class:`CellError`,
Excel's text limit, column letters ↔ index, serial numbers ↔ dates in Excel's
1900 and 1904 systems and in the plain day count of Google Sheets, the email
address check, and the rules for a tab name Excel can hold.  Pure functions
of their arguments: nothing here reads a file, knows a backend or raises for
bad user data (callers word the problem for where it came from).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Literal, overload

Value = str | int | float | Decimal | bool | dt.date | dt.datetime | None

#: The most characters an Excel cell holds (counted in UTF-16 code units by Excel).
EXCEL_TEXT_LIMIT = 32767


class CellError(str):
    """An Excel error cell (``#N/A``, ``#REF!``…); the empty string is a formula with no saved result.

    A ``str`` subclass so it flows through rows like any text, while the
    parser can still tell an error from a cell that really holds that text.
    """

    __slots__ = ()

    # Never equal to (or hashed like) plain text, so value caches can't confuse
    # an error cell with a cell that holds the same characters.
    def __eq__(self, other: object) -> bool:
        return type(other) is CellError and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("CellError", str(self)))


def is_blank(v: Value) -> bool:
    """Whether a cell reads as empty: nothing, or only spaces (an error cell is never blank)."""
    return v is None or (isinstance(v, str) and not v.strip() and not isinstance(v, CellError))


# ---------------------------------------------------------------- column letters


def col_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    """Excel letters (upper case) → 0-based column index (A → 0, AB → 27)."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


# ---------------------------------------------------------------- serial numbers ↔ dates

#: How a workbook counts days.  ``"1900"``: Excel's default, day 1 is 1900-01-01 and
#: it counts a 29 February 1900 that never was (Lotus 1-2-3's bug), so from 1 March
#: 1900 on a serial is the number of days since 1899-12-30.  ``"1904"``: Excel's Mac
#: system (``workbookPr date1904``), day 0 is 1904-01-01.  ``"plain"``: days since
#: 1899-12-30 with no phantom day, as Google Sheets and LibreOffice count.
DateSystem = Literal["1900", "1904", "plain"]

_EPOCH = {"1900": dt.date(1899, 12, 30), "1904": dt.date(1904, 1, 1), "plain": dt.date(1899, 12, 30)}
_ORDINAL = {system: day.toordinal() for system, day in _EPOCH.items()}
_FIRST_1900 = dt.date(1900, 1, 1)
_LEAP_BUG_END = dt.date(1900, 3, 1)  # the first day whose 1900-system serial is days since 1899-12-30
_PHANTOM_DAY = 60  # 29 February 1900 in the 1900 system
#: Serials read as dates: from day 1 up to 9999-12-31 (the plain and 1900 systems agree from day 61 on).
_SERIAL_LIMITS = {"1900": (1, 2958466), "1904": (0, 2957004), "plain": (1, 2958466)}


@overload
def to_serial(value: dt.date, system: Literal["plain"]) -> int | float: ...
@overload
def to_serial(value: dt.date, system: DateSystem = "1900") -> int | float | None: ...
def to_serial(value: dt.date, system: DateSystem = "1900") -> int | float | None:
    """A date's serial number: whole days for a date or a date-time at midnight, else a fraction.

    A time zone is dropped (the wall-clock time is what a sheet shows).
    None when the system can't show the date (before its first day).
    """
    naive = value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value
    plain = naive.date() if isinstance(naive, dt.datetime) else naive
    days = naive.toordinal() - _ORDINAL[system]
    if system == "1904":
        if days < 0:
            return None
    elif system == "1900":
        if plain < _FIRST_1900:
            return None
        if plain < _LEAP_BUG_END:
            days -= 1
    if isinstance(naive, dt.datetime):
        seconds = naive.hour * 3600 + naive.minute * 60 + naive.second + naive.microsecond / 1e6
        return days + seconds / 86400 if seconds else days
    return days


def from_serial(serial: float, system: DateSystem = "plain") -> dt.date | None:
    """The date (a whole serial) or date-time (a fraction, to the nearest second) of a serial number.

    None outside the days the system can name (and for the 1900 system's
    phantom 29 February).
    """
    low, high = _SERIAL_LIMITS[system]
    if not low <= serial < high:
        return None
    days = serial
    if system == "1900" and serial < _PHANTOM_DAY + 1:
        if serial >= _PHANTOM_DAY:
            return None
        days += 1
    stamp = dt.datetime.combine(_EPOCH[system], dt.time()) + dt.timedelta(days=days)
    try:
        stamp = stamp.replace(microsecond=0) + dt.timedelta(seconds=round(stamp.microsecond / 1e6))
    except OverflowError:  # the last instant of 9999-12-31, rounded up
        return None
    return stamp if serial % 1 else stamp.date()


# ---------------------------------------------------------------- email addresses


def address_pattern(forbidden: str = "") -> str:
    """The regex of one address, none of whose characters is in the class text ``forbidden``.

    An address is local@domain with a dot inside the domain, no space,
    bracket or quote.  The domain is written "one character, then no dot up
    to the first dot, then the rest" and every quantifier is possessive: the
    obvious ``[^@…]+\\.[^@…]+`` may split at any of the domain's dots, so a
    failed match costs time quadratic in its length, and in a whole-column
    pattern exponential in the number of lines (issue 11).
    tests/test_fast_paths.py checks the spellings accept the same strings.
    """
    char = rf"[^@\s<>()\[\],;:\"\\{forbidden}]"  # a character of the address
    no_dot = rf"[^@\s<>()\[\],;:\"\\.{forbidden}]"
    return rf"{char}++@{char}{no_dot}*+\.{char}++"


EMAIL = re.compile("^" + address_pattern() + "$")


def is_email(text: str) -> bool:
    """Whether ``text`` (already stripped) is an email address as a sheet's Email column must hold one."""
    return EMAIL.match(text) is not None


# ---------------------------------------------------------------- tab names

#: The most characters (UTF-16 code units, as Excel counts) in a tab name.
TAB_NAME_LIMIT = 31
_TAB_NAME_FORBIDDEN = frozenset("[]:*?/\\")
_TAB_NAME_CONTROL = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def tab_name_problem(name: str) -> str | None:
    """Why Excel can't hold a tab called ``name``, or None when it can."""
    units = len(name.encode("utf-16-le", "surrogatepass")) // 2
    if not name or units > TAB_NAME_LIMIT:
        return f"an Excel tab name has 1 to {TAB_NAME_LIMIT} characters"
    if any(ch in _TAB_NAME_FORBIDDEN for ch in name):
        return "an Excel tab name can't contain any of [ ] : * ? / \\"
    if name[0] == "'" or name[-1] == "'":
        return "an Excel tab name can't start or end with an apostrophe"
    if _TAB_NAME_CONTROL.search(name):
        return "an Excel tab name can't contain control characters"
    return None
