"""The Excel package writer (reference 7.2) and the run lock, on real files made by the tests.

Workbooks come from XlsxWriter with charts, images, comments, validation,
conditional formats, sparklines, tables, defined names and macros
(tests/xlsxpkg_workbooks.py); results are read back with openpyxl,
python-calamine and LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from libreoffice import convert
from python_calamine import CalamineWorkbook
from xlsxpkg_workbooks import (
    calc_chain_workbook,
    parts,
    prefixed_workbook,
    rebuild,
    rich_workbook,
    zip64_records,
)

from sheetsync.errors import ConfigError, SourceError, WriteRefused
from sheetsync.grid import FMT_DATE, FMT_PERCENT, MARKER, Cell, Grid, amount_format
from sheetsync.locking import lock_path, run_lock
from sheetsync.sources.ooxml.write import Fingerprint, fingerprint, write_tabs

AS_OF = dt.date(2026, 11, 27)
THB = amount_format("THB")
BOOKKEEPING = {
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "[Content_Types].xml",
    "xl/styles.xml",
    "docProps/app.xml",
}
VT = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
FORMULA_LOOKING = ["=SUM(A1:A3)", "+66 81 234 5678", "-5", "@risk"]


def sample_grids(as_of: dt.date = AS_OF, findings: int = 3) -> list[Grid]:
    """Summary, Checks and History grids shaped like the ones tabs.py builds."""
    summary = Grid(
        "Summary",
        [
            [Cell(f"{MARKER} {as_of.isoformat()}", bold=True)],
            [Cell("As of", bold=True), as_of],
            ["Quota", Cell(3_000_000, THB)],
            ["Won this period", Cell(Decimal("1250000.50"), THB)],
            ["Attainment", Cell(0.4167, FMT_PERCENT)],
            ["Open deals", 42],
            ["Velocity per day", None],
            ["Appointment", dt.datetime(2026, 11, 28, 14, 30)],
            ["Flag", True],
            *[["Looks like a formula", text] for text in FORMULA_LOOKING],
        ],
        widths=[24, 20],
    )
    header = ["Cell", "Row", "Prospect", "Rule", "Severity", "Message"]
    checks = Grid(
        "Checks",
        [
            [Cell(f"{MARKER} {as_of.isoformat()}", bold=True)],
            [Cell(h, bold=True) for h in header],
            *[
                [f"Pipeline!F{n}", n, f"Company {n}", "decision-maker", "error", "confirm the decision maker"]
                for n in range(2, 2 + findings)
            ],
        ],
        widths=[14, 6, 24, 16, 10, 60],
    )
    history = Grid(
        "History",
        [
            [Cell(h, bold=True) for h in ("As of", "Period start", "Open deals", "Open pipeline")],
            [Cell(as_of, FMT_DATE), Cell(dt.date(2026, 10, 1), FMT_DATE), 42, Cell(5_400_000, THB)],
        ],
    )
    return [summary, checks, history]


def sheet_list(path: Path) -> list[tuple[str, str, str]]:
    """(name, sheetId, r:id) of every <sheet> in workbook order, whatever the prefix."""
    text = parts(path)["xl/workbook.xml"].decode()
    return re.findall(r'<(?:x:)?sheet name="([^"]*)" sheetId="(\d+)" r:id="(\w+)"', text)


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → its part name, through the workbook relationships."""
    with zipfile.ZipFile(path) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'Id="(\w+)"[^>]*Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(\w+)"', rels)})
    return {name: "xl/" + targets[rid].lstrip("/").removeprefix("xl/") for name, _, rid in sheet_list(path)}


def load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about the extensions it doesn't model
        return openpyxl.load_workbook(path)


def assert_untouched_except(before: dict[str, bytes], after: dict[str, bytes], allowed: set[str]) -> None:
    changed = sorted(n for n in before if n not in allowed and before[n] != after.get(n))
    assert changed == [], f"parts changed or lost: {changed}"


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    return rich_workbook(tmp_path / "pipeline.xlsx")


# --------------------------------------------------------------------------------------------------
# Everything else survives


