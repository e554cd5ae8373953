"""A grid as Google Sheets API objects: cell data with formats and links, and the requests that lay a tab out.

Pure functions from :class:`~sheetsync.grid.Grid` (and the tab's sheetId) to
the ``CellData``, ``GridProperties`` and ``batchUpdate`` request objects of
the Sheets API v4 (``mergeCells``, ``unmergeCells``,
``updateDimensionProperties``, ``setBasicFilter``); field names follow its
reference.  They never send anything: :mod:`.gsheets` puts them in its one
write.  Text is always a ``stringValue``, never a formula; a link is the
cell's ``textFormat.link`` to ``#gid=<sheetId>&range=<cell>``, made from our
own tab ids and cell references, never from a cell's text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..grid import FMT_DATE, FMT_DATETIME, Cell, CellRange, Grid, GridCell, Link, Look, column_pixels, row_pixels
from ..model.values import Value, to_serial
from .gsheets_charts import grid_range, rgb

#: Google refuses a cell longer than this.
MAX_CELL_CHARS = 50_000
CELL_FIELDS = "userEnteredValue,userEnteredFormat"

_ALIGN = {"left": "LEFT", "center": "CENTER", "right": "RIGHT"}
_VALIGN = {"top": "TOP", "center": "MIDDLE", "bottom": "BOTTOM"}
_NO_LOOK = Look()

#: A link's address in the spreadsheet, or None when its tab isn't there.
LinkAddress = Callable[[Link], str | None]


def link_address(sheet_ids: dict[str, int]) -> LinkAddress:
    """Links to cells of the tabs named in ``sheet_ids`` (title, case-folded → sheetId)."""

    def address(link: Link) -> str | None:
        sheet_id = sheet_ids.get(link.tab.casefold())
        return None if sheet_id is None else f"#gid={sheet_id}&range={link.cell}"

    return address


def grid_properties(grid: Grid) -> dict[str, Any]:
    """The frozen rows and gridlines of a tab, as ``GridProperties`` fields."""
    return {"frozenRowCount": grid.frozen_rows, "hideGridlines": not grid.gridlines}


def row_data(row: Sequence[GridCell], links: LinkAddress) -> dict[str, Any]:
    cells = [cell_data(cell, links) for cell in row]
    while cells and not cells[-1]:
        cells.pop()
    return {"values": cells} if cells else {}


def cell_data(cell: GridCell, links: LinkAddress) -> dict[str, Any]:
    """A ``CellData``: the value as the user would have typed it (never a formula) and its format."""
    if isinstance(cell, Cell):
        value, fmt, bold, look, link = cell.value, cell.fmt, cell.bold, cell.look or _NO_LOOK, cell.link
    else:
        value, fmt, bold, look, link = cell, None, False, _NO_LOOK, None
    data: dict[str, Any] = {}
    if value is None:
        pass
    elif isinstance(value, bool):
        data["userEnteredValue"] = {"boolValue": value}
    elif isinstance(value, dt.date):
        serial = to_serial(value, "plain")  # Google counts no phantom 29 February 1900
        data["userEnteredValue"] = {"numberValue": float(serial) if isinstance(value, dt.datetime) else serial}
        fmt = fmt or (FMT_DATETIME if isinstance(value, dt.datetime) else FMT_DATE)
    elif isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isfinite(number):
            data["userEnteredValue"] = {"numberValue": value if isinstance(value, int) else number}
        else:
            data["userEnteredValue"] = {"stringValue": str(value)}
    else:
        data["userEnteredValue"] = {"stringValue": str(value)[:MAX_CELL_CHARS]}
    style = _cell_format(value, fmt, bold, look)
    address = None if link is None else links(link)
    if address is not None:
        style.setdefault("textFormat", {})["link"] = {"uri": address}
    if style:
        data["userEnteredFormat"] = style
    return data


def _cell_format(value: Value, fmt: str | None, bold: bool, look: Look) -> dict[str, Any]:
    """A ``CellFormat`` with only what the cell sets (the rest is cleared by the write's field mask)."""
    style: dict[str, Any] = {}
    if fmt:
        style["numberFormat"] = {"type": _format_type(fmt, value), "pattern": fmt}
    text: dict[str, Any] = {}
    if bold:
        text["bold"] = True
    if look.italic:
        text["italic"] = True
    if look.underline:
        text["underline"] = True
    if look.size:
        text["fontSize"] = round(look.size)
    if look.color:
        text["foregroundColorStyle"] = {"rgbColor": rgb(look.color)}
    if text:
        style["textFormat"] = text
    if look.fill:
        style["backgroundColorStyle"] = {"rgbColor": rgb(look.fill)}
    if look.border:
        line = {"style": "SOLID", "colorStyle": {"rgbColor": rgb(look.border_color)}}
        sides = ("top", "bottom", "left", "right") if look.border == "box" else ("bottom",)
        style["borders"] = {side: line for side in sides}
    if look.align:
        style["horizontalAlignment"] = _ALIGN[look.align]
    if look.valign:
        style["verticalAlignment"] = _VALIGN[look.valign]
    if look.wrap:
        style["wrapStrategy"] = "WRAP"
    return style


def _format_type(pattern: str, value: Value) -> str:
    if isinstance(value, dt.datetime):
        return "DATE_TIME"
    if isinstance(value, dt.date):
        return "DATE"
    return "PERCENT" if "%" in pattern else "NUMBER"


def layout_requests(sheet_id: int, grid: Grid) -> list[dict[str, Any]]:
    """After the cells are written: merges, column widths, row heights and the filter of the tab."""
    requests: list[dict[str, Any]] = [
        {"mergeCells": {"range": grid_range(sheet_id, merged), "mergeType": "MERGE_ALL"}} for merged in grid.merges
    ]
    for i, width in enumerate(grid.widths):
        if width and width > 0:
            # Google's default font (Arial 10) runs a little wider than Calibri 11: 10 more pixels a column.
            requests.append(_dimension(sheet_id, "COLUMNS", i, column_pixels(width) + 10))
    for row, points in sorted(grid.heights.items()):
        requests.append(_dimension(sheet_id, "ROWS", row, row_pixels(points)))
    if grid.autofilter is not None:
        requests.append({"setBasicFilter": {"filter": {"range": grid_range(sheet_id, grid.autofilter)}}})
    return requests


def unmerge_all(sheet_id: int) -> dict[str, Any]:
    """Undo every merge on the tab, before its cells are rewritten (a merge from the last run may not fit)."""
    return {"unmergeCells": {"range": {"sheetId": sheet_id}}}


def merges_as_ranges(sheet_id: int, merges: Sequence[CellRange]) -> list[dict[str, int]]:
    """The ``GridRange`` of each merge, as the metadata lists a tab's merges."""
    return [grid_range(sheet_id, merged) for merged in merges]


def _dimension(sheet_id: int, dimension: str, index: int, pixels: int) -> dict[str, Any]:
    return {
        "updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": dimension, "startIndex": index, "endIndex": index + 1},
            "properties": {"pixelSize": pixels},
            "fields": "pixelSize",
        }
    }
