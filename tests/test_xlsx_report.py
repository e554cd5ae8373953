"""The Summary and Checks tabs as the Excel writer makes them (issue 15): looks, print setup, links, charts.

The sample workbook is synced through the real CLI; the result is read back
with openpyxl (an independent reader) and opened in LibreOffice, which must
load the three charts over the Summary's own ranges, keep the Checks links and
the filter. Reruns replace sheetsync's drawing and charts and leave the
package whole; a drawing of the user's own is never touched.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import shutil
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from chart_workbooks import summary_grid as chart_grid
from click.testing import Result
from conftest import AS_OF, SAMPLE
from libreoffice import convert
from python_calamine import CalamineWorkbook
from test_charts import chart_summary
from xlsxpkg_workbooks import parts, rebuild, rich_workbook, style_problems

from sheetsync.model.values import col_index
from sheetsync.sources.ooxml.charts import is_sheetsync_drawing
from sheetsync.sources.ooxml.write import fingerprint, write_tabs

PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
STAGES = ["Lead", "Qualified", "Appointment", "Demo", "Proposal", "Negotiation", "Won"]


@pytest.fixture
def synced(tmp_path: Path, run_cli: Callable[..., Result]) -> Path:
    """The sample workbook after one `sync` as of 2026-11-27."""
    folder = tmp_path / "book"
    folder.mkdir()
    path = Path(shutil.copy(SAMPLE, folder / "pipeline.xlsx"))
    result = run_cli("sync", str(path), "--as-of", AS_OF, "--out", str(tmp_path / "drafts"))
    assert result.exit_code == 1, result.stderr  # the sample's deliberate rule errors
    return path


def load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)


def rels_of(files: dict[str, bytes], part: str) -> dict[str, str]:
    """Relationship id → target part of ``part``'s internal relationships."""
    folder, name = posixpath.split(part)
    xml = files.get(posixpath.join(folder, "_rels", name + ".rels"))
    found = {}
    for rel in ET.fromstring(xml).iter(f"{PKG}Relationship") if xml else ():
        if rel.get("TargetMode") != "External":
            target = rel.get("Target", "")
            found[rel.get("Id", "")] = target[1:] if target.startswith("/") else posixpath.join(folder, target)
    return {rid: posixpath.normpath(target) for rid, target in found.items()}


def sheet_part(files: dict[str, bytes], title: str) -> str:
    book = ET.fromstring(files["xl/workbook.xml"])
    rid = next(s.get(REL_ID) for s in book.iter(f"{MAIN}sheet") if s.get("name") == title)
    return rels_of(files, "xl/workbook.xml")[rid or ""]


def summary_charts(path: Path) -> list[bytes]:
    """The chart parts of the Summary's drawing, in the drawing's order, found through relationships."""
    files = parts(path)
    sheet = sheet_part(files, "Summary")
    (drawing,) = [t for t in rels_of(files, sheet).values() if "/drawings/" in t]
    charts = rels_of(files, drawing)
    order = re.findall(rb'<c:chart\b[^>]*?r:id="([^"]+)"', files[drawing])
    return [files[charts[rid.decode()]] for rid in order]


def package_problems(path: Path) -> list[str]:
    """What would make a package inconsistent: content types for missing parts, parts without one,
    relationships to missing parts, drawings and charts nothing reaches."""
    files = parts(path)
    types = ET.fromstring(files["[Content_Types].xml"])
    overrides = [o.get("PartName", "").lstrip("/") for o in types.iter(f"{CT}Override")]
    defaults = {d.get("Extension", "").lower() for d in types.iter(f"{CT}Default")}
    problems = [f"override for missing {name}" for name in overrides if name not in files]
    problems += [f"{name} listed twice" for name in set(overrides) if overrides.count(name) > 1]
    for name in files:
        if name != "[Content_Types].xml" and name not in overrides and name.rsplit(".", 1)[-1].lower() not in defaults:
            problems.append(f"no content type for {name}")
    reached = {"xl/workbook.xml"}
    for name in [n for n in files if n.endswith(".rels")]:
        folder = posixpath.dirname(posixpath.dirname(name))
        source = posixpath.join(folder, posixpath.basename(name).removesuffix(".rels"))
        if source not in files and name != "_rels/.rels":
            problems.append(f"{name} belongs to no part")
        for target in rels_of(files, source if name != "_rels/.rels" else "").values():
            reached.add(target)
            if target not in files:
                problems.append(f"{name} names missing {target}")
    problems += [
        f"nothing reaches {n}" for n in files if n.startswith(("xl/charts/", "xl/drawings/d")) and n not in reached
    ]
    return problems


