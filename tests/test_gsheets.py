"""The Google Sheets backend against a fake Sheets API over real HTTP.

Each test seeds the fake (tests/fake_sheets.py), opens the sheet through
``open_gsheet`` or the CLI, and asserts what a user would see: values read,
tabs written, how many requests it took, the error message and exit code.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import socket
import stat
import subprocess
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import HEADERS, SA_EMAIL
from fake_sheets import (
    SCOPE,
    ApiError,
    FakeSheets,
    ServiceAccount,
    make_authorized_user,
    make_service_account,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetsync.errors import RemoteError, SheetsyncError, UsageError
from sheetsync.grid import FMT_INT, Cell, Grid
from sheetsync.sources import gsheets
from sheetsync.sources.gsheets import (
    ENDPOINT_ENV,
    RETRY_BASE_ENV,
    TIMEOUT_ENV,
    GoogleBook,
    open_gsheet,
    parse_key,
)

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcd"
TABS = ["Pipeline", "Quotas", "Summary", "Checks", "History"]
HEADER = ["Prospect", "Owner", "Stage", "Decision Maker", "Budget", "Expected Close", "Notes"]


def pipeline(n: int) -> list[list[Any]]:
    rows: list[list[Any]] = [HEADER]
    stages = ["Lead", "Qualified", "Appointment", "Demo", "Proposal", "Negotiation", "Won", "Lost"]
    for i in range(n):
        rows.append(
            [
                f"Company {i}",
                ["Somchai", "Malee", "Niran"][i % 3],
                stages[i % len(stages)],
                i % 2 == 0,
                10_000 * (i + 1),
                dt.date(2026, 12, 1) + dt.timedelta(days=i % 40),
                f"=note {i}" if i % 7 == 0 else None,
            ]
        )
    return rows


def open_book(account: ServiceAccount, wanted: Sequence[str] = TABS, source: str = f"gsheet:{KEY}") -> GoogleBook:
    return open_gsheet(source, wanted=wanted, credentials=account.path, endpoint=None)


def secrets_in(text: str, fake: FakeSheets, account: ServiceAccount) -> list[str]:
    """Anything secret that leaked into ``text``: access tokens, private-key lines, client secrets."""
    leaks = [token for token in fake.tokens if token in text]
    leaks += [line for line in account.key_lines if line in text]
    leaks += [marker for marker in ("PRIVATE KEY", "ya29.", "assertion") if marker in text]
    return leaks


def reads(fake: FakeSheets) -> int:
    return fake.count("metadata", "batchGet")


# --- sources ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "key"),
    [
        (f"gsheet:{KEY}", KEY),
        (f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0", KEY),
        (f"https://docs.google.com/spreadsheets/d/{KEY}", KEY),
        (f"https://docs.google.com/spreadsheets/u/1/d/{KEY}/edit?usp=sharing", KEY),
    ],
)
def test_source_forms_name_the_key(source: str, key: str) -> None:
    assert parse_key(source) == key


@pytest.mark.parametrize(
    "source",
    [
        "gsheet:",
        "gsheet:has spaces",
        "gsheet:../etc/passwd",
        "https://docs.google.com/spreadsheets/",
        "https://docs.google.com/spreadsheets/d/e/2PACX-1vQ/pubhtml",
        "https://docs.google.com/document/d/abc/edit",
    ],
)
def test_bad_source_forms_are_usage_errors(source: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_key(source)
    assert error.value.exit_code == 2
    assert "gsheet:KEY" in error.value.message or "published" in error.value.message


# --- reading ----------------------------------------------------------------------------


def test_reading_costs_two_requests_and_yields_raw_values(sheets: FakeSheets, account: ServiceAccount) -> None:
    """Numbers stay numbers, dates are serials, merges fill, blank rows skip, tab names match any case."""
    rows = pipeline(50)
    rows.insert(3, [None] * len(HEADER))  # a blank row: sheet row 4
    sheets.add_spreadsheet(
        KEY,
        {"Notes": [["keep me"]], "pipeline": rows, "QUOTAS": [["Owner", "Quota"], ["Somchai", 1_500_000]]},
        merges={"pipeline": ["B2:B3"]},
    )
    book = open_book(account)

    assert book.titles() == ["Notes", "pipeline", "QUOTAS"]
    read = dict(book.rows("pipeline"))
    assert 4 not in read and len(read) == 51
    assert read[1] == HEADER
    assert read[2] == ["Company 0", "Somchai", "Lead", True, 10000, 46357, "=note 0"]
    assert read[3][1] == "Somchai"  # merged B2:B3 fills B3 (which holds Malee's own value in the data)
    assert isinstance(read[52][4], int) and read[52][4] == 500_000
    assert dict(book.rows("QUOTAS"))[2] == ["Somchai", 1_500_000]

    assert sheets.counts == {"token": 1, "metadata": 1, "batchGet": 1}
    (batch,) = sheets.requests("batchGet")
    assert batch.params["ranges"] == ["'pipeline'", "'QUOTAS'"]  # only the wanted tabs that exist
    assert batch.params["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert batch.params["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    (meta,) = sheets.requests("metadata")
    assert "merges" in meta.params["fields"][0] and meta.params["includeGridData"] == ["false"]
    assert sheets.scopes == [SCOPE]  # spreadsheets only: no Drive
    book.close()


def test_merged_cells_fill_only_rows_that_have_values(sheets: FakeSheets, account: ServiceAccount) -> None:
    """An Owner cell merged down over a blank row doesn't turn that row into a deal."""
    sheets.add_spreadsheet(
        KEY,
        {"Pipeline": [["Prospect", "Owner"], ["A", "Malee"], ["B", None], [None, None], ["C", "Niran"]]},
        merges={"Pipeline": ["B2:B4"]},
    )
    book = open_book(account, ["Pipeline"])
    assert list(book.rows("Pipeline")) == [
        (1, ["Prospect", "Owner"]),
        (2, ["A", "Malee"]),
        (3, ["B", "Malee"]),
        (5, ["C", "Niran"]),
    ]


