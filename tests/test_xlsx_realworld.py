"""Real Excel-saved workbooks through the package writer, and every kind of result through LibreOffice (issue 11).

The corpus is ``../shared/realworld`` beside the project (see its README; the
files are not ours and are never copied into the repository).  CI has it, so
these tests never skip: a missing corpus or a missing LibreOffice is a failure.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import Result
from conftest import HEADERS, REALWORLD
from libreoffice import convert
from python_calamine import CalamineWorkbook
from test_cli_validate import clean
from test_xlsx_package import BOOKKEEPING, assert_untouched_except, sample_grids, sheet_list, sheet_parts
from xlsxpkg_workbooks import (
    MAIN_NS,
    hancell_workbook,
    macro_sheet_workbook,
    parts,
    rebuild,
    signed_workbook,
    style_problems,
)

from sheetsync.errors import SourceError
from sheetsync.grid import MARKER, Grid
from sheetsync.sources.ooxml.write import fingerprint, write_tabs

REALWORLD_BOOKS = ("Book1.xlsx", "CalcChain.xlsx", "MergeCell.xlsx", "SharedStrings.xlsx")
REALWORLD_ENCRYPTED = ("encryptAES.xlsx", "encryptSHA1.xlsx")
AS_OF = "2026-11-27"


def real_copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    shutil.copyfile(REALWORLD / name, path)
    return path


def test_the_corpus_is_beside_the_project() -> None:
    """../shared/realworld holds the workbooks these tests name, and no other (a new one must be added here)."""
    assert REALWORLD.is_dir(), f"{REALWORLD} is missing: the tests expect the shared corpus beside the project"
    books = sorted(p.name for p in REALWORLD.glob("*.xlsx") if zipfile.is_zipfile(p))
    encrypted = sorted(p.name for p in REALWORLD.glob("*.xlsx") if not zipfile.is_zipfile(p))
    assert (books, encrypted) == (sorted(REALWORLD_BOOKS), sorted(REALWORLD_ENCRYPTED))


@pytest.mark.parametrize("name", REALWORLD_BOOKS)
def test_real_workbook_takes_the_write_cleanly(tmp_path: Path, name: str) -> None:
    """New tabs, then a rerun replacing them: every other part byte-identical, styles in range, recalculation set."""
    path = real_copy(tmp_path, name)
    before = parts(path)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    first = parts(path)
    assert_untouched_except(before, first, BOOKKEEPING)
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names[-3:] == ["Summary", "Checks", "History"]
    assert book.get_sheet_by_name("Summary").to_python()[2][1] == 3_000_000.0
    assert style_problems(path) == []
    assert re.search(r'<calcPr [^>]*fullCalcOnLoad="1"', first["xl/workbook.xml"].decode())
    tabs, places = sheet_list(path), sheet_parts(path)

    write_tabs(path, sample_grids(findings=6), expected=fingerprint(path))
    ours = {places[title] for title in ("Summary", "Checks", "History")}
    assert_untouched_except(first, parts(path), BOOKKEEPING | ours)
    assert (sheet_list(path), sheet_parts(path)) == (tabs, places)  # replaced in place, not added again
    assert len(CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Checks").to_python()) == 2 + 6
    assert style_problems(path) == []


@pytest.mark.parametrize("name", REALWORLD_BOOKS)
def test_real_workbook_syncs_through_the_cli(tmp_path: Path, run_cli: Callable[..., Result], name: str) -> None:
    """A real workbook given a Pipeline tab runs the whole `sync`: tabs written, drafts made, the rest untouched."""
    path = real_copy(tmp_path, name)
    due = clean(Prospect="Beta", Email="b@beta.example", Next_Follow_up=dt.date(2026, 11, 26))
    write_tabs(path, [Grid("Pipeline", [HEADERS, clean(), due])], expected=None)
    before = parts(path)
    result = run_cli("sync", str(path), "--as-of", AS_OF, "--out", str(tmp_path / "drafts"), "--verbose")
    assert result.exit_code == 0, result.stderr
    assert "Wrote tabs Summary, Checks, History" in result.stdout
    assert_untouched_except(before, parts(path), BOOKKEEPING)
    assert len(list((tmp_path / "drafts").glob("*.eml"))) == 1
    assert style_problems(path) == []


@pytest.mark.parametrize("name", REALWORLD_ENCRYPTED)
def test_real_encrypted_workbook_is_refused_by_the_writer(tmp_path: Path, name: str) -> None:
    """A workbook Excel encrypted is an OLE file: the writer says password-protected and leaves it alone."""
    path = real_copy(tmp_path, name)
    before = path.read_bytes()
    with pytest.raises(SourceError, match="password"):
        write_tabs(path, sample_grids(), expected=None)
    assert path.read_bytes() == before


def test_libreoffice_opens_every_workbook_written(tmp_path: Path) -> None:
    """Each real workbook and each odd one of issue 11, written: LibreOffice opens it and shows the Summary as typed.

    The As of cell reads back as a date only if its style index points at the
    date format sheetsync added (issue 11: Hancell styles made it a number).
    """
    books = [real_copy(tmp_path, name) for name in REALWORLD_BOOKS]
    books.append(hancell_workbook(tmp_path / "hancell.xlsx"))
    books.append(macro_sheet_workbook(tmp_path / "macros.xlsm"))
    books.append(signed_workbook(tmp_path / "signed.xlsx"))
    for path in books:
        write_tabs(path, sample_grids(), expected=fingerprint(path))
    for path, converted in zip(books, convert(books, tmp_path / "converted", tmp_path / "profile"), strict=True):
        book = CalamineWorkbook.from_path(str(converted))
        assert book.sheet_names[-3:] == ["Summary", "Checks", "History"], path.name
        rows = book.get_sheet_by_name("Summary").to_python()
        assert rows[1][1] == dt.date(2026, 11, 27), path.name
        assert rows[2][1] == 3_000_000.0, path.name
        assert book.get_sheet_by_name("Checks").to_python()[2][0] == "Pipeline!F2", path.name


def test_formulas_reading_our_tabs_are_recalculated(tmp_path: Path) -> None:
    """Issue 11: a Dashboard formula on Summary shows the new figure once recalculated on load.

    The workbook holds the formula's stale cached value (123) and no
    ``fullCalcOnLoad``; sheetsync sets the flag, and LibreOffice, told by its
    profile to recalculate on load as Excel does for the flag, shows 2 × the
    new quota.
    """
    plain = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(str(plain))
    wb.add_worksheet("Pipeline").write_row(0, 0, ["Prospect", "Stage"])
    summary = wb.add_worksheet("Summary")
    summary.write("A1", f"{MARKER} 2026-11-20")
    summary.write_row(2, 0, ["Quota", 1000])
    wb.add_worksheet("Dashboard").write_formula("A1", "=Summary!B3*2", None, 123)
    wb.close()
    workbook = parts(plain)["xl/workbook.xml"].decode()
    assert 'fullCalcOnLoad="1"' in workbook  # XlsxWriter sets it; Excel doesn't, and nor does this test
    path = rebuild(plain, tmp_path / "dashboard.xlsx", edit={"xl/workbook.xml": _without_flag(workbook)})

    write_tabs(path, sample_grids(), expected=fingerprint(path))
    assert '<calcPr fullCalcOnLoad="1" calcId="124519"/>' in parts(path)["xl/workbook.xml"].decode()
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Dashboard").to_python() == [[123.0]]
    (converted,) = convert([path], tmp_path / "converted", tmp_path / "profile", recalculate=True)
    book = CalamineWorkbook.from_path(str(converted))
    assert book.get_sheet_by_name("Summary").to_python()[2][1] == 3_000_000.0
    assert book.get_sheet_by_name("Dashboard").to_python() == [[6_000_000.0]]


def _without_flag(workbook: str) -> bytes:
    out = workbook.replace(' fullCalcOnLoad="1"', "")
    assert "fullCalcOnLoad" not in out and f'xmlns="{MAIN_NS}"' in out
    return out.encode()
