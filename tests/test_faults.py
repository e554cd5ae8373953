"""Crashes and failed writes (reference 7.2): a real `sheetsync sync` killed with SIGKILL at many moments, a full
disk, and a folder where nothing can be created.

The kill test drives the installed console script on a 20,000-row workbook from
``bench/make_workbook.py``.  The write-back itself lasts only milliseconds, so
besides kills while reading and while writing the drafts, most kills are aimed
at the write: the test polls the folder for the writer's temp file
(``.~sheetsync-*.tmp``) and kills at offsets of 0–15 ms after it appears.
Each time the workbook must be byte-identical to the original or the complete
new workbook, and after all the kills one more sync must simply work.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from sheetsync.grid import MARKER

AS_OF = "2026-11-27"
ROWS = 20_000
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_workbooks" / "pipeline.xlsx"
_BESIDE = Path(sys.executable).with_name("sheetsync")
SHEETSYNC = str(_BESIDE) if _BESIDE.exists() else (shutil.which("sheetsync") or "sheetsync")
TABS = ["Pipeline", "Chart", "Summary", "Checks", "History"]
# Offsets (seconds) after the temp file appears at which the write is killed.
WRITE_OFFSETS = [0, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.010, 0.012, 0.015]
# Kills while reading and checking (fractions of the time to the write) ...
BEFORE_WRITE = [0.3, 0.7]
# ... and while writing drafts: seconds after the workbook was replaced.
AFTER_WRITE = [0.0, 0.3]


def env() -> dict[str, str]:
    """This environment minus SHEETSYNC_* settings; bytecode cached outside the project so each child starts fast."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("SHEETSYNC_") and k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"sheetsync-tests-pycache-{os.getuid()}")
    return out


def command(path: Path, out: Path, *extra: str) -> list[str]:
    return [SHEETSYNC, "sync", str(path), "--as-of", AS_OF, "--out", str(out), *extra]


def temp_files(folder: Path) -> set[str]:
    return {n for n in os.listdir(folder) if n.startswith(".~sheetsync-") and n.endswith(".tmp")}


@dataclass(frozen=True)
class Timeline:
    """When, in a run of the big workbook, the temp file appeared, the workbook was replaced and the run ended."""

    temp: float
    replaced: float
    end: float


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 20,000-row pipeline workbook, generated once for the module."""
    spec = importlib.util.spec_from_file_location("bench_make_workbook", REPO / "bench" / "make_workbook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path_factory.mktemp("big") / "original.xlsx"
    module.make_workbook(ROWS, path, seed=7)
    return path


@pytest.fixture(scope="module")
def timeline(big: Path, tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    """One uninterrupted sync, watched: the moments the kills are planned from."""
    folder = tmp_path_factory.mktemp("measure")
    path = Path(shutil.copyfile(big, folder / "pipeline.xlsx"))
    inode = path.stat().st_ino
    started = time.monotonic()
    proc = subprocess.Popen(command(path, folder / "drafts"), stdout=subprocess.DEVNULL, env=env())
    temp = replaced = None
    while proc.poll() is None:
        now = time.monotonic() - started
        if temp is None and temp_files(folder):
            temp = now
        if replaced is None and path.stat().st_ino != inode:
            replaced = now
        time.sleep(0.0005)
    end = time.monotonic() - started
    assert proc.returncode == 1
    assert temp is not None and replaced is not None, "never saw the temp file or the replacement"
    assert_old_or_new(path, big.read_bytes())
    return Timeline(temp, replaced, end)


def pipeline_part(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def assert_old_or_new(path: Path, original: bytes) -> str:
    """'old' when the workbook is byte-identical to the original, 'new' when it is the complete result."""
    data = path.read_bytes()
    if data == original:
        return "old"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None, "a member fails its checksum"
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == TABS
    assert str(book.get_sheet_by_name("Summary").to_python(nrows=1)[0][0]).startswith(MARKER)
    assert str(book.get_sheet_by_name("Checks").to_python(nrows=1)[0][0]).startswith(MARKER)
    assert book.get_sheet_by_name("History").to_python(nrows=1)[0][0] == "As of"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True)
    try:
        assert wb.sheetnames == TABS
        assert str(wb["Summary"]["A1"].value).startswith(MARKER)
        assert wb["History"]["A1"].value == "As of"
    finally:
        wb.close()
    with zipfile.ZipFile(io.BytesIO(original)) as zf:
        assert pipeline_part(path) == zf.read("xl/worksheets/sheet1.xml"), "the pipeline itself changed"
    return "new"


def kill_after_temp(proc: subprocess.Popen[bytes], folder: Path, known: set[str], offset: float) -> bool:
    """Busy-wait for this run's temp file, SIGKILL ``offset`` seconds later; True when it was still there."""
    deadline = time.monotonic() + 30
    while not (temp_files(folder) - known):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.0002)  # leave the CPU to the run being watched
    until = time.perf_counter() + offset
    while time.perf_counter() < until:
        pass
    mid_write = bool(temp_files(folder) - known)
    proc.send_signal(signal.SIGKILL)
    return mid_write


