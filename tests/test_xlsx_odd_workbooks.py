"""Issue 11, part C: the workbooks real users have that the package writer got wrong (reference 10.5).

Formulas that read our tabs (``fullCalcOnLoad``), a protected structure, a
digital signature, styles wrapped in ``mc:AlternateContent`` (Hancom
Hancell), Excel 4.0 macro sheets, a relationships part left behind by another
tool, temporary files of killed runs, and a workbook another program truncates
while sheetsync holds it.  Workbooks are made by the tests (xlsxpkg_workbooks)
and read back with a real XML parser, python-calamine and the real CLI.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from python_calamine import CalamineWorkbook
from test_xlsx_package import BOOKKEEPING, assert_untouched_except, sample_grids, sheet_parts
from xlsxpkg_workbooks import (
    MAIN_NS,
    hancell_workbook,
    macro_sheet_workbook,
    parts,
    prefixed_workbook,
    protected_workbook,
    rebuild,
    rich_workbook,
    signed_workbook,
    style_problems,
)

from sheetsync.errors import SourceError, WriteRefused
from sheetsync.fsutil import host_tag, temp_file
from sheetsync.grid import FMT_DATE, Grid, amount_format
from sheetsync.sources.excel import open_excel
from sheetsync.sources.ooxml.write import fingerprint, write_tabs

AS_OF = "2026-11-27"
M = f"{{{MAIN_NS}}}"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder: no stray sheetsync.toml or SHEETSYNC_CONFIG."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)


def workbook_root(path: Path) -> ET.Element:
    return ET.fromstring(parts(path)["xl/workbook.xml"])


def calc_pr(path: Path) -> list[ET.Element]:
    """The workbook's calcPr elements (there must be one)."""
    return workbook_root(path).findall(M + "calcPr")


def edit_workbook_xml(src: Path, dst: Path, edit: Callable[[str], str]) -> Path:
    text = parts(src)["xl/workbook.xml"].decode()
    return rebuild(src, dst, edit={"xl/workbook.xml": edit(text).encode()})


# --------------------------------------------------------------------------------------------------
# Formulas elsewhere that read our tabs: calcPr fullCalcOnLoad


def _no_calc_pr(text: str) -> str:
    return re.sub(r"<calcPr[^>]*/>", "", text)


def _calc_pr(attrs: str) -> Callable[[str], str]:
    return lambda text: re.sub(r"<calcPr[^>]*/>", f"<calcPr {attrs}/>", text)


def _no_calc_pr_but_ext(text: str) -> str:
    ext = (
        '<extLst><ext uri="{140A7094-0E35-4892-8432-C4D2E57EDEB5}">'
        '<x15:workbookPr chartTrackingRefBase="1"/></ext></extLst>'
    )
    text = _no_calc_pr(text).replace("</workbook>", ext + "</workbook>")
    return text.replace(
        "<workbook ", '<workbook xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" '
    )


@pytest.mark.parametrize(
    ("variant", "edit"),
    [
        ("absent", _no_calc_pr),
        ("absent-before-extLst", _no_calc_pr_but_ext),
        ("present-without-flag", _calc_pr('calcId="191029"')),
        ("present-flag-off", _calc_pr('calcId="191029" fullCalcOnLoad="0"')),
        ("present-flag-false", _calc_pr("fullCalcOnLoad='false' calcId=\"191029\"")),
    ],
)
def test_full_calc_on_load_is_set_whenever_tabs_are_written(
    tmp_path: Path, variant: str, edit: Callable[[str], str]
) -> None:
    """Issue 11: calcPr gets fullCalcOnLoad="1" (added in its schema place when absent), once, nothing else moved."""
    path = edit_workbook_xml(rich_workbook(tmp_path / "plain.xlsx"), tmp_path / f"{variant}.xlsx", edit)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    children = [child.tag.removeprefix(M) for child in workbook_root(path)]
    (calc,) = calc_pr(path)
    assert calc.get("fullCalcOnLoad") == "1"
    at = children.index("calcPr")
    assert children[at - 1] in ("sheets", "definedNames")
    assert children[at + 1 :] == (["extLst"] if variant == "absent-before-extLst" else [])
    if variant.startswith("present"):
        assert calc.get("calcId") == "191029"
    assert CalamineWorkbook.from_path(str(path)).sheet_names[-3:] == ["Summary", "Checks", "History"]


