"""Big runs make their drafts in two processes (drafts.parallel.with_helper): same result as one.

The threshold is lowered so a few dozen rows take the two-process path; every
test compares it with the one-process path on the same rows: entries, files
(byte for byte), manifest, mbox, dry run, and the fallback when the child fails.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetsync import drafts as D
from sheetsync.config import Config, Drafts
from sheetsync.drafts import parallel
from sheetsync.model.reader import Row

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
    saved = D.parallel.PARALLEL_MIN
    D.parallel.PARALLEL_MIN = 1 if parallel else 10**9
    try:
        return D.make_drafts(rows(), set(), Config(), AS_OF, out=out, templates=templates, **kw)
    finally:
        D.parallel.PARALLEL_MIN = saved


def count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets an item each time drafts forks (the fork still happens)."""
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(D.parallel.os, "fork", counting_fork)
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
    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "PARALLEL_MIN", 1)
    D.make_drafts(rows(), set(), Config(), AS_OF, out=tmp_path, templates=templates, dry_run=True)
    assert forks == [1]


@pytest.mark.parametrize("fmt", ["eml", "mbox"])
def test_two_processes_write_what_one_writes(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(parallel, "possible", lambda: True)
    one = make(tmp_path / "one", templates, parallel=False, fmt=fmt)
    two = make(tmp_path / "two", templates, parallel=True, fmt=fmt)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert {e.status for e in one.entries} == {"written", "skipped", "failed"}
    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_dry_run_in_two_processes_writes_nothing(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "possible", lambda: True)
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

    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "_fields", broken)
    one = make(tmp_path / "one", templates, parallel=False)
    two = make(tmp_path / "two", templates, parallel=True)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_progress_only_moves_forward(tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "PARALLEL_MIN", 1)
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
        assert not parallel.possible()
    finally:
        stop.set()
        thread.join()