def test_a_range_merged_over_a_whole_grid_fills_the_rows_read(sheets: FakeSheets, account: ServiceAccount) -> None:
    """Issue 11: a note merged over B2:ZZZ1000000 fills the rows that have values, as far as the widest reaches.

    Filled cell by cell over its whole extent, it cost a million rows of 18,278 columns.
    """
    sheets.add_spreadsheet(
        KEY,
        {"Pipeline": [["Prospect", "Owner", "Stage"], ["A", "Malee", "Lead"], ["B", None, None]]},
        merges={"Pipeline": ["B2:ZZZ1000000"]},
    )
    book = open_book(account, ["Pipeline"])
    assert list(book.rows("Pipeline")) == [
        (1, ["Prospect", "Owner", "Stage"]),
        (2, ["A", "Malee", "Malee"]),
        (3, ["B", "Malee", "Malee"]),
    ]


def test_a_tab_not_asked_for_costs_one_more_request(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(3), "Extra": [["x", 1]]}, chart_sheets=["Chart1"])
    book = open_book(account, ["Pipeline"])
    assert book.titles() == ["Pipeline", "Extra", "Chart1"]
    assert list(book.rows("extra")) == [(1, ["x", 1])]
    assert list(book.rows("Chart1")) == []  # a chart sheet has no cells
    assert sheets.count("batchGet") == 2
    with pytest.raises(UsageError, match="no tab 'Missing'"):
        book.rows("Missing")


@pytest.mark.parametrize("title", ["It's Q4!", "Pipeline 2026 (new)", "'quoted'", "ไปป์ไลน์", "A1"])
def test_tab_titles_that_need_quoting(sheets: FakeSheets, account: ServiceAccount, title: str) -> None:
    sheets.add_spreadsheet(KEY, {title: [["Prospect"], ["Acme"]]})
    book = open_book(account, [title.upper()])
    assert list(book.rows(title)) == [(1, ["Prospect"]), (2, ["Acme"])]
    assert sheets.count("batchGet") == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=5))
def test_any_text_round_trips_unchanged(sheets: FakeSheets, account: ServiceAccount, texts: list[str]) -> None:
    """Whatever people type — formulas, quotes, emoji, control characters — comes back as the same text."""
    sheets.add_spreadsheet(KEY, {"Pipeline": [["x"]]})
    book = open_book(account, ["Pipeline", "Summary"])
    book.write([Grid("Summary", [texts])])
    again = open_book(account, ["Summary"])
    assert list(again.rows("Summary")) == [(1, texts)]


def test_no_wanted_tab_means_no_values_request(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Other": [["x"]]})
    book = open_book(account)
    assert book.titles() == ["Other"]
    assert sheets.counts == {"token": 1, "metadata": 1}


# --- writing ------------------------------------------------------------------------------


def grids(checks_rows: int) -> list[Grid]:
    marker = Cell("Generated by sheetsync on 2026-11-27", bold=True)
    summary = Grid(
        "Summary",
        [
            [marker],
            [Cell("As of", bold=True), Cell(dt.date(2026, 11, 27), "yyyy-mm-dd")],
            [Cell("Quota", bold=True), Cell(3_000_000, '#,##0.00 "THB"')],
            [Cell("Attainment", bold=True), Cell(0.25, "0.0%")],
            [Cell("Open deals", bold=True), Cell(12, FMT_INT)],
            ["Coverage", None],
        ],
        widths=[24, 16],
    )
    checks = Grid(
        "Checks",
        [[marker], [Cell(h, bold=True) for h in ("Cell", "Row", "Prospect", "Rule", "Severity", "Message")]]
        + [[f"Pipeline!F{i}", i, f"Company {i}", "stale", "warning", "call them"] for i in range(checks_rows)],
    )
    history = Grid(
        "History",
        [
            [Cell(h, bold=True) for h in ("As of", "Period start", "Open deals", "Open pipeline")],
            [Cell(dt.date(2026, 11, 27), "yyyy-mm-dd"), dt.date(2026, 10, 1), 12, Decimal("1234.5")],
        ],
    )
    return [summary, checks, history]


@pytest.mark.parametrize("size", [50, 5000])
def test_a_full_run_costs_two_reads_and_one_write(sheets: FakeSheets, account: ServiceAccount, size: int) -> None:
    """Whatever the row count: metadata + one batchGet to read, one batchUpdate to write everything."""
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(size), "Notes": [["keep"]]})
    book = open_book(account)
    assert len(list(book.rows("Pipeline"))) == size + 1
    book.write(grids(size))

    assert reads(sheets) == 2
    assert sheets.count("batchUpdate") == 1
    assert sheets.count("token") == 1
    assert [s.title for s in sheets.snapshot(KEY)] == ["Pipeline", "Notes", "Summary", "Checks", "History"]
    checks = sheets.sheet(KEY, "Checks")
    assert len(checks.values()) == size + 2
    assert checks.rows >= size + 2


