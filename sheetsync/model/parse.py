"""One cell → one typed value: text, email, yes/no, amount, number, percent, date, date-time.

Parsing never raises for a bad cell: each reader returns ``(value, None)`` or
``(None, what is wrong)``, and the rules turn the problem into a ``bad-value``
finding (reference 4.1).  Readers are configured once per run (date order,
Buddhist Era).  Nothing here sees a whole row or table: :mod:`.reader` does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..config import Config
from .values import EXCEL_TEXT_LIMIT, CellError, Value, address_pattern, from_serial, is_email

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# values.EMAIL without control characters: what Parser.email accepts with no problem to report.
_PLAIN_EMAIL = re.compile("^" + address_pattern(r"\x00-\x1f\x7f") + "$")
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
_ONE = Decimal(1)
YES = frozenset({"yes", "y", "true", "1", "x", "✓", "✔", "ใช่"})
NO = frozenset({"no", "n", "false", "0", "ไม่", "ไม่ใช่", ""})

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
        if CONTROL.search(s):
            return CONTROL.sub("", s).strip() or None, "contains invisible control characters — retype the cell"
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
        if is_email(s):
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
        if problem is not None and isinstance(v, str) and not isinstance(v, CellError):
            d, problem = _shorthand(v, self.number) or (d, problem)
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
            day = from_serial(float(v))
            if day is None:
                return None, f"{_show(v)} is not a date — type it as a date, e.g. 2026-11-27"
            return day, None
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


# 120k, 1.2M, 2.5 ล้าน: a number, then one unit (reference 4.1).  Checked only after a cell
# failed to read as a plain number, so it costs the usual sheet nothing.
_UNITS = {"k": 1_000, "m": 1_000_000, "ล้าน": 1_000_000, "แสน": 100_000, "หมื่น": 10_000, "พัน": 1_000}
_SHORTHAND = re.compile(r"^(.*?\d)\s*(k|m|ล้าน|แสน|หมื่น|พัน)$", re.IGNORECASE | re.DOTALL)


def _shorthand(v: str, number: Callable[[Value], Parsed]) -> Parsed | None:
    """An amount written with a unit (``120k``, ``฿1.2M``, ``2.5 ล้าน บาท``), exact; None when it is not one.

    The currency may stand before the number or after the unit; whatever is
    left must read as a plain number, so ``about 50k`` is still not an amount.
    """
    s = _CURRENCY.sub("", v.strip()).strip()
    if len(s) > EXCEL_TEXT_LIMIT or not (m := _SHORTHAND.match(s)):
        return None
    d, problem = number(m[1])
    if d is None or problem is not None:
        return None
    d *= _UNITS[m[2].casefold()]
    return (d.quantize(_ONE) if d == d.to_integral_value() else d.normalize()), None


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