def test_every_other_part_is_byte_identical(rich: Path) -> None:
    """Charts, images, comments, validation, data bars, sparklines, tables, names: not one byte moves."""
    before = parts(rich)
    write_tabs(rich, sample_grids(), expected=fingerprint(rich))
    after = parts(rich)
    assert_untouched_except(before, after, BOOKKEEPING)
    added = sorted(set(after) - set(before))
    assert added == ["xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml", "xl/worksheets/sheet5.xml"]
    assert b"sharedStrings" not in b"".join(after[n] for n in added)
    with zipfile.ZipFile(rich) as zf:
        assert zf.testzip() is None


def test_unchanged_members_are_copied_without_recompression(rich: Path) -> None:
    """Untouched members keep their compressed bytes and directory records (timestamps, flags) exactly."""

    def raw(path: Path) -> dict[str, tuple[bytes, tuple[Any, ...]]]:
        data = path.read_bytes()
        out = {}
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
                record = (info.date_time, info.flag_bits, info.compress_type, info.external_attr, info.CRC)
                out[info.filename] = (data[start : start + info.compress_size], record)
        return out

    before = raw(rich)
    write_tabs(rich, sample_grids(), expected=None)
    after = raw(rich)
    for name in set(before) - BOOKKEEPING:
        assert after[name] == before[name], name


def test_new_tabs_read_back_in_openpyxl(rich: Path) -> None:
    """Text stays text, numbers are numbers, dates are dates, formats and bold headers are there."""
    write_tabs(rich, sample_grids(), expected=None)
    wb = load(rich)
    ws = wb["Summary"]
    assert ws["A1"].value == f"{MARKER} 2026-11-27" and ws["A1"].font.b
    assert ws["B2"].value == dt.datetime(2026, 11, 27) and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["B3"].value == 3_000_000 and ws["B3"].data_type == "n"
    assert ws["B3"].number_format == THB
    assert ws["B4"].value == 1250000.5 and ws["B4"].number_format == THB
    assert ws["B5"].value == pytest.approx(0.4167) and ws["B5"].number_format == "0.0%"
    assert ws["B6"].value == 42 and not ws["B6"].font.b
    assert ws["B7"].value is None
    assert ws["B8"].value == dt.datetime(2026, 11, 28, 14, 30)
    assert ws["B9"].value is True
    for row, text in enumerate(FORMULA_LOOKING, start=10):
        assert ws.cell(row, 2).value == text and ws.cell(row, 2).data_type == "s"
    assert ws.column_dimensions["A"].width == 24
    checks = wb["Checks"]
    assert [c.value for c in checks[2]] == ["Cell", "Row", "Prospect", "Rule", "Severity", "Message"]
    assert all(c.font.b for c in checks[2])
    assert [c.value for c in checks[3]][:2] == ["Pipeline!F2", 2]
    assert wb["History"]["A2"].value == dt.datetime(2026, 11, 27)


def test_new_tabs_read_back_in_calamine(rich: Path) -> None:
    """The reader sheetsync itself uses sees the same values and types."""
    write_tabs(rich, sample_grids(), expected=None)
    book = CalamineWorkbook.from_path(str(rich))
    rows = book.get_sheet_by_name("Summary").to_python()
    values = {row[0]: row[1] for row in rows[1:]}
    assert rows[0][0] == f"{MARKER} 2026-11-27"
    assert values["As of"] == dt.date(2026, 11, 27)
    assert values["Quota"] == 3_000_000.0
    assert values["Won this period"] == 1250000.5
    assert values["Appointment"] == dt.datetime(2026, 11, 28, 14, 30)
    assert values["Flag"] is True
    assert [row[1] for row in rows[9:]] == FORMULA_LOOKING
    assert book.get_sheet_by_name("Checks").to_python()[3][:2] == ["Pipeline!F3", 3.0]
    assert book.get_sheet_by_name("Pipeline").to_python()[1][0] == "Company 1"


