"""`sheetsync sync` end to end (reference 2, 7, 8.3): tabs, drafts and manifest, --json, output rules, --log-file,
--dry-run, reruns, and the run lock between two syncs of one workbook.

Every test works on a copy of ``sample_workbooks/pipeline.xlsx`` (or a tiny clean
workbook) in its own folder; results are read back with openpyxl and the
drafts folder is read as a user would, through ``drafts.csv`` and the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import Result

from sheetsync.grid import MARKER
from sheetsync.tabs import CHECKS_HEADER, HISTORY_HEADER

AS_OF = "2026-11-27"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_workbooks" / "pipeline.xlsx"
# The installed console script beside this interpreter (the venv's), else the one on PATH.
_BESIDE = Path(sys.executable).with_name("sheetsync")
SHEETSYNC = str(_BESIDE) if _BESIDE.exists() else (shutil.which("sheetsync") or "sheetsync")

# sample_workbooks/make_sample.py documents these: one deliberate finding per row ...
SAMPLE_FINDINGS = [
    (8, "stale"), (11, "decision-maker"), (13, "budget-known"), (14, "timeline-known"), (15, "unknown-stage"),
    (16, "bad-value"), (17, "closed-date"), (18, "close-date-passed"), (28, "duplicate"),
]  # fmt: skip
# ... and these due drafts as of 2026-11-27: row → (reason, status).
SAMPLE_DRAFTS = {
    3: ("follow-up", "written"), 4: ("appointment-reminder", "written"), 5: ("post-meeting", "written"),
    6: ("info-request", "written"), 7: ("info-request", "written"), 8: ("trial-offer", "written"),
    9: ("follow-up", "written"), 12: ("follow-up", "skipped"), 21: ("follow-up", "written"),
    24: ("follow-up", "written"), 27: ("follow-up", "written"), 31: ("follow-up", "written"),
    38: ("follow-up", "written"),
}  # fmt: skip
SUMMARY_LABELS = [
    "As of", "Period start", "Period end", "Quota", "Won this period", "Expected from pipeline", "To generate",
    "Attainment", "Coverage", "Open deals", "Open pipeline", "Weighted pipeline", "Win rate", "Closing rate",
    "Average won deal", "Sales cycle (days)", "Velocity per day", "Excluded rows",
]  # fmt: skip
FIGURE_KEYS = {
    "as_of", "period", "currency", "rows", "excluded_rows", "stages", "open_count", "open_amount",
    "weighted_pipeline", "won_this_period", "expected", "quota", "remaining", "to_generate", "attainment",
    "coverage", "win_rate", "appointments_held", "closing_rate", "average_won_deal", "cycle_days", "velocity",
    "owners", "diagnosis",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder with no SHEETSYNC_CONFIG or lock wait from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    monkeypatch.delenv("SHEETSYNC_LOCK_WAIT", raising=False)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A copy of the shipped sample workbook in its own folder."""
    folder = tmp_path / "book"
    folder.mkdir()
    return Path(shutil.copy(SAMPLE, folder / "pipeline.xlsx"))


@pytest.fixture
def clean_book(tmp_path: Path) -> Path:
    """A one-row workbook with no finding and no due draft: a sync of it has nothing to warn about."""
    from conftest import HEADERS, write_xlsx

    folder = tmp_path / "clean"
    folder.mkdir()
    row = ["Acme", "Ann", "ann@acme.example", "Somchai", "Proposal", "yes", 100_000, dt.date(2026, 12, 20),
           dt.date(2026, 11, 25), dt.date(2026, 12, 1)]  # fmt: skip
    return write_xlsx(folder / "pipeline.xlsx", {"Pipeline": [HEADERS, row]})