def test_checks_tab_of_5000_rows_goes_into_a_new_tab(sheets: FakeSheets, account: ServiceAccount) -> None:
    """A new tab is 1,000 rows: it must be sized in the same request that fills it."""
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(5)})
    book = open_book(account)
    book.write(grids(5000)[1:2])
    checks = sheets.sheet(KEY, "Checks")
    assert (checks.rows, checks.columns) == (5002, 26)
    assert checks.values()[-1] == ["Pipeline!F4999", 4999, "Company 4999", "stale", "warning", "call them"]
    assert sheets.count("batchUpdate") == 1


def test_the_fake_refuses_writes_past_the_grid_like_google() -> None:
    """What makes the sizing test meaningful: the fake enforces Google's grid limits."""
    fake = FakeSheets()
    book = fake.add_spreadsheet(KEY, {"Checks": [["x"]]})
    rows = [{"values": [{"userEnteredValue": {"stringValue": "v"}}] * 6}] * 5003
    with pytest.raises(ApiError) as error:
        fake.batch_update(book, {"requests": [{"updateCells": {"rows": rows, "fields": "*", "range": {"sheetId": 0}}}]})
    assert error.value.code == 400
    assert error.value.message == "Range ('Checks'!A1:F5003) exceeds grid limits. Max rows: 1000, max columns: 26"
    assert book.sheets[0].values() == [["x"]]


def test_write_touches_only_its_own_tabs(sheets: FakeSheets, account: ServiceAccount) -> None:
    """An existing tab matched in any case keeps its title and id; everything else is byte-for-byte the same."""
    old = [[f"old {r}:{c}" for c in range(12)] for r in range(40)]
    sheets.add_spreadsheet(
        KEY,
        {"Pipeline": pipeline(10), "summary": old, "Notes": [["keep", 1, dt.date(2026, 1, 1)]]},
        merges={"Pipeline": ["B2:B3"]},
        sizes={"summary": (40, 12)},
    )
    sheets.sheet(KEY, "summary").cells[(0, 0)]["userEnteredFormat"] = {"backgroundColor": {"red": 1}}
    before = {s.title: s for s in sheets.snapshot(KEY)}
    book = open_book(account)
    book.write(grids(3))

    after = {s.title: s for s in sheets.snapshot(KEY)}
    assert list(after) == ["Pipeline", "summary", "Notes", "Checks", "History"]
    assert after["Pipeline"] == before["Pipeline"]
    assert after["Notes"] == before["Notes"]
    summary = after["summary"]
    assert summary.sheet_id == before["summary"].sheet_id
    assert summary.values()[0] == ["Generated by sheetsync on 2026-11-27"]
    assert len(summary.values()) == 6 and max(len(r) for r in summary.values()) == 2  # old extent cleared
    assert "backgroundColor" not in json.dumps(summary.cells[(0, 0)])  # old formats cleared too
    assert (summary.rows, summary.columns) == (40, 12)  # big enough already: not shrunk, not grown


def test_an_existing_tab_too_small_is_grown_in_the_same_request(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(
        KEY, {"Pipeline": pipeline(3), "Checks": [["Generated by sheetsync"]]}, sizes={"Checks": (10, 3)}
    )
    book = open_book(account)
    book.write(grids(2000)[1:2])
    checks = sheets.sheet(KEY, "Checks")
    assert (checks.rows, checks.columns) == (2002, 6)
    assert len(checks.values()) == 2002
    assert sheets.count("batchUpdate") == 1


def test_text_is_written_raw_never_as_a_formula(sheets: FakeSheets, account: ServiceAccount) -> None:
    dangerous = ["=1+1", '=IMPORTXML("http://evil", "//a")', "+SUM(A1:A2)", "-2+3", "@cmd", "'quoted"]
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(1)})
    book = open_book(account)
    book.write([Grid("Summary", [["Generated by sheetsync"], dangerous])])
    summary = sheets.sheet(KEY, "Summary")
    assert summary.values()[1] == dangerous
    assert "formulaValue" not in sheets.requests("batchUpdate")[0].body.decode()


