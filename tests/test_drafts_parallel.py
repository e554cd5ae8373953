"""Big runs make their drafts in two processes (drafts._two_processes): same result as one.

The threshold is lowered so a few dozen rows take the two-process path; every
test compares it with the one-process path on the same rows: entries, files
(byte for byte), manifest, mbox, dry run, and the fallback when the child fails.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from sheetsync import drafts as D
from sheetsync.config import Config
from sheetsync.schema import Row

AS_OF = dt.date(2026, 11, 27)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the two-process path needs os.fork")


def rows() -> list[Row]:
    """Due rows of every kind: English and Thai, html and plain, skipped (no or bad email), failing."""
    out = []
    for i in range(60):
        thai = i % 2 == 0
        fields: dict[str, Any] = {
            "prospect": f"บริษัท สยาม ฟู้ดส์ {i} จำกัด" if thai else f"Acme {i} Co., Ltd.",
            "contact": "คุณวิภา ศรีสุข" if thai else "Ms. Jane Porter",
            "email": f"p{i}@example.co.th" if thai else f"p{i}@example.com",
            "owner": "Somchai",
            "stage": ("Lead", "Appointment", "Demo", "Proposal")[i % 4],
            "language": "th" if thai else "en",
            "last_contact": AS_OF - dt.timedelta(days=3),
            "next_follow_up": AS_OF,
        }
        if i % 7 == 3:
            fields["email"] = None  # skipped
        if i % 11 == 5:
            fields["email"] = "ผู้ใช้@example.com"  # skipped: non-ASCII mailbox
        if i % 13 == 6:
            fields["prospect"] = "Evil\nBcc: x@example.com"  # failed: header injection refused
        if i % 4 == 1:
            fields["appointment"] = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(14, 30))
        out.append(Row(row=i + 2, **fields))
    return out


@pytest.fixture(scope="module")
def templates() -> D.Templates:
    return D.load_templates(Config())


def make(out: Path, templates: D.Templates, *, parallel: bool, **kw: Any) -> D.DraftsResult:
    saved = D.PARALLEL_MIN
    D.PARALLEL_MIN = 1 if parallel else 10**9
    try:
        return D.make_drafts(rows(), set(), Config(), AS_OF, out=out, templates=templates, **kw)
    finally:
        D.PARALLEL_MIN = saved


def count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets an item each time drafts forks (the fork still happens)."""
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(D.os, "fork", counting_fork)
    return forks


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def comparable(result: D.DraftsResult, root: Path) -> list[tuple[Any, ...]]:
    return [
        (
            e.row,
            e.prospect,
            e.email,
            e.reason,
            e.status,
            e.file.relative_to(root) if e.file else None,
            e.subject,
            e.detail,
        )
        for e in result.entries
    ]


def test_the_path_is_taken_when_a_second_cpu_is_there(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    forks = count_forks(monkeypatch)
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    monkeypatch.setattr(D, "PARALLEL_MIN", 1)
    D.make_drafts(rows(), set(), Config(), AS_OF, out=tmp_path, templates=templates, dry_run=True)
    assert forks == [1]


@pytest.mark.parametrize("fmt", ["eml", "mbox"])
def test_two_processes_write_what_one_writes(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    one = make(tmp_path / "one", templates, parallel=False, fmt=fmt)
    two = make(tmp_path / "two", templates, parallel=True, fmt=fmt)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert {e.status for e in one.entries} == {"written", "skipped", "failed"}
    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_dry_run_in_two_processes_writes_nothing(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    one = make(tmp_path / "one", templates, parallel=False, dry_run=True)
    two = make(tmp_path / "two", templates, parallel=True, dry_run=True)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert not (tmp_path / "two").exists()


def test_a_failing_child_is_made_up_for(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything going wrong in the child: this process makes the child's half itself."""

    def broken(*_a: Any) -> Any:
        raise RuntimeError("only the child packs outcomes for the pipe")

    monkeypatch.setattr(D, "_can_fork", lambda: True)
    monkeypatch.setattr(D, "_fields", broken)
    one = make(tmp_path / "one", templates, parallel=False)
    two = make(tmp_path / "two", templates, parallel=True)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_progress_only_moves_forward(tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    monkeypatch.setattr(D, "PARALLEL_MIN", 1)
    D.make_drafts(
        rows(), set(), Config(), AS_OF, out=tmp_path, templates=templates, progress=lambda d, t: seen.append((d, t))
    )
    done = [d for d, _t in seen]
    assert done == sorted(set(done)) and done[-1] == len(rows())
    assert {t for _d, t in seen} == {len(rows())}


def test_no_fork_with_another_thread_running(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not D._can_fork()
    finally:
        stop.set()
        thread.join()


def test_started_then_finished_is_make_drafts(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.py starts the drafts (the helper renders) before the tabs, and finishes them after."""
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    monkeypatch.setattr(D, "PARALLEL_MIN", 1)
    pending = D.start_drafts(rows(), set(), Config(), AS_OF, out=tmp_path / "two", templates=templates)
    assert pending.helper is not None
    assert not (tmp_path / "two").exists()  # nothing written before finish()
    two = pending.finish()
    one = make(tmp_path / "one", templates, parallel=False)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_cancelled_drafts_write_nothing_and_leave_no_process(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    monkeypatch.setattr(D, "PARALLEL_MIN", 1)
    pending = D.start_drafts(rows(), set(), Config(), AS_OF, out=tmp_path / "d", templates=templates)
    helper = pending.helper
    assert helper is not None and helper.pid is not None
    pid = helper.pid
    pending.cancel()
    assert not (tmp_path / "d").exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped


def test_a_run_that_fails_before_its_drafts_writes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    """The tab write is refused (a Summary tab sheetsync didn't make): the helper never writes its drafts."""
    from conftest import HEADERS, write_xlsx

    forks = count_forks(monkeypatch)
    monkeypatch.setattr(D, "_can_fork", lambda: True)
    monkeypatch.setattr(D, "PARALLEL_MIN", 1)
    monkeypatch.chdir(tmp_path)
    due_row = ["Acme", "Ann", "ann@acme.example", "Somchai", "Lead", "no", 45000, dt.date(2027, 1, 5)]
    due_row += [dt.date(2026, 11, 26), dt.date(2026, 11, 27), None, None, dt.date(2026, 11, 1)]
    data = [HEADERS] + [[f"Acme {i}", *due_row[1:2], f"p{i}@acme.example", *due_row[3:]] for i in range(20)]
    path = write_xlsx(tmp_path / "pipeline.xlsx", {"Pipeline": data, "Summary": [["my own notes"]]})
    result = run_cli("sync", str(path), "--as-of", "2026-11-27", "--out", "drafts")
    assert result.exit_code == 4, result.stderr
    assert forks == [1]  # the helper was started, and then stopped before writing
    assert not (tmp_path / "drafts").exists()
    assert sorted(os.listdir(tmp_path)) == ["pipeline.xlsx"]
