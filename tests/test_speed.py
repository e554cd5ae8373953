"""The speed tricks' switches (sheetsync/speed.py, issue 12): every trick off gives the same bytes as every trick on.

The end-to-end test runs the real console script twice on a workbook big enough
for the forked drafts helper (525 due rows), once as shipped and once with
``SHEETSYNC_PLAIN=all`` (one process, no thread, Jinja's public render, the
collector left alone), and compares what a user gets: the ``--json`` report,
every draft file, the manifest, the mbox and every part of the written
workbook.
"""

from __future__ import annotations

import gc
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import AS_OF, REPO, SHEETSYNC
from test_sync import subprocess_env

from sheetsync import speed


@pytest.mark.parametrize(
    ("env", "off"),
    [
        ({}, set()),
        ({"SHEETSYNC_PLAIN": "all"}, {"fork", "thread", "jinja", "gc", "reader", "scan", "gmail"}),
        ({"SHEETSYNC_PLAIN": "reader,scan"}, {"reader", "scan"}),
        ({"SHEETSYNC_PLAIN": "jinja, GC"}, {"jinja", "gc"}),
        ({"SHEETSYNC_PLAIN": "thread"}, {"thread"}),
        ({"SHEETSYNC_NO_FORK": "1"}, {"fork"}),
        ({"SHEETSYNC_NO_FORK": "0"}, set()),
    ],
)
def test_which_tricks_a_setting_switches_off(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], off: set[str]
) -> None:
    """SHEETSYNC_PLAIN takes names (any case, spaces allowed) or all; the older SHEETSYNC_NO_FORK=1 is fork."""
    monkeypatch.delenv(speed.PLAIN_ENV, raising=False)
    monkeypatch.delenv(speed.NO_FORK_ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert {trick for trick in speed.TRICKS if speed.plain(trick)} == off


def test_the_collector_is_off_during_a_run_and_as_it_was_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (tests, another program) the collector comes back as it was; switched off, it is never touched."""
    monkeypatch.delenv(speed.PLAIN_ENV, raising=False)
    assert gc.isenabled()
    with speed.collector_off():
        assert not gc.isenabled()
    assert gc.isenabled()
    monkeypatch.setenv(speed.PLAIN_ENV, "gc")
    with speed.collector_off():
        assert gc.isenabled()


def test_the_console_script_freezes_what_is_left_and_exits_normally(tmp_path: Path) -> None:
    """At its end the console script leaves the collector off, freezes what is alive (so the interpreter's last
    collection scans none of it) and exits through the interpreter: atexit work runs, the exit code is kept."""
    code = (
        "import atexit, gc, sys\n"
        "from sheetsync import cli\n"
        "atexit.register(lambda: print('atexit', gc.isenabled(), gc.get_freeze_count() > 1000, flush=True))\n"
        "sys.argv = ['sheetsync', '--version']\n"
        "cli.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "atexit False True"


def _workbook(path: Path, rows: int) -> Path:
    spec = importlib.util.spec_from_file_location("bench_make_workbook", REPO / "bench" / "make_workbook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_workbook(rows, path)
    return path


def _outcome(folder: Path, argv: list[str], **env: str) -> dict[str, object]:
    """What one console-script run leaves: exit code, stdout, stderr, every file made, every workbook part."""
    done = subprocess.run(
        [SHEETSYNC, *argv], cwd=folder, env=subprocess_env(**env), capture_output=True, text=True, timeout=120
    )
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    with zipfile.ZipFile(folder / "pipeline.xlsx") as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    del files["pipeline.xlsx"]  # its zip entries carry the time of writing: compared part by part
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "files": files, "parts": parts}


@pytest.fixture(scope="module")
def big_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,500 rows: 525 due drafts, more than drafts.parallel.PARALLEL_MIN, so the helper is forked."""
    return _workbook(tmp_path_factory.mktemp("big") / "pipeline.xlsx", 10_500)


@pytest.mark.parametrize(
    "argv",
    [
        ["sync", "pipeline.xlsx", "--as-of", AS_OF, "--out", "drafts", "--json"],
        ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--out", "drafts", "--format", "mbox"],
    ],
    ids=["sync-eml-json", "drafts-mbox"],
)
def test_every_trick_off_gives_the_same_bytes(tmp_path: Path, big_workbook: Path, argv: list[str]) -> None:
    """Issue 12: the run as shipped and the run on every plain path write and print exactly the same."""
    outcomes = []
    for name, env in (("fast", {}), ("plain", {"SHEETSYNC_PLAIN": "all"})):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copyfile(big_workbook, folder / "pipeline.xlsx")
        outcomes.append(_outcome(folder, argv, **env))
    fast, plain = outcomes
    assert fast["code"] == 1, fast["stderr"]  # the benchmark workbook's planned findings
    assert len([f for f in fast["files"] if f.endswith((".eml", ".mbox"))]) in (1, 525)  # type: ignore[attr-defined]
    assert fast == plain