def test_formats_dates_numbers_and_widths(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(1)})
    book = open_book(account)
    book.write(grids(0))
    summary = sheets.sheet(KEY, "Summary")
    assert summary.cells[(0, 0)]["userEnteredFormat"] == {"textFormat": {"bold": True}}
    assert summary.cells[(1, 1)] == {
        "userEnteredValue": {"numberValue": 46353},
        "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
    }
    assert summary.cells[(2, 1)]["userEnteredFormat"]["numberFormat"] == {"type": "NUMBER", "pattern": '#,##0.00 "THB"'}
    assert summary.cells[(3, 1)]["userEnteredFormat"]["numberFormat"] == {"type": "PERCENT", "pattern": "0.0%"}
    assert summary.value(5, 0) == "Coverage" and (5, 1) not in summary.cells
    assert summary.widths == {0: 178, 1: 122}
    history = sheets.sheet(KEY, "History")
    assert history.values()[1] == [46353, 46296, 12, 1234.5]
    assert history.cells[(1, 1)]["userEnteredFormat"]["numberFormat"]["type"] == "DATE"
    book.write([Grid("Summary", [["Generated by sheetsync"], [dt.datetime(2026, 11, 27, 18, 0), True]])])
    assert summary_cell(sheets, 1, 0) == {
        "userEnteredValue": {"numberValue": 46353.75},
        "userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}},
    }
    assert sheets.sheet(KEY, "Summary").value(1, 1) is True


def summary_cell(fake: FakeSheets, row: int, column: int) -> dict[str, Any]:
    return fake.sheet(KEY, "Summary").cells[(row, column)]


def test_writing_twice_reuses_the_tabs_it_added(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(1)})
    book = open_book(account)
    book.write(grids(1))
    book.write(grids(1))
    assert [s.title for s in sheets.snapshot(KEY)] == ["Pipeline", "Summary", "Checks", "History"]
    assert sheets.count("batchUpdate") == 2


# --- retries ---------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("metadata", 429, retry_after="1")
    started = time.monotonic()
    book = open_book(account)
    assert time.monotonic() - started >= 1.0  # the backoff base is 0.01 s: only Retry-After explains this
    assert [r.status for r in sheets.requests("metadata")] == [429, 200]
    assert len(list(book.rows("Pipeline"))) == 3


def test_5xx_until_giving_up_is_exit_3_with_nothing_written(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2), "Summary": [["Generated by sheetsync"]]})
    before = sheets.snapshot(KEY)
    book = open_book(account)
    sheets.fail("batchUpdate", 500, times=99)
    with pytest.raises(RemoteError) as error:
        book.write(grids(3))
    assert error.value.exit_code == 3
    assert sheets.count("batchUpdate") == 5
    assert "500 INTERNAL" in error.value.message and "after 5 tries" in error.value.message
    assert sheets.snapshot(KEY) == before


