"""Reading real workbook files (reference 4.1, 9 "Bad input"): .xlsx from two writers, .xls, .ods, what's in cells."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from sheetsync.config import Config, Tabs
from sheetsync.errors import SourceError
from sheetsync.model.fields import Layout
from sheetsync.model.reader import Row, read_rows
from sheetsync.sources.excel import open_excel


def read(path: Path, tab: str = "Pipeline", config: Config | None = None) -> tuple[Layout, list[Row]]:
    """Open the file the way a run does and read the pipeline tab into rows."""
    book = open_excel(path)
    try:
        return read_rows(tab, book.rows(tab), config or Config())
    finally:
        book.close()


def raw_rows(path: Path, tab: str = "Pipeline") -> list[tuple[int, list[Any]]]:
    book = open_excel(path)
    try:
        return list(book.rows(tab))
    finally:
        book.close()


def bad(row: Row) -> dict[str, str]:
    """field → problem for the row's unreadable cells."""
    return {b.field: b.message for b in row.bad}


def openpyxl_book(path: Path, cells: dict[str, Any], title: str = "Pipeline", merges: tuple[str, ...] = ()) -> Path:
    """A one-tab workbook with the given cells (A1-style keys); openpyxl saves formulas with no cached value."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for ref, value in cells.items():
        ws[ref] = value
        if isinstance(value, dt.datetime):
            ws[ref].number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(value, dt.date):
            ws[ref].number_format = "yyyy-mm-dd"
    for rng in merges:
        ws.merge_cells(rng)
    wb.save(path)
    return path


def patch_sheet_xml(path: Path, member: str, old: bytes, new: bytes) -> None:
    """Rewrite one part of a package in place (to produce exactly what Excel writes)."""
    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    found = False
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == member:
                assert old in data, data[-600:]
                data = data.replace(old, new)
                found = True
            zout.writestr(info, data)
    assert found


# ---------------------------------------------------------------- .xlsx: values


def test_xlsx_from_openpyxl_reads_typed_values(make_workbook: Any) -> None:
    """Date cells, number cells, currency text and yes/no text come through typed (conftest HEADERS layout)."""
    path = make_workbook(
        [
            [
                "Acme",
                "Ann",
                "ann@acme.example",
                "Somchai",
                "Demo",
                "ใช่",
                "฿45,000",
                dt.date(2026, 12, 20),
                dt.date(2026, 11, 20),
                dt.date(2026, 12, 1),
                dt.datetime(2026, 11, 28, 10, 30),
                None,
                dt.date(2569, 10, 1),
            ]
        ]
    )
    layout, rows = read(path)
    assert layout.header_row == 1
    (row,) = rows
    assert row.row == 2 and bad(row) == {}
    assert (row.prospect, row.contact, row.email, row.owner, row.stage) == (
        "Acme",
        "Ann",
        "ann@acme.example",
        "Somchai",
        "Demo",
    )
    assert row.decision_maker is True
    assert row.budget == Decimal(45_000)
    assert row.expected_close == dt.date(2026, 12, 20)
    assert row.appointment == dt.datetime(2026, 11, 28, 10, 30)
    assert row.closed_on is None
    assert row.created_on == dt.date(2026, 10, 1)  # a B.E. year in a real date cell


def test_xlsx_from_xlsxwriter_reads_shared_strings_dates_and_numbers(tmp_path: Path) -> None:
    """A workbook with shared strings, date formats, a percent cell and a serial in a date column reads right."""
    path = tmp_path / "xw.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    pct_fmt = wb.add_format({"num_format": "0%"})
    notes = wb.add_worksheet("Notes")
    notes.write("A1", "not the pipeline")
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Company", "Stage", "Deal Size", "Probability", "Close Date", "Do Not Contact", "Industry"])
    ws.write_row(1, 0, ["Acme", "Proposal", 1_200_000, None, None, True, "Retail"])
    ws.write_number(1, 3, 0.4, pct_fmt)
    ws.write_datetime(1, 4, dt.datetime(2026, 12, 31), date_fmt)
    ws.write_row(2, 0, ["Beta", "Lead", "THB 45,000", "40%", 46353, "no", "Food"])
    wb.close()
    book = open_excel(path)
    assert book.titles() == ["Notes", "Pipeline"]
    book.close()
    _layout, (acme, beta) = read(path)
    assert (acme.budget, acme.probability, acme.expected_close) == (
        Decimal(1_200_000),
        Decimal("0.4"),
        dt.date(2026, 12, 31),
    )
    assert acme.do_not_contact is True and acme.extra == {"Industry": "Retail"}
    assert (beta.budget, beta.probability, beta.expected_close) == (
        Decimal(45_000),
        Decimal("0.4"),
        dt.date(2026, 11, 27),
    )
    assert beta.do_not_contact is False


def test_merged_owner_cell_counts_for_every_row(make_workbook: Any) -> None:
    """An Owner cell merged over three rows gives each of those rows that owner (and not the row after)."""
    rows = [
        ["A", None, None, "Somchai", "Lead"],
        ["B", None, None, None, "Lead"],
        ["C", None, None, None, "Lead"],
        ["D", None, None, "Nattaya", "Lead"],
    ]
    path = make_workbook(rows, merges=["D2:D4"])
    _layout, parsed = read(path)
    assert [(r.prospect, r.owner) for r in parsed] == [
        ("A", "Somchai"),
        ("B", "Somchai"),
        ("C", "Somchai"),
        ("D", "Nattaya"),
    ]


def test_merged_block_over_columns_and_rows(tmp_path: Path) -> None:
    """A merged block spanning two columns and two rows fills all four cells."""
    path = openpyxl_book(
        tmp_path / "m.xlsx",
        {"A1": "Prospect", "B1": "Stage", "C1": "Owner", "D1": "Rep Note", "A2": "A", "B2": "Lead", "C2": "Som",
         "A3": "B", "B3": "Lead"},
        merges=("C2:D3",),
    )  # fmt: skip
    _layout, parsed = read(path)
    assert [(r.owner, r.extra.get("Rep Note")) for r in parsed] == [("Som", "Som"), ("Som", "Som")]


def test_header_merged_across_two_columns_is_one_header(tmp_path: Path) -> None:
    """A header cell merged over two columns (Notes over C1:D1) is one Notes column, not a duplicate header."""
    path = openpyxl_book(
        tmp_path / "mh.xlsx",
        {"A1": "Prospect", "B1": "Stage", "C1": "Notes", "A2": "Acme", "B2": "Lead", "C2": "call back", "D2": "x"},
        merges=("C1:D1",),
    )
    layout, (row,) = read(path)
    assert layout.columns["notes"] == 2
    assert row.notes == "call back"


def test_blank_rows_are_skipped_and_row_numbers_are_the_sheets(make_workbook: Any) -> None:
    """Fully blank rows (even with spaces) are skipped; every row keeps its own sheet row number."""
    rows: list[list[Any]] = [
        ["A", None, None, None, "Lead"],
        [],
        [None, "  ", None, None, ""],
        ["B", None, None, None, "Demo"],
        [],
        [],
        ["C", None, None, None, "Won"],
    ]
    _layout, parsed = read(make_workbook(rows))
    assert [(r.row, r.prospect) for r in parsed] == [(2, "A"), (5, "B"), (8, "C")]


def test_header_not_on_row_one_keeps_true_row_numbers(tmp_path: Path) -> None:
    """With blank rows above the header, the header row and every data row keep the sheet's own numbers."""
    path = openpyxl_book(
        tmp_path / "low.xlsx",
        {"A3": "Prospect", "B3": "Owner", "C3": "Stage", "D3": "Budget",
         "A4": "Acme", "B4": "Somchai", "C4": "Lead", "D4": 1000,
         "A6": "Beta", "C6": "Demo", "D6": "#N/A"},
        merges=("B4:B6",),
    )  # fmt: skip
    layout, parsed = read(path)
    assert layout.header_row == 3
    assert layout.columns["owner"] == 1
    assert [(r.row, r.prospect, r.owner, r.budget) for r in parsed] == [
        (4, "Acme", "Somchai", Decimal(1000)),
        (6, "Beta", "Somchai", None),
    ]
    assert "budget" in bad(parsed[1]) and "#N/A" in bad(parsed[1])["budget"]
    assert layout.cell("budget", 6) == "Pipeline!D6"


