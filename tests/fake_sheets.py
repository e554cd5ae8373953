"""A fake Google Sheets API v4 served over real HTTP for tests (token endpoint and faults: fake_google).

It implements what sheetsync calls, with the real API's rules where they
bite: the bearer token must come from the token endpoint (which checks the
service account's signed JWT and its scope), sharing decides 403s,
``batchUpdate`` is all-or-nothing, writes past a tab's grid are refused with
Google's "exceeds grid limits" error, a new tab is 1,000 × 26, and values are
rendered per ``valueRenderOption``/``dateTimeRenderOption`` (so a client that
forgets ``UNFORMATTED_VALUE`` gets strings back, as it would from Google).

Charts go in and out as in the real API: ``addChart``, ``updateChartSpec``,
``updateEmbeddedObjectPosition`` and ``deleteEmbeddedObject`` are checked
against the API's field names and enums (an unknown field is a 400, as
Google's strict JSON parsing makes it), ranges and anchors must lie inside
an existing grid, ids must be new (or exist, to update or delete), and the
charts are kept per sheet and listed by the metadata read.

So do the tab's looks (issue 15): every ``CellFormat`` sent in ``updateCells``
(number formats, colours, borders, alignment, wrapping, text formats and
links) is checked field by field; ``mergeCells``/``unmergeCells``,
``setBasicFilter``, frozen rows and hidden gridlines in ``addSheet`` and
``updateSheetProperties``, and row heights in ``updateDimensionProperties``
are checked and kept, and the metadata lists merges, frozen rows and
gridlines as Google does.

Requests are logged by kind (``token``, ``metadata``, ``batchGet``,
``batchUpdate``) so tests can assert the request budget.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fake_google
from fake_google import ApiError, FakeGoogle, Grant, strict_json
from fake_google import ServiceAccount as ServiceAccount
from fake_google import make_authorized_user as make_authorized_user
from fake_google import make_service_account as make_service_account

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
_EPOCH = dt.datetime(1899, 12, 30)

# --- model --------------------------------------------------------------------


def serial(value: dt.date) -> float:
    if isinstance(value, dt.datetime):
        delta = value - _EPOCH
        return delta.days + delta.seconds / 86400
    return float((value - _EPOCH.date()).days)


def cell_data(value: Any) -> dict[str, Any]:
    """How a seeded Python value is stored: as a user would have typed it."""
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, dt.datetime):
        return {
            "userEnteredValue": {"numberValue": serial(value)},
            "userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}},
        }
    if isinstance(value, dt.date):
        return {
            "userEnteredValue": {"numberValue": serial(value)},
            "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
        }
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


@dataclass
class Sheet:
    sheet_id: int
    title: str
    rows: int = 1000
    columns: int = 26
    #: (row, column), 0-based → CellData as the API spells it (userEnteredValue, userEnteredFormat).
    cells: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    merges: list[dict[str, int]] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)
    sheet_type: str = "GRID"
    #: chartId → the EmbeddedChart as the API spells it (chartId, spec, position); replaced, never edited.
    charts: dict[int, dict[str, Any]] = field(default_factory=dict)
    heights: dict[int, int] = field(default_factory=dict)
    frozen_rows: int = 0
    hide_gridlines: bool = False
    #: The BasicFilter as sent (its range), or None.
    basic_filter: dict[str, Any] | None = None

    def copy(self) -> Sheet:
        return dataclasses.replace(
            self,
            cells=dict(self.cells),
            merges=list(self.merges),
            widths=dict(self.widths),
            charts=dict(self.charts),
            heights=dict(self.heights),
        )

    def used(self) -> tuple[int, int]:
        rows = cols = 0
        for (r, c), data in self.cells.items():
            if "userEnteredValue" in data:
                rows, cols = max(rows, r + 1), max(cols, c + 1)
        return rows, cols

    def value(self, row: int, column: int) -> Any:
        """The stored value of a cell: a string, number, bool, or ``{"formula": ...}`` if one was written."""
        entered = self.cells.get((row, column), {}).get("userEnteredValue")
        if not entered:
            return None
        (kind, raw), *_ = entered.items()
        return {"formula": raw} if kind == "formulaValue" else raw

    def values(self) -> list[list[Any]]:
        rows, cols = self.used()
        table = [[self.value(r, c) for c in range(cols)] for r in range(rows)]
        for row in table:
            while row and row[-1] is None:
                row.pop()
        return table

    def properties(self, index: int) -> dict[str, Any]:
        props: dict[str, Any] = {"sheetId": self.sheet_id, "title": self.title, "index": index}
        props["sheetType"] = self.sheet_type
        if self.sheet_type == "GRID":
            grid: dict[str, Any] = {"rowCount": self.rows, "columnCount": self.columns}
            if self.frozen_rows:
                grid["frozenRowCount"] = self.frozen_rows
            if self.hide_gridlines:
                grid["hideGridlines"] = True
            props["gridProperties"] = grid
        return props


@dataclass
class Spreadsheet:
    key: str
    title: str
    sheets: list[Sheet]
    #: Who may read and write / only read (emails); ``None`` means everyone with a token.
    editors: set[str] | None = None
    viewers: set[str] = field(default_factory=set)

    def sheet(self, title: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.title.casefold() == title.casefold():
                return sheet
        raise KeyError(title)


# --- the server -----------------------------------------------------------------


class FakeSheets(FakeGoogle):
    """Start with ``with FakeSheets() as fake:``; seed with :meth:`add_spreadsheet`."""

    routes = (
        ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)$"), "metadata"),
        ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchGet$"), "batchGet"),
        ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+):batchUpdate$"), "batchUpdate"),
    )

    def reset_data(self) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}

    # seeding

    def add_spreadsheet(
        self,
        key: str,
        tabs: Mapping[str, Sequence[Sequence[Any]]],
        *,
        title: str = "Pipeline workbook",
        merges: Mapping[str, Iterable[str]] | None = None,
        sizes: Mapping[str, tuple[int, int]] | None = None,
        editors: Iterable[str] | None = None,
        viewers: Iterable[str] = (),
        chart_sheets: Iterable[str] = (),
    ) -> Spreadsheet:
        """A spreadsheet whose tabs hold ``tabs`` (row lists from A1); merges in A1 notation."""
        sheets = []
        for index, (name, rows) in enumerate(tabs.items()):
            width = max((len(r) for r in rows), default=0)
            n_rows, n_cols = (sizes or {}).get(name, (max(1000, len(rows)), max(26, width)))
            sheet = Sheet(sheet_id=index * 1111 if index else 0, title=name, rows=n_rows, columns=n_cols)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value is not None:
                        sheet.cells[(r, c)] = cell_data(value)
            for a1 in (merges or {}).get(name, ()):
                sheet.merges.append(grid_range(sheet.sheet_id, a1))
            sheets.append(sheet)
        for name in chart_sheets:
            sheets.append(Sheet(sheet_id=len(sheets) * 1111, title=name, sheet_type="OBJECT"))
        book = Spreadsheet(key, title, sheets, set(editors) if editors is not None else None, set(viewers))
        with self._lock:
            self.spreadsheets[key] = book
        return book

    # inspection

    def sheet(self, key: str, title: str) -> Sheet:
        with self._lock:
            return self.spreadsheets[key].sheet(title)

    def charts(self, key: str, title: str) -> list[dict[str, Any]]:
        """The charts on a tab, as the API would list them (chartId, spec, position)."""
        with self._lock:
            return copy.deepcopy(list(self.spreadsheets[key].sheet(title).charts.values()))

    def snapshot(self, key: str) -> list[Sheet]:
        with self._lock:
            return copy.deepcopy(self.spreadsheets[key].sheets)

    # request handling (called from handler threads)

    def handle(
        self, kind: str, groups: Sequence[str], method: str, params: Mapping[str, list[str]], raw: bytes, grant: Grant
    ) -> Any:
        with self._lock:
            book = self.book(groups[0], grant.subject, write=kind == "batchUpdate")
            if kind == "metadata":
                return self.metadata(book, params)
            if kind == "batchGet":
                return self.batch_get(book, params)
            return self.batch_update(book, strict_json(raw))

    def book(self, key: str, email: str, *, write: bool) -> Spreadsheet:
        book = self.spreadsheets.get(key)
        if book is None:
            raise ApiError(404)
        allowed = book.editors is None or email in book.editors or (not write and email in book.viewers)
        if not allowed:
            raise ApiError(403)
        return book

    def metadata(self, book: Spreadsheet, params: Mapping[str, list[str]]) -> dict[str, Any]:
        fields = params.get("fields", [""])[0]
        sheets = []
        for index, sheet in enumerate(book.sheets):
            entry: dict[str, Any] = {"properties": sheet.properties(index)}
            if sheet.merges and (not fields or "merges" in fields):
                entry["merges"] = list(sheet.merges)
            if sheet.charts and (not fields or "charts" in fields):
                entry["charts"] = [copy.deepcopy(chart) for chart in sheet.charts.values()]
            sheets.append(entry)
        return {"spreadsheetId": book.key, "properties": {"title": book.title}, "sheets": sheets}

    def batch_get(self, book: Spreadsheet, params: Mapping[str, list[str]]) -> dict[str, Any]:
        render = params.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
        dates = params.get("dateTimeRenderOption", ["SERIAL_NUMBER"])[0]
        if params.get("majorDimension", ["ROWS"])[0] != "ROWS":
            raise ApiError(400, "the fake only serves majorDimension=ROWS")
        ranges = []
        for a1 in params.get("ranges", []):
            title, cells = split_range(a1)
            if cells:
                raise ApiError(400, f"the fake serves whole tabs only, not {a1}")
            try:
                sheet = book.sheet(title)
            except KeyError:
                raise ApiError(400, f"Unable to parse range: {a1}") from None
            if sheet.sheet_type != "GRID":
                raise ApiError(400, f"Unable to parse range: {a1}")
            rows, cols = sheet.used()
            values = []
            for r in range(rows):
                row = [self._render(sheet.cells.get((r, c), {}), render, dates) for c in range(cols)]
                while row and row[-1] == "":
                    row.pop()
                values.append(row)
            entry: dict[str, Any] = {
                "range": f"{a1_title(sheet.title)}!A1:{column_letters(sheet.columns)}{sheet.rows}",
                "majorDimension": "ROWS",
            }
            if values:
                entry["values"] = values
            ranges.append(entry)
        return {"spreadsheetId": book.key, "valueRanges": ranges}

    @staticmethod
    def _render(data: Mapping[str, Any], render: str, dates: str) -> Any:
        entered = data.get("userEnteredValue")
        if not entered:
            return ""
        (kind, raw), *_ = entered.items()
        number_type = data.get("userEnteredFormat", {}).get("numberFormat", {}).get("type", "")
        if kind == "formulaValue":
            return raw if render == "FORMULA" else "#NAME?"
        if kind == "numberValue":
            if number_type.startswith("DATE") and (render == "FORMATTED_VALUE" or dates == "FORMATTED_STRING"):
                when = _EPOCH + dt.timedelta(days=raw)
                return when.strftime("%Y-%m-%d" if number_type == "DATE" else "%Y-%m-%d %H:%M")
            if render == "FORMATTED_VALUE":
                return f"{raw:,}"
            return int(raw) if float(raw).is_integer() else raw
        if kind == "boolValue":
            return raw if render != "FORMATTED_VALUE" else str(raw).upper()
        return raw

    def batch_update(self, book: Spreadsheet, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply every request to copies; commit only if all succeed (Google's atomicity)."""
        sheets = [sheet.copy() for sheet in book.sheets]
        replies = []
        for number, request in enumerate(body.get("requests", [])):
            if not isinstance(request, dict) or len(request) != 1:
                raise ApiError(400, f"Invalid requests[{number}]: exactly one kind of request expected")
            (kind, spec), *_ = request.items()
            handler = getattr(self, f"_do_{kind}", None)
            if handler is None:
                raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{number}]'")
            replies.append(handler(sheets, spec, f"requests[{number}].{kind}"))
        if sum(s.rows * s.columns for s in sheets if s.sheet_type == "GRID") > MAX_CELLS:
            raise ApiError(
                400, "This action would increase the number of cells in the workbook above the limit of 10000000 cells."
            )
        book.sheets = sheets
        return {"spreadsheetId": book.key, "replies": replies}

    @staticmethod
    def _by_id(sheets: list[Sheet], sheet_id: Any, where: str) -> Sheet:
        for sheet in sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise ApiError(400, f"Invalid {where}: No grid with id: {sheet_id}")

    def _do_addSheet(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        props = spec.get("properties", {})
        title = props.get("title") or f"Sheet{len(sheets) + 1}"
        if any(s.title.casefold() == title.casefold() for s in sheets):
            raise ApiError(
                400, f'Invalid {where}: A sheet with the name "{title}" already exists. Please enter another name.'
            )
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = max((s.sheet_id for s in sheets), default=0) + 1
        if not isinstance(sheet_id, int) or sheet_id < 0 or any(s.sheet_id == sheet_id for s in sheets):
            raise ApiError(400, f"Invalid {where}: Sheet with id {sheet_id} already exists or is invalid.")
        _fields(props, _SHEET_PROPERTY_FIELDS, f"{where}.properties")
        grid = props.get("gridProperties", {})
        _fields(grid, _GRID_PROPERTY_FIELDS, f"{where}.properties.gridProperties")
        sheet = Sheet(sheet_id, title, int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26)))
        _set_grid_properties(sheet, grid, set(_GRID_PROPERTY_FIELDS), where)
        sheets.insert(int(props.get("index", len(sheets))), sheet)
        return {"addSheet": {"properties": sheet.properties(sheets.index(sheet))}}

    def _do_updateSheetProperties(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"properties", "fields"}, where)
        props, fields = spec.get("properties", {}), spec.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: fields is required")
        _fields(props, _SHEET_PROPERTY_FIELDS, f"{where}.properties")
        sheet = self._by_id(sheets, props.get("sheetId"), where)
        names = {name.strip() for name in fields.split(",")}
        grid = props.get("gridProperties", {})
        _fields(grid, _GRID_PROPERTY_FIELDS, f"{where}.properties.gridProperties")
        known = {"*", "title", "gridProperties", *(f"gridProperties.{name}" for name in _GRID_PROPERTY_FIELDS)}
        if names - known:
            raise ApiError(400, f"Invalid {where}: the fake doesn't update {sorted(names - known)}")
        whole = bool(names & {"*", "gridProperties"})
        chosen = set(_GRID_PROPERTY_FIELDS) if whole else {n.split(".", 1)[1] for n in names if "." in n}
        if "rowCount" in chosen:
            sheet.rows = int(grid["rowCount"])
        if "columnCount" in chosen:
            sheet.columns = int(grid["columnCount"])
        _set_grid_properties(sheet, grid, chosen, where)
        if names & {"*", "title"}:
            sheet.title = props["title"]
        sheet.cells = {(r, c): d for (r, c), d in sheet.cells.items() if r < sheet.rows and c < sheet.columns}
        return {}

    def _do_updateCells(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        fields = spec.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: fields is required")
        names = {name.strip().split(".")[0] for name in fields.split(",")}
        if "*" in names:
            names = {"userEnteredValue", "userEnteredFormat", "note"}
        unknown = names - {"userEnteredValue", "userEnteredFormat", "note"}
        if unknown:
            raise ApiError(400, f"Invalid {where}: the fake doesn't implement fields {sorted(unknown)}")
        if ("range" in spec) == ("start" in spec):
            raise ApiError(400, f"Invalid {where}: exactly one of range and start is required")
        area = spec.get("range") or spec.get("start") or {}
        sheet = self._by_id(sheets, area.get("sheetId"), where)
        top = area.get("startRowIndex", area.get("rowIndex", 0))
        left = area.get("startColumnIndex", area.get("columnIndex", 0))
        rows = spec.get("rows", [])
        height = len(rows)
        width = max((len(row.get("values", [])) for row in rows), default=0)
        if "range" in spec:
            bottom, right = area.get("endRowIndex", sheet.rows), area.get("endColumnIndex", sheet.columns)
        else:
            bottom, right = top + height, left + width
        need_bottom, need_right = max(bottom, top + height), max(right, left + width)
        if need_bottom > sheet.rows or need_right > sheet.columns:
            # Google names the extent written: the data, or a range's explicit end
            shown_bottom = max(top + height, area.get("endRowIndex", 0))
            shown_right = max(left + width, area.get("endColumnIndex", 0))
            raise ApiError(
                400,
                f"Range ('{sheet.title}'!{column_letters(left + 1)}{top + 1}:{column_letters(shown_right)}"
                f"{shown_bottom}) exceeds grid limits. Max rows: {sheet.rows}, max columns: {sheet.columns}",
            )
        if (need_bottom, need_right) != (bottom, right):
            raise ApiError(400, f"Invalid {where}: the rows don't fit in the given range")
        if "range" in spec:
            for cell in [k for k in sheet.cells if top <= k[0] < bottom and left <= k[1] < right]:
                kept = {k: v for k, v in sheet.cells[cell].items() if k not in names}
                if kept:
                    sheet.cells[cell] = kept
                else:
                    del sheet.cells[cell]
        for r, row in enumerate(rows):
            for c, data in enumerate(row.get("values", [])):
                self._check_cell(data, where)
                merged = {k: v for k, v in sheet.cells.get((top + r, left + c), {}).items() if k not in names}
                merged.update({k: v for k, v in data.items() if k in names and v})
                if merged:
                    sheet.cells[(top + r, left + c)] = merged
                else:
                    sheet.cells.pop((top + r, left + c), None)
        return {}

    @staticmethod
    def _check_cell(data: Mapping[str, Any], where: str) -> None:
        _fields(data, _CELL_DATA_FIELDS, where)
        if "userEnteredFormat" in data:
            _check_cell_format(data["userEnteredFormat"], f"{where}.userEnteredFormat")
        entered = data.get("userEnteredValue")
        if entered is None:
            return
        kinds = {"stringValue", "numberValue", "boolValue", "formulaValue", "errorValue"}
        if len(entered) != 1 or not set(entered) <= kinds:
            raise ApiError(400, f"Invalid {where}: userEnteredValue must set exactly one value")
        (kind, raw), *_ = entered.items()
        if kind == "numberValue" and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise ApiError(400, f"Invalid value at '{where}': numberValue must be a number")
        if kind in ("stringValue", "formulaValue") and len(raw) > MAX_CELL_CHARS:
            raise ApiError(
                400, f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
            )

    def _do_updateDimensionProperties(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"range", "properties", "fields", "dataSourceSheetRange"}, where)
        area = spec.get("range", {})
        _fields(area, {"sheetId", "dimension", "startIndex", "endIndex"}, f"{where}.range")
        sheet = self._by_id(sheets, area.get("sheetId"), where)
        dimension = area.get("dimension")
        if dimension not in ("COLUMNS", "ROWS") or spec.get("fields") != "pixelSize":
            raise ApiError(400, f"Invalid {where}: the fake only sets the pixelSize of COLUMNS or ROWS")
        _fields(spec.get("properties"), {"pixelSize", "hiddenByUser", "developerMetadata"}, f"{where}.properties")
        size = spec["properties"].get("pixelSize")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ApiError(400, f"Invalid value at '{where}.properties.pixel_size', {size!r}")
        limit = sheet.columns if dimension == "COLUMNS" else sheet.rows
        start, end = area.get("startIndex", 0), area.get("endIndex", limit)
        if end > limit:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range, {dimension.lower()} beyond {limit}")
        for index in range(start, end):
            (sheet.widths if dimension == "COLUMNS" else sheet.heights)[index] = size
        return {}

    # merges and filters

    def _do_mergeCells(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"range", "mergeType"}, where)
        _enum(spec.get("mergeType"), {"MERGE_ALL", "MERGE_COLUMNS", "MERGE_ROWS"}, f"{where}.mergeType")
        sheet, area = _bounded_range(sheets, spec.get("range"), f"{where}.range")
        if (area["endRowIndex"] - area["startRowIndex"]) * (area["endColumnIndex"] - area["startColumnIndex"]) < 2:
            raise ApiError(400, f"Invalid {where}: a merge needs at least two cells")
        if any(_overlap(area, merged) for merged in sheet.merges):
            raise ApiError(400, f"Invalid {where}: You can't merge cells that are already merged.")
        sheet.merges.append(area)
        return {}

    def _do_unmergeCells(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"range"}, where)
        area = spec.get("range") or {}
        _fields(area, set(_GRID_RANGE_FIELDS), f"{where}.range")
        sheet = _grid(sheets, area.get("sheetId"), f"{where}.range")
        whole = {
            "startRowIndex": area.get("startRowIndex", 0),
            "endRowIndex": area.get("endRowIndex", sheet.rows),
            "startColumnIndex": area.get("startColumnIndex", 0),
            "endColumnIndex": area.get("endColumnIndex", sheet.columns),
        }
        kept = []
        for merged in sheet.merges:
            if _inside(merged, whole):
                continue
            if _overlap(merged, whole):
                raise ApiError(400, f"Invalid {where}: You must select all cells in a merged range to unmerge them.")
            kept.append(merged)
        sheet.merges = kept
        return {}

    def _do_setBasicFilter(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"filter"}, where)
        _fields(spec.get("filter"), {"range", "sortSpecs", "criteria", "filterSpecs", "tableId"}, f"{where}.filter")
        sheet, area = _bounded_range(sheets, spec["filter"].get("range"), f"{where}.filter.range")
        sheet.basic_filter = {"range": area}
        return {}

    def _do_clearBasicFilter(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"sheetId"}, where)
        _grid(sheets, spec.get("sheetId"), where).basic_filter = None
        return {}

    # charts

    def _do_addChart(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"chart"}, where)
        chart = spec.get("chart") or {}
        _fields(chart, {"chartId", "spec", "position", "border"}, f"{where}.chart")
        chart_id = chart.get("chartId")
        if chart_id is None:
            chart_id = max((i for s in sheets for i in s.charts), default=0) + 1
        if not isinstance(chart_id, int) or isinstance(chart_id, bool) or not 0 <= chart_id < 2**31:
            raise ApiError(400, f"Invalid value at '{where}.chart.chart_id' (TYPE_INT32), {chart_id!r}")
        if _find_chart(sheets, chart_id) is not None:
            raise ApiError(400, f"Invalid {where}: An object with id {chart_id} already exists.")
        _check_chart_spec(sheets, chart.get("spec"), f"{where}.chart.spec")
        position = chart.get("position")
        sheet = _check_position(sheets, position, f"{where}.chart.position")
        stored = {"chartId": chart_id, "spec": copy.deepcopy(chart["spec"]), "position": copy.deepcopy(position)}
        sheet.charts[chart_id] = stored
        return {"addChart": {"chart": copy.deepcopy(stored)}}

    def _do_updateChartSpec(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"chartId", "spec"}, where)
        sheet = _find_chart(sheets, spec.get("chartId"))
        if sheet is None:
            raise ApiError(400, f"Invalid {where}: No chart with id: {spec.get('chartId')}")
        _check_chart_spec(sheets, spec.get("spec"), f"{where}.spec")
        chart_id = spec["chartId"]
        sheet.charts[chart_id] = {**sheet.charts[chart_id], "spec": copy.deepcopy(spec["spec"])}
        return {}

    def _do_updateEmbeddedObjectPosition(
        self, sheets: list[Sheet], spec: Mapping[str, Any], where: str
    ) -> dict[str, Any]:
        _fields(spec, {"objectId", "newPosition", "fields"}, where)
        sheet = _find_chart(sheets, spec.get("objectId"))
        if sheet is None:
            raise ApiError(400, f"Invalid {where}: No embedded object with id: {spec.get('objectId')}")
        position = spec.get("newPosition") or {}
        if "overlayPosition" not in position:
            raise ApiError(400, f"Invalid {where}: the fake only moves charts over a grid (overlayPosition)")
        names = {name.strip() for name in (spec.get("fields") or "").split(",") if name.strip()}
        if not names:
            raise ApiError(400, f"Invalid {where}: fields is required when newPosition.overlayPosition is set")
        unknown = names - {"*", *_OVERLAY_FIELDS}
        if unknown:
            raise ApiError(400, f"Invalid {where}: unknown fields {sorted(unknown)} of OverlayPosition")
        _check_overlay(sheets, position["overlayPosition"], f"{where}.newPosition.overlayPosition", partial=True)
        chart_id = spec["objectId"]
        old = sheet.charts.pop(chart_id)
        overlay = dict(old["position"]["overlayPosition"])
        for name in _OVERLAY_FIELDS if "*" in names else names:
            if name in position["overlayPosition"]:
                overlay[name] = copy.deepcopy(position["overlayPosition"][name])
            else:
                overlay.pop(name, None)
        target = _by_id_any(sheets, overlay["anchorCell"]["sheetId"])
        target.charts[chart_id] = {**old, "position": {"overlayPosition": overlay}}
        return {"updateEmbeddedObjectPosition": {"position": {"overlayPosition": copy.deepcopy(overlay)}}}

    def _do_deleteEmbeddedObject(self, sheets: list[Sheet], spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _fields(spec, {"objectId"}, where)
        sheet = _find_chart(sheets, spec.get("objectId"))
        if sheet is None:
            raise ApiError(400, f"Invalid {where}: No embedded object with id: {spec.get('objectId')}")
        del sheet.charts[spec["objectId"]]
        return {}


# --- chart shapes (Sheets API v4: EmbeddedChart, ChartSpec, BasicChartSpec …) -----------------

_CHART_TYPES = {"BAR", "LINE", "AREA", "COLUMN", "SCATTER", "COMBO", "STEPPED_AREA"}
_STACKABLE = {"BAR", "COLUMN", "AREA", "COMBO", "STEPPED_AREA"}
_LEGEND_POSITIONS = {"BOTTOM_LEGEND", "LEFT_LEGEND", "RIGHT_LEGEND", "TOP_LEGEND", "NO_LEGEND"}
_STACKED_TYPES = {"NOT_STACKED", "STACKED", "PERCENT_STACKED"}
_AXIS_POSITIONS = {"BOTTOM_AXIS", "LEFT_AXIS", "RIGHT_AXIS"}
_OVERLAY_FIELDS = ("anchorCell", "offsetXPixels", "offsetYPixels", "widthPixels", "heightPixels")
_CHART_SPEC_FIELDS = {
    "title", "altText", "titleTextFormat", "titleTextPosition", "subtitle", "subtitleTextFormat",
    "subtitleTextPosition", "fontName", "maximized", "backgroundColor", "backgroundColorStyle",
    "hiddenDimensionStrategy", "basicChart",
}  # fmt: skip
_BASIC_FIELDS = {
    "chartType", "legendPosition", "axis", "domains", "series", "headerCount", "threeDimensional",
    "interpolateNulls", "stackedType", "lineSmoothing", "compareMode", "totalDataLabel",
}  # fmt: skip
_SERIES_FIELDS = {
    "series", "targetAxis", "type", "lineStyle", "dataLabel", "color", "colorStyle", "pointStyle", "styleOverrides"
}  # fmt: skip
_TEXT_FORMAT_FIELDS = {
    "foregroundColor", "foregroundColorStyle", "fontFamily", "fontSize", "bold", "italic", "strikethrough",
    "underline", "link",
}  # fmt: skip


def _fields(obj: Any, allowed: set[str], where: str) -> None:
    """Google's JSON parsing: an object of known fields, nothing else."""
    if not isinstance(obj, Mapping):
        raise ApiError(400, f"Invalid JSON payload received. Expected an object at '{where}'.")
    for name in obj:
        if name not in allowed:
            raise ApiError(
                400, f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
            )


def _enum(value: Any, allowed: set[str], where: str) -> None:
    if value not in allowed:
        raise ApiError(400, f"Invalid value at '{where}', {json.dumps(value)}")


def _find_chart(sheets: list[Sheet], chart_id: Any) -> Sheet | None:
    return next((sheet for sheet in sheets if chart_id in sheet.charts), None)


def _by_id_any(sheets: list[Sheet], sheet_id: Any) -> Sheet:
    return next(sheet for sheet in sheets if sheet.sheet_id == sheet_id)


def _grid(sheets: list[Sheet], sheet_id: Any, where: str) -> Sheet:
    for sheet in sheets:
        if sheet.sheet_id == sheet_id:
            if sheet.sheet_type != "GRID":
                raise ApiError(400, f"Invalid {where}: sheet {sheet_id} is not a grid")
            return sheet
    raise ApiError(400, f"Invalid {where}: No grid with id: {sheet_id}")


def _check_text_format(obj: Any, where: str) -> None:
    _fields(obj, _TEXT_FORMAT_FIELDS, where)
    size = obj.get("fontSize")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise ApiError(400, f"Invalid value at '{where}.font_size', {size!r}")
    if "foregroundColorStyle" in obj:
        _check_color_style(obj["foregroundColorStyle"], f"{where}.foregroundColorStyle")
    if "link" in obj:
        _fields(obj["link"], {"uri"}, f"{where}.link")
        if not isinstance(obj["link"].get("uri"), str):
            raise ApiError(400, f"Invalid value at '{where}.link.uri'")


def _check_color_style(obj: Any, where: str) -> None:
    _fields(obj, {"rgbColor", "themeColor"}, where)
    rgb = obj.get("rgbColor", {})
    _fields(rgb, {"red", "green", "blue", "alpha"}, f"{where}.rgbColor")
    for name, value in rgb.items():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ApiError(400, f"Invalid value at '{where}.rgbColor.{name}', {value!r}")


def _check_chart_data(sheets: list[Sheet], data: Any, where: str) -> list[tuple[bool, int]]:
    """(vertical, length) of each source range, after checking they lie inside a grid."""
    _fields(data, {"sourceRange"}, where)
    source = data.get("sourceRange")
    _fields(source, {"sources"}, f"{where}.sourceRange")
    ranges = source.get("sources")
    if not isinstance(ranges, list) or not ranges:
        raise ApiError(400, f"Invalid {where}: sourceRange.sources must list at least one range")
    shapes = []
    for i, area in enumerate(ranges):
        here = f"{where}.sourceRange.sources[{i}]"
        _, bounded = _bounded_range(sheets, area, here)
        top, bottom = bounded["startRowIndex"], bounded["endRowIndex"]
        left, right = bounded["startColumnIndex"], bounded["endColumnIndex"]
        if (bottom - top == 1) == (right - left == 1):
            raise ApiError(400, f"Invalid {here}: exactly one dimension of a chart's range must have a length of 1")
        shapes.append((right - left == 1, max(bottom - top, right - left)))
    return shapes


def _check_chart_spec(sheets: list[Sheet], spec: Any, where: str) -> None:
    _fields(spec, _CHART_SPEC_FIELDS, where)
    for name in ("titleTextFormat", "subtitleTextFormat"):
        if name in spec:
            _check_text_format(spec[name], f"{where}.{name}")
    basic = spec.get("basicChart")
    if basic is None:
        raise ApiError(400, f"Invalid {where}: the fake only draws basic charts (basicChart)")
    here = f"{where}.basicChart"
    _fields(basic, _BASIC_FIELDS, here)
    chart_type = basic.get("chartType")
    _enum(chart_type, _CHART_TYPES, f"{here}.chartType")
    if "legendPosition" in basic:
        _enum(basic["legendPosition"], _LEGEND_POSITIONS, f"{here}.legendPosition")
    if "stackedType" in basic:
        _enum(basic["stackedType"], _STACKED_TYPES, f"{here}.stackedType")
        if basic["stackedType"] != "NOT_STACKED" and chart_type not in _STACKABLE:
            raise ApiError(400, f"Invalid {here}: a {chart_type} chart can't be stacked")
    header_count = basic.get("headerCount", 0)
    if not isinstance(header_count, int) or header_count < 0:
        raise ApiError(400, f"Invalid value at '{here}.header_count', {header_count!r}")
    seen: set[str] = set()
    for i, axis in enumerate(basic.get("axis", [])):
        _fields(axis, {"format", "position", "title", "titleTextPosition", "viewWindowOptions"}, f"{here}.axis[{i}]")
        _enum(axis.get("position"), _AXIS_POSITIONS, f"{here}.axis[{i}].position")
        if axis["position"] in seen:
            raise ApiError(400, f"Invalid {here}: two axes at {axis['position']}")
        seen.add(axis["position"])
        if "format" in axis:
            _check_text_format(axis["format"], f"{here}.axis[{i}].format")
    domains = basic.get("domains", [])
    if not isinstance(domains, list) or len(domains) != 1:
        raise ApiError(400, f"Invalid {here}: exactly one domain is supported")
    _fields(domains[0], {"domain", "reversed"}, f"{here}.domains[0]")
    shapes = _check_chart_data(sheets, domains[0].get("domain"), f"{here}.domains[0].domain")
    series = basic.get("series", [])
    if not isinstance(series, list) or not series:
        raise ApiError(400, f"Invalid {here}: a chart needs at least one series")
    minor = {"BOTTOM_AXIS"} if chart_type == "BAR" else {"LEFT_AXIS", "RIGHT_AXIS"}
    for i, entry in enumerate(series):
        where_series = f"{here}.series[{i}]"
        _fields(entry, _SERIES_FIELDS, where_series)
        found = _check_chart_data(sheets, entry.get("series"), f"{where_series}.series")
        if len(found) != len(shapes) or {v for v, _ in found} != {v for v, _ in shapes}:
            raise ApiError(
                400, f"Invalid {where_series}: the domain and each series need as many ranges, same way round"
            )
        if "targetAxis" in entry:
            _enum(entry["targetAxis"], _AXIS_POSITIONS, f"{where_series}.targetAxis")
            if entry["targetAxis"] not in minor:
                raise ApiError(
                    400, f"Invalid {where_series}: {entry['targetAxis']} is not a minor axis of a {chart_type}"
                )
        if "colorStyle" in entry:
            _check_color_style(entry["colorStyle"], f"{where_series}.colorStyle")


def _check_overlay(sheets: list[Sheet], overlay: Any, where: str, *, partial: bool = False) -> Sheet | None:
    _fields(overlay, set(_OVERLAY_FIELDS), where)
    for name, least in (("offsetXPixels", 0), ("offsetYPixels", 0), ("widthPixels", 1), ("heightPixels", 1)):
        value = overlay.get(name, least)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ApiError(400, f"Invalid value at '{where}.{name}', {value!r}")
    cell = overlay.get("anchorCell")
    if cell is None:
        if partial:
            return None
        raise ApiError(400, f"Invalid {where}: anchorCell is required")
    _fields(cell, {"sheetId", "rowIndex", "columnIndex"}, f"{where}.anchorCell")
    sheet = _grid(sheets, cell.get("sheetId"), f"{where}.anchorCell")
    row, column = cell.get("rowIndex", 0), cell.get("columnIndex", 0)
    if not (0 <= row < sheet.rows and 0 <= column < sheet.columns):
        raise ApiError(
            400,
            f"Invalid {where}.anchorCell: ('{sheet.title}'!{column_letters(column + 1)}{row + 1}) exceeds grid "
            f"limits. Max rows: {sheet.rows}, max columns: {sheet.columns}",
        )
    return sheet


def _check_position(sheets: list[Sheet], position: Any, where: str) -> Sheet:
    _fields(position, {"sheetId", "overlayPosition", "newSheet"}, where)
    if set(position) != {"overlayPosition"}:
        raise ApiError(400, f"Invalid {where}: the fake only places charts over a grid (overlayPosition alone)")
    sheet = _check_overlay(sheets, position["overlayPosition"], f"{where}.overlayPosition")
    assert sheet is not None
    return sheet


# --- tabs and cell formats (Sheets API v4: SheetProperties, GridProperties, CellData, CellFormat …) ----------

_SHEET_PROPERTY_FIELDS = {
    "sheetId", "title", "index", "sheetType", "gridProperties", "hidden", "tabColor", "tabColorStyle",
    "rightToLeft", "dataSourceSheetProperties",
}  # fmt: skip
_GRID_PROPERTY_FIELDS = (
    "rowCount", "columnCount", "frozenRowCount", "frozenColumnCount", "hideGridlines",
    "rowGroupControlAfter", "columnGroupControlAfter",
)  # fmt: skip
_GRID_RANGE_FIELDS = ("sheetId", "startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")
_CELL_DATA_FIELDS = {
    "userEnteredValue", "effectiveValue", "formattedValue", "userEnteredFormat", "effectiveFormat", "hyperlink",
    "note", "textFormatRuns", "dataValidation", "pivotTable", "dataSourceTable", "dataSourceFormula", "chipRuns",
}  # fmt: skip
_CELL_FORMAT_FIELDS = {
    "numberFormat", "backgroundColor", "backgroundColorStyle", "borders", "padding", "horizontalAlignment",
    "verticalAlignment", "wrapStrategy", "textDirection", "textFormat", "hyperlinkDisplayType", "textRotation",
}  # fmt: skip
_NUMBER_FORMAT_TYPES = {"TEXT", "NUMBER", "PERCENT", "CURRENCY", "DATE", "TIME", "DATE_TIME", "SCIENTIFIC"}
_BORDER_STYLES = {"DOTTED", "DASHED", "SOLID", "SOLID_MEDIUM", "SOLID_THICK", "NONE", "DOUBLE"}


def _check_cell_format(obj: Any, where: str) -> None:
    _fields(obj, _CELL_FORMAT_FIELDS, where)
    if "numberFormat" in obj:
        _fields(obj["numberFormat"], {"type", "pattern"}, f"{where}.numberFormat")
        _enum(obj["numberFormat"].get("type"), _NUMBER_FORMAT_TYPES, f"{where}.numberFormat.type")
    for name in ("backgroundColorStyle",):
        if name in obj:
            _check_color_style(obj[name], f"{where}.{name}")
    if "textFormat" in obj:
        _check_text_format(obj["textFormat"], f"{where}.textFormat")
    if "borders" in obj:
        _fields(obj["borders"], {"top", "bottom", "left", "right"}, f"{where}.borders")
        for side, border in obj["borders"].items():
            here = f"{where}.borders.{side}"
            _fields(border, {"style", "width", "color", "colorStyle"}, here)
            _enum(border.get("style"), _BORDER_STYLES, f"{here}.style")
            if "colorStyle" in border:
                _check_color_style(border["colorStyle"], f"{here}.colorStyle")
    for name, allowed in (
        ("horizontalAlignment", {"LEFT", "CENTER", "RIGHT"}),
        ("verticalAlignment", {"TOP", "MIDDLE", "BOTTOM"}),
        ("wrapStrategy", {"OVERFLOW_CELL", "LEGACY_WRAP", "CLIP", "WRAP"}),
    ):
        if name in obj:
            _enum(obj[name], allowed, f"{where}.{name}")


def _set_grid_properties(sheet: Sheet, grid: Mapping[str, Any], chosen: set[str], where: str) -> None:
    """Frozen rows and gridlines, as Google checks them: whole numbers, fewer frozen rows than the grid has."""
    if "frozenRowCount" in chosen:
        frozen = grid.get("frozenRowCount", 0)
        if not isinstance(frozen, int) or isinstance(frozen, bool) or not 0 <= frozen < sheet.rows:
            raise ApiError(400, f"Invalid {where}: can't freeze {frozen!r} rows of {sheet.rows}")
        for merged in sheet.merges:
            if merged["startRowIndex"] < frozen < merged["endRowIndex"]:
                raise ApiError(400, f"Invalid {where}: You can't freeze rows which contain only part of a merged cell.")
        sheet.frozen_rows = frozen
    if "hideGridlines" in chosen:
        hide = grid.get("hideGridlines", False)
        if not isinstance(hide, bool):
            raise ApiError(400, f"Invalid value at '{where}.hide_gridlines', {hide!r}")
        sheet.hide_gridlines = hide


def _bounded_range(sheets: list[Sheet], area: Any, where: str) -> tuple[Sheet, dict[str, int]]:
    """A GridRange with all four bounds, inside its grid (what the fake needs for merges and filters)."""
    _fields(area, set(_GRID_RANGE_FIELDS), where)
    sheet = _grid(sheets, area.get("sheetId"), where)
    missing = [name for name in _GRID_RANGE_FIELDS[1:] if name not in area]
    if missing:
        raise ApiError(400, f"Invalid {where}: the fake needs bounded ranges ({missing[0]})")
    top, bottom = area["startRowIndex"], area["endRowIndex"]
    left, right = area["startColumnIndex"], area["endColumnIndex"]
    if not (0 <= top < bottom <= sheet.rows and 0 <= left < right <= sheet.columns):
        raise ApiError(
            400,
            f"Invalid {where}: Range ('{sheet.title}'!{column_letters(left + 1)}{top + 1}:"
            f"{column_letters(right)}{bottom}) exceeds grid limits. Max rows: {sheet.rows}, "
            f"max columns: {sheet.columns}",
        )
    return sheet, {name: area[name] for name in _GRID_RANGE_FIELDS}


def _overlap(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    return (
        a["startRowIndex"] < b["endRowIndex"]
        and b["startRowIndex"] < a["endRowIndex"]
        and a["startColumnIndex"] < b["endColumnIndex"]
        and b["startColumnIndex"] < a["endColumnIndex"]
    )


def _inside(inner: Mapping[str, int], outer: Mapping[str, int]) -> bool:
    return (
        outer["startRowIndex"] <= inner["startRowIndex"]
        and inner["endRowIndex"] <= outer["endRowIndex"]
        and outer["startColumnIndex"] <= inner["startColumnIndex"]
        and inner["endColumnIndex"] <= outer["endColumnIndex"]
    )


# --- A1 helpers -------------------------------------------------------------------


def column_letters(number: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def a1_title(title: str) -> str:
    return title if re.fullmatch(r"[A-Za-z0-9_]+", title) else "'" + title.replace("'", "''") + "'"


def split_range(a1: str) -> tuple[str, str]:
    """``'My ''tab'''!A1:B2`` → (``My 'tab'``, ``A1:B2``)."""
    if a1.startswith("'"):
        end = 1
        while True:
            end = a1.index("'", end)
            if a1[end : end + 2] == "''":
                end += 2
                continue
            break
        return a1[1:end].replace("''", "'"), a1[end + 2 :]
    title, _, cells = a1.partition("!")
    return title, cells


def grid_range(sheet_id: int, cells: str) -> dict[str, int]:
    """``A2:A4`` → a GridRange (0-based, end-exclusive)."""
    first, _, last = cells.partition(":")
    (r0, c0), (r1, c1) = _cell(first), _cell(last or first)
    return {
        "sheetId": sheet_id,
        "startRowIndex": r0,
        "endRowIndex": r1 + 1,
        "startColumnIndex": c0,
        "endColumnIndex": c1 + 1,
    }


def _cell(a1: str) -> tuple[int, int]:
    match = re.fullmatch(r"([A-Z]+)(\d+)", a1.upper())
    assert match, a1
    column = 0
    for char in match.group(1):
        column = column * 26 + ord(char) - 64
    return int(match.group(2)) - 1, column - 1


# --- credentials for tests ----------------------------------------------------------


def use_fake(fake: FakeSheets, monkeypatch: Any, home: Path) -> None:
    """A clean fake, the client pointed at it, retries fast, no stray credentials from this machine."""
    from sheetsync.sources.gsheets import ENDPOINT_ENV

    fake_google.use_fake(fake, monkeypatch, home, ENDPOINT_ENV)
