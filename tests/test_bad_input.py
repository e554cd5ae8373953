"""The bad-input corpus (reference 9 "Bad input", reference 7's refusals, reference 2's exit codes), through `sync`.

One parametrized test per kind of outcome, each case run through ``sync`` and,
where a write-back is at stake, ``summary`` (``drafts`` for templates):

- unreadable sources → exit 2, one ``Error:`` naming the file/tab/header, the file untouched;
- bad cells → findings on the right cells, exit 1, the pipeline itself untouched;
- bad config, bad templates, bad options → exit 2 before anything is written;
- formats that can only be read → exit 2 "write-back needs .xlsx", while ``--dry-run`` works;
- write refusals (open in Excel/LibreOffice, the run lock, a changed file, a tab sheetsync did
  not create) → exit 4 naming the reason, nothing written.

Files come from the builders the other test modules already use (``_bad_input`` of
test_cli_validate, the .xls/.ods builders of test_reader, conftest's ``write_xlsx``); the
.xlsb builder lives in tests/bad_input/xlsb.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from bad_input.xlsb import write_xlsb
from click.testing import Result
from conftest import HEADERS, REALWORLD, write_xlsx
from test_cli_validate import BAD_INPUTS, _bad_input, _fake_encrypted, clean
from test_reader import ods_book, xls_book
from xlsxpkg_workbooks import parts

from sheetsync.grid import MARKER
from sheetsync.locking import run_lock

AS_OF = "2026-11-27"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder: no stray sheetsync.toml, SHEETSYNC_CONFIG or lock wait."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    monkeypatch.delenv("SHEETSYNC_LOCK_WAIT", raising=False)


def run(run_cli: Callable[..., Result], command: str, source: Path, *extra: str, **kw: Any) -> Result:
    """`command SOURCE --as-of …`, drafts (for sync/drafts) into ./drafts so they'd be seen if written."""
    out = ["--out", "drafts"] if command in ("sync", "drafts") else []
    return run_cli(command, str(source), "--as-of", AS_OF, *out, *extra, **kw)


def assert_error(result: Result, code: int, words: list[str]) -> None:
    """Exit ``code`` with one clear ``Error:`` message holding every word, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout[-500:], result.stderr)
    assert result.stderr.startswith("Error: "), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.count("\n") <= 2, result.stderr  # one message, not a dump
    assert result.stdout == ""


class Snapshot:
    """The source's bytes and its folder's listing, to prove a refused run left them alone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes() if path.is_file() else None
        self.listing = sorted(os.listdir(path.parent)) if path.parent.is_dir() else None

    def unchanged(self) -> None:
        now = self.path.read_bytes() if self.path.is_file() else None
        assert now == self.data, f"{self.path} changed"
        assert (sorted(os.listdir(self.path.parent)) if self.path.parent.is_dir() else None) == self.listing
        assert not Path("drafts").exists(), "drafts were written"


def book_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "book"
    folder.mkdir(exist_ok=True)
    return folder


def good_book(tmp_path: Path, extra: dict[str, list[list[Any]]] | None = None, name: str = "pipeline.xlsx") -> Path:
    """A small valid pipeline (one clean row, one row due a follow-up) plus any extra tabs."""
    rows = [HEADERS, clean(), clean(Prospect="Beta", Email="b@beta.example", Next_Follow_up=dt.date(2026, 11, 26))]
    return write_xlsx(book_folder(tmp_path) / name, {"Pipeline": rows, **(extra or {})})


# ---------------------------------------------------------------- sources that can't be read: exit 2


def _zip_not_a_workbook(path: Path) -> list[str]:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return [path.name]


def _damaged_member(path: Path) -> list[str]:
    """A real workbook with bytes flipped inside the compressed pipeline sheet (a bad download, a bad disk)."""
    write_xlsx(path, {"Pipeline": [HEADERS, *[clean(Prospect=f"Company {i}") for i in range(50)]]})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size, 60)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return [path.name, "damaged"]