def test_xls_header_not_on_row_one_keeps_true_row_numbers(tmp_path: Path) -> None:
    """In an .xls too, a header on row 3 (column B) gives header_row 3 and data rows 4, 5."""
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Pipeline")
    for r, values in enumerate([["Prospect", "Stage"], ["Acme", "Lead"], ["Beta", "Demo"]], start=2):
        for c, value in enumerate(values, start=1):
            ws.write(r, c, value)
    wb.save(str(tmp_path / "low.xls"))
    layout, rows = read(tmp_path / "low.xls")
    assert layout.header_row == 3
    assert [(r.row, r.prospect) for r in rows] == [(4, "Acme"), (5, "Beta")]
    assert layout.cell("stage", 4) == "Pipeline!C4"


def test_table_not_in_column_a_names_the_real_cells(tmp_path: Path) -> None:
    """A table starting in column C keeps its columns: the Stage cell of row 2 is D2."""
    path = openpyxl_book(tmp_path / "right.xlsx", {"C1": "Prospect", "D1": "Stage", "C2": "Acme", "D2": "Lead"})
    layout, parsed = read(path)
    assert layout.cell("stage", 2) == "Pipeline!D2"
    assert [(r.row, r.prospect, r.stage) for r in parsed] == [(2, "Acme", "Lead")]