def test_started_then_finished_is_make_drafts(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.py starts the drafts (the helper renders) before the tabs, and finishes them after."""
    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "PARALLEL_MIN", 1)
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
    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "PARALLEL_MIN", 1)
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
    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "PARALLEL_MIN", 1)
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


# ---------------------------------------------------------------- property: two processes = one (issue 11)

_THAI = "กขคงจฉชซญดตถทนบปผพภมยรลวศสหอฮะาิีึืุูเแโใไ่้๊๋์"
_RTL = "אבגדהוזחטיכלמנסעפצקרשת" + "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" + "\u200f\u202e"
_CONTROL = "".join(map(chr, [*range(0, 32), 127, 0x85, 0x2028, 0x2029]))
_INJECTIONS = ["\r\nBcc: evil@example.com", "\nX-Injected: 1", "?=\r\n =?utf-8?q?", "=?utf-8?b?QmNjOg==?="]


@st.composite
def adversarial_text(draw: st.DrawFn, max_size: int = 60) -> str | None:
    """Cell text as sheets really hold it, and as attackers would write it."""
    kind = draw(st.sampled_from(["thai", "rtl", "mixed", "control", "long", "inject", "none", "ascii"]))
    if kind == "none":
        return None
    if kind == "long":
        return draw(st.sampled_from(["A", "ก", "ש", "😀"])) * draw(st.integers(500, 5000))
    alphabet = {
        "thai": _THAI + " ",
        "rtl": _RTL + " ",
        "mixed": _THAI + _RTL + "abcXYZ 0123.,'\"&<>",
        "control": _CONTROL + "ab ",
        "inject": "abc ",
        "ascii": "abcdefghij ABC.-'",
    }[kind]
    text = draw(st.text(alphabet=alphabet, max_size=max_size))
    if kind == "inject":
        text += draw(st.sampled_from(_INJECTIONS))
    return text


GOOD_EMAILS = st.sampled_from(["p@example.com", "first.last+tag@sub.example.co.th", "user@ตัวอย่าง.ไทย"])
BAD_EMAILS = st.sampled_from(
    [
        None,
        "ผู้ใช้@example.com",  # non-ASCII mailbox: skipped
        "not-an-email",
        "a@b.com\r\nBcc: evil@example.com",
        "<script>@x.com",
        '"quoted name"@example.com',
    ]
)
EMAILS = st.one_of(GOOD_EMAILS, BAD_EMAILS)  # half of the rows get a draft (or fail), half are skipped


@st.composite
def adversarial_row(draw: st.DrawFn, number: int) -> Row:
    appointment = draw(st.sampled_from([None, AS_OF, AS_OF + dt.timedelta(days=1), AS_OF - dt.timedelta(days=2)]))
    return Row(
        row=number,
        prospect=draw(adversarial_text()) or "Prospect",
        contact=draw(adversarial_text()),
        email=draw(EMAILS),
        owner=draw(adversarial_text(max_size=20)),
        owner_email=draw(st.sampled_from([None, "owner@example.com", "เจ้าของ@example.com"])),
        stage=draw(st.sampled_from(["Lead", "Appointment", "Demo", "Proposal"])),
        budget=draw(st.sampled_from([None, Decimal(0), Decimal("45000"), Decimal("1250000.50")])),
        language=draw(st.sampled_from([None, "th", "en", "ar", "TH-th"])),
        last_contact=AS_OF - dt.timedelta(days=3),
        next_follow_up=AS_OF,
        appointment=appointment,
        notes=draw(adversarial_text()),
    )


ADVERSARIAL_ROWS = st.integers(2, 24).flatmap(
    lambda n: st.tuples(*[adversarial_row(number) for number in range(2, n + 2)]).map(list)
)
# A user's follow-up template that fails for some rows (a zero or empty budget divides by zero) and puts
# cell text into every header it may set.
FRAGILE_TEMPLATE = (
    "Subject: {{ prospect.prospect }} — {{ prospect.notes }}\n"
    "Reply-To: {{ owner.email }}\n\n"
    "Dear {{ prospect.contact | first_name }},\n"
    "Your share: {{ (1000000 / (prospect.budget or 0)) | round(2) }} {{ prospect.notes }}\n"
)


@pytest.fixture(scope="module")
def fragile_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("fragile-templates")
    (folder / "follow-up.txt.j2").write_text(FRAGILE_TEMPLATE, encoding="utf-8")
    return Config(drafts=Drafts(templates=folder, templates_configured=True))


def run_both(rows: list[Row], config: Config, fmt: str, root: Path) -> tuple[D.DraftsResult, D.DraftsResult]:
    """The same drafts with SHEETSYNC_NO_FORK=1 (one process) and with the helper forced on (two)."""
    templates = D.load_templates(config)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D.parallel, "PARALLEL_MIN", 1)
        mp.setenv(parallel.NO_FORK_ENV, "1")
        forks = count_forks(mp)
        one = D.make_drafts(rows, set(), config, AS_OF, out=root / "one", fmt=fmt, templates=templates)
        assert forks == []
        mp.delenv(parallel.NO_FORK_ENV)
        mp.setattr(parallel, "possible", lambda: True)  # even on a machine with one CPU
        two = D.make_drafts(rows, set(), config, AS_OF, out=root / "two", fmt=fmt, templates=templates)
        assert forks == [1]
    return one, two


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=ADVERSARIAL_ROWS, fmt=st.sampled_from(D.FORMATS))
def test_property_the_helper_changes_nothing(fragile_config: Config, rows: list[Row], fmt: str) -> None:
    """Issue 11 (reference 9): on adversarial rows — Thai and RTL text, control characters, 5,000-character cells,
    bad and non-ASCII emails, header injection in cells, a template failing for some rows — the forked
    two-process path gives exactly the one-process path's entries, manifest, .eml and mbox bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one, two = run_both(rows, fragile_config, fmt, root)
        assert comparable(two, root / "two") == comparable(one, root / "one")
        assert files(root / "two") == files(root / "one")  # drafts.csv, every .eml or drafts.mbox


def test_the_adversarial_rows_reach_every_outcome(fragile_config: Config, tmp_path: Path) -> None:
    """The property test's inputs are not all skipped or all failing: written, skipped and failed all occur."""
    rows = [
        Row(row=2, prospect="บริษัท", contact="คุณวิภา", email="p@example.com", stage="Lead",
            budget=Decimal(45000), next_follow_up=AS_OF, notes="שלום"),
        Row(row=3, prospect="Acme", contact="Ann", email="ผู้ใช้@example.com", stage="Lead", next_follow_up=AS_OF),
        Row(row=4, prospect="Zero", contact="Zed", email="z@example.com", stage="Lead", budget=Decimal(0),
            next_follow_up=AS_OF),
        Row(row=5, prospect="Evil\r\nBcc: x@example.com", contact="E", email="e@example.com", stage="Lead",
            budget=Decimal(1), next_follow_up=AS_OF),
    ]  # fmt: skip
    one, two = run_both(rows, fragile_config, "eml", tmp_path)
    assert [e.status for e in one.entries] == ["written", "skipped", "failed", "failed"]
    assert "division by zero" in one.entries[2].detail and "line" in one.entries[2].detail
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")


def test_a_helper_stopped_on_its_own_is_made_up_for(
    tmp_path: Path, templates: D.Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM to the helper alone (not to the run): it stops and reports what it did; this process makes
    the rest, and the result is the one-process result."""
    import signal

    monkeypatch.setattr(parallel, "possible", lambda: True)
    monkeypatch.setattr(D.parallel, "PARALLEL_MIN", 1)
    pending = D.start_drafts(rows(), set(), Config(), AS_OF, out=tmp_path / "two", templates=templates)
    assert pending.helper is not None and pending.helper.pid is not None
    os.kill(pending.helper.pid, signal.SIGTERM)
    two = pending.finish()
    one = make(tmp_path / "one", templates, parallel=False)
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")
    assert files(tmp_path / "two") == files(tmp_path / "one")