def test_backoff_doubles_between_tries(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 0.1 s base the waits are 0.05-0.1, 0.1-0.2, 0.2-0.4, 0.4-0.8 s (jitter takes up to half)."""
    monkeypatch.setenv(RETRY_BASE_ENV, "0.1")
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("metadata", 502, times=4)
    open_book(account)
    arrivals = [r.at for r in sheets.requests("metadata")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(gaps) == 4
    for n, gap in enumerate(gaps):
        assert 0.1 * 2**n / 2 <= gap <= 0.1 * 2**n + 0.5, gaps


def test_quota_exhausted_says_so(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("batchGet", 429, times=99)
    with pytest.raises(RemoteError) as error:
        open_book(account)
    assert error.value.exit_code == 3
    assert "quota exhausted" in error.value.message and "60 reads and 60 writes per minute" in error.value.message
    assert sheets.count("batchGet") == 5


def test_retry_after_beyond_the_deadline_gives_up_at_once(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gsheets, "RETRY_DEADLINE", 5.0)
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("metadata", 429, retry_after="60", times=99)
    started = time.monotonic()
    with pytest.raises(RemoteError, match="quota exhausted"):
        open_book(account)
    assert time.monotonic() - started < 2
    assert sheets.count("metadata") == 1


def test_some_5xx_then_success(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("batchGet", 503, times=2)
    book = open_book(account)
    assert len(list(book.rows("Pipeline"))) == 3
    assert [r.status for r in sheets.requests("batchGet")] == [503, 503, 200]


def test_a_hanging_request_times_out_and_is_retried(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("batchGet", hang=5)
    started = time.monotonic()
    book = open_book(account)
    assert time.monotonic() - started < 3
    assert sheets.count("batchGet") == 2
    assert len(list(book.rows("Pipeline"))) == 3


def test_a_write_whose_answer_was_lost_is_not_applied_twice(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google applied the write but the answer never came: the retry's "already exists" means done."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    book = open_book(account)
    sheets.fail("batchUpdate", hang=3, apply_first=True)
    book.write(grids(3))
    assert [s.title for s in sheets.snapshot(KEY)] == ["Pipeline", "Summary", "Checks", "History"]
    assert [r.status for r in sheets.requests("batchUpdate")] == [200, 400]
    assert sheets.count("metadata") == 2  # one extra read, only on this rare path, to confirm
    assert len(sheets.sheet(KEY, "Checks").values()) == 5


def test_a_lost_answer_to_a_rewrite_is_simply_retried(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    book = open_book(account)
    book.write(grids(3))
    sheets.fail("batchUpdate", hang=3, apply_first=True)
    book.write(grids(4))
    assert [r.status for r in sheets.requests("batchUpdate")] == [200, 200, 200]
    assert len(sheets.sheet(KEY, "Checks").values()) == 6


# --- errors a person can act on ---------------------------------------------------------


def test_403_says_to_share_the_sheet_with_the_service_account(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)}, editors=["someone@example.com"])
    with pytest.raises(RemoteError) as error:
        open_book(account)
    assert error.value.exit_code == 3
    assert f"share the sheet with {SA_EMAIL} as an editor" in error.value.message
    assert "403 PERMISSION_DENIED" in error.value.message
    assert sheets.count("metadata") == 1  # not retried


def test_403_on_write_when_shared_read_only(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)}, editors=[], viewers=[SA_EMAIL])
    before = sheets.snapshot(KEY)
    book = open_book(account)
    with pytest.raises(RemoteError, match=f"share the sheet with {SA_EMAIL} as an editor"):
        book.write(grids(1))
    assert sheets.snapshot(KEY) == before


def test_403_for_a_disabled_api_says_to_enable_it(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    body = {
        "error": {
            "code": 403,
            "message": "Google Sheets API has not been used in project 123 before or it is disabled.",
            "status": "PERMISSION_DENIED",
            "details": [{"reason": "SERVICE_DISABLED"}],
        }
    }
    sheets.fail("metadata", 403, body=body)
    with pytest.raises(RemoteError, match=r"not enabled.*Google Sheets API"):
        open_book(account)


def test_404_says_the_key_is_wrong(sheets: FakeSheets, account: ServiceAccount) -> None:
    with pytest.raises(RemoteError) as error:
        open_book(account, source=f"https://docs.google.com/spreadsheets/d/{KEY}x/edit#gid=0")
    assert error.value.exit_code == 3
    assert f"spreadsheet {KEY}x was not found" in error.value.message
    assert "key is wrong" in error.value.message


@pytest.mark.parametrize("answer", [{"text": "<html>Sign in to the hotel Wi-Fi</html>"}, {"body": ["not", "sheets"]}])
def test_something_else_answering_200_is_a_clear_error(
    sheets: FakeSheets, account: ServiceAccount, answer: dict[str, Any]
) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("metadata", 200, **answer)
    with pytest.raises(RemoteError, match=f"{sheets.url} answered with something other than the Google Sheets API"):
        open_book(account)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_endpoint_is_exit_3(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(RemoteError) as error:
        open_book(account)
    assert error.value.exit_code == 3
    assert "can't reach Google Sheets" in error.value.message
    assert "Connection refused" in error.value.message and "5 tries" in error.value.message


def test_unreachable_token_endpoint_is_exit_3(sheets: FakeSheets, tmp_path: Path) -> None:
    token_uri = f"http://127.0.0.1:{closed_port()}/token"
    other = make_service_account(sheets, tmp_path, "other@proj.iam.gserviceaccount.com", token_uri=token_uri)
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    with pytest.raises(RemoteError) as error:
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=other.path, endpoint=None)
    assert error.value.exit_code == 3
    assert f"can't reach the token endpoint {token_uri} (Connection refused)" in error.value.message
    assert sheets.count("metadata") == 0


def test_token_endpoint_refusing_the_key(sheets: FakeSheets, account: ServiceAccount) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    sheets.fail("token", 400)
    with pytest.raises(RemoteError) as error:
        open_book(account)
    assert "refused the credentials file" in error.value.message
    assert "invalid_grant: Invalid JWT Signature." in error.value.message
    assert not secrets_in(error.value.message, sheets, account)


def test_a_key_the_fake_did_not_issue_is_refused(sheets: FakeSheets, tmp_path: Path) -> None:
    """The fake really checks the JWT signature: a key it doesn't know gets invalid_grant."""
    stranger = make_service_account(sheets, tmp_path, SA_EMAIL, register=False)
    with pytest.raises(RemoteError, match="Invalid JWT Signature"):
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=stranger.path, endpoint=None)
    assert sheets.count("metadata") == 0


# --- credentials ---------------------------------------------------------------------------