def test_new_tabs_come_last_and_defined_names_keep_their_sheets(rich: Path) -> None:
    """Appending keeps every localSheetId (print areas, sheet-scoped names) on the sheet it meant."""
    names_before = re.search(r"<definedNames>.*</definedNames>", parts(rich)["xl/workbook.xml"].decode())
    write_tabs(rich, sample_grids(), expected=None)
    assert [s[0] for s in sheet_list(rich)] == ["Pipeline", "Notes", "Summary", "Checks", "History"]
    assert [s[1] for s in sheet_list(rich)] == ["1", "2", "3", "4", "5"]
    names_after = re.search(r"<definedNames>.*</definedNames>", parts(rich)["xl/workbook.xml"].decode())
    assert names_before is not None and names_after is not None
    assert names_after.group(0) == names_before.group(0)
    wb = load(rich)
    assert wb["Pipeline"].print_area == "'Pipeline'!$A$1:$E$11"
    assert wb["Notes"].print_area == "'Notes'!$A$1:$B$5"
    assert "Local_Note" in wb["Notes"].defined_names
    assert not wb["Summary"].print_area


def test_app_properties_list_the_new_worksheets(rich: Path) -> None:
    """docProps/app.xml counts and names the worksheets, named ranges still after them."""
    write_tabs(rich, sample_grids(), expected=None)
    root = ET.fromstring(parts(rich)["docProps/app.xml"])
    pairs = [v[0].text for v in root.iter(f"{VT}variant")]
    titles = [t.text for t in root.find("{*}TitlesOfParts").iter(f"{VT}lpstr")]  # type: ignore[union-attr]
    counts = dict(zip(pairs[::2], (int(n or 0) for n in pairs[1::2]), strict=True))
    assert counts["Worksheets"] == 5
    assert titles[:5] == ["Pipeline", "Notes", "Summary", "Checks", "History"]
    assert titles[5:] == ["Notes!Local_Note", "Notes!Print_Area", "Pipeline!Print_Area", "Total_Budget"]
    vector = root.find("{*}TitlesOfParts/{*}vector")
    assert vector is not None and vector.get("size") == str(len(titles))


def test_second_write_replaces_instead_of_duplicating(rich: Path) -> None:
    """The next run swaps the sheet contents in place; styles it added are found and reused."""
    write_tabs(rich, sample_grids(), expected=None)
    first = parts(rich)
    sheets_first = sheet_list(rich)
    write_tabs(rich, sample_grids(as_of=dt.date(2026, 12, 4), findings=10), expected=fingerprint(rich))
    second = parts(rich)
    assert sheet_list(rich) == sheets_first
    assert sorted(second) == sorted(first)
    assert_untouched_except(
        first, second, {"xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml", "xl/worksheets/sheet5.xml"}
    )
    assert second["xl/styles.xml"] == first["xl/styles.xml"]
    assert load(rich)["Summary"]["A1"].value == f"{MARKER} 2026-12-04"
    assert load(rich)["Checks"].max_row == 12


def test_existing_tab_is_replaced_in_place(tmp_path: Path) -> None:
    """A `summary` tab (any case) keeps its name, position, sheetId, r:id and part; only its XML changes."""
    path = rich_workbook(tmp_path / "book.xlsx", summary_tab="summary")
    before_sheets = sheet_list(path)
    before_parts = sheet_parts(path)
    before = parts(path)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    after = parts(path)
    assert sheet_list(path)[:3] == before_sheets
    assert [s[0] for s in sheet_list(path)] == ["Pipeline", "summary", "Notes", "Checks", "History"]
    assert sheet_parts(path)["summary"] == before_parts["summary"] == "xl/worksheets/sheet2.xml"
    assert after["xl/worksheets/sheet2.xml"] != before["xl/worksheets/sheet2.xml"]
    assert_untouched_except(before, after, BOOKKEEPING | {"xl/worksheets/sheet2.xml"})
    assert load(path)["summary"]["B3"].value == 3_000_000
    assert load(path)["Notes"].print_area == "'Notes'!$A$1:$B$5"