def test_pipeline_tab_name_with_ampersand_and_thai(tmp_path: Path) -> None:
    """Error cells are found on a tab whose name needs XML escaping (`&`) or is Thai."""
    for title in ("Sales & Pipeline", "ลูกค้า"):
        path = openpyxl_book(
            tmp_path / "amp.xlsx",
            {"A1": "Prospect", "B1": "Stage", "C1": "Budget", "A2": "A", "B2": "Lead", "C2": "#REF!"},
            title,
        )
        _layout, (row,) = read(path, title, Config(tabs=Tabs(pipeline=title)))
        assert "#REF!" in bad(row)["budget"], title


# ---------------------------------------------------------------- .xlsx: wrong things inside cells


def test_excel_error_cells_are_bad_values(make_workbook: Any) -> None:
    """#N/A, #REF!, #DIV/0! and #VALUE! cells in typed columns are bad values naming the error."""
    path = make_workbook([["Acme", None, "#VALUE!", None, "Demo", "#DIV/0!", "#N/A", "#REF!"]])
    with zipfile.ZipFile(path) as zf:
        assert b't="e"' in zf.read("xl/worksheets/sheet1.xml")  # really error cells, not text
    _layout, (row,) = read(path)
    problems = bad(row)
    assert set(problems) == {"email", "decision_maker", "budget", "expected_close"}
    assert "#N/A" in problems["budget"] and "#REF!" in problems["expected_close"]
    assert "#DIV/0!" in problems["decision_maker"] and "#VALUE!" in problems["email"]
    assert row.budget is None and row.expected_close is None and row.decision_maker is None


