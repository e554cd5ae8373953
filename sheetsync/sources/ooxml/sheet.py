"""A worksheet part generated from a grid: inline strings, numbers, dates, styles; never a formula."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ...errors import WriteRefused
from ...grid import FMT_DATE, FMT_DATETIME, Cell, Grid
from ...model.values import col_letter, to_serial
from .opc import XML_DECLARATION
from .styles import Styles
from .xmltext import esc_attr

_MAX_ROWS = 1_048_576
_MAX_COLS = 16_384
_MAX_TEXT_UNITS = 32_767  # Excel's cell limit, in UTF-16 code units
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile("_x[0-9A-Fa-f]{4}_")
_NEEDS_WORK = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FAST_TEXT = _MAX_TEXT_UNITS // 2  # no string this short can pass Excel's limit, even in UTF-16
_XML_SPACE = " \t\n\r"
_MAX_EXACT_INT = 2**53


def _text(value: str) -> str:
    """Cell text escaped for XML, made legal, and cut to what Excel holds.

    ``_xHHHH_`` is how Excel escapes characters inside strings, so a literal
    one gets its underscore escaped to read back as typed.
    """
    if len(value) <= _FAST_TEXT and "_x" not in value and _NEEDS_WORK.search(value) is None:
        return value
    value = ILLEGAL.sub("", value)
    if len(value) > _FAST_TEXT:
        units = value.encode("utf-16-le")
        if len(units) > 2 * _MAX_TEXT_UNITS:
            value = units[: 2 * _MAX_TEXT_UNITS].decode("utf-16-le", "ignore")
    if "_x" in value:
        value = _EXCEL_ESCAPE.sub(lambda m: "_x005F" + m.group(0), value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(value: float) -> str | None:
    return repr(value) if math.isfinite(value) else None


def _cell(
    ref: str,
    value: object,
    fmt: str | None,
    bold: bool,
    style: Callable[[str | None, bool], str],
    date1904: bool,
) -> str:
    """The rarer cell kinds, kept out of the hot loop: booleans, dates, Decimals, odd numbers."""
    if isinstance(value, bool):
        return f'<c r="{ref}"{style(fmt, bold)} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        number: str | None
        if isinstance(value, int) and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
            number = str(int(value))
        elif isinstance(value, Decimal) and not value.is_finite():
            number = None
        else:
            try:
                number = _number(float(value))
            except OverflowError:
                number = None
        if number is None:  # Excel has no NaN or infinity; #NUM! is how it shows one
            return f'<c r="{ref}"{style(fmt, bold)} t="e"><v>#NUM!</v></c>'
        return f'<c r="{ref}"{style(fmt, bold)}><v>{number}</v></c>'
    if isinstance(value, dt.date):
        serial = to_serial(value, "1904" if date1904 else "1900")
        if serial is not None:
            if fmt is None:
                fmt = FMT_DATETIME if isinstance(value, dt.datetime) else FMT_DATE
            number = repr(serial) if isinstance(serial, float) else str(serial)
            return f'<c r="{ref}"{style(fmt, bold)}><v>{number}</v></c>'
        value = value.isoformat()  # before Excel's first day: show it as written
    text = _text(str(value))
    space = ' xml:space="preserve"' if text and (text[0] in _XML_SPACE or text[-1] in _XML_SPACE) else ""
    return f'<c r="{ref}"{style(fmt, bold)} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def sheet_xml(
    grid: Grid,
    styles: Styles,
    date1904: bool,
    *,
    selected: bool,
    keep: list[tuple[str, str]],
    main_ns: str,
    rel_ns: str,
) -> bytes:
    """One worksheet part: a list of strings, one join, one encode (this is the hot loop)."""
    rows = grid.rows
    width = grid.width
    if len(rows) > _MAX_ROWS or width > _MAX_COLS:
        raise WriteRefused(
            f"tab {grid.title!r} would have {len(rows):,} rows × {width:,} columns, "
            f"more than an Excel sheet holds ({_MAX_ROWS:,} × {_MAX_COLS:,})"
        )
    letters = [col_letter(i) for i in range(width)]
    style_attr: dict[tuple[str | None, bool], str] = {}

    def style(fmt: str | None, bold: bool) -> str:
        attr = style_attr.get((fmt, bold))
        if attr is None:
            index = styles.xf(fmt, bold)
            attr = style_attr[(fmt, bold)] = f' s="{index}"' if index else ""
        return attr

    out: list[str] = [""]
    add = out.append
    needs_work = _NEEDS_WORK.search
    fast_text, xml_space, max_int = _FAST_TEXT, _XML_SPACE, _MAX_EXACT_INT
    # Checks tabs repeat rule names, severities and messages: render each distinct text once.
    tails: dict[str, str] = {}
    tail_of = tails.get
    last_row = last_col = 0
    for r, row in enumerate(rows, 1):
        opened = len(out)
        rs = str(r)
        add(f'<row r="{rs}">')
        for ci, cell in enumerate(row):
            value: Any
            if type(cell) is Cell:
                value, fmt, bold = cell.value, cell.fmt, cell.bold
                s = "" if fmt is None and not bold else style(fmt, bold)
            else:
                value, fmt, bold, s = cell, None, False, ""
            kind = type(value)
            if kind is str:
                tail = tail_of(value)
                if tail is None:
                    text = value
                    if len(text) > fast_text or "_x" in text or needs_work(text) is not None:
                        text = _text(text)
                    space = ' xml:space="preserve"' if text and (text[0] in xml_space or text[-1] in xml_space) else ""
                    tail = tails[value] = f' t="inlineStr"><is><t{space}>{text}</t></is></c>'
                add(f'<c r="{letters[ci]}{rs}"{s}{tail}')
            elif kind is int and -max_int <= value <= max_int:
                add(f'<c r="{letters[ci]}{rs}"{s}><v>{value}</v></c>')
            elif kind is float and value - value == 0:
                add(f'<c r="{letters[ci]}{rs}"{s}><v>{value!r}</v></c>')
            elif value is None:
                if not s:
                    continue
                add(f'<c r="{letters[ci]}{rs}"{s}/>')
            else:
                add(_cell(letters[ci] + rs, value, fmt, bold, style, date1904))
            if ci >= last_col:
                last_col = ci + 1
        if len(out) == opened + 1:
            out.pop()
        else:
            add("</row>")
            last_row = r

    tab_selected = ' tabSelected="1"' if selected else ""
    dimension = f"A1:{letters[last_col - 1]}{last_row}" if last_row and (last_row, last_col) != (1, 1) else "A1"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{min(w, 255.0):.6g}" customWidth="1"/>'
        for i, w in enumerate(grid.widths, 1)
        if w and w > 0
    )
    out[0] = (
        f"{XML_DECLARATION}"
        f'<worksheet xmlns="{main_ns}" xmlns:r="{rel_ns}">'
        f'<dimension ref="{dimension}"/>'
        f'<sheetViews><sheetView{tab_selected} workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"
    )
    add('</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    for order in ("drawing", "legacyDrawing", "legacyDrawingHF"):
        for element, rid in keep:
            if element == order:
                add(f'<{element} r:id="{esc_attr(rid)}"/>')
    add("</worksheet>")
    return "".join(out).encode("utf-8")