def test_a_chart_the_user_put_on_our_tab_survives(tmp_path: Path) -> None:
    """Drawings anchored on a sheetsync tab stay linked when its cells are rewritten."""
    path = rich_workbook(tmp_path / "book.xlsx", summary_tab="Summary", chart_on_summary=True)
    before = parts(path)
    write_tabs(path, sample_grids(), expected=None)
    after = parts(path)
    sheet = after["xl/worksheets/sheet2.xml"].decode()
    assert re.search(r'<drawing r:id="rId\d+"/>', sheet)
    assert after["xl/worksheets/_rels/sheet2.xml.rels"] == before["xl/worksheets/_rels/sheet2.xml.rels"]
    assert after["xl/drawings/drawing2.xml"] == before["xl/drawings/drawing2.xml"]
    assert len(load(path)["Summary"]._charts) == 1


def test_macro_workbook_keeps_its_vba_project(tmp_path: Path) -> None:
    """An .xlsm's macro part and its macro-enabled content type come through untouched."""
    vba = bytes(range(256)) * 8
    path = rich_workbook(tmp_path / "macros.xlsm", vba=vba)
    before = parts(path)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    after = parts(path)
    assert after["xl/vbaProject.bin"] == vba
    assert_untouched_except(before, after, BOOKKEEPING)
    assert b"sheet.macroEnabled.main+xml" in after["[Content_Types].xml"]
    assert CalamineWorkbook.from_path(str(path)).sheet_names[-3:] == ["Summary", "Checks", "History"]


def test_workbook_with_x_prefixed_spreadsheetml(tmp_path: Path) -> None:
    """Edits keep the workbook's own `x:` prefix; no ns0: renaming, and readers still open it."""
    path = prefixed_workbook(tmp_path / "prefixed.xlsx", summary_tab="SUMMARY")
    before = parts(path)
    write_tabs(path, sample_grids(), expected=None)
    after = parts(path)
    assert_untouched_except(before, after, BOOKKEEPING | {"xl/worksheets/sheet2.xml"})
    workbook = after["xl/workbook.xml"].decode()
    assert '<x:sheet name="Checks" sheetId="4" r:id="rId' in workbook
    assert "ns0:" not in workbook and "ns0:" not in after["xl/styles.xml"].decode()
    assert re.search(r"<x:numFmt numFmtId=\"\d+\" formatCode=\"0.0%\"/>", after["xl/styles.xml"].decode())
    assert [s[0] for s in sheet_list(path)] == ["Pipeline", "SUMMARY", "Notes", "Checks", "History"]
    assert load(path)["SUMMARY"]["B5"].number_format == "0.0%"
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("History").to_python()[1][2] == 42.0


@pytest.mark.parametrize(
    ("chain_ids", "dropped"),
    [([1], False), ([1, 2], True)],
    ids=["chain-on-other-sheets-kept", "chain-on-replaced-tab-dropped"],
)
def test_calc_chain_dropped_only_when_it_names_a_replaced_tab(
    tmp_path: Path, chain_ids: list[int], dropped: bool
) -> None:
    """Excel rebuilds a missing calcChain; a stale one pointing into rewritten cells makes it repair the file."""
    path = calc_chain_workbook(tmp_path / "chain.xlsx", chain_sheet_ids=chain_ids)
    before = parts(path)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    after = parts(path)
    assert ("xl/calcChain.xml" not in after) is dropped
    rels = after["xl/_rels/workbook.xml.rels"].decode()
    types = after["[Content_Types].xml"].decode()
    assert ("calcChain" not in rels and "calcChain" not in types) is dropped
    assert after["xl/SharedStrings.xml"] == before["xl/SharedStrings.xml"]
    allowed = BOOKKEEPING | {"xl/worksheets/sheet2.xml", "xl/calcChain.xml"}
    assert_untouched_except(before, after, allowed)
    book = CalamineWorkbook.from_path(str(path))
    assert book.get_sheet_by_name("Pipeline").to_python()[2][0] == "Company 2"
    assert book.get_sheet_by_name("summary").to_python()[2][1] == 3_000_000.0


