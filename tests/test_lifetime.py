"""A run never outlives itself (reference 9, issue 11): kills, stops, leftovers — with real processes and signals.

The runs are the installed console script on a workbook with 600 due rows
and a user template that does real work for each draft (a few milliseconds),
so the drafts phase lasts a second or two and the forked drafts helper
(``parallel.Helper``) is used.  The tests watch the drafts folder and
``/proc`` from outside, as a user would: which files appear, which
processes are left, what the manifest says, the exit code and stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import HEADERS, write_xlsx
from python_calamine import CalamineWorkbook
from test_sync import SHEETSYNC, manifest, subprocess_env

from sheetsync import fsutil
from sheetsync.grid import MARKER

AS_OF = "2026-11-27"
DUE = 600  # over drafts.PARALLEL_MIN, so a helper is forked
# Real work per draft: a loop the template evaluates before it says anything (~8 ms here), so when a
# run is killed its helper has seconds of drafts ahead of it.
SLOW_TEMPLATE = (
    "Subject: Following up, {{ prospect.prospect }}\n\n"
    "{% set ns = namespace(n=0) %}{% for i in range(8000) %}{% set ns.n = ns.n + i % 7 %}{% endfor %}"
    "Hello {{ prospect.contact }}, reference {{ ns.n }}-{{ prospect.row }}.\n"
)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or len(os.sched_getaffinity(0)) < 2,
    reason="needs /proc and two CPUs (the drafts helper is only forked with a second CPU)",
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with the pipeline workbook (600 due follow-ups) and the slow template in templates/."""
    day = dt.date.fromisoformat(AS_OF)
    rows: list[list[object]] = [HEADERS]
    for i in range(DUE):
        rows.append(
            [f"Acme {i}", "Ann", f"p{i}@acme.example", "Somchai", "Lead", "no", 45000, dt.date(2027, 1, 5),
             day - dt.timedelta(days=7), day, None, None, dt.date(2026, 11, 1)]
        )  # fmt: skip
    write_xlsx(tmp_path / "pipeline.xlsx", {"Pipeline": rows})
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "follow-up.txt.j2").write_text(SLOW_TEMPLATE, encoding="utf-8")
    return tmp_path


def start(folder: Path, *extra: str, new_session: bool = False) -> subprocess.Popen[str]:
    """``sheetsync sync`` on the folder's workbook, in the folder (so its templates/ are used)."""
    return subprocess.Popen(
        [SHEETSYNC, "sync", str(folder / "pipeline.xlsx"), "--as-of", AS_OF, "--out", str(folder / "drafts"), *extra],
        cwd=folder,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def emls(folder: Path) -> set[str]:
    try:
        return {n for n in os.listdir(folder / "drafts") if n.endswith(".eml")}
    except FileNotFoundError:
        return set()


def leftovers(folder: Path) -> set[str]:
    """sheetsync temporary files in the drafts folder."""
    try:
        return {n for n in os.listdir(folder / "drafts") if n.startswith(".~sheetsync-")}
    except FileNotFoundError:
        return set()


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, ...]; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie runs nothing; reaping it is its new parent's business)."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(int(entry))) is not None and fields[1] == str(pid):
            out.append(int(entry))
    return out


def sheetsync_processes(folder: Path) -> list[int]:
    """Running processes whose command line is a sheetsync run on this test's folder (the helper's is its parent's)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if "sheetsync" in cmdline and str(folder) in cmdline and running(int(entry)):
            found.append(int(entry))
    return found


def wait_for_drafts(proc: subprocess.Popen[str], folder: Path, count: int) -> list[int]:
    """Wait until ``count`` drafts are on disk (the drafts phase is under way); the run's children then."""
    deadline = time.monotonic() + 60
    while len(emls(folder)) < count:
        assert proc.poll() is None, f"the run ended before its drafts phase: {proc.communicate()}"
        assert time.monotonic() < deadline, "no drafts after 60 s"
        time.sleep(0.002)
    return children(proc.pid)


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def assert_nothing_more_is_written(folder: Path, wait: float = 1.0) -> set[str]:
    """List the drafts folder, wait, list again: the same files (no process is still writing)."""
    before = set(os.listdir(folder / "drafts"))
    time.sleep(wait)
    assert set(os.listdir(folder / "drafts")) == before
    return before