def _quotas_without_quota_column(path: Path) -> list[str]:
    write_xlsx(path, {"Pipeline": [HEADERS, clean()], "Quotas": [["Owner", "Amount"], ["Somchai", 100]]})
    return ["Quotas", "Quota", "'Amount'"]


def _encrypted_xlsm(path: Path) -> list[str]:
    path.write_bytes(_fake_encrypted())
    return [path.name, "password"]


def _real_encrypted(name: str) -> Callable[[Path], list[str]]:
    def build(path: Path) -> list[str]:
        original = REALWORLD / name
        assert original.is_file(), f"{original} is missing: the project expects ../shared/realworld beside it"
        shutil.copyfile(original, path)
        return [path.name, "password"]

    return build


MORE_SOURCES: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "zip-not-a-workbook": ("pipeline.xlsx", _zip_not_a_workbook),
    "damaged-member": ("pipeline.xlsx", _damaged_member),
    "quotas-without-quota-column": ("pipeline.xlsx", _quotas_without_quota_column),
    "encrypted-xlsm": ("pipeline.xlsm", _encrypted_xlsm),
    "excel-encrypted-aes": ("locked.xlsx", _real_encrypted("encryptAES.xlsx")),
    "excel-encrypted-sha1": ("locked.xlsx", _real_encrypted("encryptSHA1.xlsx")),
}


@pytest.mark.parametrize("command", ["sync", "summary"])
@pytest.mark.parametrize("kind", BAD_INPUTS + list(MORE_SOURCES))
def test_unreadable_source_is_exit_2(tmp_path: Path, run_cli: Callable[..., Result], kind: str, command: str) -> None:
    """Not a spreadsheet, truncated, encrypted, damaged, missing tab/column, duplicate header: exit 2, untouched."""
    folder = book_folder(tmp_path)
    if kind in MORE_SOURCES:
        name, build = MORE_SOURCES[kind]
        path = folder / name
        words = build(path)
    else:
        name, content, words = _bad_input(kind, tmp_path)
        path = folder / name
        assert content is not None
        path.write_bytes(content)
    snap = Snapshot(path)
    assert_error(run(run_cli, command, path), 2, words)
    snap.unchanged()


@pytest.mark.parametrize("command", ["sync", "summary"])
@pytest.mark.parametrize("kind", ["folder", "missing"])
def test_source_that_is_not_a_file_is_exit_2(
    tmp_path: Path, run_cli: Callable[..., Result], kind: str, command: str
) -> None:
    """A folder or a path to nothing: exit 2 naming it, nothing created."""
    path = tmp_path / "pipeline.xlsx"
    if kind == "folder":
        path.mkdir()
    result = run(run_cli, command, path)
    assert_error(result, 2, [str(path), "folder" if kind == "folder" else "does not exist"])
    assert (list(path.iterdir()) == []) if kind == "folder" else not path.exists()
    assert sorted(os.listdir(tmp_path)) == (["pipeline.xlsx"] if kind == "folder" else [])


# ---------------------------------------------------------------- bad cells: findings, exit 1, never a crash


def _formula_cells(path: Path) -> None:
    write_xlsx(path, {"Pipeline": [HEADERS, clean(Budget="=50000*2", Expected_Close="=TODAY()+30")]})


def _huge_cells(path: Path) -> None:
    """40,000 characters in Notes and in Prospect (more than a cell may hold), put in the XML directly."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Stage", "Email", "Next Follow-up", "Notes"])
    ws.write_row(1, 0, ["HUGE-PROSPECT", "Lead", "a@x.example", "2026-11-26", "HUGE-NOTES"])
    ws.write_row(2, 0, ["Beta", "Lead", "b@x.example", "2026-12-26", "fine"])
    wb.close()
    edit = {
        b"<t>HUGE-PROSPECT</t>": b"<t>" + b"p" * 40_000 + b"</t>",
        b"<t>HUGE-NOTES</t>": b"<t>" + b"n" * 40_000 + b"</t>",
    }
    _edit_members(path, "xl/sharedStrings.xml", edit)


def _xlsxwriter_rows(path: Path, rows: list[list[Any]]) -> None:
    """Rows under HEADERS written by XlsxWriter, which (unlike openpyxl) stores control characters as Excel does."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    dates = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, HEADERS)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                ws.write_datetime(r, c, value, dates)
            elif isinstance(value, str):
                ws.write_string(r, c, value)
            elif value is not None:
                ws.write(r, c, value)
    wb.close()


