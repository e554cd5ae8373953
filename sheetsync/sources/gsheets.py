"""Google Sheets backend: read a spreadsheet in two requests, write tabs back in one.

Why this shape: Google allows 60 read and 60 write requests per minute per
user, and a cron job that dies half-way must leave the sheet as it was.  So
opening fetches everything up front (the metadata, then one
``values:batchGet`` of every wanted tab), and every write-back is a single
``spreadsheets.batchUpdate``, which Google applies all-or-nothing.  New tabs
are added in that same request with sheet ids we choose, so the request can
size and fill them too: there is never an empty or half-filled tab left
behind.  That is one write request where the spec allows two.

We call gspread's low-level ``fetch_sheet_metadata``/``values_batch_get``/
``batch_update`` rather than ``Spreadsheet``/``Worksheet`` objects, which
spend a request per worksheet and per operation and would break the fixed
request budget (docs/decisions.md counts them).  The client, its retries
and the wording of Google's refusals live in :mod:`.gsheets_api`; the
Summary tab's charts in :mod:`.gsheets_charts`.  This module never touches
quotas, templates or findings: it reads tables and writes grids.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RemoteError, UsageError, WriteRefused
from ..google.credentials import load_identity
from ..google.http import MAX_TRIES, RETRY_DEADLINE, RetryPolicy
from ..google.http import RETRY_BASE_ENV as RETRY_BASE_ENV
from ..google.http import TIMEOUT_ENV as TIMEOUT_ENV
from ..grid import Grid
from ..model.values import Value, col_index
from .base import find_title, header_like
from .gsheets_api import ENDPOINT_ENV as ENDPOINT_ENV
from .gsheets_api import SHEETS, Remote, RetryRejected, connect, resolve_endpoint
from .gsheets_charts import ExistingChart, chart_requests, existing_charts, grid_extent
from .gsheets_format import (
    CELL_FIELDS,
    grid_properties,
    layout_requests,
    link_address,
    merges_as_ranges,
    row_data,
    unmerge_all,
)

if TYPE_CHECKING:
    from gspread.http_client import HTTPClient, ParamsType

log = logging.getLogger(__name__)


#: What Google gives a tab added without a size; we keep that look and grow past it.
NEW_TAB_ROWS = 1000
NEW_TAB_COLUMNS = 26

_KEY = re.compile(r"[A-Za-z0-9_-]+")
_URL_KEY = re.compile(r"^https?://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([^/?#]+)")
# What a run reads about the tabs: ids, titles, sizes, merges, and the charts (to find ours again).
_METADATA_FIELDS = (
    "properties.title,sheets(properties(sheetId,title,index,sheetType,gridProperties(rowCount,columnCount)),"
    "merges,charts(chartId,spec(altText)))"
)


def parse_key(source: str) -> str:
    """The spreadsheet key of a ``gsheet:KEY`` source or a Sheets URL."""
    if source.startswith("gsheet:"):
        key = source.removeprefix("gsheet:").strip()
    else:
        match = _URL_KEY.match(source)
        key = match.group(1) if match else ""
        if key == "e":
            raise UsageError(
                f"{source} is a published-to-web link, which the Sheets API can't open — "
                "use the sheet's own address (https://docs.google.com/spreadsheets/d/KEY/edit)"
            )
    if not _KEY.fullmatch(key):
        raise UsageError(
            f"{source!r} is not a Google Sheets source — use gsheet:KEY or the sheet's address "
            "(https://docs.google.com/spreadsheets/d/KEY/edit), where KEY is the long id in that address"
        )
    return key


# --- reading -------------------------------------------------------------------


@dataclass
class _Tab:
    sheet_id: int
    title: str
    rows: int
    columns: int
    is_grid: bool = True
    merges: list[dict[str, int]] = field(default_factory=list)


def _tabs_from_metadata(metadata: Mapping[str, Any]) -> list[_Tab]:
    tabs = []
    for sheet in sorted(metadata.get("sheets", []), key=lambda s: s.get("properties", {}).get("index", 0)):
        props = sheet.get("properties", {})
        grid = props.get("gridProperties", {})
        tabs.append(
            _Tab(
                sheet_id=int(props.get("sheetId", 0)),
                title=str(props.get("title", "")),
                rows=int(grid.get("rowCount", 0)),
                columns=int(grid.get("columnCount", 0)),
                is_grid=props.get("sheetType", "GRID") == "GRID",
                merges=list(sheet.get("merges", [])),
            )
        )
    return tabs


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _range_origin(a1: str) -> tuple[int, int]:
    """0-based (row, column) where a returned range starts: ``'Tab'!B3:Z1000`` → (2, 1)."""
    cells = a1.rsplit("!", 1)[1] if "!" in a1 else ""
    match = re.match(r"^\$?([A-Z]*)\$?(\d*)", cells.upper())
    if not match:
        return 0, 0
    letters, digits = match.groups()
    return (int(digits) - 1 if digits else 0), (col_index(letters) if letters else 0)


def _raw(value: Any) -> Value:
    if value == "" or value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _table(value_range: Mapping[str, Any], merges: Sequence[Mapping[str, int]]) -> list[tuple[int, list[Value]]]:
    """Rows with a value of their own, merged ranges filled in, as ``(row number, values)``.

    A row whose only content would come from a merge covering it (an Owner
    cell merged down over a blank row) is still a blank row: it is not a deal.
    A merge is filled over the rows that have content and as far as the
    widest of them reaches (no column beyond has a header), so a range
    merged over a whole empty grid costs nothing; across the header row and
    any title above it, it fills only its first column
    (:func:`~sheetsync.sources.base.header_like`), so a merged header stays one.
    """
    top, left = _range_origin(str(value_range.get("range", "")))
    table: dict[int, list[Value]] = {}
    for offset, raw_row in enumerate(value_range.get("values", [])):
        values: list[Value] = [None] * left + [_raw(v) for v in raw_row]
        if any(v is not None for v in values):
            table[top + offset] = values
    width = max(map(len, table.values()), default=0)
    # Across the header row and the rows above it (a title) a range fills only its first column.
    header = next((n for n in sorted(table) if header_like(table[n])), -1)
    for merge in merges:
        first_row, first_col = merge.get("startRowIndex", 0), merge.get("startColumnIndex", 0)
        end_row, end_col = merge.get("endRowIndex", first_row + 1), merge.get("endColumnIndex", first_col + 1)
        end_col = min(end_col, width)
        anchor_row = table.get(first_row)
        anchor = anchor_row[first_col] if anchor_row and first_col < len(anchor_row) else None
        if anchor is None:
            continue
        numbers = range(first_row, end_row)
        for number in numbers if len(numbers) <= len(table) else [n for n in table if n in numbers]:
            row = table.get(number)
            if row is None:
                continue
            last = end_col if number > header else first_col + 1
            if len(row) < last:
                row.extend([None] * (last - len(row)))
            for column in range(first_col, last):
                row[column] = anchor
    result = []
    for number in sorted(table):
        values = table[number]
        while values and values[-1] is None:
            values.pop()
        result.append((number + 1, values))
    return result


def open_gsheet(
    source: str,
    *,
    wanted: Sequence[str],
    credentials: Path | None,
    endpoint: str | None,
) -> GoogleBook:
    """Open a Google Sheet and fetch the ``wanted`` tabs: two Sheets API requests in all.

    Values are read unformatted with dates as serial numbers: the core knows
    which columns hold dates and converts them; formatted strings would be in
    the sheet's locale.
    """
    key = parse_key(source)
    remote = Remote(
        key=key,
        endpoint=resolve_endpoint(endpoint),
        identity=load_identity(credentials, SHEETS),
        policy=RetryPolicy.from_env(tries=MAX_TRIES, deadline=RETRY_DEADLINE),
    )
    client = connect(remote.identity, remote)
    book = GoogleBook(key, client, remote)
    try:
        book.load(wanted)
    except BaseException:
        book.close()
        raise
    return book


class GoogleBook:
    """A Google Sheet as a :class:`~sheetsync.sources.base.Book`, read once at open."""

    writable = True

    def __init__(self, key: str, client: HTTPClient, remote: Remote) -> None:
        self.key = key
        self.location = f"gsheet:{key}"
        self.spreadsheet_title = ""
        self._client = client
        self._remote = remote
        self._tabs: list[_Tab] = []
        self._tables: dict[int, list[tuple[int, list[Value]]]] = {}
        self._charts: list[ExistingChart] = []

    def _call(self, call: Callable[[], Any]) -> dict[str, Any]:
        """Run a client call and insist on a JSON object back.

        gspread raises a bare ``PermissionError`` in places, so that maps to the
        403 advice; a proxy or captive portal answering 200 with a web page
        would otherwise end in a JSON traceback.
        """
        try:
            result = call()
        except PermissionError:
            raise RemoteError(self._remote.forbidden("403 PERMISSION_DENIED")) from None
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise RemoteError(
                f"{self._remote.endpoint} answered with something other than the Google Sheets API — "
                f"check {ENDPOINT_ENV} / [google] endpoint and any proxy in between"
            )
        return result

    def _metadata(self) -> Mapping[str, Any]:
        params: ParamsType = {"fields": _METADATA_FIELDS, "includeGridData": "false"}
        return self._call(lambda: self._client.fetch_sheet_metadata(self.key, params=params))

    def load(self, wanted: Sequence[str]) -> None:
        metadata = self._metadata()
        self.spreadsheet_title = str(metadata.get("properties", {}).get("title", ""))
        self._tabs = _tabs_from_metadata(metadata)
        self._charts = existing_charts(metadata)
        fetch: list[_Tab] = []
        for name in wanted:
            tab = self._tab(name)
            if tab is not None and tab.is_grid and tab not in fetch:
                fetch.append(tab)
        self._fetch(fetch)

    def _fetch(self, tabs: Sequence[_Tab]) -> None:
        if not tabs:
            return
        params: ParamsType = {
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS",
        }
        ranges = [quote_title(tab.title) for tab in tabs]
        result = self._call(lambda: self._client.values_batch_get(self.key, ranges, params=params))
        value_ranges = result.get("valueRanges", [])
        for tab, value_range in zip(tabs, value_ranges, strict=False):
            self._tables[tab.sheet_id] = _table(value_range, tab.merges)

    def _tab(self, title: str) -> _Tab | None:
        found = find_title([tab.title for tab in self._tabs], title)
        return next((tab for tab in self._tabs if tab.title == found), None)

    def titles(self) -> list[str]:
        return [tab.title for tab in self._tabs]

    def rows(self, title: str) -> Iterator[tuple[int, list[Value]]]:
        """Rows fetched at open; a tab that wasn't ``wanted`` costs one more request."""
        tab = self._tab(title)
        if tab is None:
            raise UsageError(f"spreadsheet {self.key} has no tab {title!r} (tabs: {', '.join(self.titles())})")
        if not tab.is_grid:
            return iter(())
        if tab.sheet_id not in self._tables:
            self._fetch([tab])
        return iter(self._tables.get(tab.sheet_id, []))

    # --- writing ---------------------------------------------------------------

    def check_writable(self) -> None:
        """Every Google Sheet has a writable format; a missing permission is reported by ``write``."""

    def write(self, grids: Sequence[Grid]) -> list[str]:
        """Write every grid in one ``batchUpdate``: add missing tabs, size, fill, format, lay out, chart.

        Each tab's cells are replaced through ``updateCells`` over the whole
        sheet, so the old extent and formats are cleared in the same step;
        text goes in as ``stringValue``, which Google never parses as a
        formula (what the values API calls ``RAW``).  Merges, frozen rows,
        widths, heights, the filter and the charts follow (gsheets_format,
        gsheets_charts).  Only the grids' own tabs are named in the request,
        so nothing else in the spreadsheet can change.
        """
        if not grids:
            return []
        requests_: list[dict[str, Any]] = []
        added: list[_Tab] = []
        resized: list[tuple[_Tab, int, int]] = []
        taken = {tab.sheet_id for tab in self._tabs}
        seen: set[str] = set()
        placed: list[tuple[_Tab, Grid]] = []
        for grid in grids:
            if grid.title.casefold() in seen:
                raise ValueError(f"two grids for tab {grid.title!r}")
            grid.check_layout()
            seen.add(grid.title.casefold())
            tab = self._tab(grid.title)
            if tab is not None and not tab.is_grid:
                raise WriteRefused(f"tab {tab.title!r} of spreadsheet {self.key} is a chart sheet — rename it")
            if tab is None:
                tab = _Tab(_new_sheet_id(taken), grid.title, 0, 0)
                taken.add(tab.sheet_id)
                added.append(tab)
            placed.append((tab, grid))
        links = link_address({tab.title.casefold(): tab.sheet_id for tab in [*self._tabs, *added]})
        for tab, grid in placed:
            chart_rows, chart_cols = grid_extent(grid.charts)
            height, width = max(len(grid.rows), chart_rows), max(grid.width, chart_cols)
            if tab in added:
                tab.rows, tab.columns = max(NEW_TAB_ROWS, height), max(NEW_TAB_COLUMNS, width)
                requests_.append({"addSheet": {"properties": _sheet_properties(tab, grid)}})
            else:
                if tab.merges:
                    requests_.append(unmerge_all(tab.sheet_id))
                rows, columns = max(tab.rows, height), max(tab.columns, width)
                if (rows, columns) != (tab.rows, tab.columns):
                    resized.append((tab, rows, columns))
                requests_.append(_update_properties(tab.sheet_id, rows, columns, grid))
            requests_.append(
                {
                    "updateCells": {
                        "range": {"sheetId": tab.sheet_id},
                        "rows": [row_data(row, links) for row in grid.rows],
                        "fields": CELL_FIELDS,
                    }
                }
            )
            requests_.extend(layout_requests(tab.sheet_id, grid))
            requests_.extend(chart_requests(tab.sheet_id, grid.charts, self._charts, taken=_chart_ids(requests_)))
        body = {"requests": requests_}
        try:
            self._call(lambda: self._client.batch_update(self.key, body))
        except RetryRejected as rejected:
            if not (added and self._applied(added)):
                raise rejected.error from None
            log.info("Google Sheets: an earlier try of the write-back was applied; not repeating it")
        for tab, rows, columns in resized:
            tab.rows, tab.columns = rows, columns
        self._tabs.extend(added)
        for tab, grid in placed:
            self._tables.pop(tab.sheet_id, None)
            tab.merges = merges_as_ranges(tab.sheet_id, grid.merges)
        self._charts = _charts_after(self._charts, requests_)
        return []

    def _applied(self, added: Sequence[_Tab]) -> bool:
        """Whether the tabs we meant to add exist with our sheet ids.

        The write is one atomic request, so if its new tabs are there, all of
        it was applied.  Costs one read, only after an ambiguous write retry.
        """
        present = {(tab.sheet_id, tab.title.casefold()) for tab in _tabs_from_metadata(self._metadata())}
        return all((tab.sheet_id, tab.title.casefold()) in present for tab in added)

    def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None:
            session.close()


