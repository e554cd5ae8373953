"""The Summary and Checks in a Google Sheet (issue 15): formats, frozen rows, merges, links, filter and charts.

Runs go through the real CLI to the fake Sheets API over real HTTP; the fake
checks every request field by field against the API reference and refuses
what Google refuses, so what passes here is what Google would accept. Every
run stays within reference 7.3's budget: two reads and one write.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_sheets import FakeSheets, ServiceAccount
from test_gsheets import AS_OF, CLI_ROWS, KEY, QUOTAS, cli_sheet, sheetsync
from test_gsheets_charts import KEY as CHARTS_KEY
from test_gsheets_charts import Api

from sheetsync.grid import CHART_MARK, Cell, Grid, Link, Look
from sheetsync.sources.gsheets_format import cell_data, link_address

__all__ = ["cli_sheet"]  # the fixture, shared with test_gsheets

D = dt.date
# Two rows with findings: a stage typo (Pipeline!E6) and a deal with no expected close date (Pipeline!H7).
PROBLEM_ROWS = [
    ["Epsilon", "Eve", "eve@eps.test", "Malee", "Negociation", "yes", 10_000, D(2026, 12, 1), D(2026, 11, 26),
     D(2026, 12, 2), None, None, D(2026, 11, 1)],
    ["Zeta", "Zoe", "zoe@zeta.test", "Somchai", "Demo", "yes", 20_000, None, D(2026, 11, 26),
     D(2026, 12, 2), None, None, D(2026, 11, 1)],
]  # fmt: skip


@pytest.fixture
def findings_sheet(sheets: FakeSheets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSheets:
    """The CLI pipeline with two rows that have findings; the CLI run from an empty folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    sheets.add_spreadsheet(KEY, {"Pipeline": [*CLI_ROWS, *PROBLEM_ROWS], "Quotas": QUOTAS})
    return sheets