def _edit_members(path: Path, member: str, edit: dict[bytes, bytes]) -> None:
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == member:
                for old, new in edit.items():
                    assert old in data
                    data = data.replace(old, new)
            zout.writestr(info, data)


def _cells(
    rows: list[list[Any]], merges: list[str] | None = None, extra: dict[str, Any] | None = None
) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        write_xlsx(path, {"Pipeline": [HEADERS, *rows], **(extra or {})}, {"Pipeline": merges or []})

    return build


# conftest HEADERS: Prospect A, Contact B, Email C, Owner D, Stage E, Decision Maker F, Budget G,
# Expected Close H, Last Contact I, Next Follow-up J, Appointment K, Closed On L, Created M
CELL_CASES: dict[str, tuple[Callable[[Path], None], list[tuple[str, str]], list[str]]] = {
    # case: (builder, (rule, cell) findings expected, words in their messages)
    "wrong-types": (
        _cells([clean(Budget="about 50k", Expected_Close="next week", Decision_Maker="maybe", Email="not-an-email")]),
        [
            ("bad-value", "Pipeline!C2"),
            ("bad-value", "Pipeline!F2"),
            ("bad-value", "Pipeline!G2"),
            ("bad-value", "Pipeline!H2"),
        ],
        ["about 50k", "next week", "maybe", "not-an-email"],
    ),
    "excel-errors": (
        _cells([clean(Budget="#N/A", Expected_Close="#REF!", Decision_Maker="#DIV/0!", Last_Contact="#VALUE!")]),
        [
            ("bad-value", "Pipeline!F2"),
            ("bad-value", "Pipeline!G2"),
            ("bad-value", "Pipeline!H2"),
            ("bad-value", "Pipeline!I2"),
        ],
        ["#N/A", "#REF!", "#DIV/0!", "#VALUE!"],
    ),
    "formula-without-cached-value": (
        _formula_cells,
        [("bad-value", "Pipeline!G2"), ("bad-value", "Pipeline!H2")],
        ["formula"],
    ),
    "merged-cells": (
        _cells([clean(), clean(Prospect="Beta", Email="b@x.example", Owner=None, Budget="TBD")], merges=["D2:D3"]),
        [("bad-value", "Pipeline!G3")],
        ["TBD"],
    ),
    "blank-rows": (
        _cells(
            [
                [None] * 3,
                clean(Budget="TBD"),
                [None] * 5,
                [" ", None, "  "],
                clean(Prospect="Beta", Email="b@x.example", Stage=None),
            ]
        ),
        [("bad-value", "Pipeline!G3"), ("required", "Pipeline!E6")],
        ["TBD"],
    ),
    "huge-cells": (
        _huge_cells,
        [("bad-value", "Pipeline!A2"), ("bad-value", "Pipeline!E2")],
        ["40,000"],
    ),
    "control-characters": (
        lambda path: _xlsxwriter_rows(path, [clean(Prospect="Beta\x01", Contact="Ann\x07")]),
        [("bad-value", "Pipeline!A2"), ("bad-value", "Pipeline!B2")],
        ["control characters"],
    ),
    "bad-quota": (
        _cells([clean()], extra={"Quotas": [["Owner", "Quota"], ["Somchai", "TBD"], [None, 5]]}),
        [("bad-value", "Quotas!B2"), ("bad-value", "Quotas!A3")],
        ["TBD", "no owner"],
    ),
}