def kill_after_replace(proc: subprocess.Popen[bytes], path: Path, inode: int, offset: float) -> None:
    """Wait for the workbook to be replaced (a new inode), then SIGKILL ``offset`` seconds later, among the drafts."""
    deadline = time.monotonic() + 30
    while path.stat().st_ino == inode:
        if proc.poll() is not None or time.monotonic() > deadline:
            return
        time.sleep(0.0005)
    time.sleep(offset)
    proc.send_signal(signal.SIGKILL)


def test_kill_9_at_any_moment_leaves_old_or_new_workbook(big: Path, timeline: Timeline, tmp_path: Path) -> None:
    """SIGKILL before, during and after the write: the original bytes or the complete result; then a sync works."""
    original = big.read_bytes()
    folder = tmp_path / "book"
    folder.mkdir()
    path = folder / "pipeline.xlsx"
    out = folder / "drafts"
    plan: list[tuple[str, float]] = [("write", off) for off in WRITE_OFFSETS]
    plan += [("time", f * timeline.temp) for f in BEFORE_WRITE]
    plan += [("drafts", off) for off in AFTER_WRITE]
    outcomes: list[tuple[str, float, bool, str]] = []
    for kind, moment in plan:
        shutil.copyfile(big, path)
        inode = path.stat().st_ino
        known = temp_files(folder)  # left by earlier kills
        proc = subprocess.Popen(command(path, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
        if kind == "write":
            mid = kill_after_temp(proc, folder, known, moment)
        elif kind == "drafts":
            kill_after_replace(proc, path, inode, moment)
            mid = False
        else:
            time.sleep(moment)
            mid = bool(temp_files(folder) - known)
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        outcomes.append((kind, moment, mid, assert_old_or_new(path, original)))

    killed = [o for o in outcomes if o[0] == "write"]
    assert sum(1 for o in killed if o[2]) >= 3, f"too few kills landed inside the write: {outcomes}"
    assert all(o[3] == "new" for o in outcomes if o[0] == "drafts"), outcomes

    # Whatever the kills left behind (temp files, the lock file, half a drafts folder), the next run works.
    shutil.copyfile(big, path)
    done = subprocess.run(command(path, out, "--json"), capture_output=True, text=True, env=env(), timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert assert_old_or_new(path, original) == "new"
    drafts = json.loads(done.stdout)["drafts"]
    assert len(drafts) == round(0.05 * ROWS) and {d["status"] for d in drafts} == {"written"}
    assert not (folder / f".~sheetsync-{path.name}.lock").exists()


# ---------------------------------------------------------------- nowhere to write


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    folder = tmp_path / "book"
    folder.mkdir()
    return Path(shutil.copyfile(SAMPLE, folder / "pipeline.xlsx"))


def run_limited(path: Path, out: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """Sync in a child whose files can't grow past ``limit`` bytes (RLIMIT_FSIZE): a full disk, even for root."""

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        command(path, out), capture_output=True, text=True, env=env(), preexec_fn=full_disk, timeout=60
    )


def test_full_disk_is_exit_4_and_leaves_the_workbook(sample: Path, tmp_path: Path) -> None:
    """The new package can't be written (EFBIG): exit 4, a clear message, original bytes, no temp file, no drafts."""
    before = sample.read_bytes()
    done = run_limited(sample, tmp_path / "drafts", len(before))
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("Error: could not write") and "pipeline.xlsx" in done.stderr
    assert "unchanged" in done.stderr and "disk" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert sample.read_bytes() == before
    assert sorted(os.listdir(sample.parent)) == [sample.name]
    assert not (tmp_path / "drafts").exists()


@contextlib.contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """Make ``folder`` immutable (chattr +i): no file can be created or renamed in it, not even by root."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"this file system can't make a folder immutable: {made.stderr.decode().strip()}")
    try:
        try:
            (folder / "probe").touch()
        except OSError:
            pass
        else:
            (folder / "probe").unlink()
            pytest.skip("files can still be created in an immutable folder here")
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("lock_file", [False, True], ids=["lock-cannot-be-created", "temp-cannot-be-created"])
def test_folder_where_nothing_can_be_created_is_exit_4(sample: Path, tmp_path: Path, lock_file: bool) -> None:
    """No new file allowed beside the workbook (first the lock, else the temp file): exit 4, untouched."""
    from sheetsync.locking import lock_path

    before = sample.read_bytes()
    if lock_file:  # a lock file left by an earlier run: the next thing to create is the temp file
        lock_path(sample).write_text("pid 1 on gone\n")
    listing = sorted(os.listdir(sample.parent))
    with immutable(sample.parent):
        done = subprocess.run(command(sample, tmp_path / "drafts"), capture_output=True, text=True, env=env())
        assert done.returncode == 4, done.stderr
        assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
        expected = "could not write" if lock_file else "can't create the lock file"
        assert expected in done.stderr and "writable" in done.stderr
        assert str(sample.parent) in done.stderr or sample.name in done.stderr
        assert sample.read_bytes() == before
        assert sorted(os.listdir(sample.parent)) == listing
    assert not (tmp_path / "drafts").exists()