def test_full_calc_on_load_keeps_the_prefix_and_is_set_when_only_replacing(tmp_path: Path) -> None:
    """An ``x:``-prefixed workbook gets ``x:calcPr``; a run that only replaces existing tabs still sets the flag."""
    path = edit_workbook_xml(prefixed_workbook(tmp_path / "x.xlsx"), tmp_path / "prefixed.xlsx", _no_calc_pr_x)
    write_tabs(path, sample_grids(), expected=None)
    text = parts(path)["xl/workbook.xml"].decode()
    assert '<x:calcPr fullCalcOnLoad="1"/></x:workbook>' in text
    again = edit_workbook_xml(path, tmp_path / "again.xlsx", lambda t: t.replace('<x:calcPr fullCalcOnLoad="1"/>', ""))
    write_tabs(again, sample_grids(), expected=None)  # Summary, Checks, History exist: only replaced
    assert len(list(workbook_root(again).iter(M + "sheet"))) == 5
    assert [c.get("fullCalcOnLoad") for c in calc_pr(again)] == ["1"]


def _no_calc_pr_x(text: str) -> str:
    return re.sub(r"<x:calcPr[^>]*/>", "", text)


# --------------------------------------------------------------------------------------------------
# A protected structure: refused before anything is written


@pytest.mark.parametrize("value", ["1", "true"])
def test_locked_structure_is_refused_with_exit_4(tmp_path: Path, run_cli: Callable[..., Result], value: str) -> None:
    """Issue 11: lockStructure means no new tabs: exit 4 saying how to unlock or --dry-run; nothing written."""
    path = protected_workbook(tmp_path / "pipeline.xlsx", f'<workbookProtection lockStructure="{value}"/>')
    before = sorted(os.listdir(tmp_path)), path.read_bytes()
    result = run_cli("sync", str(path), "--as-of", AS_OF, "--out", "drafts")
    assert result.exit_code == 4, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    for words in ("protected structure", "Summary, Checks, History", "Review → Protect Workbook", "--dry-run"):
        assert words in result.stderr
    assert (sorted(os.listdir(tmp_path)), path.read_bytes()) == before  # no tab, no draft, no temp file
    dry = run_cli("sync", str(path), "--as-of", AS_OF, "--out", "drafts", "--dry-run")
    assert dry.exit_code in (0, 1) and "Error" not in dry.stderr


@pytest.mark.parametrize(
    "protection",
    [
        "<workbookProtection/>",
        '<workbookProtection lockStructure="0" lockWindows="1"/>',
        '<workbookProtection lockStructure="false"/>',
    ],
)
def test_protection_that_does_not_lock_the_structure_is_written(tmp_path: Path, protection: str) -> None:
    """A workbookProtection without a locked structure (openpyxl writes an empty one) takes the new tabs."""
    path = protected_workbook(tmp_path / "pipeline.xlsx", protection)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    assert CalamineWorkbook.from_path(str(path)).sheet_names[-3:] == ["Summary", "Checks", "History"]


def test_locked_structure_with_our_tabs_already_there_is_written(tmp_path: Path) -> None:
    """Replacing the cells of tabs that exist changes no structure: a workbook locked after its first sync is synced."""
    first = rich_workbook(tmp_path / "first.xlsx")
    write_tabs(first, sample_grids(), expected=None)
    path = edit_workbook_xml(
        first,
        tmp_path / "locked.xlsx",
        lambda t: t.replace("<bookViews", '<workbookProtection lockStructure="1"/><bookViews'),
    )
    write_tabs(path, sample_grids(findings=7), expected=fingerprint(path))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Checks").to_python()
    assert len(rows) == 2 + 7


# --------------------------------------------------------------------------------------------------
# A digitally signed workbook: written, with a warning everywhere the user looks