@pytest.fixture
def reaped() -> Iterator[list[subprocess.Popen[Any]]]:
    """Runs a test started: killed if the test failed half-way, so no process outlives the test either."""
    procs: list[subprocess.Popen[Any]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


# ---------------------------------------------------------------- kill -9


def test_kill_9_in_the_drafts_phase_leaves_no_process_writing(
    folder: Path, reaped: list[subprocess.Popen[Any]]
) -> None:
    """Issue 11: SIGKILL to a sync while it writes drafts — within a second no sheetsync process is left
    (the helper dies with its parent: PR_SET_PDEATHSIG), and no draft appears afterwards."""
    proc = start(folder)
    reaped.append(proc)
    helpers = wait_for_drafts(proc, folder, 20)
    assert helpers, "the run forked no drafts helper: the test would prove nothing"
    proc.kill()
    proc.wait(timeout=10)

    assert wait_until(lambda: not any(running(pid) for pid in helpers), 1.0), "the helper outlived its run"
    assert wait_until(lambda: not sheetsync_processes(folder), 1.0), sheetsync_processes(folder)
    written = assert_nothing_more_is_written(folder)
    assert 20 <= len({n for n in written if n.endswith(".eml")}) < DUE
    assert "drafts.csv" not in written  # nothing could write it: the manifest of a killed run is the next run's


# ---------------------------------------------------------------- SIGTERM and SIGINT


def read_manifest(folder: Path) -> list[dict[str, str]]:
    return manifest(folder / "drafts")


def assert_new_workbook(path: Path) -> None:
    """The complete result of the write-back: our three tabs after the pipeline, readable."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["Pipeline", "Summary", "Checks", "History"]
    assert str(book.get_sheet_by_name("Summary").to_python(nrows=1)[0][0]).startswith(MARKER)


@pytest.mark.parametrize(
    ("signum", "code", "group"),
    [
        (signal.SIGTERM, 143, False),  # `kill <pid>`: the helper hears of it from its parent
        (signal.SIGINT, 130, True),  # Ctrl-C: the whole process group gets it, the helper too
    ],
    ids=["SIGTERM-to-the-run", "SIGINT-to-the-group"],
)
def test_a_signal_in_the_drafts_phase_stops_cleanly(
    folder: Path, reaped: list[subprocess.Popen[Any]], signum: int, code: int, group: bool
) -> None:
    """Issue 11: exit 130/143, one line on stderr, the helper gone, and a manifest that lists exactly the
    drafts on disk (the rest marked interrupted); the workbook is the complete new one; the log says so."""
    log = folder / "run.log"
    proc = start(folder, "--log-file", str(log), new_session=group)
    reaped.append(proc)
    helpers = wait_for_drafts(proc, folder, 20)
    assert helpers, "the run forked no drafts helper: the test would prove nothing"
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == code, stderr
    assert stdout == ""
    name = signal.Signals(signum).name
    assert stderr.count("\n") == 1 and stderr.startswith(f"Error: stopped by {name} while writing drafts — "), stderr
    assert f"listed in {folder / 'drafts' / 'drafts.csv'}" in stderr
    assert not any(running(pid) for pid in helpers) and not sheetsync_processes(folder)
    on_disk = assert_nothing_more_is_written(folder, wait=0.5)

    entries = read_manifest(folder)
    assert [int(e["row"]) for e in entries] == list(range(2, DUE + 2))  # every due row, in row order
    written = {e["file"] for e in entries if e["status"] == "written"}
    assert written == {n for n in on_disk if n.endswith(".eml")}  # exactly what is on disk
    interrupted = [e for e in entries if e["status"] == "interrupted"]
    assert interrupted and len(written) + len(interrupted) == DUE
    assert all(e["file"] == "" and f"stopped by {name}" in e["detail"] for e in interrupted)
    assert f"— {len(written)} of {DUE} written" in stderr
    assert not leftovers(folder)
    for file in written:  # whole messages, not the start of one
        assert (folder / "drafts" / file).read_bytes().rstrip().endswith(b".")

    assert_new_workbook(folder / "pipeline.xlsx")
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["exit_code"] == code and record["error"].startswith(f"stopped by {name}")

    if group:
        return  # the rest is the same for both signals; one rerun (seconds of drafts) is enough
    # The next run writes the rest and lists every draft as written.
    done = subprocess.run(
        [SHEETSYNC, "sync", "pipeline.xlsx", "--as-of", AS_OF, "--out", "drafts"],
        cwd=folder, env=subprocess_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert {e["status"] for e in read_manifest(folder)} == {"written"} and len(emls(folder)) == DUE


def test_a_signal_while_waiting_for_the_lock_leaves_the_old_workbook(
    folder: Path, reaped: list[subprocess.Popen[Any]]
) -> None:
    """SIGTERM before anything is written (the run waits for another run's lock): exit 143, the workbook
    byte-identical, no drafts folder, no lock file of its own left behind."""
    from sheetsync.locking import lock_path, run_lock

    path = folder / "pipeline.xlsx"
    before = path.read_bytes()
    with run_lock(path, wait=1):
        proc = start(folder)
        reaped.append(proc)
        assert wait_until(lambda: proc.poll() is not None or "pid" in lock_path(path).read_text(), 5)
        time.sleep(0.5)  # well into its wait for the lock
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert stderr == (
        "Error: stopped by SIGTERM — run again (every file sheetsync writes is written whole or not at all)\n"
    )
    assert path.read_bytes() == before
    assert sorted(os.listdir(folder)) == ["pipeline.xlsx", "templates"]


# ---------------------------------------------------------------- temporary files of killed runs


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_next_run_removes_temporary_files_of_killed_runs_only(
    folder: Path, reaped: list[subprocess.Popen[Any]]
) -> None:
    """Issue 11 (reference 9): a dead run's temp file in the drafts folder is removed by the next run; a live
    run's, another machine's, the lock file and files that only look similar are kept."""
    drafts = folder / "drafts"
    drafts.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    reaped.append(sleeper)
    dead = fsutil.temp_prefix(dead_pid()) + "3.tmp"
    live = fsutil.temp_prefix(sleeper.pid) + "4.tmp"
    elsewhere = f".~sheetsync-{dead_pid()}-00000000-5.tmp"  # pid of another host: not ours to judge
    kept = [live, elsewhere, ".~sheetsync-drafts.lock", ".~sheetsync-abc123.tmp", "notes.tmp", "report.eml"]
    for name in [dead, *kept]:
        (drafts / name).write_bytes(b"partial")

    done = subprocess.run(
        [SHEETSYNC, "drafts", "pipeline.xlsx", "--as-of", AS_OF, "--out", "drafts", "--limit", "1"],
        cwd=folder, env=subprocess_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    names = set(os.listdir(drafts))
    assert dead not in names
    assert set(kept) <= names
    assert len(emls(folder)) == 2  # the one --limit draft and the user's own file


def test_sweep_unit(tmp_path: Path) -> None:
    """``fsutil.sweep_temp_files`` (what the workbook folder's sweep calls too): dead pids only, this host only."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        dead = fsutil.temp_prefix(dead_pid()) + "abc.tmp"
        mine = fsutil.temp_prefix() + "1.tmp"
        live = fsutil.temp_prefix(sleeper.pid) + "x.tmp"
        for name in (dead, mine, live, "a.xlsx"):
            (tmp_path / name).write_bytes(b"")
        (tmp_path / (fsutil.temp_prefix(dead_pid()) + "dir.tmp")).mkdir()  # not a file: left alone
        assert fsutil.sweep_temp_files(tmp_path) == [dead]
        assert fsutil.sweep_temp_files(tmp_path / "missing") == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_atomic_write_names_its_temp_file_for_the_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp file a draft goes through is named by temp_prefix, so a killed run's is swept."""
    seen: list[str] = []
    real_replace = os.replace

    def watching(src: str, dst: str) -> None:
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching)
    assert fsutil.write_atomic(tmp_path / "a.eml", b"x")
    assert not fsutil.write_atomic(tmp_path / "a.eml", b"x")  # same bytes: nothing written
    monkeypatch.undo()
    assert len(seen) == 1 and seen[0].startswith(fsutil.temp_prefix()) and seen[0].endswith(".tmp")
    assert os.listdir(tmp_path) == ["a.eml"]