@pytest.mark.parametrize("layout", ["streamed", "zip64"])
def test_unusual_zip_layouts_are_copied_faithfully(tmp_path: Path, rich: Path, layout: str) -> None:
    """Members written with data descriptors or ZIP64 records (streaming writers) survive the raw copy."""
    path = tmp_path / f"{layout}.xlsx"
    if layout == "zip64":
        with zip64_records():
            rebuild(rich, path)
        assert b"PK\x06\x06" in path.read_bytes()
    else:
        rebuild(rich, path, streamed=True)
        with zipfile.ZipFile(path) as zf:
            assert all(info.flag_bits & 0x08 for info in zf.infolist())
    before = parts(path)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    assert_untouched_except(before, parts(path), BOOKKEEPING)
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Summary").to_python()[2][1] == 3_000_000.0


def test_minimal_package_without_styles_or_properties(tmp_path: Path) -> None:
    """Packages from minimal writers (no styles part, no docProps) get a styles part of their own."""
    path = tmp_path / "minimal.xlsx"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/main.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/data.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="a" Type="{rel}/officeDocument" Target="xl/main.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/main.xml",
            f'<workbook xmlns="{MAIN[1:-1]}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Pipeline" sheetId="7" r:id="s"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/main.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="s" Type="{rel}/worksheet" Target="data.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/data.xml",
            f'<worksheet xmlns="{MAIN[1:-1]}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Prospect</t>'
            "</is></c></row></sheetData></worksheet>",
        )
    before = parts(path)
    write_tabs(path, sample_grids(), expected=None)
    after = parts(path)
    assert sorted(set(after) - set(before)) == [
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
        "xl/worksheets/sheet3.xml",
    ]
    assert b"/styles" in after["xl/_rels/main.xml.rels"] and b"/xl/styles.xml" in after["[Content_Types].xml"]
    assert [s[1] for s in re.findall(r'<sheet name="([^"]*)" sheetId="(\d+)"', after["xl/main.xml"].decode())] == [
        "7",
        "8",
        "9",
        "10",
    ]
    ws = load(path)["Summary"]
    assert ws["A1"].font.b and not ws["A3"].font.b
    assert ws["B3"].number_format == THB
    assert load(path)["Pipeline"]["A1"].value == "Prospect"


# --------------------------------------------------------------------------------------------------
# Cell values


def test_text_is_cleaned_escaped_and_cut_to_excels_limit(rich: Path) -> None:
    """Control characters go, markup stays literal, `_x0041_` stays literal, 40,000 chars become 32,767."""
    grid = Grid(
        "Summary",
        [
            [MARKER],
            ["bell\x07 and nul\x00 gone"],
            ["<b>&amp;</b>"],
            ["_x0041_ is not A"],
            ["  padded  "],
            ["x" * 40_000],
            ["😀" * 20_000],
        ],
    )
    write_tabs(rich, [grid], expected=None)
    ET.fromstring(parts(rich)["xl/worksheets/sheet3.xml"])  # well-formed to a strict parser, not just a lenient one
    rows = CalamineWorkbook.from_path(str(rich)).get_sheet_by_name("Summary").to_python()
    assert rows[1][0] == "bell and nul gone"
    assert rows[2][0] == "<b>&amp;</b>"
    assert rows[3][0] == "_x0041_ is not A"
    assert rows[4][0] == "  padded  "
    assert len(rows[5][0]) == 32_767
    assert len(rows[6][0].encode("utf-16-le")) // 2 == 32_766  # never splits a surrogate pair
    assert load(rich)["Summary"]["A3"].value == "<b>&amp;</b>"


def test_numbers_excel_cannot_hold_become_num_errors(rich: Path) -> None:
    """NaN and infinity have no cell value in Excel; #NUM! says so instead of corrupting the file."""
    grid = Grid("Summary", [[MARKER], [float("nan"), float("inf"), Decimal("NaN"), 10**400, 2**60]])
    write_tabs(rich, [grid], expected=None)
    ws = load(rich)["Summary"]
    assert [ws.cell(2, c).value for c in range(1, 5)] == ["#NUM!"] * 4
    assert ws.cell(2, 5).value == float(2**60)


def test_dates_follow_a_1904_workbook(tmp_path: Path) -> None:
    """A Mac-style 1904 date system moves every serial; the dates must still read back right."""
    path = rich_workbook(tmp_path / "mac.xlsx", date_1904=True)
    write_tabs(path, sample_grids(), expected=None)
    serial = re.search(r'<c r="B2" s="\d+"><v>(\d+)</v>', parts(path)["xl/worksheets/sheet3.xml"].decode())
    assert serial is not None and int(serial.group(1)) == (AS_OF - dt.date(1904, 1, 1)).days
    assert load(path)["Summary"]["B2"].value == dt.datetime(2026, 11, 27)