def sync(account: ServiceAccount, tmp_path: Path, as_of: str = AS_OF) -> Any:
    result = sheetsync(
        "sync", f"gsheet:{KEY}", "--credentials", str(account.path), "--as-of", as_of,
        "--out", str(tmp_path / "drafts"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result


def fmt(fake: FakeSheets, tab: str, row: int, col: int) -> dict[str, Any]:
    return dict(fake.sheet(KEY, tab).cells.get((row, col), {}).get("userEnteredFormat", {}))


def test_one_write_lays_out_the_summary_with_its_charts(
    cli_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path
) -> None:
    """Issue 15: frozen title band, hidden gridlines, merges, ฿ formats, fills, widths, heights, four charts."""
    sync(account, tmp_path)
    assert cli_sheet.counts == {"token": 1, "metadata": 1, "batchGet": 1, "batchUpdate": 1}
    summary = cli_sheet.sheet(KEY, "Summary")
    assert summary.frozen_rows == 1 and summary.hide_gridlines
    band = next(m for m in summary.merges if (m["startRowIndex"], m["startColumnIndex"]) == (0, 0))
    assert band["endRowIndex"] == 1 and band["endColumnIndex"] > 11
    assert fmt(cli_sheet, "Summary", 0, 0)["backgroundColorStyle"] == {
        "rgbColor": {"red": 0.1216, "green": 0.2196, "blue": 0.3922}
    }
    assert summary.value(5, 0) == "Quota" and fmt(cli_sheet, "Summary", 5, 1)["numberFormat"] == {
        "type": "NUMBER",
        "pattern": "฿#,##0",
    }
    assert fmt(cli_sheet, "Summary", 9, 1)["numberFormat"] == {"type": "PERCENT", "pattern": "0.0%"}
    assert fmt(cli_sheet, "Summary", 2, 1)["borders"]["left"]["style"] == "SOLID"
    assert summary.heights[0] == 40 and summary.widths[11] == 24  # the title row, the gap before the charts
    charts = cli_sheet.charts(KEY, "Summary")
    assert sorted(c["spec"]["altText"] for c in charts) == sorted(
        CHART_MARK + key for key in ("stage-funnel", "owners", "history-trend", "forecast")
    )
    assert all(c["position"]["overlayPosition"]["anchorCell"]["columnIndex"] == 12 for c in charts)


def test_checks_links_go_to_the_pipeline_cells_and_the_header_filters(
    findings_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path
) -> None:
    """Each Cell links to #gid=<the Pipeline's id>&range=<cell>; the header is frozen and filtered; tints."""
    result = sheetsync("sync", f"gsheet:{KEY}", "--credentials", str(account.path), "--as-of", AS_OF,
                       "--out", str(tmp_path / "drafts"))  # fmt: skip
    assert result.exit_code == 1, result.stderr  # the two rows' errors
    checks = findings_sheet.sheet(KEY, "Checks")
    pipeline_id = findings_sheet.sheet(KEY, "Pipeline").sheet_id
    rows = checks.values()
    assert rows[1] == ["Cell", "Row", "Prospect", "Owner", "Rule", "Severity", "Message"]
    assert [(row[0], row[3], row[4]) for row in rows[2:]] == [
        ("Pipeline!E6", "Malee", "unknown-stage"),
        ("Pipeline!H7", "Somchai", "timeline-known"),
    ]
    for r, row in enumerate(rows[2:], 2):
        ref = str(row[0]).partition("!")[2]
        link = fmt(findings_sheet, "Checks", r, 0)["textFormat"]["link"]
        assert link == {"uri": f"#gid={pipeline_id}&range={ref}"}
    assert checks.frozen_rows == 2
    assert checks.basic_filter == {
        "range": {
            "sheetId": checks.sheet_id,
            "startRowIndex": 1,
            "endRowIndex": len(rows),
            "startColumnIndex": 0,
            "endColumnIndex": 7,
        }
    }
    severity = {row[5]: fmt(findings_sheet, "Checks", r, 5) for r, row in enumerate(rows[2:], 2)}
    assert set(severity) <= {"error", "warning"} and all("backgroundColorStyle" in f for f in severity.values())


def test_a_rerun_updates_the_charts_in_place_and_merges_again(
    cli_sheet: FakeSheets, account: ServiceAccount, tmp_path: Path
) -> None:
    """The next run unmerges and merges again, moves and updates the same charts; still one write per run."""
    sync(account, tmp_path)
    first = {c["chartId"]: c["spec"]["altText"] for c in cli_sheet.charts(KEY, "Summary")}
    merges = cli_sheet.sheet(KEY, "Summary").merges
    sync(account, tmp_path, "2026-11-28")
    assert {c["chartId"]: c["spec"]["altText"] for c in cli_sheet.charts(KEY, "Summary")} == first
    assert cli_sheet.sheet(KEY, "Summary").merges == merges
    assert cli_sheet.count("batchUpdate") == 2 and cli_sheet.count("metadata", "batchGet") == 4
    kinds = [next(iter(r)) for r in json.loads(cli_sheet.requests("batchUpdate")[-1].body)["requests"]]
    assert (
        kinds.count("updateChartSpec") == 4 and "addChart" not in kinds and kinds.count("unmergeCells") == 2
    )  # Summary, Checks
    trend = next(c for c in cli_sheet.charts(KEY, "Summary") if c["spec"]["altText"].endswith("history-trend"))
    domain = trend["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"][0]
    assert domain["endRowIndex"] - domain["startRowIndex"] == 3  # the header and two as-of dates


def test_a_link_to_a_tab_google_has_not_is_left_out() -> None:
    """Links name our own tab ids: a cell whose tab isn't in the spreadsheet is plain text, never a guess."""
    links = link_address({"pipeline": 0, "quotas": 1111})
    cell = Cell("Quotas!B3", look=Look(underline=True), link=Link("Quotas", "B3"))
    assert cell_data(cell, links)["userEnteredFormat"]["textFormat"] == {
        "underline": True,
        "link": {"uri": "#gid=1111&range=B3"},
    }
    assert "link" not in cell_data(Cell("Gone!A1", link=Link("Gone", "A1")), links).get("userEnteredFormat", {})


# --------------------------------------------------------------------------------------------------
# The fake refuses what Google refuses


@pytest.fixture
def api(sheets: FakeSheets, account: ServiceAccount) -> Iterator[Api]:
    sheets.add_spreadsheet(CHARTS_KEY, {"Pipeline": [["Prospect"]], "Summary": [["x"]]}, merges={"Summary": ["A1:C1"]})
    client = Api(sheets, account)
    yield client
    client.session.close()


SUMMARY = 1111


def _cells(user_format: dict[str, Any]) -> dict[str, Any]:
    rows = [{"values": [{"userEnteredValue": {"stringValue": "x"}, "userEnteredFormat": user_format}]}]
    return {
        "updateCells": {"range": {"sheetId": SUMMARY}, "rows": rows, "fields": "userEnteredValue,userEnteredFormat"}
    }


def _grid(**cells: int) -> dict[str, int]:
    return {
        "sheetId": SUMMARY,
        "startRowIndex": 0,
        "endRowIndex": 1,
        "startColumnIndex": 0,
        "endColumnIndex": 2,
    } | cells


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (_cells({"backgroundColour": {}}), 'Unknown name "backgroundColour"'),
        (_cells({"horizontalAlignment": "MIDDLE"}), "horizontalAlignment"),
        (_cells({"wrapStrategy": "WRAP_TEXT"}), "wrapStrategy"),
        (_cells({"numberFormat": {"type": "MONEY", "pattern": "#"}}), "numberFormat.type"),
        (_cells({"borders": {"top": {"style": "THIN"}}}), "borders.top.style"),
        (_cells({"textFormat": {"link": {"url": "#gid=0"}}}), 'Unknown name "url"'),
        (_cells({"textFormat": {"fontSize": 10.5}}), "font_size"),
        (_cells({"backgroundColorStyle": {"rgbColor": {"red": 255}}}), "rgbColor.red"),
        ({"mergeCells": {"range": _grid(), "mergeType": "MERGE_ALL"}}, "already merged"),
        ({"mergeCells": {"range": _grid(startRowIndex=5, endRowIndex=6), "mergeType": "ALL"}}, "mergeType"),
        ({"unmergeCells": {"range": _grid(endColumnIndex=2, startColumnIndex=1)}}, "all cells in a merged range"),
        (
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": SUMMARY, "gridProperties": {"frozenRowCount": 1, "frozenRows": 1}},
                    "fields": "gridProperties.frozenRowCount",
                }
            },
            'Unknown name "frozenRows"',
        ),
        ({"setBasicFilter": {"filter": {"range": _grid(endColumnIndex=27)}}}, "exceeds grid limits"),
        (
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": SUMMARY, "dimension": "ROWS", "startIndex": 0, "endIndex": 1},
                    "properties": {"pixelSize": 30.5},
                    "fields": "pixelSize",
                }
            },
            "pixel_size",
        ),
    ],
)
def test_the_fake_refuses_malformed_layout_requests(
    api: Api, sheets: FakeSheets, request_: dict[str, Any], message: str
) -> None:
    """Unknown fields, bad enums and ranges are 400s as Google makes them, and nothing is applied."""
    before = sheets.snapshot(CHARTS_KEY)
    status, body = api.batch_update([request_])
    assert status == 400, body
    assert message in body["error"]["message"]
    assert sheets.snapshot(CHARTS_KEY) == before