def test_error_cells_are_read_from_the_pipeline_tab_not_another(tmp_path: Path) -> None:
    """With the pipeline as the second tab, error cells of the first tab don't leak into it."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "Lookup"
    first["C2"] = "#N/A"
    ws = wb.create_sheet("Pipeline")
    for ref, value in {"A1": "Prospect", "B1": "Stage", "C1": "Budget", "A2": "A", "B2": "Lead", "C2": 5,
                       "A3": "B", "B3": "Lead", "C3": "#NAME?"}.items():  # fmt: skip
        ws[ref] = value
    wb.save(tmp_path / "two.xlsx")
    _layout, (a, b) = read(tmp_path / "two.xlsx")
    assert a.budget == Decimal(5) and bad(a) == {}
    assert "#NAME?" in bad(b)["budget"]


def test_formula_without_cached_value_is_a_bad_value(tmp_path: Path) -> None:
    """Formulas saved with no result (openpyxl never calculates) are bad values, not silently empty."""
    path = openpyxl_book(
        tmp_path / "f.xlsx",
        {"A1": "Prospect", "B1": "Stage", "C1": "Budget", "D1": "Expected Close", "E1": "Decision Maker",
         "F1": "Probability", "A2": "Acme", "B2": "Proposal", "C2": "=1000*2", "D2": "=TODAY()+30",
         "E2": '=IF(1,"yes","no")', "F2": "=40"},
    )  # fmt: skip
    _layout, (row,) = read(path)
    problems = bad(row)
    assert set(problems) == {"budget", "expected_close", "decision_maker", "probability"}
    assert all("formula" in message for message in problems.values())


def test_formula_with_cached_value_reads_the_value(tmp_path: Path) -> None:
    """A formula saved with its result (as Excel does) reads as that result; a saved #N/A result is an error."""
    path = tmp_path / "cached.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Stage", "Budget", "Notes"])
    ws.write_row(1, 0, ["Acme", "Lead"])
    ws.write_formula(1, 2, "=1000*2", None, 2000)
    ws.write_formula(1, 3, '="call "&A2', None, "call Acme")
    ws.write_row(2, 0, ["Beta", "Lead"])
    ws.write_formula(2, 2, "=VLOOKUP(A3,Prices!A:B,2,FALSE)", None, "#N/A")
    wb.close()
    _layout, (acme, beta) = read(path)
    assert (acme.budget, acme.notes, bad(acme)) == (Decimal(2000), "call Acme", {})
    assert beta.budget is None and "#N/A" in bad(beta)["budget"]


def test_formula_with_empty_string_result_is_an_empty_cell(tmp_path: Path) -> None:
    """`=IF(…,"",…)` saved by Excel with an empty result (t="str", <v/>) is an empty cell, not an error.

    A row made only of such formulas (a pre-filled template row) is a blank row.
    """
    path = tmp_path / "blank-formulas.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Stage", "Notes"])
    ws.write_row(1, 0, ["Acme", "Lead"])
    ws.write_formula(1, 2, '=IF(1,"","x")', None, "")
    ws.write_formula(2, 0, '=IF(1,"","x")', None, "")
    ws.write_formula(2, 1, '=IF(1,"","x")', None, "")
    wb.close()
    member = "xl/worksheets/sheet1.xml"
    for ref in (b"C2", b"A3", b"B3"):
        patch_sheet_xml(
            path,
            member,
            b'<c r="' + ref + b'"><f>IF(1,"","x")</f><v></v></c>',
            b'<c r="' + ref + b'" t="str"><f>IF(1,"","x")</f><v/></c>',
        )
    _layout, rows = read(path)
    assert [(r.row, r.prospect, r.notes, bad(r)) for r in rows] == [(2, "Acme", None, {})]


def test_cell_of_40000_characters_is_a_bad_value(tmp_path: Path) -> None:
    """A 40,000-character cell (more than Excel allows; openpyxl would cut it) is read and reported with its length."""
    path = openpyxl_book(
        tmp_path / "huge.xlsx",
        {"A1": "Prospect", "B1": "Stage", "C1": "Contact", "D1": "Industry", "A2": "Acme", "B2": "Lead",
         "C2": "HUGE-CONTACT", "D2": "HUGE-EXTRA"},
    )  # fmt: skip
    member = "xl/worksheets/sheet1.xml"
    patch_sheet_xml(path, member, b"HUGE-CONTACT", b"c" * 40_000)
    patch_sheet_xml(path, member, b"HUGE-EXTRA", b"e" * 40_000)
    _layout, (row,) = read(path)
    assert set(bad(row)) == {"contact"}
    assert "40,000" in bad(row)["contact"]
    assert row.prospect == "Acme" and row.stage == "Lead"