def test_signed_workbook_is_written_with_a_warning(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Issue 11: the signature parts stay as they were, and stderr says the signature is no longer valid."""
    path = signed_workbook(tmp_path / "pipeline.xlsx")
    before = parts(path)
    result = run_cli("summary", str(path), "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warning) == 1 and "digitally signed" in warning[0] and "no longer" in warning[0], result.stderr
    assert "Wrote tabs Summary, Checks, History" in result.stdout
    assert_untouched_except(before, parts(path), BOOKKEEPING)
    assert {n for n in before if n.startswith("_xmlsignatures/")} == {
        "_xmlsignatures/origin.sigs",
        "_xmlsignatures/_rels/origin.sigs.rels",
        "_xmlsignatures/sig1.xml",
    }


def test_signature_warning_in_json_cron_and_log(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """--json lists it under "warnings" (stdout stays JSON); cron mode and the log file carry it too."""
    path = signed_workbook(tmp_path / "pipeline.xlsx")
    as_json = run_cli("summary", str(path), "--as-of", AS_OF, "--json")
    data = json.loads(as_json.stdout)
    assert len(data["warnings"]) == 1 and "digitally signed" in data["warnings"][0]
    assert as_json.stderr.startswith("Warning: ")
    cron = run_cli("sync", str(path), "--as-of", AS_OF, "--out", "drafts", "--log-file", "sync.log")
    assert cron.stdout == ""  # CliRunner's stdout is not a terminal: cron mode
    assert any(line.startswith("Warning: ") and "digitally signed" in line for line in cron.stderr.splitlines())
    record = json.loads(Path("sync.log").read_text(encoding="utf-8").splitlines()[-1])
    assert isinstance(record["warnings"], int) and "digitally signed" in record["run_warnings"][0]


def test_unsigned_workbook_has_no_warnings(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Nothing to say, nothing said: an empty "warnings" list and no Warning line."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    result = run_cli("summary", str(path), "--as-of", AS_OF, "--json")
    assert json.loads(result.stdout)["warnings"] == []
    assert "Warning" not in result.stderr


# --------------------------------------------------------------------------------------------------
# Styles wrapped in mc:AlternateContent (Hancom Hancell)


def _format_of(path: Path, sheet: str, ref: str) -> str:
    """The number format code of one cell, resolved through styles.xml with ElementTree."""
    styles = ET.fromstring(parts(path)["xl/styles.xml"])
    part = sheet_parts(path)[sheet]
    cell = next(c for c in ET.fromstring(parts(path)[part]).iter(M + "c") if c.get("r") == ref)
    entry = styles.findall(f"{M}cellXfs/*")[int(cell.get("s", "0"))]
    xf = entry if entry.tag == M + "xf" else next(entry.iter(M + "xf"))
    num = xf.get("numFmtId", "0")
    codes = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(M + "numFmt")}
    return codes.get(num, f"builtin {num}") or ""


def test_alternate_content_styles_are_counted_once(tmp_path: Path) -> None:
    """Issue 11: every style index written is in range, the As of date has a date format, reruns add nothing."""
    path = hancell_workbook(tmp_path / "hancell.xlsx")
    assert style_problems(path) == []
    grids = sample_grids()
    write_tabs(path, grids, expected=fingerprint(path))
    assert style_problems(path) == []
    assert _format_of(path, "Summary", "B2") == FMT_DATE
    assert _format_of(path, "Summary", "B3") == amount_format("THB")
    fonts = ET.fromstring(parts(path)["xl/styles.xml"]).findall(f"{M}fonts/*")
    assert [f.tag.rsplit("}", 1)[1] for f in fonts] == ["AlternateContent", "font", "font"]
    bold = fonts[2]  # the default font, from the AlternateContent's Fallback, with bold on
    assert bold.findall(M + "b") and [n.get("val") for n in bold.findall(M + "name")] == ["Calibri"]
    styles = parts(path)["xl/styles.xml"]
    write_tabs(path, grids, expected=fingerprint(path))
    assert parts(path)["xl/styles.xml"] == styles  # the entries are found again, not appended twice


@pytest.mark.parametrize("make", [rich_workbook, prefixed_workbook, macro_sheet_workbook, signed_workbook])
def test_every_style_index_written_is_in_range(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    """Every s= of every sheet below the cellXfs count, on each kind of workbook the tests build (twice over)."""
    path = make(tmp_path / "pipeline.xlsm")
    for findings in (3, 9):
        write_tabs(path, sample_grids(findings=findings), expected=fingerprint(path))
        assert style_problems(path) == []


# --------------------------------------------------------------------------------------------------
# Excel 4.0 macro sheets


def test_macro_sheets_are_read_around_and_kept_byte_identical(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Issue 11: a workbook with xl/macrosheets/ is read (macro sheet ignored) and written; the macro sheet survives."""
    path = macro_sheet_workbook(tmp_path / "pipeline.xlsm")
    book = open_excel(path)
    assert book.titles() == ["Pipeline", "Notes"]
    book.close()
    before = parts(path)
    for _ in range(2):  # the second run reads a workbook sheetsync wrote
        result = run_cli("summary", str(path), "--as-of", AS_OF)
        assert result.exit_code in (0, 1), result.stderr
        assert "damaged" not in result.stderr
    after = parts(path)
    assert_untouched_except(before, after, BOOKKEEPING)
    assert after["xl/macrosheets/sheet1.xml"] == before["xl/macrosheets/sheet1.xml"]
    names = [s.get("name") for s in workbook_root(path).iter(M + "sheet")]
    assert names == ["Pipeline", "Macro1", "Notes", "Summary", "Checks", "History"]


def test_a_tab_named_like_a_macro_sheet_is_not_replaced(tmp_path: Path) -> None:
    """A grid whose title is a macro sheet's name is refused (exit 4), not written over the macros."""
    path = macro_sheet_workbook(tmp_path / "pipeline.xlsm")
    with pytest.raises(WriteRefused, match="not a worksheet"):
        write_tabs(path, [Grid("Macro1", [["x"]])], expected=fingerprint(path))


# --------------------------------------------------------------------------------------------------
# A relationships part left behind by another tool


def test_a_stray_relationships_part_is_not_adopted(tmp_path: Path) -> None:
    """Issue 11: new parts skip a name whose _rels part exists (sheet3) or that an Override names (sheet4)."""
    plain = rich_workbook(tmp_path / "plain.xlsx")
    assert {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= set(parts(plain))
    stray = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" '
        'Target="../drawings/drawing9.xml"/></Relationships>'
    )
    types = (
        parts(plain)["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/worksheets/sheet4.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
    )
    path = rebuild(
        plain,
        tmp_path / "stray.xlsx",
        edit={"xl/worksheets/_rels/sheet3.xml.rels": stray.encode(), "[Content_Types].xml": types.encode()},
    )
    before = parts(path)
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    after = parts(path)
    assert sorted(set(after) - set(before)) == [
        "xl/worksheets/sheet5.xml",
        "xl/worksheets/sheet6.xml",
        "xl/worksheets/sheet7.xml",
    ]
    assert after["xl/worksheets/_rels/sheet3.xml.rels"] == stray.encode()
    assert sheet_parts(path)["Summary"] == "xl/worksheets/sheet5.xml"


# --------------------------------------------------------------------------------------------------
# Temporary files of killed runs


def dead_pid(path: Path) -> str:
    """The pid in a temporary file's name."""
    return path.name.removeprefix(".~sheetsync-").split("-", 1)[0]


def _run_that_dies_holding_a_temp_file(folder: Path) -> Path:
    """A real process makes its temporary file the way a write-back does, then is killed (SIGKILL)."""
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from sheetsync.fsutil import temp_file
        fd, path = temp_file(Path({str(folder)!r}))
        os.write(fd, b"half a workbook")
        print(path, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    path = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return path


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process that stays alive while the test runs (a sheetsync run still writing)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], text=True)
    try:
        yield child
    finally:
        child.kill()
        child.wait(timeout=30)


def test_temp_files_of_dead_runs_are_swept_by_the_next_write(tmp_path: Path, live_run: subprocess.Popen[str]) -> None:
    """Issue 11: a killed run's .~sheetsync-*.tmp goes; a live run's, another host's, a lock and others stay."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    dead = _run_that_dies_holding_a_temp_file(tmp_path)
    other_host = "0badc0de" if host_tag() != "0badc0de" else "0badf00d"
    assert dead.is_file() and dead.name.startswith(f".~sheetsync-{dead_pid(dead)}-{host_tag()}-")
    kept = [
        tmp_path / f".~sheetsync-{live_run.pid}-{host_tag()}-0123abcd.tmp",  # alive
        tmp_path / f".~sheetsync-{live_run.pid + 100_000}-{other_host}-0123abcd.tmp",  # pid means nothing here
        tmp_path / ".~sheetsync-k2j3h4g5.tmp",  # an older version's name: no pid to check
        tmp_path / ".~sheetsync-pipeline.xlsx.lock",  # a run lock
        tmp_path / "notes.tmp",
    ]
    for other in kept:
        other.write_bytes(b"not ours to remove")
    write_tabs(path, sample_grids(), expected=fingerprint(path))
    assert not dead.exists()
    assert all(other.exists() for other in kept)
    assert sorted(p.name for p in tmp_path.glob(".~sheetsync-*.tmp")) == sorted(
        p.name for p in kept if p.suffix == ".tmp" and p.name.startswith(".~sheetsync-")
    )


def test_temp_file_names_carry_host_and_pid(tmp_path: Path) -> None:
    """The name a write-back gives its temporary file says which run on which host made it."""
    fd, path = temp_file(tmp_path)
    os.close(fd)
    assert re.fullmatch(rf"\.~sheetsync-{os.getpid()}-{host_tag()}-[0-9a-f]{{8}}\.tmp", path.name)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


# --------------------------------------------------------------------------------------------------
# Read into memory, never mapped


def test_the_workbook_is_read_into_memory(tmp_path: Path) -> None:
    """Once opened, the book reads tabs (error cells included) from memory: the file may go away."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    book = open_excel(path)
    path.unlink()
    rows = list(book.rows("Pipeline"))
    assert rows[1][1][0] == "Company 1"
    book.close()


def test_truncated_between_read_and_write_is_refused(tmp_path: Path) -> None:
    """Issue 11: another program truncates the workbook after sheetsync read it: exit 4, nothing written."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    book = open_excel(path)
    os.truncate(path, path.stat().st_size // 3)
    cut = path.read_bytes()
    with pytest.raises(WriteRefused, match="changed after sheetsync read it") as refused:
        book.write(sample_grids())
    assert refused.value.exit_code == 4
    assert path.read_bytes() == cut
    assert list(tmp_path.glob(".~sheetsync-*.tmp")) == []


def test_truncated_workbook_is_a_clear_error(tmp_path: Path) -> None:
    """A workbook cut short (by a copy still running, or a crash) is exit 2 'truncated or damaged', never a crash."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SourceError, match="truncated or damaged") as error:
        open_excel(path)
    assert error.value.exit_code == 2


_TRUNCATE_WHILE_WRITING = textwrap.dedent(
    """
    import json, os, random, sys, threading
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_xlsx_package import sample_grids
    from sheetsync.errors import SheetsyncError
    from sheetsync.sources.ooxml.write import fingerprint, write_tabs

    path = Path({path!r})
    original = path.read_bytes()
    random.seed(11)
    outcomes = {{}}
    for attempt in range(60):
        path.write_bytes(original)
        expected = fingerprint(path) if attempt % 2 else None
        delay = random.uniform(0, 0.02)
        cutter = threading.Timer(delay, os.truncate, (path, random.randrange(0, len(original))))
        cutter.start()
        try:
            write_tabs(path, sample_grids(findings=400), expected=expected)
            outcome = "written"
        except SheetsyncError as exc:
            outcome = f"exit {{exc.exit_code}}"
        cutter.join()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(json.dumps(outcomes))
    """
)


def test_truncation_during_a_write_never_kills_the_process(tmp_path: Path) -> None:
    """Issue 11: truncating the workbook at random moments of 60 writes gives exit 2/4 or a write, never SIGBUS."""
    path = rich_workbook(tmp_path / "pipeline.xlsx")
    code = _TRUNCATE_WHILE_WRITING.format(tests=str(Path(__file__).parent), path=str(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # -7 would be SIGBUS
    outcomes = json.loads(done.stdout)
    assert set(outcomes) <= {"written", "exit 2", "exit 4"} and sum(outcomes.values()) == 60
    assert len(outcomes) >= 2, outcomes  # the cuts landed at different moments
