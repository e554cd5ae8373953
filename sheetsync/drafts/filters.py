"""The Jinja filters templates use — money, date, time, first_name, khun — and the tables behind them.

Also the None-safe wrapping of Jinja's own text filters, so an empty cell
reads as empty text (``{{ cell | upper }}`` is never ``NONE``).
:func:`install` puts them all into an environment.  This module never loads,
compiles or renders a template.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import jinja2

from ..model.values import EXCEL_TEXT_LIMIT

_SYMBOLS = {
    "THB": "฿",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "KRW": "₩",
    "INR": "₹",
    "VND": "₫",
    "PHP": "₱",
}
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_EN_DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_TH_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
_TH_MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
_TH_DAYS = (
    "จันทร์",
    "อังคาร",
    "พุธ",
    "พฤหัสบดี",
    "ศุกร์",
    "เสาร์",
    "อาทิตย์",
)
_DATE_STYLES = ("long", "day", "short", "month", "iso")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "khun", "k"})
_THAI_TITLES = ("คุณ", "นาย", "นางสาว", "นาง", "ดร.")


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    # Text such as "1e999999999" or "sNaN" is kept as text: written out in full it would be a
    # billion digits, and a signalling NaN can't even be compared.
    return amount if amount.is_finite() and amount.adjusted() <= EXCEL_TEXT_LIMIT else None


@jinja2.pass_context
def money_filter(ctx: jinja2.runtime.Context, value: Any, currency: str | None = None) -> str:
    """``฿1,250,000`` (``฿1,250.50`` when there are satang); Thai templates write ``1,250,000 บาท``.

    Whole amounts drop the decimals because that is how a rep writes a deal
    size in a sentence; codes without a well-known symbol are written in
    front (``SGD 45,000``).  An empty cell renders empty, text is kept as is.
    """
    amount = _amount(value)
    if amount is None:
        return "" if value is None else str(value)
    code = (currency or ctx.get("currency") or "").strip()
    number = f"{abs(amount):,.0f}" if amount == amount.to_integral_value() else f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    if code.upper() == "THB" and ctx.get("language") == "th":
        return f"{sign}{number} บาท"
    symbol = _SYMBOLS.get(code.upper())
    if symbol:
        return f"{sign}{symbol}{number}"
    if len(code) == 3 and code.isalpha():
        return f"{sign}{code.upper()} {number}"
    return f"{sign}{code}{number}"


def _has_time(value: dt.date) -> bool:
    return isinstance(value, dt.datetime) and (value.hour, value.minute) != (0, 0)


def _format_date(value: dt.date, style: str, language: str) -> str:
    if "%" in style:
        return value.strftime(style)
    if style == "iso":
        return value.isoformat() if not _has_time(value) else value.strftime("%Y-%m-%d %H:%M")
    day = value.date() if isinstance(value, dt.datetime) else value
    time = f"{value:%H:%M}" if _has_time(value) and style in ("long", "short") else ""
    if language == "th":
        year = day.year + 543  # Thai readers expect the Buddhist Era year
        if style == "month":
            return f"{_TH_MONTHS[day.month - 1]} {year}"
        if style == "short":
            text = f"{day.day} {_TH_MONTHS_SHORT[day.month - 1]} {year}"
            return f"{text} {time} น." if time else text
        text = f"วัน{_TH_DAYS[day.weekday()]}ที่ {day.day} {_TH_MONTHS[day.month - 1]}"
        if style == "day":
            return text
        text += f" {year}"
        return f"{text} เวลา {time} น." if time else text
    if style == "month":
        return f"{_EN_MONTHS[day.month - 1]} {day.year}"
    if style == "short":
        text = f"{day.day} {_EN_MONTHS[day.month - 1][:3]} {day.year}"
        return f"{text}, {time}" if time else text
    text = f"{_EN_DAYS[day.weekday()]}, {day.day} {_EN_MONTHS[day.month - 1]}"
    if style == "day":
        return text
    text += f" {day.year}"
    return f"{text} at {time}" if time else text


@jinja2.pass_context
def date_filter(ctx: jinja2.runtime.Context, value: Any, style: str = "long") -> str:
    """A date the way a person writes it in the template's language.

    Styles: ``long`` (``Friday, 27 November 2026 at 14:30``; the time only when
    the cell has one), ``day`` (``Friday, 27 November``), ``short``
    (``27 Nov 2026, 14:30``), ``month`` (``November 2026``), ``iso``, or any
    ``strftime`` pattern.  Thai
    templates get Thai day and month names and the Buddhist Era year.
    """
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.date):
        return str(value)
    if style not in _DATE_STYLES and "%" not in style:
        raise ValueError(f"unknown date style {style!r} (use {', '.join(_DATE_STYLES)} or a strftime pattern)")
    return _format_date(value, style, str(ctx.get("language") or "en"))


@jinja2.pass_context
def time_filter(ctx: jinja2.runtime.Context, value: Any) -> str:
    """``14:30`` (Thai ``14:30 น.``), or nothing when the cell has no time of day."""
    if not isinstance(value, dt.datetime) or not _has_time(value):
        return ""
    return f"{value:%H:%M} น." if ctx.get("language") == "th" else f"{value:%H:%M}"


def first_name_filter(value: Any) -> str:
    """``Ms. Jane Porter`` → ``Jane``, ``คุณวิภา ศรีสุข`` → ``วิภา``: the name a greeting uses."""
    words = str(value or "").split()
    if not words:
        return ""
    i = 0
    while i < len(words) - 1 and words[i].rstrip(".").casefold() in _HONORIFICS:
        i += 1
    first = words[i]
    for title in _THAI_TITLES:
        if first.startswith(title) and len(first) > len(title):
            return first[len(title) :]
    return first


def khun_filter(value: Any) -> str:
    """Prefix ``คุณ`` unless the name already carries a title (Thai salutation)."""
    name = " ".join(str(value or "").split())
    if not name:
        return ""
    if name.startswith(_THAI_TITLES) or name.split()[0].rstrip(".").casefold() in _HONORIFICS:
        return name
    return f"คุณ{name}" if not name[0].isascii() else f"คุณ {name}"


#: Jinja's text filters turn None into the text "None" (``{{ cell | upper }}`` → ``NONE``).
_TEXT_FILTERS = (
    "capitalize", "center", "indent", "lower", "replace", "string", "striptags", "title", "trim",
    "truncate", "upper", "urlencode", "wordwrap",
)  # fmt: skip


def _empty_for_none(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The same filter, reading an empty cell as empty text."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Context- and environment-passing filters get that first; the value follows it.
        index = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0
        if len(args) > index and args[index] is None:
            args = (*args[:index], "", *args[index + 1 :])
        return fn(*args, **kwargs)

    return wrapper


def install(env: jinja2.Environment) -> None:
    """Our filters into ``env``, and Jinja's text filters made to read an empty cell as empty text."""
    for name in _TEXT_FILTERS:
        env.filters[name] = _empty_for_none(env.filters[name])
    env.filters.update(
        money=money_filter, date=date_filter, time=time_filter, first_name=first_name_filter, khun=khun_filter
    )