def _new_sheet_id(taken: set[int]) -> int:
    """A fresh sheet id, so tabs can be added and filled in the same request."""
    while True:
        candidate = random.randint(1, 2**31 - 1)
        if candidate not in taken:
            return candidate


def _sheet_properties(tab: _Tab, grid: Grid) -> dict[str, Any]:
    return {
        "sheetId": tab.sheet_id,
        "title": tab.title,
        "gridProperties": {"rowCount": tab.rows, "columnCount": tab.columns, **grid_properties(grid)},
    }


def _update_properties(sheet_id: int, rows: int, columns: int, grid: Grid) -> dict[str, Any]:
    """An existing tab's size (grown to fit, never shrunk), frozen rows and gridlines, in one request."""
    properties = {"rowCount": rows, "columnCount": columns, **grid_properties(grid)}
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": properties},
            "fields": ",".join(f"gridProperties.{name}" for name in properties),
        }
    }


def _chart_ids(requests: Sequence[Mapping[str, Any]]) -> set[int]:
    """The chart ids this write already asks for, so a second tab's charts never take one of them."""
    return {int(r["addChart"]["chart"]["chartId"]) for r in requests if "addChart" in r}


def _charts_after(before: Sequence[ExistingChart], requests: Sequence[Mapping[str, Any]]) -> list[ExistingChart]:
    """The spreadsheet's charts once ``requests`` are applied, for a later write in the same run."""
    charts = {chart.chart_id: chart for chart in before}
    for request in requests:
        if "addChart" in request:
            chart = request["addChart"]["chart"]
            sheet_id = chart["position"]["overlayPosition"]["anchorCell"]["sheetId"]
            charts[chart["chartId"]] = ExistingChart(chart["chartId"], sheet_id, chart["spec"]["altText"])
        elif "updateChartSpec" in request:
            update = request["updateChartSpec"]
            old = charts[update["chartId"]]
            charts[old.chart_id] = ExistingChart(old.chart_id, old.sheet_id, update["spec"]["altText"])
        elif "deleteEmbeddedObject" in request:
            charts.pop(request["deleteEmbeddedObject"]["objectId"], None)
    return list(charts.values())