def sync(run_cli: Callable[..., Result], path: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    out = path.parent.parent / "drafts"
    return run_cli("sync", str(path), "--as-of", AS_OF, "--out", str(out), *extra, env=env)


def read_tabs(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every tab's rows as values, trailing empty rows dropped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    tabs: dict[str, list[tuple[Any, ...]]] = {}
    for ws in wb.worksheets:
        rows = [tuple(row) for row in ws.iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        tabs[ws.title] = rows
    return tabs


def strip_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(row)
    while values and values[-1] is None:
        values.pop()
    return tuple(values)


def checks_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The finding rows of a Checks tab: everything under its header row."""
    header = next(i for i, r in enumerate(rows) if strip_row(r) == CHECKS_HEADER)
    return [strip_row(r) for r in rows[header + 1 :]]


def manifest(out: Path) -> list[dict[str, str]]:
    with (out / "drafts.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment minus SHEETSYNC_* settings; bytecode cached outside the project so each child starts fast."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETSYNC_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"sheetsync-tests-pycache-{os.getuid()}")
    env.update(extra)
    return env


# ---------------------------------------------------------------- the tabs


def test_sync_writes_summary_checks_and_history(book: Path, run_cli: Callable[..., Result]) -> None:
    """The sample: exit 1; Summary with its marker and labels, Checks = the findings, History one row."""
    pipeline_before = read_tabs(book)["Pipeline"]
    result = sync(run_cli, book, "--json")
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["row"], f["rule"]) for f in findings] == SAMPLE_FINDINGS

    tabs = read_tabs(book)
    assert list(tabs) == ["Pipeline", "Quotas", "Summary", "Checks", "History"]
    assert tabs["Pipeline"] == pipeline_before

    summary = tabs["Summary"]
    assert str(summary[0][0]).startswith(MARKER) and AS_OF in str(summary[0][0])
    labels = {r[0]: r[1] for r in summary if r and isinstance(r[0], str)}
    assert [label for label in labels if label in SUMMARY_LABELS] == SUMMARY_LABELS
    assert labels["Won this period"] == 645_000 and labels["Quota"] == 3_000_000
    assert labels["Excluded rows"] == 2 and labels["As of"] == dt.datetime(2026, 11, 27)

    checks = tabs["Checks"]
    assert str(checks[0][0]).startswith(MARKER)
    owner_col = tabs["Pipeline"][0].index("Owner")
    owners = {n: row[owner_col] for n, row in enumerate(tabs["Pipeline"], 1)}
    assert checks_rows(checks) == [
        (f["cell"], f["row"], f["prospect"], owners[f["row"]], f["rule"], f["severity"], f["message"]) for f in findings
    ]

    history = tabs["History"]
    assert strip_row(history[0]) == HISTORY_HEADER
    assert len(history) == 2
    # open deals: 28, since row 28 is a duplicate of row 3 and left out (issue 13)
    assert history[1][:3] == (dt.datetime(2026, 11, 27), dt.datetime(2026, 10, 1), 28)


def test_sync_drafts_manifest_accounts_for_every_due_row(
    book: Path, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """drafts.csv lists every due row with its reason and status; each written row has its .eml, nothing more."""
    result = sync(run_cli, book)
    assert result.exit_code == 1
    out = tmp_path / "drafts"
    entries = manifest(out)
    assert {int(e["row"]): (e["reason"], e["status"]) for e in entries} == SAMPLE_DRAFTS
    assert len(entries) == len(SAMPLE_DRAFTS)
    written = {e["file"] for e in entries if e["status"] == "written"}
    assert written == {p.name for p in out.glob("*.eml")}
    assert sorted(p.name for p in out.iterdir()) == sorted([*written, "drafts.csv"])
    for e in entries:
        assert e["file"].startswith(f"{AS_OF}_{e['reason']}_row{e['row']}_") or e["status"] != "written"
    skipped = next(e for e in entries if e["status"] == "skipped")
    assert skipped["file"] == "" and "email" in skipped["detail"]


def test_sync_json_is_one_document_with_figures_findings_and_drafts(book: Path, run_cli: Callable[..., Result]) -> None:
    """--json: stdout parses as exactly one JSON object holding the figures, findings and drafts keys."""
    result = sync(run_cli, book, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # fails on anything printed before or after the document
    assert isinstance(data, dict)
    assert FIGURE_KEYS | {"findings", "drafts"} <= set(data)
    assert data["as_of"] == AS_OF and data["period"] == {"start": "2026-10-01", "end": "2026-12-31"}
    assert len(data["findings"]) == len(SAMPLE_FINDINGS)
    assert {d["row"]: (d["reason"], d["status"]) for d in data["drafts"]} == SAMPLE_DRAFTS
    assert "{" not in result.stderr


# ---------------------------------------------------------------- terminal or not
#
# The issue says "Silent when not on a terminal except warnings and errors on stderr".  For
# `sync` (what cron runs) that is taken to mean: with stdout not a terminal and no --json,
# nothing on stdout, and stderr holds only `Warning: …` / `Error: …` lines (a clean run prints
# nothing at all).  The full report is for a person at a terminal; cron mails any output.


def run_piped(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHEETSYNC, "sync", str(path), "--as-of", AS_OF, "--out", str(path.parent / "drafts"), *extra],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=path.parent,
        timeout=60,
    )


@pytest.mark.parametrize("which", ["clean", "sample"])
def test_sync_is_silent_when_not_on_a_terminal(book: Path, clean_book: Path, which: str) -> None:
    """Stdout a pipe, no --json: stdout stays empty; stderr has only Warning:/Error: lines (none when clean)."""
    path = clean_book if which == "clean" else book
    done = run_piped(path)
    assert done.returncode == (0 if which == "clean" else 1), done.stderr
    assert done.stdout == "", f"report printed to a pipe:\n{done.stdout[:400]}"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert all(line.startswith(("Warning:", "Error:")) for line in lines), done.stderr
    if which == "clean":
        assert done.stderr == ""
    assert "Traceback" not in done.stderr


def test_sync_json_still_prints_when_not_on_a_terminal(book: Path) -> None:
    """--json to a pipe is the machine output: one JSON document on stdout."""
    done = run_piped(book, "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["won_this_period"] == 645_000


@pytest.mark.parametrize(
    ("args", "code", "stdout", "stderr"),
    [
        (["--version"], 0, "sheetsync, version", ""),
        (["validate", "{book}", "--as-of", AS_OF, "--json"], 1, '"findings"', ""),
        (["validate", "{book}", "--as-of", AS_OF], 1, "6 errors, 3 warnings", ""),
        (["validate", "{book}", "--as-of", "yesterday"], 2, "", "Error: Invalid value for '--as-of'"),
        (["validate", "{missing}"], 2, "", "does not exist"),
        (["bogus"], 2, "", "No such command 'bogus'"),
        (["sync", "{book}", "--as-of", AS_OF, "--out", "drafts"], 4, "", "open in Excel"),
    ],
)
def test_the_console_script_flushes_its_output_and_exits_with_the_commands_code(
    book: Path, args: list[str], code: int, stdout: str, stderr: str
) -> None:
    """cli.main ends the process with os._exit: everything printed must still arrive, with the exit code."""
    if code == 4:
        (book.parent / f"~${book.name}").write_bytes(b"owner")  # Excel's lock file: the workbook is open
    argv = [a.format(book=book, missing=book.parent / "missing.xlsx") for a in args]
    done = subprocess.run(
        [SHEETSYNC, *argv], capture_output=True, text=True, env=subprocess_env(), cwd=book.parent, timeout=60
    )
    assert done.returncode == code, done.stderr
    assert stdout in done.stdout and stderr in done.stderr
    assert "Traceback" not in done.stderr
    if "--json" in argv:
        assert json.loads(done.stdout)["rows"] == 40  # the whole document, not a cut-off buffer


def test_sync_verbose_prints_the_report_when_not_on_a_terminal(book: Path, run_cli: Callable[..., Result]) -> None:
    """--verbose asks for the full report on a pipe too (to mail it, say); warnings stay off stdout."""
    result = sync(run_cli, book, "--verbose")
    assert result.exit_code == 1
    assert "Won this period" in result.stdout and "Pipeline!G11" in result.stdout
    assert "Traceback" not in result.stderr


def test_terminal_rounds_like_the_summary_tab(book: Path, run_cli: Callable[..., Result]) -> None:
    """Issue 15: percent and coverage with one decimal, as the Summary tab's 0.0% and 0.0× formats show them.

    David's attainment is exactly 16.25 %: the tab shows 16.3%, and so does the terminal.
    """
    result = sync(run_cli, book, "--verbose")
    attainment = "21.5% of quota THB 3,000,000.00"  # 645,000 / 3,000,000
    assert attainment in result.stdout and "coverage 1.3×" in result.stdout
    assert "Win rate 60.0%   closing rate 28.6% of 21 meetings" in result.stdout
    (david,) = [line for line in result.stdout.splitlines() if line.startswith("  David ")]
    assert david.endswith(" 16.3%")


def run_on_terminal(path: Path) -> tuple[int, str, str]:
    """Run sync with stdout on a pseudo-terminal; returns (exit code, terminal text, stderr)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [SHEETSYNC, "sync", str(path), "--as-of", AS_OF, "--out", str(path.parent / "drafts")],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
        cwd=path.parent,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace"), stderr


def test_sync_prints_the_report_on_a_terminal(book: Path) -> None:
    """On a terminal the human report is shown: key figures, stage table, findings, draft count."""
    code, text, stderr = run_on_terminal(book)
    assert code == 1, stderr
    assert "Won this period" in text and "Negotiation" in text
    assert "Pipeline!G11" in text
    assert "12 written" in text
    assert "Traceback" not in stderr


# ---------------------------------------------------------------- --log-file


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]  # every line is one JSON document


def test_log_file_gets_one_json_line_per_run(book: Path, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Each run appends one line: time, source, as_of, exit code, counts, figures and draft counts."""
    log = tmp_path / "logs" / "sheetsync.log"
    log.parent.mkdir()
    assert sync(run_cli, book, "--log-file", str(log)).exit_code == 1
    assert sync(run_cli, book, "--log-file", str(log), "--dry-run").exit_code == 1
    first, second = log_lines(log)
    for record in (first, second):
        assert record["exit_code"] == 1
        assert record["command"] == "sync" and record["as_of"] == AS_OF
        assert record["source"].endswith("pipeline.xlsx")
        assert (record["rows"], record["errors"], record["warnings"]) == (40, 6, 3)
        assert record["won_this_period"] == 645_000 and record["quota"] == 3_000_000
        assert record["to_generate"] == 102_500 and record["open_count"] == 28  # row 28, a duplicate, left out
        assert dt.datetime.fromisoformat(record["time"]).tzinfo is not None
    assert first["drafts"]["written"] == 12 and first["drafts"]["skipped"] == 1
    assert second["drafts"]["written"] == 0 and second["drafts"]["would_write"] == 12


def failure_setup(kind: str, book: Path) -> tuple[Path, int, str]:
    """(source to sync, expected exit code, words in the error) for one kind of failed run."""
    if kind == "missing-source":
        return book.with_name("nope.xlsx"), 2, "does not exist"
    if kind == "not-a-workbook":
        book.write_bytes(b"Prospect,Stage\nAcme,Lead\n")
        return book, 2, "not a .xlsx workbook"
    if kind == "open-in-excel":
        (book.parent / f"~${book.name}").write_bytes(b"\x05owner")
        return book, 4, "open in Excel"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing-source", "not-a-workbook", "open-in-excel"])
def test_log_file_records_failed_runs(book: Path, tmp_path: Path, run_cli: Callable[..., Result], kind: str) -> None:
    """A run that fails with exit 2 or 4 still appends its line, with the exit code and the error."""
    source, code, words = failure_setup(kind, book)
    log = tmp_path / "sheetsync.log"
    result = sync(run_cli, source, "--log-file", str(log))
    assert result.exit_code == code
    (record,) = log_lines(log)
    assert record["exit_code"] == code
    assert record["command"] == "sync"
    assert words in record["error"]
    assert dt.datetime.fromisoformat(record["time"])


def test_log_line_of_a_failed_run_names_its_source_and_as_of(
    book: Path, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """Several sheets may log to one file: a failure line must say which source (and as-of) failed."""
    log = tmp_path / "sheetsync.log"
    (book.parent / f"~${book.name}").write_bytes(b"\x05owner")
    assert sync(run_cli, book, "--log-file", str(log)).exit_code == 4
    (record,) = log_lines(log)
    assert record.get("source", "").endswith("pipeline.xlsx"), record
    assert record.get("as_of") == AS_OF, record


def test_log_file_records_a_bad_option(book: Path, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A crontab line with a bad option (exit 2) must not fail without a trace in the log."""
    log = tmp_path / "sheetsync.log"
    result = run_cli("sync", str(book), "--log-file", str(log), "--as-of", "2026-13-01")
    assert result.exit_code == 2
    assert log.exists(), "exit 2 from a bad option left no log line"
    (record,) = log_lines(log)
    assert record["exit_code"] == 2 and "--as-of" in record["error"]


# ---------------------------------------------------------------- --dry-run and reruns


def test_dry_run_writes_nothing(book: Path, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """--dry-run: the workbook's bytes and folder are unchanged and no drafts folder appears."""
    before = book.read_bytes()
    stat_before = book.stat()
    result = sync(run_cli, book, "--dry-run", "--json")
    assert result.exit_code == 1
    assert book.read_bytes() == before
    assert (book.stat().st_ino, book.stat().st_mtime_ns) == (stat_before.st_ino, stat_before.st_mtime_ns)
    assert [p.name for p in book.parent.iterdir()] == [book.name]
    assert not (tmp_path / "drafts").exists()
    data = json.loads(result.stdout)
    assert {d["status"] for d in data["drafts"]} == {"would-write", "skipped"}
    assert "written_tabs" not in data or not data["written_tabs"]


def test_second_sync_on_the_same_day_replaces(book: Path, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Rerunning the same as-of: same tabs, one History row, the same draft files and no duplicates."""
    assert sync(run_cli, book).exit_code == 1
    first_tabs = read_tabs(book)
    first_drafts = sorted(p.name for p in (tmp_path / "drafts").iterdir())
    assert sync(run_cli, book).exit_code == 1
    again = read_tabs(book)
    assert list(again) == list(first_tabs)
    assert again == first_tabs
    assert len(again["History"]) == 2
    assert sorted(p.name for p in (tmp_path / "drafts").iterdir()) == first_drafts
    assert [p.name for p in book.parent.iterdir()] == [book.name]  # no temp or lock file left behind


def test_a_later_as_of_adds_a_history_row(book: Path, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A later as-of adds its History row; rerunning an earlier day replaces that day's row only."""
    assert sync(run_cli, book).exit_code == 1
    out = str(tmp_path / "drafts")
    assert run_cli("sync", str(book), "--as-of", "2026-11-30", "--out", out).exit_code == 1
    assert sync(run_cli, book).exit_code == 1
    tabs = read_tabs(book)
    assert list(tabs) == ["Pipeline", "Quotas", "Summary", "Checks", "History"]
    history = tabs["History"]
    assert [r[0] for r in history[1:]] == [dt.datetime(2026, 11, 27), dt.datetime(2026, 11, 30)]
    assert AS_OF in str(tabs["Summary"][0][0])


# ---------------------------------------------------------------- two syncs of one workbook


@pytest.fixture
def lock_holder(book: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the run lock on the workbook, as a running sync would."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from sheetsync.locking import run_lock\n"
            "with run_lock(Path(sys.argv[1]), wait=0):\n    print('locked', flush=True); time.sleep(60)",
            str(book),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_sync_waits_for_the_lock_then_exits_4(
    book: Path, tmp_path: Path, run_cli: Callable[..., Result], lock_holder: subprocess.Popen[str]
) -> None:
    """While another run holds the lock, sync waits SHEETSYNC_LOCK_WAIT seconds, then exit 4, untouched."""
    before = book.read_bytes()
    started = time.monotonic()
    result = sync(run_cli, book, env={"SHEETSYNC_LOCK_WAIT": "1"})
    waited = time.monotonic() - started
    assert result.exit_code == 4
    assert 1.0 <= waited < 10, waited
    assert result.stderr.startswith("Error: ") and "another sheetsync run" in result.stderr
    assert f"pid {lock_holder.pid}" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert book.read_bytes() == before
    assert not (tmp_path / "drafts").exists()

    lock_holder.kill()
    lock_holder.wait()
    assert sync(run_cli, book, env={"SHEETSYNC_LOCK_WAIT": "1"}).exit_code == 1  # the kernel freed the lock


def test_two_concurrent_syncs_run_one_after_the_other(book: Path, tmp_path: Path) -> None:
    """Two syncs started together both succeed and both History rows are there: no lost or refused write."""
    procs = [
        subprocess.Popen(
            [SHEETSYNC, "sync", str(book), "--as-of", day, "--out", str(tmp_path / f"drafts-{day}")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for day in ("2026-11-27", "2026-11-28")
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [1, 1], results
    history = read_tabs(book)["History"]
    assert [r[0] for r in history[1:]] == [dt.datetime(2026, 11, 27), dt.datetime(2026, 11, 28)]
    assert [p.name for p in book.parent.iterdir()] == [book.name]


# ---------------------------------------------------------------- docs/cron.md

CRON_DOC = Path(__file__).resolve().parent.parent / "docs" / "cron.md"
DOC_FOLDER = "/srv/sales/pipeline"
DOC_SHEETSYNC = "/opt/sheetsync/.venv/bin/sheetsync"


def crontab_command() -> str:
    """The command part (after the five schedule fields) of the first entry in docs/cron.md's crontab block."""
    block = re.search(r"```crontab\n(.*?)```", CRON_DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None, "docs/cron.md has no ```crontab block"
    for line in block.group(1).splitlines():
        if line.strip() and not line.startswith("#") and not re.match(r"^[A-Z_]+=", line):
            return line.split(None, 5)[5]
    raise AssertionError("no crontab entry in docs/cron.md")


def test_crontab_line_in_the_docs_works(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """The documented crontab command, run as cron would (sh, bare environment): quiet on 0/1, mails on 4."""
    assert run_cli("init", str(tmp_path / "pipeline")).exit_code == 0
    project = tmp_path / "pipeline"
    (project / "logs").mkdir()
    command = crontab_command()
    assert DOC_FOLDER in command and DOC_SHEETSYNC in command
    command = command.replace(DOC_FOLDER, str(project)).replace(DOC_SHEETSYNC, SHEETSYNC)
    cron_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SHELL": "/bin/sh",
        "LOGNAME": "sales",
        # bytecode goes to a cache outside the project instead of __pycache__ folders in it
        "PYTHONPYCACHEPREFIX": subprocess_env()["PYTHONPYCACHEPREFIX"],
    }

    def cron() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, env=cron_env, timeout=60)

    quiet = cron()
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")  # nothing for cron to mail
    (record,) = log_lines(project / "logs" / "sheetsync.log")
    assert record["exit_code"] in (0, 1) and record["source"] == "pipeline.xlsx"
    errors = (project / "logs" / "sheetsync.err").read_text(encoding="utf-8").splitlines()
    assert all(line.startswith("Warning:") for line in errors), errors
    assert "Summary" in openpyxl.load_workbook(project / "pipeline.xlsx", read_only=True).sheetnames
    assert (project / "drafts" / "drafts.csv").is_file()

    (project / "~$pipeline.xlsx").write_bytes(b"\x05someone")
    alert = cron()
    assert "failed" in alert.stdout and str(project) in alert.stdout  # cron mails this line
    assert log_lines(project / "logs" / "sheetsync.log")[-1]["exit_code"] == 4