def cell_values(path: Path, title: str) -> list[list[Any]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(title).to_python()


def resolve(values: list[list[Any]], formula: str) -> list[Any]:
    """The values a chart formula such as ``Summary!$D$3:$D$9`` names, read from the tab's rows."""
    match = re.fullmatch(r"'?(.+?)'?!\$([A-Z]+)\$(\d+)(?::\$([A-Z]+)\$(\d+))?", formula)
    assert match, formula
    _tab, c1, r1, c2, r2 = match.groups()
    first_col, last_col = col_index(c1), col_index(c2 or c1)
    first_row, last_row = int(r1) - 1, int(r2 or r1) - 1
    return [values[r][c] for r in range(first_row, last_row + 1) for c in range(first_col, last_col + 1)]


# --------------------------------------------------------------------------------------------------
# Looks and print setup


def test_summary_is_styled_and_prints_landscape_one_page_wide(synced: Path) -> None:
    """Issue 15: title band, header fills, borders, ฿ amounts, frozen title, no gridlines, landscape fit to width."""
    ws = load(synced)["Summary"]
    assert str(ws["A1"].value).startswith("Generated by sheetsync — as of 2026-11-27")
    assert ws["A1"].fill.fgColor.rgb == "FF1F3864" and ws["A1"].font.color.rgb == "FFFFFFFF" and ws["A1"].font.b
    assert any(str(m).startswith("A1:") for m in ws.merged_cells.ranges)
    assert ws.freeze_panes == "A2" and ws.sheet_view.showGridLines is False
    assert ws.page_setup.orientation == "landscape"
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert [ws[f"A{r}"].value for r in (3, 6, 7)] == ["As of", "Quota", "Won this period"]
    assert ws["B3"].value == dt.datetime(2026, 11, 27) and ws["B3"].number_format == "yyyy-mm-dd"
    assert ws["B6"].value == 3_000_000 and ws["B6"].number_format == "฿#,##0"
    assert ws["B10"].number_format == "0.0%" and ws["B11"].number_format == '0.0"×"'
    assert ws["B6"].border.left.style == "thin" and ws["D2"].fill.fgColor.rgb == "FFDDEBF7"
    assert ws["A7"].font.b and ws["A7"].fill.fgColor.rgb == "FFE2F0D9"  # Won this period, tinted as in the charts
    assert style_problems(synced) == []


def test_checks_tab_links_each_cell_and_filters_its_header(synced: Path) -> None:
    """Issue 15: Owner column, internal links (no relationship), an autofilter Excel and LibreOffice know, tints."""
    files = parts(synced)
    ws = load(synced)["Checks"]
    assert [c.value for c in ws[2]] == ["Cell", "Row", "Prospect", "Owner", "Rule", "Severity", "Message"]
    assert [ws["A3"].value, ws["D3"].value, ws["E3"].value] == ["Pipeline!K8", "David", "stale"]
    link = ws["A3"].hyperlink
    assert link.location == "'Pipeline'!K8" and link.target is None
    assert ws["A3"].font.u == "single"
    assert ws.auto_filter.ref == "A2:G11" and ws.freeze_panes == "A3"
    severities = {ws[f"F{r}"].value: ws[f"F{r}"].fill.fgColor.rgb for r in range(3, 12)}
    assert severities == {"warning": "FFFFEB9C", "error": "FFFFC7CE"}
    checks = sheet_part(files, "Checks")
    assert posixpath.join(posixpath.dirname(checks), "_rels", posixpath.basename(checks) + ".rels") not in files
    names = re.findall(
        r'<definedName name="_xlnm._FilterDatabase" localSheetId="(\d)" hidden="1">([^<]+)<',
        str(files["xl/workbook.xml"], "utf-8"),
    )
    assert names == [("3", "'Checks'!$A$2:$G$11")]


# --------------------------------------------------------------------------------------------------
# LibreOffice reads it back


def test_libreoffice_reads_the_synced_charts_and_links_back(synced: Path, tmp_path: Path) -> None:
    """Issue 15: LibreOffice loads the four charts of a synced workbook over the Summary's own ranges.

    Each chart's formulas are resolved against the Summary as LibreOffice
    saved it: the funnel's categories are the stages Lead … Won, its series
    Amount and Weighted; the owners', the owners; the trend's, the as-of
    dates; the forecast's, the six months against their target. The Checks links and filter come back too.
    """
    (converted,) = convert([synced], tmp_path / "lo", tmp_path / "profile")
    summary = cell_values(converted, "Summary")
    found = [chart_summary(xml) for xml in summary_charts(converted)]
    assert [(c["kind"], c["direction"], c["grouping"], c["title"]) for c in found] == [
        ("barChart", "bar", "clustered", "Pipeline by stage"),
        ("barChart", "col", "stacked", "Owners: won, expected and to generate"),
        ("lineChart", None, "standard", "Trend this period"),
        ("barChart", "col", "clustered", "Forecast against target"),
    ]

    def series(chart: dict[str, Any]) -> list[tuple[Any, list[Any], list[Any]]]:
        formulas = chart["formulas"]
        return [
            (resolve(summary, name)[0], resolve(summary, categories), resolve(summary, values))
            for name, categories, values in zip(formulas[::3], formulas[1::3], formulas[2::3], strict=True)
        ]

    funnel, owners, trend, forecast = (series(c) for c in found)
    assert [(name, categories) for name, categories, _ in funnel] == [("Amount", STAGES), ("Weighted", STAGES)]
    assert funnel[0][2][-1] == 1_110_000 and funnel[1][2][3] == 513_000  # Won amount, Demo weighted
    assert [name for name, _, _ in owners] == ["Won this period", "Expected", "To generate"]
    assert owners[0][1] == ["David", "Nattaya", "Somchai"] and owners[0][2] == [130_000, 45_000, 470_000]
    assert [name for name, _, _ in trend] == ["Won", "Expected", "To generate"]
    assert trend[0][1] == [dt.date(2026, 11, 27)] and [s[2] for s in trend] == [[645_000], [2_252_500], [102_500]]
    months = ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"]  # docs/figures.md's worked strip
    assert [(name, categories) for name, categories, _ in forecast] == [("Expected", months), ("Target", months)]
    assert forecast[0][2] == [378_000, 1_874_500, 133_000, 11_000, 0, 0] and forecast[1][2] == [1_000_000] * 6
    assert found[0]["values"][0] == [float(v) for v in funnel[0][2]]  # the cached values match the cells

    files = parts(converted)
    drawing = next(t for t in rels_of(files, sheet_part(files, "Summary")).values() if "/drawings/" in t)
    assert is_sheetsync_drawing(files[drawing])  # LibreOffice keeps the names: the next run knows them
    checks = files[sheet_part(files, "Checks")].decode()
    assert '<hyperlink ref="A3" location="&apos;Pipeline&apos;!K8"' in checks
    assert '<autoFilter ref="A2:G11"' in checks


# --------------------------------------------------------------------------------------------------
# Reruns


def test_a_rerun_replaces_our_charts_and_keeps_the_package_whole(
    synced: Path, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """The next run drops the previous drawing and charts and adds new ones under the same names: no leftovers."""
    first = parts(synced)
    result = run_cli("summary", str(synced), "--as-of", "2026-12-04")
    assert result.exit_code == 1, result.stderr
    second = parts(synced)
    assert sorted(second) == sorted(first)
    assert package_problems(synced) == []
    charts = [chart_summary(xml) for xml in summary_charts(synced)]
    assert [c["title"] for c in charts] == ["Pipeline by stage", "Owners: won, expected and to generate",
                                            "Trend this period", "Forecast against target"]  # fmt: skip
    assert charts[2]["values"][0] == [645_000.0, 645_000.0]  # two as-of dates in the trend now
    assert [n for n in second if n.startswith("xl/charts/")] == [f"xl/charts/chart{i}.xml" for i in range(1, 5)]


def test_a_workbook_libreoffice_saved_is_synced_again_cleanly(
    synced: Path, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """After a save in LibreOffice (its own drawing and chart parts, our names kept) a sync replaces them all."""
    (saved,) = convert([synced], tmp_path / "lo", tmp_path / "profile")
    result = run_cli("summary", str(saved), "--as-of", AS_OF)
    assert result.exit_code == 1, result.stderr
    assert package_problems(saved) == []
    assert len(summary_charts(saved)) == 4
    files = parts(saved)
    assert len([n for n in files if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]) == 4


def test_parts_only_our_charts_reach_go_with_them_and_shared_ones_stay(synced: Path, tmp_path: Path) -> None:
    """Excel adds style and colour parts to a chart it saves: they go with our chart. A part a user's sheet
    also links to stays."""
    files = parts(synced)
    chart = "xl/charts/chart1.xml"
    style_rel = "http://schemas.microsoft.com/office/2011/relationships/chartStyle"
    image_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
    chart_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG[1:-1]}">'
        f'<Relationship Id="rId1" Type="{style_rel}" Target="style1.xml"/>'
        f'<Relationship Id="rId2" Type="{image_rel}" Target="../media/shared.png"/></Relationships>'
    )
    pipeline = sheet_part(files, "Pipeline")
    pipeline_rels = posixpath.join(posixpath.dirname(pipeline), "_rels", posixpath.basename(pipeline) + ".rels")
    user_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG[1:-1]}">'
        f'<Relationship Id="rId9" Type="{image_rel}" Target="../media/shared.png"/></Relationships>'
    )
    types = files["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/charts/style1.xml" ContentType="application/vnd.ms-office.chartstyle+xml"/>'
        b'<Default Extension="png" ContentType="image/png"/></Types>',
    )
    assert pipeline_rels not in files  # the sample's Pipeline links to nothing: the test's relationship is the only one
    edited = rebuild(
        synced,
        tmp_path / "excel-saved.xlsx",
        edit={
            "xl/charts/_rels/chart1.xml.rels": chart_rels.encode(),
            "xl/charts/style1.xml": b'<cs:chartStyle xmlns:cs="http://schemas.microsoft.com/office/drawing/2012/chartStyle"/>',
            "xl/media/shared.png": b"\x89PNG\r\n\x1a\n",
            pipeline_rels: user_rels.encode(),
            "[Content_Types].xml": types,
        },
    )
    assert chart in parts(edited)
    write_tabs(edited, [chart_grid("Summary")], expected=fingerprint(edited))
    after = parts(edited)
    assert "xl/charts/style1.xml" not in after and "xl/charts/_rels/chart1.xml.rels" not in after
    assert after["xl/media/shared.png"] == b"\x89PNG\r\n\x1a\n" and after[pipeline_rels] == user_rels.encode()
    assert b"style1.xml" not in after["[Content_Types].xml"]
    assert package_problems(edited) == []


def test_a_drawing_of_the_users_own_on_summary_is_kept_and_says_why_no_charts(tmp_path: Path) -> None:
    """A sheet holds one drawing: when the user's chart is on our Summary it stays, and the run says so."""
    path = rich_workbook(tmp_path / "book.xlsx", summary_tab="Summary", chart_on_summary=True)
    before = parts(path)
    warnings_ = write_tabs(path, [chart_grid("Summary")], expected=fingerprint(path))
    after = parts(path)
    assert any("drawing of your own" in w and "'Summary'" in w for w in warnings_)
    assert after["xl/drawings/drawing2.xml"] == before["xl/drawings/drawing2.xml"]
    assert after["xl/worksheets/_rels/sheet2.xml.rels"] == before["xl/worksheets/_rels/sheet2.xml.rels"]
    assert sorted(n for n in after if n.startswith("xl/charts/")) == sorted(
        n for n in before if n.startswith("xl/charts/")
    )
    assert package_problems(path) == []
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