def test_missing_credentials_file_names_it(sheets: FakeSheets, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "sa.json"
    with pytest.raises(UsageError) as error:
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=missing, endpoint=None)
    assert error.value.exit_code == 2
    assert str(missing) in error.value.message and "--credentials" in error.value.message
    assert sheets.counts == {}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json at all", "is not a JSON key file"),
        ("[1, 2]", "is not a JSON key file"),
        ('{"type": "service_account", "client_email": "x@y"}', "lacks private_key, token_uri"),
        ('{"type": "stranger"}', "is not a service-account or authorized-user key"),
        (
            '{"type": "service_account", "client_email": "x@y", "private_key": "k", "token_uri": "oauth"}',
            "token_uri in Google credentials file",
        ),
        ('{"type": "authorized_user", "client_id": "x"}', "lacks client_secret, refresh_token"),
        ("BAD-KEY", "private key in Google credentials file"),
    ],
)
def test_invalid_credentials_files_are_usage_errors(
    sheets: FakeSheets, account: ServiceAccount, tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "creds.json"
    if content == "BAD-KEY":
        info = dict(account.info)
        lines = info["private_key"].splitlines()
        info["private_key"] = "\n".join(lines[:3] + lines[5:])  # a damaged key
        content = json.dumps(info)
    path.write_text(content)
    with pytest.raises(UsageError) as error:
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=path, endpoint=None)
    assert error.value.exit_code == 2
    assert str(path) in error.value.message and says in error.value.message
    assert not secrets_in(error.value.message, sheets, account)


def test_unreadable_credentials_file(sheets: FakeSheets, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"can't read Google credentials file {tmp_path}"):
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=tmp_path, endpoint=None)


def test_google_application_credentials_is_used_next(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(account.path))
    book = open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=None, endpoint=None)
    assert book.titles() == ["Pipeline"]

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "gone.json"))
    with pytest.raises(UsageError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=None, endpoint=None)
    # the explicit file wins over the (broken) environment variable
    assert open_book(account).titles() == ["Pipeline"]


def test_gspread_default_location_is_used_next(sheets: FakeSheets, account: ServiceAccount, tmp_path: Path) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    conventional = tmp_path / "home" / ".config" / "gspread" / "service_account.json"
    conventional.parent.mkdir(parents=True)
    conventional.write_text(account.path.read_text())
    book = open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=None, endpoint=None)
    assert book.titles() == ["Pipeline"]
    assert sheets.requests("metadata")[0].email == SA_EMAIL


def test_no_credentials_anywhere_says_where_to_put_them(sheets: FakeSheets) -> None:
    with pytest.raises(UsageError) as error:
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=None, endpoint=None)
    assert "no Google credentials found" in error.value.message
    assert "--credentials" in error.value.message and "GOOGLE_APPLICATION_CREDENTIALS" in error.value.message


def test_authorized_user_credentials_work(sheets: FakeSheets, tmp_path: Path) -> None:
    path = make_authorized_user(sheets, tmp_path, "rep@example.com")
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)}, editors=["rep@example.com"])
    book = open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=path, endpoint=None)
    book.write(grids(1))
    assert sheets.requests("batchUpdate")[0].email == "rep@example.com"
    assert sheets.scopes == [SCOPE]


def test_authorized_user_without_access_is_told_which_account(sheets: FakeSheets, tmp_path: Path) -> None:
    path = make_authorized_user(sheets, tmp_path, "rep@example.com")
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)}, editors=[])
    with pytest.raises(RemoteError, match=f"share the sheet with the Google account of the credentials file {path}"):
        open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=path, endpoint=None)


# --- endpoint and settings -----------------------------------------------------------------


def test_environment_endpoint_beats_the_configured_one(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    dead = f"http://127.0.0.1:{closed_port()}"
    assert open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=account.path, endpoint=dead).titles() == ["Pipeline"]
    monkeypatch.delenv(ENDPOINT_ENV)
    assert open_gsheet(f"gsheet:{KEY}", wanted=TABS, credentials=account.path, endpoint=sheets.url + "/").titles() == [
        "Pipeline"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [(ENDPOINT_ENV, "localhost:8080"), (TIMEOUT_ENV, "soon"), (RETRY_BASE_ENV, "-1")],
)
def test_bad_settings_are_usage_errors(
    sheets: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=name):
        open_book(account)


# --- secrets ---------------------------------------------------------------------------------