def test_dates_before_excels_epoch_are_written_as_text(rich: Path) -> None:
    """Excel can't show 1899; the ISO date as text beats a wrong or negative serial."""
    write_tabs(
        rich,
        [Grid("Summary", [[MARKER], [dt.date(1899, 12, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1)]])],
        expected=None,
    )
    ws = load(rich)["Summary"]
    assert ws["A2"].value == "1899-12-01"
    assert ws["B2"].value == dt.datetime(1900, 2, 28)
    assert ws["C2"].value == dt.datetime(1900, 3, 1)


# --------------------------------------------------------------------------------------------------
# Refusals and safety


def test_refuses_while_the_workbook_is_open_in_excel(rich: Path) -> None:
    """Excel's `~$` owner file means the user's next save would overwrite ours: refuse, name it."""
    owner = rich.parent / f"~${rich.name}"
    owner.write_bytes(b"\x05someone")
    before = rich.read_bytes()
    with pytest.raises(WriteRefused, match=r"open in Excel \(~\$pipeline\.xlsx.*close it") as info:
        write_tabs(rich, sample_grids(), expected=fingerprint(rich))
    assert info.value.exit_code == 4
    assert rich.read_bytes() == before
    owner.unlink()
    write_tabs(rich, sample_grids(), expected=fingerprint(rich))


def test_refuses_when_the_file_changed_since_it_was_read(rich: Path) -> None:
    """Same size, same modification time, different bytes: the content hash still catches it."""
    seen = fingerprint(rich)
    data = bytearray(rich.read_bytes())
    data[10] ^= 0xFF  # the first local header's time: still a valid package, different bytes
    st = rich.stat()
    rich.write_bytes(bytes(data))
    os.utime(rich, ns=(st.st_atime_ns, st.st_mtime_ns))
    changed = rich.read_bytes()
    assert rich.stat().st_size == seen.size and rich.stat().st_mtime_ns == seen.mtime_ns
    with pytest.raises(WriteRefused, match="changed after sheetsync read it"):
        write_tabs(rich, sample_grids(), expected=seen)
    assert rich.read_bytes() == changed


def test_fingerprint_is_stable_and_comparable(rich: Path) -> None:
    """Two fingerprints of an unchanged file are equal, so a plain `!=` is the whole check."""
    first = fingerprint(rich)
    assert isinstance(first, Fingerprint) and first == fingerprint(rich)
    assert first.size == rich.stat().st_size
    with pytest.raises(SourceError):
        fingerprint(rich.with_name("missing.xlsx"))


def test_moved_away_after_reading_is_refused(rich: Path) -> None:
    """A workbook that disappeared between read and write is a refusal, not a crash."""
    seen = fingerprint(rich)
    rich.rename(rich.with_name("elsewhere.xlsx"))
    with pytest.raises(WriteRefused, match="moved or deleted"):
        write_tabs(rich, sample_grids(), expected=seen)
    assert not rich.exists()


def test_keeps_the_original_permissions(rich: Path) -> None:
    """The replacement file carries the workbook's mode bits, not the temp file's 0600."""
    rich.chmod(0o640)
    write_tabs(rich, sample_grids(), expected=None)
    assert stat.S_IMODE(rich.stat().st_mode) == 0o640
    rich.chmod(0o664)
    write_tabs(rich, sample_grids(), expected=None)
    assert stat.S_IMODE(rich.stat().st_mode) == 0o664


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~sheetsync") or p.suffix == ".tmp")