def _checks_findings(path: Path) -> list[tuple[Any, ...]]:
    ws = openpyxl.load_workbook(path)["Checks"]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    header = rows.index(("Cell", "Row", "Prospect", "Owner", "Rule", "Severity", "Message"))
    return [r for r in rows[header + 1 :] if any(v is not None for v in r)]


@pytest.mark.parametrize("kind", list(CELL_CASES))
def test_bad_cells_are_findings_never_crashes(tmp_path: Path, run_cli: Callable[..., Result], kind: str) -> None:
    """Wrong types, Excel errors, merges, blank rows, huge cells, uncached formulas: findings on their cells, exit 1."""
    build, expected, words = CELL_CASES[kind]
    path = book_folder(tmp_path) / "pipeline.xlsx"
    build(path)
    pipeline_before = parts(path)["xl/worksheets/sheet1.xml"]

    dry = run(run_cli, "sync", path, "--dry-run", "--json")
    assert dry.exit_code == 1, dry.stderr
    assert "Traceback" not in dry.stderr
    snap_bytes = path.read_bytes()
    found = [(f["rule"], f["cell"]) for f in json.loads(dry.stdout)["findings"]]
    for item in expected:
        assert item in found, (item, found)
    messages = " ".join(f["message"] for f in json.loads(dry.stdout)["findings"])
    for word in words:
        assert word in messages, (word, messages)
    assert path.read_bytes() == snap_bytes  # the dry run wrote nothing

    result = run(run_cli, "sync", path, "--json")
    assert result.exit_code == 1, result.stderr
    assert [(f["rule"], f["cell"]) for f in json.loads(result.stdout)["findings"]] == found
    assert parts(path)["xl/worksheets/sheet1.xml"] == pipeline_before  # the pipeline itself never changes
    on_checks = [(r[4], r[0]) for r in _checks_findings(path)]
    assert on_checks == found