def test_control_characters_are_bad_values_and_removed(tmp_path: Path) -> None:
    """Control characters (stored by Excel as _x0001_ escapes) are reported and stripped from the value."""
    path = tmp_path / "ctl.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Stage", "Owner", "Industry"])
    ws.write_row(1, 0, ["Ac\x01me", "Lead\x07", "Som\x0bchai", "Ret\x1fail"])
    wb.close()
    _layout, (row,) = read(path)
    assert (row.prospect, row.stage, row.owner) == ("Acme", "Lead", "Somchai")
    assert set(bad(row)) == {"prospect", "stage", "owner"}
    assert row.extra == {"Industry": "Retail"}


def test_text_in_number_and_date_columns_is_a_bad_value(make_workbook: Any) -> None:
    """`about 50k` as budget, `next week` as a date and `maybe` as yes/no are bad values, not guesses."""
    path = make_workbook([["Acme", None, "not-an-email", None, "Demo", "maybe", "about 50k", "next week"]])
    _layout, (row,) = read(path)
    assert set(bad(row)) == {"email", "decision_maker", "budget", "expected_close"}
    assert "about 50k" in bad(row)["budget"]


# ---------------------------------------------------------------- .xls and .ods


def xls_book(path: Path) -> Path:
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Pipeline")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for c, header in enumerate(["Prospect", "Stage", "Budget", "Expected Close", "Owner"]):
        ws.write(0, c, header)
    ws.write(1, 0, "Acme")
    ws.write(1, 1, "Proposal")
    ws.write(1, 2, 120000)
    ws.write(1, 3, dt.date(2026, 12, 20), date_style)
    ws.write_merge(1, 2, 4, 4, "Somchai")
    ws.write(2, 0, "Beta")
    ws.write(2, 1, "Lead")
    ws.write(2, 2, "฿45,000")
    ws.write(4, 0, "Gamma")
    ws.write(4, 1, "Lead")
    ws.row(4).set_cell_error(2, 0x2A)  # #N/A
    wb.save(str(path))
    return path


def test_xls_reads_values_dates_merges_and_row_numbers(tmp_path: Path) -> None:
    """An old .xls (BIFF) reads typed values, date cells, a merged owner, and true row numbers."""
    _layout, rows = read(xls_book(tmp_path / "old.xls"))
    assert [(r.row, r.prospect, r.owner, r.budget) for r in rows] == [
        (2, "Acme", "Somchai", Decimal(120000)),
        (3, "Beta", "Somchai", Decimal(45000)),
        (5, "Gamma", None, None),
    ]
    assert rows[0].expected_close == dt.date(2026, 12, 20)


def test_xls_error_cell_is_a_bad_value(tmp_path: Path) -> None:
    """An Excel error (#N/A) in a .xls number column is a bad value, not an empty cell."""
    _layout, rows = read(xls_book(tmp_path / "old.xls"))
    gamma = rows[-1]
    assert "budget" in bad(gamma)