@pytest.fixture
def small_file_limit() -> Iterator[int]:
    """A real 'disk full': the kernel refuses to grow any file past 64 KiB (RLIMIT_FSIZE), even for root."""
    limit = 64 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_full_disk_leaves_the_original_and_no_temp_file(tmp_path: Path, small_file_limit: int) -> None:
    """An OSError while writing the new package is exit 4, names the file, and cleans up after itself."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    before = path.read_bytes()
    assert len(before) < small_file_limit
    big = Grid("Checks", [[MARKER]] + [[f"{n:08d}" * 20 for _ in range(6)] for n in range(3000)])
    with pytest.raises(WriteRefused, match=r"could not write .*pipeline\.xlsx.*unchanged") as info:
        write_tabs(path, [big], expected=fingerprint(path))
    assert info.value.exit_code == 4
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def _as_unprivileged(fn: Any) -> str:
    """``fn()`` in a forked child that has dropped root's rights (uid/gid 65534); what it raised, or "".

    Root may create files in a folder whose mode forbids it, so as root a
    read-only folder proves nothing; the child runs as a user the mode applies to.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        outcome = ""
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            fn()
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


def test_unwritable_folder_is_refused(tmp_path: Path) -> None:
    """A folder we may not create files in is exit 4 with the workbook untouched (as root too, with rights dropped)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="sheetsync-readonly-"))  # world-traversable, unlike tmp_path, for the child
    try:
        base.chmod(0o755)
        folder = base / "readonly"
        folder.mkdir()
        path = rich_workbook(folder / "pipeline.xlsx")
        path.chmod(0o644)
        before = path.read_bytes()
        listing = sorted(os.listdir(folder))
        folder.chmod(0o555)
        grids = sample_grids()

        def write() -> None:
            write_tabs(path, grids, expected=None)

        if os.geteuid() == 0:
            # The same write into a folder we may write, first: the child can't import what the
            # write needs (the interpreter's own files are root's), so the parent imports it.
            warm = tmp_path / "warm.xlsx"
            warm.write_bytes(before)
            write_tabs(warm, grids, expected=None)
            outcome = _as_unprivileged(write)
            assert outcome.startswith("WriteRefused") and "could not write" in outcome, outcome
        else:
            with pytest.raises(WriteRefused, match="could not write"):
                write()
        assert path.read_bytes() == before
        assert sorted(os.listdir(folder)) == listing  # no temporary file left either
    finally:
        folder.chmod(0o755)
        import shutil

        shutil.rmtree(base)


def test_symlinked_workbook_stays_a_symlink(rich: Path, tmp_path: Path) -> None:
    """Writing through a link updates the real file instead of replacing the link with a copy."""
    link = tmp_path / "link.xlsx"
    link.symlink_to(rich)
    write_tabs(link, sample_grids(), expected=fingerprint(link))
    assert link.is_symlink()
    assert "Summary" in CalamineWorkbook.from_path(str(rich)).sheet_names


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "password-protected"),
        (b"Prospect,Stage\nAcme,Lead\n", "not a zip package"),
        (b"", "empty"),
        (b"PK\x03\x04" + bytes(200), "truncated"),
    ],
    ids=["encrypted-ole", "csv-renamed", "empty", "truncated"],
)
def test_not_a_workbook_is_a_source_error(tmp_path: Path, content: bytes, message: str) -> None:
    """Files that aren't zip packages get exit 2 and a message saying what they are."""
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as info:
        write_tabs(path, sample_grids(), expected=None)
    assert info.value.exit_code == 2
    assert path.read_bytes() == content


def test_zip_without_a_workbook_part_is_a_source_error(tmp_path: Path) -> None:
    """A zip that isn't an OPC spreadsheet package (no _rels/.rels → workbook) is refused untouched."""
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    before = path.read_bytes()
    with pytest.raises(SourceError, match="not an Excel workbook"):
        write_tabs(path, sample_grids(), expected=None)
    assert path.read_bytes() == before


@pytest.mark.parametrize("title", ["", "x" * 32, "Q1/Q2", "What?", "[Summary]", "'quoted'"])
def test_tab_names_excel_rejects_are_a_config_error(rich: Path, title: str) -> None:
    """A tab name from the config that Excel can't hold is exit 2, before anything is written."""
    before = rich.read_bytes()
    with pytest.raises(ConfigError, match="tab name"):
        write_tabs(rich, [Grid(title, [[MARKER]])], expected=None)
    assert rich.read_bytes() == before


