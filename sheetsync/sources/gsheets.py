"""Google Sheets backend: read a spreadsheet in two requests, write tabs back in one.

Why this shape: Google allows 60 read and 60 write requests per minute per
user, and a cron job that dies half-way must leave the sheet as it was.  So
opening fetches everything up front (the metadata, then one
``values:batchGet`` of every wanted tab), and every write-back is a single
``spreadsheets.batchUpdate``, which Google applies all-or-nothing.  New tabs
are added in that same request with sheet ids we choose, so the request can
size and fill them too: there is never an empty or half-filled tab left
behind.  That is one write request where the spec allows two.

gspread supplies the HTTP client (URL building, JSON decoding).  We subclass
its ``HTTPClient`` for two reasons: gspread copies its URL constants at import
time, so patching ``gspread.urls`` can't move it to an emulator or proxy, and
gspread's ``BackOffHTTPClient`` retries forever.  We call the client's
low-level ``fetch_sheet_metadata``/``values_batch_get``/``batch_update`` rather
than ``Spreadsheet``/``Worksheet`` objects, which spend a request per worksheet
and per operation and would break the fixed request budget.

Retries, timeouts and credentials follow the rules shared with Gmail
(``google_http``, ``google_credentials``); this module words their outcomes
for a spreadsheet.  gspread and google-auth are imported inside functions:
an Excel-only run never pays for them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RemoteError, UsageError, WriteRefused
from ..grid import FMT_DATE, FMT_DATETIME, Grid, GridCell, Value, unwrap
from . import google_http
from .base import find_title
from .google_credentials import GoogleApi, Identity, load_identity
from .google_http import MAX_TRIES, RETRY_DEADLINE, RetryPolicy
from .google_http import RETRY_BASE_ENV as RETRY_BASE_ENV
from .google_http import TIMEOUT_ENV as TIMEOUT_ENV

if TYPE_CHECKING:
    import requests
    from google.auth.credentials import Credentials
    from gspread.http_client import FileType, HTTPClient, ParamsType

log = logging.getLogger(__name__)

SHEETS = GoogleApi(
    name="Google Sheets",
    scope="https://www.googleapis.com/auth/spreadsheets",
    docs="docs/google-sheets.md",
    user_login="`gcloud auth application-default login --scopes="
    "https://www.googleapis.com/auth/spreadsheets,https://www.googleapis.com/auth/cloud-platform`",
)
GOOGLE_ENDPOINT = "https://sheets.googleapis.com"
ENDPOINT_ENV = "SHEETSYNC_SHEETS_ENDPOINT"

#: What Google gives a tab added without a size; we keep that look and grow past it.
NEW_TAB_ROWS = 1000
NEW_TAB_COLUMNS = 26
#: Google refuses a cell longer than this.
MAX_CELL_CHARS = 50_000

_KEY = re.compile(r"[A-Za-z0-9_-]+")
_URL_KEY = re.compile(r"^https?://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([^/?#]+)")
_SERIAL_EPOCH = dt.datetime(1899, 12, 30)
_METADATA_FIELDS = (
    "properties.title,sheets(properties(sheetId,title,index,sheetType,gridProperties(rowCount,columnCount)),merges)"
)
_CELL_FIELDS = "userEnteredValue,userEnteredFormat"


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


# --- transport: endpoint, retries, errors -------------------------------------


def resolve_endpoint(endpoint: str | None) -> str:
    """The Sheets API base: the environment beats the config so one cron line can point elsewhere."""
    return google_http.resolve_endpoint(
        endpoint, env=ENDPOINT_ENV, default=GOOGLE_ENDPOINT, setting="[google] endpoint"
    )


class _RetryRejected(Exception):
    """A write refused on a retry after an attempt whose outcome we never learnt.

    The earlier attempt may have been applied (then adding its new tabs again
    fails); the writer checks before reporting failure.
    """

    def __init__(self, error: RemoteError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class _Remote:
    """Retry policy (google_http's, shared with Gmail) and error wording for one spreadsheet.

    Answers that waiting can't improve (400, 401, 403, 404) fail at once.
    """

    key: str
    endpoint: str
    identity: Identity
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def rebase(self, url: str) -> str:
        if url.startswith(GOOGLE_ENDPOINT):
            return self.endpoint + url[len(GOOGLE_ENDPOINT) :]
        return url

    def send(self, attempt_once: Callable[[float], requests.Response], *, writing: bool) -> requests.Response:
        try:
            answer = google_http.send(
                attempt_once,
                google_http.Budget(self.policy),
                service=SHEETS.name,
                endpoint=self.endpoint,
                token_uri=self._token_uri(),
            )
        except google_http.TokenRefused as refused:
            raise RemoteError(self._token_refused(refused.reason)) from None
        except google_http.GaveUp as gave_up:
            raise RemoteError(self._gave_up(gave_up, writing)) from None
        if answer.response.ok:
            return answer.response
        error = RemoteError(self._refused(answer.response, writing=writing))
        if answer.ambiguous and writing:
            raise _RetryRejected(error)
        raise error

    # Messages: what happened, to which sheet, what to do.  Google's own error
    # text is quoted because it is specific; token and key material never reach
    # these strings (requests and google-auth exceptions carry neither).

    def _who(self) -> str:
        email_attr = self.identity.email or getattr(self.identity.credentials, "service_account_email", None)
        if isinstance(email_attr, str) and "@" in email_attr:
            return email_attr
        return f"the Google account of the {self.identity.origin}"

    def _token_uri(self) -> str:
        return self.identity.token_uri or "Google's token endpoint"

    def forbidden(self, detail: str) -> str:
        return (
            f"Google Sheets refused access to spreadsheet {self.key} ({detail}) — "
            f"share the sheet with {self._who()} as an editor (Share button in Google Sheets)"
        )

    def _refused(self, response: requests.Response, *, writing: bool) -> str:
        status = response.status_code
        detail = google_http.describe(response)
        body = google_http.error_body(response)
        if status == 403:
            text = json.dumps(body)
            if "SERVICE_DISABLED" in text or "has not been used in project" in text:
                return (
                    f"the Google Sheets API is not enabled for the credentials' Cloud project ({detail}) — "
                    "enable it under APIs & Services → Library → Google Sheets API, then run again"
                )
            return self.forbidden(detail)
        if status == 404:
            return (
                f"spreadsheet {self.key} was not found ({detail}) — the spreadsheet key is wrong or the "
                "sheet was deleted; copy the key from the sheet's address (…/spreadsheets/d/KEY/edit)"
            )
        if status == 401:
            return (
                f"Google rejected the credentials from the {self.identity.origin} ({detail}) — "
                "check the key is still active, or create a new one"
            )
        action = "writing to" if writing else "reading"
        tail = "; nothing was written" if writing else ""
        return f"Google Sheets refused {action} spreadsheet {self.key} ({detail}){tail}"

    def _token_refused(self, reason: str) -> str:
        return (
            f"the token endpoint {self._token_uri()} refused the {self.identity.origin} "
            f"({reason}) — the key may have been deleted or disabled; "
            "create a new JSON key for the service account and pass it with --credentials"
        )

    def _gave_up(self, gave_up: google_http.GaveUp, writing: bool) -> str:
        problem, spent = gave_up.problem, gave_up.spent()
        safe = " No tab was half-written: each write-back is one all-or-nothing request." if writing else ""
        if gave_up.quota:
            return (
                f"Google Sheets quota exhausted for spreadsheet {self.key} ({problem}) {spent} — "
                "Google allows 60 reads and 60 writes per minute per user; wait a minute and run again, "
                f"and check what else uses these credentials.{safe}"
            )
        if gave_up.status is not None:
            return f"Google Sheets kept failing for spreadsheet {self.key} ({problem}) {spent} — try again later.{safe}"
        return (
            f"{problem} {spent} — check the network connection and proxy settings "
            f"({ENDPOINT_ENV} or [google] endpoint changes the address).{safe}"
        )


@functools.cache
def _client_class() -> Callable[[requests.Session, Credentials, _Remote], HTTPClient]:
    """gspread's client, rebased on the configured endpoint and retried by our policy."""
    from gspread.http_client import HTTPClient

    class SheetsyncHTTPClient(HTTPClient):
        def __init__(self, session: requests.Session, credentials: Credentials, remote: _Remote) -> None:
            super().__init__(credentials, session=session)
            self.auth = credentials
            self.remote = remote

        def request(
            self,
            method: str,
            endpoint: str,
            params: ParamsType | None = None,
            data: bytes | None = None,
            json: Mapping[str, Any] | None = None,
            files: FileType = None,
            headers: MutableMapping[str, str] | None = None,
        ) -> requests.Response:
            url = self.remote.rebase(endpoint)

            def attempt(timeout: float) -> requests.Response:
                return self.session.request(
                    method=method,
                    url=url,
                    params=params,
                    data=data,
                    json=json,
                    files=files,
                    headers=headers,
                    timeout=timeout,
                )

            return self.remote.send(attempt, writing=method.lower() != "get")

    return SheetsyncHTTPClient


def _connect(identity: Identity, remote: _Remote) -> HTTPClient:
    session = google_http.authorized_session(identity.credentials)
    return _client_class()(session, identity.credentials, remote)


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


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def _range_origin(a1: str) -> tuple[int, int]:
    """0-based (row, column) where a returned range starts: ``'Tab'!B3:Z1000`` → (2, 1)."""
    cells = a1.rsplit("!", 1)[1] if "!" in a1 else ""
    match = re.match(r"^\$?([A-Z]*)\$?(\d*)", cells.upper())
    if not match:
        return 0, 0
    letters, digits = match.groups()
    return (int(digits) - 1 if digits else 0), (_column_index(letters) if letters else 0)


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
    merged over a whole empty grid costs nothing.
    """
    top, left = _range_origin(str(value_range.get("range", "")))
    table: dict[int, list[Value]] = {}
    for offset, raw_row in enumerate(value_range.get("values", [])):
        values: list[Value] = [None] * left + [_raw(v) for v in raw_row]
        if any(v is not None for v in values):
            table[top + offset] = values
    width = max(map(len, table.values()), default=0)
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
            if len(row) < end_col:
                row.extend([None] * (end_col - len(row)))
            for column in range(first_col, end_col):
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
    remote = _Remote(
        key=key,
        endpoint=resolve_endpoint(endpoint),
        identity=load_identity(credentials, SHEETS),
        policy=RetryPolicy.from_env(tries=MAX_TRIES, deadline=RETRY_DEADLINE),
    )
    client = _connect(remote.identity, remote)
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

    def __init__(self, key: str, client: HTTPClient, remote: _Remote) -> None:
        self.key = key
        self.location = f"gsheet:{key}"
        self.spreadsheet_title = ""
        self._client = client
        self._remote = remote
        self._tabs: list[_Tab] = []
        self._tables: dict[int, list[tuple[int, list[Value]]]] = {}

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
        """Write every grid in one ``batchUpdate``: add missing tabs, size, fill, clear the rest.

        Each tab's cells are replaced through ``updateCells`` over the whole
        sheet, so the old extent is cleared in the same step; text goes in as
        ``stringValue``, which Google never parses as a formula (what the
        values API calls ``RAW``).  Only the grids' own tabs are named in the
        request, so nothing else in the spreadsheet can change.
        """
        if not grids:
            return []
        requests_: list[dict[str, Any]] = []
        added: list[_Tab] = []
        resized: list[tuple[_Tab, int, int]] = []
        taken = {tab.sheet_id for tab in self._tabs}
        seen: set[str] = set()
        for grid in grids:
            if grid.title.casefold() in seen:
                raise ValueError(f"two grids for tab {grid.title!r}")
            seen.add(grid.title.casefold())
            height, width = len(grid.rows), grid.width
            tab = self._tab(grid.title)
            if tab is None:
                tab = _Tab(_new_sheet_id(taken), grid.title, max(NEW_TAB_ROWS, height), max(NEW_TAB_COLUMNS, width))
                taken.add(tab.sheet_id)
                added.append(tab)
                requests_.append({"addSheet": {"properties": _sheet_properties(tab)}})
            elif not tab.is_grid:
                raise WriteRefused(f"tab {tab.title!r} of spreadsheet {self.key} is a chart sheet — rename it")
            elif height > tab.rows or width > tab.columns:
                rows, columns = max(tab.rows, height), max(tab.columns, width)
                resized.append((tab, rows, columns))
                requests_.append(
                    {
                        "updateSheetProperties": {
                            "properties": {
                                "sheetId": tab.sheet_id,
                                "gridProperties": {"rowCount": rows, "columnCount": columns},
                            },
                            "fields": "gridProperties.rowCount,gridProperties.columnCount",
                        }
                    }
                )
            requests_.append(
                {
                    "updateCells": {
                        "range": {"sheetId": tab.sheet_id},
                        "rows": [_row_data(row) for row in grid.rows],
                        "fields": _CELL_FIELDS,
                    }
                }
            )
            requests_.extend(_width_requests(tab.sheet_id, grid.widths))
        body = {"requests": requests_}
        try:
            self._call(lambda: self._client.batch_update(self.key, body))
        except _RetryRejected as rejected:
            if not (added and self._applied(added)):
                raise rejected.error from None
            log.info("Google Sheets: an earlier try of the write-back was applied; not repeating it")
        for tab, rows, columns in resized:
            tab.rows, tab.columns = rows, columns
        self._tabs.extend(added)
        for grid in grids:
            written = self._tab(grid.title)
            if written is not None:
                self._tables.pop(written.sheet_id, None)
                written.merges = []
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


def _sheet_properties(tab: _Tab) -> dict[str, Any]:
    return {
        "sheetId": tab.sheet_id,
        "title": tab.title,
        "gridProperties": {"rowCount": tab.rows, "columnCount": tab.columns},
    }


def _width_requests(sheet_id: int, widths: Sequence[float]) -> list[dict[str, Any]]:
    """Column widths in characters → pixels (about 7 px per character of Arial 10, plus padding)."""
    return [
        {
            "updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                "properties": {"pixelSize": round(width * 7 + 10)},
                "fields": "pixelSize",
            }
        }
        for i, width in enumerate(widths)
        if width and width > 0
    ]


def to_serial(value: dt.date) -> float:
    """Spreadsheet serial number (days since 1899-12-30) of a date or a wall-clock date-time."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - _SERIAL_EPOCH
        return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return (value - _SERIAL_EPOCH.date()).days


def _format_type(pattern: str, value: Value) -> str:
    if isinstance(value, dt.datetime):
        return "DATE_TIME"
    if isinstance(value, dt.date):
        return "DATE"
    return "PERCENT" if "%" in pattern else "NUMBER"


def _cell_data(cell: GridCell) -> dict[str, Any]:
    value, fmt, bold = unwrap(cell)
    data: dict[str, Any] = {}
    if value is None:
        pass
    elif isinstance(value, bool):
        data["userEnteredValue"] = {"boolValue": value}
    elif isinstance(value, dt.date):
        data["userEnteredValue"] = {"numberValue": to_serial(value)}
        fmt = fmt or (FMT_DATETIME if isinstance(value, dt.datetime) else FMT_DATE)
    elif isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isfinite(number):
            data["userEnteredValue"] = {"numberValue": value if isinstance(value, int) else number}
        else:
            data["userEnteredValue"] = {"stringValue": str(value)}
    else:
        data["userEnteredValue"] = {"stringValue": str(value)[:MAX_CELL_CHARS]}
    style: dict[str, Any] = {}
    if fmt:
        style["numberFormat"] = {"type": _format_type(fmt, value), "pattern": fmt}
    if bold:
        style["textFormat"] = {"bold": True}
    if style:
        data["userEnteredFormat"] = style
    return data


def _row_data(row: Sequence[GridCell]) -> dict[str, Any]:
    cells = [_cell_data(cell) for cell in row]
    while cells and not cells[-1]:
        cells.pop()
    return {"values": cells} if cells else {}