def test_the_fake_refuses_to_freeze_part_of_a_merge(api: Api, sheets: FakeSheets) -> None:
    """Google won't freeze a row boundary that cuts through a merged range."""
    merge = {"mergeCells": {"range": _grid(startRowIndex=2, endRowIndex=4), "mergeType": "MERGE_ALL"}}
    freeze = {
        "updateSheetProperties": {
            "properties": {"sheetId": SUMMARY, "gridProperties": {"frozenRowCount": 3}},
            "fields": "gridProperties.frozenRowCount",
        }
    }
    status, body = api.batch_update([merge, freeze])
    assert status == 400 and "part of a merged cell" in body["error"]["message"]


def test_a_grid_with_every_look_is_accepted(sheets: FakeSheets, account: ServiceAccount) -> None:
    """Every part of a Look goes to Google in a shape the fake (and so the API) accepts."""
    from test_gsheets import open_book

    sheets.add_spreadsheet(KEY, {"Pipeline": [["Prospect"]]})
    book = open_book(account, ["Pipeline"])
    every = Look(fill="#FFC7CE", color="#9C0006", size=14, italic=True, underline=True, align="center",
                 valign="center", wrap=True, border="bottom")  # fmt: skip
    book.write([Grid("Summary", [[Cell("x", "0.0%", bold=True, look=every, link=Link("Pipeline", "B2"))]])])
    stored = sheets.sheet(KEY, "Summary").cells[(0, 0)]["userEnteredFormat"]
    assert stored["textFormat"]["fontSize"] == 14 and stored["verticalAlignment"] == "MIDDLE"
    assert set(stored["borders"]) == {"bottom"} and stored["wrapStrategy"] == "WRAP"
    assert stored["textFormat"]["link"] == {"uri": "#gid=0&range=B2"}