def test_two_grids_for_one_tab_are_a_config_error(rich: Path) -> None:
    """`summary` and `Summary` are one tab in Excel; writing both would lose one."""
    with pytest.raises(ConfigError, match="name the same tab"):
        write_tabs(rich, [Grid("Summary", [[MARKER]]), Grid("summary", [[MARKER]])], expected=None)


def test_nothing_to_write_leaves_the_file_alone(rich: Path) -> None:
    """No grids, no new file: the workbook keeps its inode and timestamps."""
    st = rich.stat()
    write_tabs(rich, [], expected=fingerprint(rich))
    assert (rich.stat().st_ino, rich.stat().st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def test_chart_sheet_with_a_target_name_is_refused(tmp_path: Path) -> None:
    """A chart sheet called Summary is the user's, whatever its name: exit 4, untouched."""
    import xlsxwriter

    path = tmp_path / "charts.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Data").write_column("A1", [1, 2, 3])
    sheet = wb.add_chartsheet("Summary")
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": "=Data!$A$1:$A$3"})
    sheet.set_chart(chart)
    wb.close()
    before = path.read_bytes()
    with pytest.raises(WriteRefused, match="not a worksheet"):
        write_tabs(path, sample_grids(), expected=None)
    assert path.read_bytes() == before


# --------------------------------------------------------------------------------------------------
# The run lock


def test_run_lock_refuses_a_second_run_and_names_the_first(rich: Path) -> None:
    """Two runs on one workbook: the second waits, then gives up with exit 4 naming the holder."""
    with run_lock(rich, wait=0):
        assert lock_path(rich).exists()
        assert not lock_path(rich).name.startswith("~$")
        refused = pytest.raises(WriteRefused, match=rf"another sheetsync run \(pid {os.getpid()} on .*\)")
        with refused as info, run_lock(rich, wait=0.3):
            pass  # pragma: no cover - the lock must not be granted
        assert info.value.exit_code == 4
    assert not lock_path(rich).exists()
    with run_lock(rich, wait=0):
        pass


def test_run_lock_held_by_another_process(rich: Path) -> None:
    """A lock held by a separate process blocks us; when that process ends, the next run proceeds."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from sheetsync.locking import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(30)",
            str(rich),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WriteRefused, match=f"pid {holder.pid}"), run_lock(rich, wait=0.2):
            pass  # pragma: no cover
    finally:
        holder.kill()
        holder.wait()
    with run_lock(rich, wait=2):  # the kernel released the dead holder's lock
        pass


def test_stale_lock_file_from_a_crash_does_not_block(rich: Path) -> None:
    """A lock file left by a killed run holds no lock; the next run takes it at once."""
    lock_path(rich).write_text("pid 999999 on gone since yesterday\n")
    with run_lock(rich, wait=0):
        assert str(os.getpid()) in lock_path(rich).read_text()
    assert not lock_path(rich).exists()


def test_run_lock_does_not_look_like_excel_open(rich: Path) -> None:
    """Our own lock file must never make the writer think Excel has the workbook open."""
    with run_lock(rich, wait=0):
        write_tabs(rich, sample_grids(), expected=fingerprint(rich))
    assert "Summary" in CalamineWorkbook.from_path(str(rich)).sheet_names


# --------------------------------------------------------------------------------------------------
# LibreOffice


def test_libreoffice_opens_the_result(rich: Path, tmp_path: Path) -> None:
    """A second, independent consumer loads the package and sees the Summary figures."""
    write_tabs(rich, sample_grids(), expected=None)
    (converted,) = convert([rich], tmp_path / "converted", tmp_path / "lo-profile")
    book = CalamineWorkbook.from_path(str(converted))
    assert book.sheet_names == ["Pipeline", "Notes", "Summary", "Checks", "History"]
    rows = book.get_sheet_by_name("Summary").to_python()
    assert rows[2][1] == 3_000_000.0
    assert rows[1][1] == dt.date(2026, 11, 27)
    assert [row[1] for row in rows[9:13]] == FORMULA_LOOKING
    assert book.get_sheet_by_name("Pipeline").to_python()[1][0] == "Company 1"