def ods_book(path: Path) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    def text(value: str, **kw: Any) -> TableCell:
        cell = TableCell(valuetype="string", **kw)
        cell.addElement(P(text=value))
        return cell

    def number(value: float) -> TableCell:
        cell = TableCell(valuetype="float", value=value)
        cell.addElement(P(text=str(value)))
        return cell

    def date(value: str) -> TableCell:
        cell = TableCell(valuetype="date", datevalue=value)
        cell.addElement(P(text=value))
        return cell

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Pipeline")
    rows = [
        [text("Prospect"), text("Stage"), text("Budget"), text("Expected Close"), text("Owner")],
        [text("Acme"), text("Demo"), number(45000), date("2026-12-20"), text("Somchai", numberrowsspanned=2)],
        [text("Beta"), text("Lead"), text("THB 1,200"), date("2569-11-27"), CoveredTableCell()],
        [],
        [text("Gamma"), text("Lead"), text("TBD")],
    ]
    for cells in rows:
        tr = TableRow()
        for cell in cells:
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def test_ods_reads_values_dates_and_row_numbers(tmp_path: Path) -> None:
    """An OpenDocument spreadsheet reads numbers, currency text, date cells (B.E. too) and true row numbers."""
    _layout, rows = read(ods_book(tmp_path / "p.ods"))
    assert [(r.row, r.prospect, r.budget, r.expected_close) for r in rows] == [
        (2, "Acme", Decimal(45000), dt.date(2026, 12, 20)),
        (3, "Beta", Decimal(1200), dt.date(2026, 11, 27)),
        (5, "Gamma", None, None),
    ]
    assert "budget" in bad(rows[-1])


def test_ods_merged_cell_counts_for_every_row(tmp_path: Path) -> None:
    """An Owner cell merged over two rows of an .ods gives both rows that owner."""
    _layout, rows = read(ods_book(tmp_path / "p.ods"))
    assert [r.owner for r in rows[:2]] == ["Somchai", "Somchai"]


# ---------------------------------------------------------------- files that are not workbooks


def _real_xlsx(tmp_path: Path) -> bytes:
    path = openpyxl_book(tmp_path / "real.xlsx", {"A1": "Prospect", "B1": "Stage", "A2": "Acme", "B2": "Lead"})
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("text.xlsx", b"Prospect,Stage\nAcme,Lead\n", "not a .xlsx workbook"),
        ("empty.xlsx", b"", "empty file"),
        ("locked.xlsx", bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 1016, "password-protected"),
        ("locked.xlsm", bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 1016, "password-protected"),
        ("fake.xls", b"<html><table><tr><td>Prospect</td></tr></table></html>", "not an Excel .xls"),
        ("fake.ods", b"Prospect;Stage\n", "not a .ods workbook"),
        ("pipeline.csv", b"Prospect,Stage\n", ".csv is not a supported format"),
        ("pipeline", b"Prospect,Stage\n", "not a supported format"),
        ("zip.xlsx", b"PK\x03\x04" + b"\0" * 100, "can't be read"),
    ],
)
def test_not_a_workbook_is_a_source_error(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    """Text, CSV, encrypted (OLE) and junk files named like workbooks are clear errors (exit 2), never crashes."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        book = open_excel(path)
        book.titles()
        list(book.rows("Pipeline"))
    assert words in info.value.message
    assert str(path) in info.value.message
    assert info.value.exit_code == 2
    assert path.read_bytes() == content


def test_truncated_workbook_is_a_source_error(tmp_path: Path) -> None:
    """The first half of a real .xlsx says it may be truncated or damaged."""
    data = _real_xlsx(tmp_path)
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated or damaged"):
        book = open_excel(path)
        list(book.rows("Pipeline"))
    assert path.read_bytes() == data[: len(data) // 2]


def test_zip_that_is_not_a_workbook_is_a_source_error(tmp_path: Path) -> None:
    """A valid zip with no workbook inside (say a renamed .docx) is a clear error."""
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(SourceError, match=str(path)):
        book = open_excel(path)
        list(book.rows("Pipeline"))


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_missing_path_or_folder_is_a_source_error(tmp_path: Path, kind: str) -> None:
    """A path that doesn't exist or is a folder is named in the error."""
    path = tmp_path / "nope.xlsx"
    if kind == "folder":
        path.mkdir()
    with pytest.raises(SourceError) as info:
        open_excel(path)
    assert str(path) in info.value.message
    assert ("does not exist" if kind == "missing" else "folder") in info.value.message