def test_no_secret_reaches_messages_or_logs(
    sheets: FakeSheets, account: ServiceAccount, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every failure path, with debug logging on: no token, no key line, anywhere."""
    caplog.set_level(logging.DEBUG)
    sheets.add_spreadsheet(KEY, {"Pipeline": pipeline(2)})
    messages: list[str] = []

    def attempt(*faults: tuple[str, int]) -> None:
        for kind, status in faults:
            sheets.fail(kind, status, times=99)
        try:
            open_book(account).write(grids(1))
        except SheetsyncError as exc:
            messages.append(exc.message)
        sheets.faults.clear()

    attempt(("metadata", 403))
    attempt(("batchGet", 404))
    attempt(("batchUpdate", 500))
    attempt(("batchUpdate", 429))
    attempt(("metadata", 401))
    attempt(("token", 400))
    monkeypatch.setenv(ENDPOINT_ENV, f"http://127.0.0.1:{closed_port()}")
    attempt()
    assert len(messages) == 7
    assert len(sheets.tokens) >= 5  # tokens were issued: there was something to leak
    text = "\n".join(messages) + "\n" + caplog.text
    assert "retrying" in caplog.text
    assert not secrets_in(text, sheets, account)


# --- the CLI against the fake ------------------------------------------------------------------

AS_OF = "2026-11-27"
D = dt.date
CLI_HEADER = HEADERS
# Somchai's name is one cell merged over his three rows (D2:D4), as teams do.
CLI_ROWS: list[list[Any]] = [
    CLI_HEADER,
    ["Acme", "Ann", "ann@acme.test", "Somchai", "Won", "yes", 100_000, D(2026, 11, 10), D(2026, 11, 10), None,
     D(2026, 10, 20), D(2026, 11, 10), D(2026, 10, 1)],
    ["Beta", "Bob", "bob@beta.test", None, "Proposal", "yes", 200_000, D(2026, 12, 15), D(2026, 11, 25),
     D(2026, 12, 1), D(2026, 11, 5), None, D(2026, 10, 5)],
    ["Gamma", "Gil", "gil@gamma.test", None, "Lead", "no", 50_000, D(2027, 1, 15), D(2026, 11, 26),
     D(2026, 11, 27), None, None, D(2026, 11, 1)],
    ["Delta", "Dee", "dee@delta.test", "Malee", "Lost", "yes", 30_000, D(2026, 11, 1), D(2026, 11, 1), None,
     None, D(2026, 11, 1), D(2026, 9, 1)],
]  # fmt: skip
QUOTAS = [["Owner", "Quota"], ["Somchai", 300_000], ["Malee", 200_000]]


@pytest.fixture
def cli_sheet(sheets: FakeSheets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSheets:
    """The fake seeded with a small pipeline; the CLI run from an empty folder (no sheetsync.toml)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    sheets.add_spreadsheet(KEY, {"Pipeline": CLI_ROWS, "Quotas": QUOTAS}, merges={"Pipeline": ["D2:D4"]})
    return sheets


def sheetsync(*args: str) -> Any:
    from click.testing import CliRunner

    from sheetsync.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_summary_reads_figures_and_writes_tabs(cli_sheet: FakeSheets, account: ServiceAccount) -> None:
    result = sheetsync("summary", f"gsheet:{KEY}", "--credentials", str(account.path), "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["as_of"] == AS_OF
    assert figures["rows"] == 4
    assert figures["won_this_period"] == 100_000
    assert figures["weighted_pipeline"] == 155_000  # 75% of 200,000 + 10% of 50,000
    assert figures["expected"] == 150_000
    assert figures["quota"] == 500_000
    assert figures["to_generate"] == 250_000
    assert figures["win_rate"] == 0.5
    assert {o["owner"]: o["count"] for o in figures["owners"]} == {"Somchai": 3, "Malee": 1}  # merge filled

    assert [s.title for s in cli_sheet.snapshot(KEY)] == ["Pipeline", "Quotas", "Summary", "Checks", "History"]
    assert cli_sheet.sheet(KEY, "Summary").value(0, 0).startswith("Generated by sheetsync")
    history = cli_sheet.sheet(KEY, "History").values()
    assert history[1][:3] == [46353, 46296, 2]  # as-of and period start as date serials, open deals
    assert cli_sheet.counts == {"token": 1, "metadata": 1, "batchGet": 1, "batchUpdate": 1}


def test_cli_sync_twice_keeps_one_history_row_per_day(
    cli_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path
) -> None:
    pipeline_before = cli_sheet.snapshot(KEY)[0]
    for as_of in (AS_OF, "2026-11-28", AS_OF):
        result = sheetsync(
            "sync", f"gsheet:{KEY}", "--credentials", str(account.path), "--as-of", as_of,
            "--out", str(tmp_path / "drafts"), "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    assert [row[0] for row in cli_sheet.sheet(KEY, "History").values()[1:]] == [46353, 46354]
    assert json.loads(result.stdout)["drafts"]  # Gamma's follow-up is due
    assert list((tmp_path / "drafts").glob("*.eml"))
    assert cli_sheet.count("metadata", "batchGet") == 3 * 2
    assert cli_sheet.count("batchUpdate") == 3
    assert cli_sheet.snapshot(KEY)[0] == pipeline_before  # the pipeline itself is never written


def test_cli_reads_google_settings_from_the_config(
    cli_sheet: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`[google] credentials` (relative to the file) and `endpoint` work without any option or variable."""
    monkeypatch.delenv(ENDPOINT_ENV)
    (tmp_path / "sa.json").write_text(account.path.read_text())
    (tmp_path / "sheetsync.toml").write_text(
        f'source = "gsheet:{KEY}"\n[google]\ncredentials = "sa.json"\nendpoint = "{cli_sheet.url}"\n'
    )
    result = sheetsync("summary", "--as-of", AS_OF, "--json", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["won_this_period"] == 100_000
    assert cli_sheet.count("batchUpdate") == 0  # --dry-run writes nothing


@pytest.mark.parametrize(
    ("setup", "code", "says"),
    [
        ("unshared", 3, f"share the sheet with {SA_EMAIL} as an editor"),
        ("wrong-key", 3, "key is wrong"),
        ("write-fails", 3, "after 5 tries"),
        ("quota", 3, "quota exhausted"),
        ("foreign-tab", 4, "already has a 'summary' tab that sheetsync did not create"),
        ("no-credentials", 2, "does not exist"),
    ],
)
def test_cli_failures_exit_with_the_right_code(
    cli_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path, setup: str, code: int, says: str
) -> None:
    key, credentials = KEY, str(account.path)
    if setup == "unshared":
        cli_sheet.spreadsheets[KEY].editors = set()
    elif setup == "wrong-key":
        key = "NoSuchSheet"
    elif setup == "write-fails":
        cli_sheet.fail("batchUpdate", 503, times=99)
    elif setup == "quota":
        cli_sheet.fail("api", 429, times=99)
    elif setup == "foreign-tab":
        cli_sheet.add_spreadsheet(KEY, {"Pipeline": CLI_ROWS, "summary": [["Our own notes"]]})
    else:
        credentials = str(tmp_path / "missing.json")
    before = cli_sheet.snapshot(key) if key in cli_sheet.spreadsheets else None

    result = sheetsync("sync", f"gsheet:{key}", "--credentials", credentials, "--as-of", AS_OF, "--out", "d")

    assert result.exit_code == code
    assert result.stderr.startswith("Error: ") and says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not secrets_in(result.stdout + result.stderr, cli_sheet, account)
    if before is not None:
        assert cli_sheet.snapshot(key) == before  # nothing written
    assert cli_sheet.count("metadata", "batchGet") <= 2 * 5
    assert not (tmp_path / "d").exists()  # no drafts either


# --- the local lock (reference 10.5, issue 11) ---------------------------------------------------


def sync_process(account: ServiceAccount, folder: Path, as_of: str, **env: str) -> subprocess.Popen[str]:
    """A real ``sheetsync sync`` of the fake's sheet in another process, as cron or a second person starts it."""
    from test_sync import SHEETSYNC, subprocess_env

    passed = {name: os.environ[name] for name in (ENDPOINT_ENV, RETRY_BASE_ENV, TIMEOUT_ENV)}
    return subprocess.Popen(
        [SHEETSYNC, "sync", f"gsheet:{KEY}", "--credentials", str(account.path), "--as-of", as_of,
         "--out", str(folder / f"drafts-{as_of}")],
        cwd=folder, env=subprocess_env(HOME=os.environ["HOME"], **passed, **env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_request(fake: FakeSheets, kind: str, count: int = 1) -> None:
    deadline = time.monotonic() + 30
    while fake.count(kind) < count:
        assert time.monotonic() < deadline, f"no {kind} request came"
        time.sleep(0.01)


def test_two_syncs_of_one_sheet_never_interleave(
    cli_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path
) -> None:
    """Issue 11: the first sync's read hangs 2.5 s; a second sync (another as-of) starts meanwhile.  Without a
    lock it would read History before the first wrote its row and drop it; with the local lock it waits,
    and History keeps both rows."""
    cli_sheet.fail("batchGet", hang=2.5)  # long enough for the second process to start, whatever the load
    first = sync_process(account, tmp_path, AS_OF)
    wait_for_request(cli_sheet, "batchGet")  # the first run is inside its read (and holds the lock)
    second = sync_process(account, tmp_path, "2026-11-28")
    for proc in (first, second):
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert [row[0] for row in cli_sheet.sheet(KEY, "History").values()[1:]] == [46353, 46354]
    kinds = [entry.kind for entry in cli_sheet.log if entry.kind != "token"]
    assert kinds == ["metadata", "batchGet", "batchUpdate"] * 2  # one run after the other, never mixed
    lock_folder = Path(os.environ["HOME"]) / ".cache" / "sheetsync" / "locks"
    assert stat.S_IMODE(lock_folder.stat().st_mode) == 0o700
    assert os.listdir(lock_folder) == []  # each run removed its lock file on the way out


def test_a_sync_that_waits_too_long_for_the_lock_says_who_holds_it(
    cli_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path
) -> None:
    """The second sync gives up after SHEETSYNC_LOCK_WAIT seconds: exit 4, the holder's pid and the sheet named,
    no request sent; the first finishes normally."""
    cli_sheet.fail("batchGet", hang=2)
    first = sync_process(account, tmp_path, AS_OF)
    wait_for_request(cli_sheet, "batchGet")
    requests_before = len(cli_sheet.log)
    second = sync_process(account, tmp_path, "2026-11-28", SHEETSYNC_LOCK_WAIT="0.3")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 4, err
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"Error: another sheetsync run (pid {first.pid} on {socket.gethostname()} since ")
    assert err.endswith(f"is working on the Google Sheet gsheet:{KEY} — wait for it to finish and run again\n")
    assert len(cli_sheet.log) == requests_before  # the waiting run asked Google for nothing
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert [row[0] for row in cli_sheet.sheet(KEY, "History").values()[1:]] == [46353]
