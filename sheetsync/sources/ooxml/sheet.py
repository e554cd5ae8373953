"""A worksheet part generated from a grid: inline strings, numbers, dates, styles; never a formula.

Besides the cells it writes what the grid says about the tab: column widths,
row heights, frozen rows, gridlines, merged ranges, the autofilter, internal
hyperlinks (``location`` only: no relationship), print setup, and the
``<drawing>`` and comment elements the writer hands it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ...errors import WriteRefused
from ...grid import FMT_DATE, FMT_DATETIME, Cell, CellRange, Grid, Link, Look
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


Style = Callable[[str | None, bool, Look | None], str]


def _cell(ref: str, value: object, fmt: str | None, bold: bool, look: Look | None, style: Style, date1904: bool) -> str:
    """The rarer cell kinds, kept out of the hot loop: booleans, dates, Decimals, odd numbers."""
    if isinstance(value, bool):
        return f'<c r="{ref}"{style(fmt, bold, look)} t="b"><v>{int(value)}</v></c>'
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
            return f'<c r="{ref}"{style(fmt, bold, look)} t="e"><v>#NUM!</v></c>'
        return f'<c r="{ref}"{style(fmt, bold, look)}><v>{number}</v></c>'
    if isinstance(value, dt.date):
        serial = to_serial(value, "1904" if date1904 else "1900")
        if serial is not None:
            if fmt is None:
                fmt = FMT_DATETIME if isinstance(value, dt.datetime) else FMT_DATE
            number = repr(serial) if isinstance(serial, float) else str(serial)
            return f'<c r="{ref}"{style(fmt, bold, look)}><v>{number}</v></c>'
        value = value.isoformat()  # before Excel's first day: show it as written
    text = _text(str(value))
    space = ' xml:space="preserve"' if text and (text[0] in _XML_SPACE or text[-1] in _XML_SPACE) else ""
    return f'<c r="{ref}"{style(fmt, bold, look)} t="inlineStr"><is><t{space}>{text}</t></is></c>'


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
    style_attr: dict[tuple[str | None, bool, Look | None], str] = {}

    def style(fmt: str | None, bold: bool, look: Look | None) -> str:
        attr = style_attr.get((fmt, bold, look))
        if attr is None:
            index = styles.xf(fmt, bold, look)
            attr = style_attr[(fmt, bold, look)] = f' s="{index}"' if index else ""
        return attr

    out: list[str] = [""]
    add = out.append
    needs_work = _NEEDS_WORK.search
    fast_text, xml_space, max_int = _FAST_TEXT, _XML_SPACE, _MAX_EXACT_INT
    heights = {r + 1: f' ht="{min(h, 409.0):g}" customHeight="1"' for r, h in grid.heights.items() if h > 0}
    links: list[str] = []
    # Checks tabs repeat rule names, severities and messages: render each distinct text once.
    tails: dict[str, str] = {}
    tail_of = tails.get
    last_row = last_col = 0
    for r, row in enumerate(rows, 1):
        opened = len(out)
        rs = str(r)
        add(f'<row r="{rs}"{heights.get(r, "")}>')
        for ci, cell in enumerate(row):
            value: Any
            if type(cell) is Cell:
                value, fmt, bold, look = cell.value, cell.fmt, cell.bold, cell.look
                s = "" if fmt is None and not bold and look is None else style(fmt, bold, look)
                if cell.link is not None:
                    links.append(_hyperlink(letters[ci] + rs, cell.link))
            else:
                value, fmt, bold, look, s = cell, None, False, None, ""
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
                add(_cell(letters[ci] + rs, value, fmt, bold, look, style, date1904))
            if ci >= last_col:
                last_col = ci + 1
        if len(out) == opened + 1 and r not in heights:
            out.pop()
        else:
            add("</row>")
            last_row = r

    spans = last_row and last_col and (last_row, last_col) != (1, 1)
    dimension = f"A1:{letters[last_col - 1]}{last_row}" if spans else "A1"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{min(w, 255.0):.6g}" customWidth="1"/>'
        for i, w in enumerate(grid.widths, 1)
        if w and w > 0
    )
    page = grid.page
    out[0] = (
        f"{XML_DECLARATION}"
        f'<worksheet xmlns="{main_ns}" xmlns:r="{rel_ns}">'
        + ('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if page is not None and page.fit_width else "")
        + f'<dimension ref="{dimension}"/>'
        + _sheet_views(grid, selected)
        + '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    )
    add("</sheetData>")
    if grid.autofilter is not None:
        add(f'<autoFilter ref="{_ref(grid.autofilter)}"/>')
    if grid.merges:
        add(f'<mergeCells count="{len(grid.merges)}">')
        out.extend(f'<mergeCell ref="{_ref(m)}"/>' for m in grid.merges)
        add("</mergeCells>")
    if links:
        add("<hyperlinks>")
        out.extend(links)
        add("</hyperlinks>")
    if page is not None:
        add('<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.5" header="0.3" footer="0.3"/>')
        orientation = "landscape" if page.landscape else "portrait"
        fit = ' fitToWidth="1" fitToHeight="0"' if page.fit_width else ""
        add(f'<pageSetup orientation="{orientation}"{fit}/>')
    else:
        add('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    for order in ("drawing", "legacyDrawing", "legacyDrawingHF"):
        for element, rid in keep:
            if element == order:
                add(f'<{element} r:id="{esc_attr(rid)}"/>')
    add("</worksheet>")
    return "".join(out).encode("utf-8")


def _ref(cells: CellRange) -> str:
    first = f"{col_letter(cells.col)}{cells.row + 1}"
    if cells.height == 1 and cells.width == 1:
        return first
    return f"{first}:{col_letter(cells.col + cells.width - 1)}{cells.row + cells.height}"


def absolute_ref(cells: CellRange) -> str:
    """``$A$2:$G$9``: a range as a defined name holds it."""
    last = f"${col_letter(cells.col + cells.width - 1)}${cells.row + cells.height}"
    return f"${col_letter(cells.col)}${cells.row + 1}:{last}"


def _sheet_views(grid: Grid, selected: bool) -> str:
    """The one sheet view: selected or not, gridlines, and the frozen top rows (a pane split below them)."""
    view = ' tabSelected="1"' if selected else ""
    view += "" if grid.gridlines else ' showGridLines="0"'
    frozen = grid.frozen_rows
    if not frozen:
        return f'<sheetViews><sheetView{view} workbookViewId="0"/></sheetViews>'
    below = f"A{frozen + 1}"
    return (
        f'<sheetViews><sheetView{view} workbookViewId="0">'
        f'<pane ySplit="{frozen}" topLeftCell="{below}" activePane="bottomLeft" state="frozen"/>'
        f'<selection pane="bottomLeft" activeCell="{below}" sqref="{below}"/>'
        "</sheetView></sheetViews>"
    )


def _hyperlink(ref: str, link: Link) -> str:
    """An internal hyperlink: ``location`` names the cell, so the link needs no relationship."""
    tab = "'" + link.tab.replace("'", "''") + "'"
    return f'<hyperlink ref="{ref}" location="{esc_attr(tab)}!{link.cell}" display="{esc_attr(link.tab)}!{link.cell}"/>'