def test_huge_prospect_name_is_cut_to_what_a_cell_holds_on_checks(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """A 40,000-character prospect name still gives a valid Checks tab (cut to Excel's 32,767 characters)."""
    path = book_folder(tmp_path) / "pipeline.xlsx"
    _huge_cells(path)
    assert run(run_cli, "sync", path).exit_code == 1
    prospects = [r[2] for r in _checks_findings(path)]
    assert any(isinstance(p, str) and len(p) == 32_767 for p in prospects), [len(p or "") for p in prospects]


# ---------------------------------------------------------------- bad config: exit 2, nothing written

CONFIG_CASES = {
    "unknown-key": ('sorce = "p.xlsx"\n', ["'sorce'", "'source'"]),
    "unknown-section": ('[pipline]\ncurrency = "THB"\n', ["'pipline'", "'pipeline'"]),
    "unknown-key-in-section": ("[drafts]\nreminder_dayz = 2\n", ["'drafts.reminder_dayz'", "'reminder_days'"]),
    "wrong-type-string-for-number": ('[quota]\namount = "3M"\n', ["quota.amount"]),
    "wrong-type-number-for-string": ("[pipeline]\ncurrency = 5\n", ["pipeline.currency"]),
    "wrong-choice": ('[pipeline]\nperiod = "week"\n', ["pipeline.period", "week"]),
    "out-of-range": ("[pipeline]\nfiscal_year_start_month = 13\n", ["pipeline.fiscal_year_start_month"]),
    "bad-severity": ('[rules]\nstale = "loud"\n', ["rules.stale", "loud"]),
    "bad-stage-list": ('[[stages]]\nname = "Lead"\n', ["stages"]),
    "not-toml": ('[pipeline]\ncurrency = "THB\n', ["not valid TOML"]),
    "bad-timezone": ('[pipeline]\ntimezone = "Mars/Olympus"\n', ["pipeline.timezone", "Mars/Olympus"]),
    "bad-sender": ('[drafts]\nfrom = "not an address"\n', ["drafts.from"]),
}


@pytest.mark.parametrize(
    ("kind", "command"),
    # summary renders no drafts, so it has no reason to read [drafts] from
    [(k, c) for k in CONFIG_CASES for c in ("sync", "summary") if (k, c) != ("bad-sender", "summary")],
)
def test_bad_config_is_exit_2_before_anything_is_written(
    tmp_path: Path, run_cli: Callable[..., Result], kind: str, command: str
) -> None:
    """An unknown key or a value of the wrong type: exit 2 naming the key (and the closest one), nothing written."""
    toml, words = CONFIG_CASES[kind]
    (tmp_path / "sheetsync.toml").write_text(toml, encoding="utf-8")
    path = good_book(tmp_path)
    snap = Snapshot(path)
    assert_error(run(run_cli, command, path), 2, [*words, "sheetsync.toml"])
    snap.unchanged()


@pytest.mark.parametrize("command", ["sync", "summary"])
def test_a_tab_setting_that_names_the_pipeline_never_overwrites_it(
    tmp_path: Path, run_cli: Callable[..., Result], command: str
) -> None:
    """`[tabs] summary = "Pipeline"` would write over the user's data: refused (exit 2 or 4), nothing written."""
    (tmp_path / "sheetsync.toml").write_text('[tabs]\nsummary = "pipeline"\n', encoding="utf-8")
    path = good_book(tmp_path)
    snap = Snapshot(path)
    result = run(run_cli, command, path)
    assert result.exit_code in (2, 4), (result.exit_code, result.stderr)
    assert result.stderr.startswith("Error: ") and "ipeline" in result.stderr
    snap.unchanged()


@pytest.mark.parametrize(
    "args",
    [["--as-of", "27/11/2026"], ["--as-of", "2026-13-01"], ["--bogus"], ["--format", "eml"]],
    ids=["as-of-not-iso", "as-of-no-such-day", "unknown-option", "option-of-another-command"],
)
def test_bad_option_is_exit_2(tmp_path: Path, run_cli: Callable[..., Result], args: list[str]) -> None:
    """A bad option to sync: exit 2 naming the option, no traceback, nothing written."""
    path = good_book(tmp_path)
    snap = Snapshot(path)
    result = run_cli("sync", str(path), "--out", "drafts", *args)
    assert result.exit_code == 2
    assert args[0] in result.stderr and "Traceback" not in result.stderr
    snap.unchanged()


def test_unusable_drafts_folder_is_exit_2_before_anything_is_written(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """--out inside a regular file can't work: a usage error (exit 2) found before the workbook is written."""
    path = good_book(tmp_path)
    snap = Snapshot(path)
    (tmp_path / "afile").write_text("not a folder")
    result = run_cli("sync", str(path), "--as-of", AS_OF, "--out", "afile/drafts")
    assert_error(result, 2, ["afile/drafts"])
    snap.unchanged()


# ---------------------------------------------------------------- bad templates: exit 2, nothing written

TEMPLATE_CASES: dict[str, tuple[dict[str, str], str | None, list[str]]] = {
    # case: (files in templates/, [drafts] templates setting, words in the error)
    "syntax-error": (
        {"follow-up.txt.j2": "Subject: Hello {{ prospect.prospect }}\n\nHi,\n{% if prospect.contact %}\nno endif\n"},
        None,
        ["follow-up.txt.j2", "line", "syntax"],
    ),
    "unclosed-expression-in-subject": (
        {"follow-up.txt.j2": "Subject: Hello {{ prospect.prospect \n\nHi\n"},
        None,
        ["follow-up.txt.j2", "line 1"],
    ),
    "syntax-error-in-html": (
        {"follow-up.txt.j2": "Subject: Hi\n\nHi\n", "follow-up.html.j2": "<p>\n\n{% for %}</p>\n"},
        None,
        ["follow-up.html.j2", "line 3"],
    ),
    "forbidden-header": (
        {"follow-up.txt.j2": "Subject: Hi\nBcc: boss@example.com\n\nHi\n"},
        None,
        ["follow-up.txt.j2", "line 2", "Bcc"],
    ),
    "no-subject": ({"follow-up.txt.j2": "Hi there\n\nbody\n"}, None, ["follow-up.txt.j2", "Subject"]),
    "include-of-missing-file": (
        {"follow-up.txt.j2": "Subject: Hi\n\n{% include 'signature.j2' %}\n"},
        None,
        ["follow-up.txt.j2", "signature.j2"],
    ),
    "misspelt-reason": ({"followup.txt.j2": "Subject: Hi\n\nHi\n"}, None, ["followup.txt.j2", "follow-up"]),
    "configured-folder-missing": ({}, "my-templates", ["my-templates", "drafts.templates"]),
}


@pytest.mark.parametrize("command", ["sync", "drafts"])
@pytest.mark.parametrize("kind", list(TEMPLATE_CASES))
def test_bad_template_is_exit_2_before_anything_is_written(
    tmp_path: Path, run_cli: Callable[..., Result], kind: str, command: str
) -> None:
    """A template that can't compile, or a configured templates folder that isn't there: exit 2, nothing written."""
    files, setting, words = TEMPLATE_CASES[kind]
    folder = tmp_path / "templates"
    for name, text in files.items():
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    setting_line = f'[drafts]\ntemplates = "{setting}"\n' if setting is not None else ""
    (tmp_path / "sheetsync.toml").write_text(setting_line, encoding="utf-8")  # templates/ beside it is used
    path = good_book(tmp_path)
    snap = Snapshot(path)
    assert_error(run(run_cli, command, path), 2, words)
    snap.unchanged()


def test_bad_template_in_the_working_folder_without_a_config(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """With no sheetsync.toml, ./templates still overrides the built-ins (reference 8.2): its syntax error is exit 2."""
    files, _setting, words = TEMPLATE_CASES["syntax-error"]
    (tmp_path / "templates").mkdir()
    for name, text in files.items():
        (tmp_path / "templates" / name).write_text(text, encoding="utf-8")
    path = good_book(tmp_path)
    snap = Snapshot(path)
    assert_error(run(run_cli, "sync", path), 2, words)
    snap.unchanged()


# ---------------------------------------------------------------- formats that can only be read


def _xlsb(path: Path) -> None:
    write_xlsb(path, {"Pipeline": [["Prospect", "Stage", "Budget"], ["Acme", "Lead", 5000.0], ["Beta", "Lead", "TBD"]]})


READ_ONLY = {"xls": xls_book, "xlsb": _xlsb, "ods": ods_book}


@pytest.mark.parametrize("command", ["sync", "summary"])
@pytest.mark.parametrize("fmt", list(READ_ONLY))
def test_read_only_format_refuses_write_back_but_dry_run_works(
    tmp_path: Path, run_cli: Callable[..., Result], fmt: str, command: str
) -> None:
    """.xls/.xlsb/.ods: writing commands exit 2 "write-back needs an .xlsx"; with --dry-run they run (exit 0/1)."""
    path = book_folder(tmp_path) / f"pipeline.{fmt}"
    READ_ONLY[fmt](path)
    snap = Snapshot(path)
    assert_error(run(run_cli, command, path), 2, [path.name, "write-back needs an .xlsx", "--dry-run"])
    snap.unchanged()

    dry = run(run_cli, command, path, "--dry-run", "--json")
    assert dry.exit_code in (0, 1), dry.stderr
    data = json.loads(dry.stdout)
    assert data["rows"] == (2 if fmt == "xlsb" else 3)
    assert any(f["rule"] == "bad-value" and f["cell"].startswith("Pipeline!C") for f in data["findings"])
    snap.unchanged()


# ---------------------------------------------------------------- write refused: exit 4, nothing written


def _foreign_tab(title: str, rows: list[list[Any]]) -> Callable[[Path], tuple[Path, list[str]]]:
    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        return good_book(tmp_path, {title: rows}), [f"'{title}'", "did not create", "nothing was written"]

    return build


def _owner_file(prefix: str, suffix: str, app: str) -> Callable[[Path], tuple[Path, list[str]]]:
    def build(tmp_path: Path) -> tuple[Path, list[str]]:
        path = good_book(tmp_path)
        (path.parent / f"{prefix}{path.name}{suffix}").write_bytes(b"\x05someone")
        return path, [f"open in {app}", f"{prefix}{path.name}{suffix}"]

    return build


REFUSALS: dict[str, Callable[[Path], tuple[Path, list[str]]]] = {
    "open-in-excel": _owner_file("~$", "", "Excel"),
    "open-in-libreoffice": _owner_file(".~lock.", "#", "LibreOffice"),
    "summary-with-user-data": _foreign_tab("Summary", [["Our own notes"], ["Q4 plan", 3]]),
    "checks-with-user-data": _foreign_tab("Checks", [["Checklist"], ["call Acme"]]),
    "marker-not-in-a1": _foreign_tab("Summary", [[None], [f"{MARKER} — as of 2026-11-20"]]),
    "history-lower-case-without-header": _foreign_tab("history", [["Date", "Revenue"], ["2026-11-01", 5]]),
    "history-with-partial-header": _foreign_tab("HISTORY", [["As of", "Period start"], ["2026-11-01", "2026-10-01"]]),
}


@pytest.mark.parametrize("command", ["sync", "summary"])
@pytest.mark.parametrize("kind", list(REFUSALS))
def test_write_refused_is_exit_4_and_nothing_is_written(
    tmp_path: Path, run_cli: Callable[..., Result], kind: str, command: str
) -> None:
    """Open in Excel/LibreOffice, or a target tab sheetsync did not create: exit 4 naming it, nothing written."""
    path, words = REFUSALS[kind](tmp_path)
    snap = Snapshot(path)
    assert_error(run(run_cli, command, path), 4, words)
    snap.unchanged()


@pytest.mark.parametrize("command", ["sync", "summary"])
def test_another_run_holding_the_lock_is_exit_4(tmp_path: Path, run_cli: Callable[..., Result], command: str) -> None:
    """Another sheetsync run has the workbook: exit 4 naming it, nothing written."""
    path = good_book(tmp_path)
    with run_lock(path, wait=0):
        snap = Snapshot(path)
        result = run(run_cli, command, path, env={"SHEETSYNC_LOCK_WAIT": "0"})
        assert_error(result, 4, ["another sheetsync run", f"pid {os.getpid()}", str(path)])
        snap.unchanged()


@pytest.mark.parametrize("command", ["sync", "summary"])
def test_workbook_changed_between_read_and_write_is_exit_4(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Someone saves the workbook while sync works: exit 4, their version kept, ours not written."""
    # Nothing outside the process can hit that window reliably, so the rule checks (which run
    # between reading and writing) are wrapped to save the workbook in Excel's place.
    import sheetsync.run

    path = good_book(tmp_path)
    theirs = good_book(tmp_path, {"Notes": [["saved by a colleague"]]}, name="theirs.xlsx").read_bytes()
    check = sheetsync.run.check

    def check_then_someone_saves(*args: Any, **kwargs: Any) -> Any:
        checked = check(*args, **kwargs)
        path.write_bytes(theirs)
        return checked

    monkeypatch.setattr(sheetsync.run, "check", check_then_someone_saves)
    listing = sorted(os.listdir(path.parent))
    assert_error(run(run_cli, command, path), 4, [str(path), "changed after sheetsync read it", "nothing was written"])
    assert path.read_bytes() == theirs
    assert sorted(os.listdir(path.parent)) == listing
    assert not Path("drafts").exists()
