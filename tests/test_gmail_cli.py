"""`sheetsync drafts|sync --to gmail` through the real CLI against the fake Gmail API over real HTTP (issue 16).

Each test writes a real workbook, runs the command with CliRunner and looks
at what a user would: the drafts in each mailbox (tests/fake_gmail.py), the
manifest, stdout, stderr, the ``--log-file`` line and the exit code.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import email
import json
import signal
import subprocess
import time
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import write_xlsx
from fake_gmail import CLIENT_ID, MALEE, NIRAN, SCOPE, FakeGmail
from fake_google import ServiceAccount, make_authorized_user
from test_sync import SHEETSYNC, subprocess_env

from sheetsync.cli import cli
from sheetsync.speed import PLAIN_ENV

AS_OF = "2026-11-27"
HEADERS = [
    "Prospect", "Contact", "Email", "Owner", "Owner Email", "Stage", "Decision Maker", "Budget", "Expected Close",
    "Last Contact", "Next Follow-up", "Appointment", "Info Requested", "Language",
]  # fmt: skip


def d(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


#: Five rows due on 27 November 2026: three with a mailbox (two owners), one whose owner has no Owner
#: Email (the placeholder sender), one without the contact's email.  Row 7 is due too, for Niran.
ROWS: list[list[Any]] = [
    ["Acme Co., Ltd.", "Ann Lee", "ann@client.example", "Malee", MALEE, "Proposal", "yes", 450000,
     d("2026-12-20"), d("2026-11-25"), d("2026-11-27"), None, None, "en"],
    ["บริษัท ทดสอบ จำกัด", "คุณวิภา ศรีสุข", "wipa@client.example", "Niran", NIRAN, "Appointment", "ใช่", 85000,
     d("2026-12-20"), d("2026-11-24"), d("2026-12-01"), d("2026-11-28 10:00"), None, "th"],
    ["Riverside Dental", "Dr. Anan Wong", "anan@client.example", "Malee", MALEE, "Lead", "no", None,
     None, d("2026-11-25"), d("2026-12-02"), None, "yes", "en"],
    ["Silom Fitness", "Ploy Siriwat", "ploy@client.example", "Nok", None, "Qualified", "yes", 60000,
     d("2027-01-20"), d("2026-11-25"), d("2026-11-26"), None, None, "en"],
    ["No Mail Ltd.", "Bo", None, "Niran", NIRAN, "Lead", "no", None,
     None, d("2026-11-20"), d("2026-11-20"), None, None, "en"],
    ["Delta Trading", "Mr. Somkiat Lee", "somkiat@client.example", "Niran", NIRAN, "Negotiation", "yes", 300000,
     d("2026-12-10"), d("2026-11-24"), d("2026-11-25"), None, None, "en"],
]  # fmt: skip
#: Rows whose drafts go into Gmail, by mailbox.
PUT = {MALEE: [2, 4], NIRAN: [3, 7]}


@pytest.fixture
def account(gmail_account: ServiceAccount) -> ServiceAccount:
    return gmail_account


@pytest.fixture
def gmail(gmail_fake: FakeGmail, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeGmail:
    """Malee's and Niran's mailboxes at acme.example, which delegated gmail.compose; the workbook in the cwd."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    monkeypatch.delenv(PLAIN_ENV, raising=False)
    write_xlsx(tmp_path / "pipeline.xlsx", {"Pipeline": [HEADERS, *ROWS]})
    return gmail_fake


def run(*args: str, account: ServiceAccount | None = None, command: str = "drafts") -> Result:
    """The real CLI: ``command pipeline.xlsx --as-of 2026-11-27 --to gmail --out drafts`` plus ``args``."""
    base = [command, "pipeline.xlsx", "--as-of", AS_OF, "--out", "drafts"]
    if "--to" not in args:
        base += ["--to", "gmail"]
    if account is not None:
        base += ["--credentials", str(account.path)]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def manifest(folder: str = "drafts") -> list[dict[str, str]]:
    with open(Path(folder) / "drafts.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def message_ids(fake: FakeGmail, mailbox: str) -> list[str]:
    return [draft.rfc822_id for draft in fake.drafts(mailbox)]


def rows_in(fake: FakeGmail, mailbox: str) -> list[int]:
    """The sheet rows of the drafts in a mailbox, read from their Message-IDs (…row<n>.…)."""
    return sorted(int(mid.split(".row")[1].split(".")[0]) for mid in message_ids(fake, mailbox))


def api_calls(fake: FakeGmail) -> dict[str, int]:
    return {kind: n for kind, n in fake.counts.items() if kind != "token"}


# --- the route end to end ----------------------------------------------------------------


def test_sync_puts_one_draft_per_due_prospect_into_each_owners_mailbox(
    gmail: FakeGmail, account: ServiceAccount
) -> None:
    """The issue's "done when": each owner's mailbox gets its rows' drafts, the very bytes of the .eml files,
    and the manifest records every draft's id; no draft file is written."""
    result = run("--verbose", account=account, command="sync")
    assert result.exit_code == 0, result.output
    assert {box: rows_in(gmail, box) for box in PUT} == PUT
    assert gmail.scopes and set(gmail.scopes) == {SCOPE}
    assert sorted(p.name for p in Path("drafts").iterdir()) == ["drafts.csv"]

    files = CliRunner().invoke(cli, ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--out", "files"])
    assert files.exit_code == 0, files.output
    by_row = {int(m["row"]): m for m in manifest("files") if m["file"]}
    for box in PUT:
        for draft in gmail.drafts(box):
            row = int(draft.rfc822_id.split(".row")[1].split(".")[0])
            assert draft.raw == (Path("files") / by_row[row]["file"]).read_bytes()
            assert str(draft.message["From"]).endswith(f"<{box}>")

    lines = {int(m["row"]): m for m in manifest()}
    ids = {draft.id: box for box in PUT for draft in gmail.drafts(box)}
    for box, rows in PUT.items():
        for row in rows:
            m = lines[row]
            assert (m["status"], m["file"], m["mailbox"], m["as_of"]) == ("written", "", box, AS_OF)
            assert ids[m["gmail_id"]] == box
            assert m["detail"] == "created in Gmail Drafts"
    assert lines[5]["status"] == lines[6]["status"] == "skipped"
    assert "no mailbox" in lines[5]["detail"] and "Owner Email" in lines[5]["detail"]
    assert "Drafts: 4 put into the Gmail Drafts of 2 mailboxes (4 new, 0 updated); 2 skipped" in result.stdout
    assert "8 Gmail request(s), 60 quota units" in result.stdout
    assert "Wrote tabs Summary, Checks, History" in result.stdout


def test_a_second_run_changes_the_drafts_in_place_and_adds_none(gmail: FakeGmail, account: ServiceAccount) -> None:
    """Same as-of again, with a cell changed: one drafts.update per draft, no search, no create; the user's own
    draft is untouched; the changed amount is in the updated draft."""
    own = gmail.add_draft(MALEE, b"From: malee@acme.example\r\nSubject: my own note\r\n\r\nkeep me\r\n")
    first = run(account=account)
    assert first.exit_code == 0, first.output
    ids = {box: sorted(d.id for d in gmail.drafts(box)) for box in PUT}
    assert len(ids[MALEE]) == 3 and own.id in ids[MALEE]
    creates = gmail.count("drafts.create")

    changed = [list(r) for r in ROWS]
    changed[0][7] = 490000
    write_xlsx(Path("pipeline.xlsx"), {"Pipeline": [HEADERS, *changed]})
    gmail.log.clear()
    second = run(account=account)
    assert second.exit_code == 0, second.output
    assert api_calls(gmail) == {"drafts.update": 4}
    assert gmail.count("drafts.create") == 0 and creates == 4
    assert {box: sorted(d.id for d in gmail.drafts(box)) for box in PUT} == ids
    drafts = {d.id: d for d in gmail.drafts(MALEE)}
    assert drafts[own.id].raw.endswith(b"keep me\r\n")
    acme = next(d for d in drafts.values() if ".row2." in d.rfc822_id)
    body = email.message_from_bytes(acme.raw, policy=policy.default).get_body(("plain",))
    assert body is not None and "฿490,000" in body.get_content()
    assert "4 put into the Gmail Drafts of 2 mailboxes (0 new, 4 updated)" in second.stdout
    assert all(m["detail"].startswith("updated") for m in manifest() if m["status"] == "written")


def test_a_draft_deleted_in_the_mailbox_is_not_made_again_that_day(gmail: FakeGmail, account: ServiceAccount) -> None:
    """Deleted (or sent) by the rep: reruns with the same as-of report it ``gone`` and add nothing; the next
    day's run makes a new one."""
    assert run(account=account).exit_code == 0
    (acme,) = [draft for draft in gmail.drafts(MALEE) if ".row2." in draft.rfc822_id]
    gmail.delete_draft(MALEE, acme.id)
    (reminder,) = gmail.drafts(NIRAN)[:1]
    gmail.send_draft(NIRAN, reminder.id)

    for _rerun in range(2):  # the gone draft's id stays in the manifest: the third run knows it too
        again = run(account=account)
        assert again.exit_code == 0, again.output
        assert rows_in(gmail, MALEE) == [4] and len(gmail.drafts(NIRAN)) == 1
        gone = {int(m["row"]): m for m in manifest() if m["status"] == "gone"}
        assert set(gone) == {2, 3}
        assert gone[2]["gmail_id"] == acme.id and "sent or deleted in Gmail" in gone[2]["detail"]
        assert "2 already sent or deleted in Gmail" in again.stdout
    assert gmail.count("drafts.create") == 4

    later = CliRunner().invoke(
        cli,
        [
            "drafts",
            "pipeline.xlsx",
            "--as-of",
            "2026-11-28",
            "--to",
            "gmail",
            "--out",
            "drafts",
            "--credentials",
            str(account.path),
        ],
    )
    assert later.exit_code == 0, later.output
    assert 2 in rows_in(gmail, MALEE)
    assert sum(".20261128." in mid for mid in message_ids(gmail, MALEE)) == 2


def test_a_lost_manifest_finds_the_drafts_by_message_id(gmail: FakeGmail, account: ServiceAccount) -> None:
    """drafts.csv deleted between runs (or a run killed before writing it): no duplicate, the drafts are updated."""
    assert run(account=account).exit_code == 0
    Path("drafts/drafts.csv").unlink()
    again = run(account=account)
    assert again.exit_code == 0, again.output
    assert {box: rows_in(gmail, box) for box in PUT} == PUT
    assert gmail.count("drafts.create") == 4 and gmail.count("drafts.update") == 4


def test_a_moved_row_still_updates_its_own_draft(gmail: FakeGmail, account: ServiceAccount) -> None:
    """A row inserted above the deals: each prospect's draft is matched by mailbox, email and prospect."""
    assert run(account=account).exit_code == 0
    inserted = ["Newcomer Ltd.", "Kai", "kai@client.example", "Malee", MALEE, "Lead", "no", None, None,
                d("2026-11-25"), d("2026-12-09"), None, None, "en"]  # fmt: skip
    write_xlsx(Path("pipeline.xlsx"), {"Pipeline": [HEADERS, inserted, *ROWS]})
    gmail.log.clear()
    again = run(account=account)
    assert again.exit_code == 0, again.output
    assert api_calls(gmail) == {"drafts.update": 4}
    assert len(gmail.drafts(MALEE)) == 2 and len(gmail.drafts(NIRAN)) == 2
    assert sorted(int(m["row"]) for m in manifest() if m["status"] == "written") == [3, 4, 5, 8]


def test_config_to_gmail_and_to_files_on_the_command_line(gmail: FakeGmail, account: ServiceAccount) -> None:
    """``[drafts] to = "gmail"`` sends drafts to Gmail without --to; ``--to files`` brings back the files."""
    Path("sheetsync.toml").write_text(
        f'[drafts]\nto = "gmail"\nout = "drafts"\n[google]\ncredentials = "{account.path}"\n', encoding="utf-8"
    )
    via_config = CliRunner().invoke(cli, ["drafts", "pipeline.xlsx", "--as-of", AS_OF])
    assert via_config.exit_code == 0, via_config.output
    assert {box: rows_in(gmail, box) for box in PUT} == PUT
    files = CliRunner().invoke(cli, ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--to", "files", "--out", "f"])
    assert files.exit_code == 0, files.output
    assert len(list(Path("f").glob("*.eml"))) == 5
    assert gmail.count("drafts.create") == 4


def test_limit_puts_the_most_urgent_drafts_first(gmail: FakeGmail, account: ServiceAccount) -> None:
    """--limit 2: tomorrow's reminder (row 3) and the information request (row 4) go in, not the first rows."""
    result = run("--limit", "2", account=account)
    assert result.exit_code == 0, result.output
    assert rows_in(gmail, MALEE) == [4] and rows_in(gmail, NIRAN) == [3]
    lines = {int(m["row"]): m for m in manifest()}
    assert {r: lines[r]["status"] for r in lines} == {
        2: "limited",
        3: "written",
        4: "written",
        5: "skipped",
        6: "skipped",
        7: "limited",
    }
    assert lines[2]["mailbox"] == MALEE and lines[2]["gmail_id"] == ""


# --- what is not done ---------------------------------------------------------------------


def test_dry_run_sends_no_request_at_all(gmail: FakeGmail, account: ServiceAccount) -> None:
    """--dry-run: not even a token; no folder; JSON names each draft's mailbox, and what a rerun would do."""
    dry = run("--dry-run", "--json", account=account)
    assert dry.exit_code == 0, dry.output
    assert gmail.log == [] and not Path("drafts").exists()
    entries = {e["row"]: e for e in json.loads(dry.stdout)["drafts"]}
    assert {row: e["mailbox"] for row, e in entries.items() if e["status"] == "would-write"} == {
        2: MALEE,
        3: NIRAN,
        4: MALEE,
        7: NIRAN,
    }
    assert entries[2]["file"] is None and entries[2]["detail"] == "would create a draft"
    assert entries[5]["status"] == "skipped"

    assert run(account=account).exit_code == 0
    gmail.log.clear()
    again = run("--dry-run", "--json", account=account)
    assert gmail.log == []
    entries = {e["row"]: e for e in json.loads(again.stdout)["drafts"]}
    assert entries[2]["detail"].startswith(f"would update draft {entries[2]['gmail_id']}")
    assert "nothing was sent to Google" in run("--dry-run", account=account).stdout


def test_the_placeholder_sender_is_never_impersonated(gmail: FakeGmail, account: ServiceAccount) -> None:
    """Nok has no Owner Email: skipped with the reason, one warning naming the fix, no token for sales@example.com."""
    gmail.add_mailbox("sales@example.com")
    gmail.delegate("example.com", CLIENT_ID)
    result = run("--json", account=account)
    assert result.exit_code == 0, result.output
    assert gmail.drafts("sales@example.com") == []
    assert all(grant.subject != "sales@example.com" for grant in gmail.tokens.values())
    warnings = json.loads(result.stdout)["warnings"]
    (line,) = [w for w in warnings if "Nok" in w]
    assert "1 draft(s) for Nok (row 5) were skipped" in line
    assert "Owner Email" in line and "[drafts] from" in line
    assert result.stderr.count("Warning: 1 draft(s) for Nok") == 1


def test_format_with_gmail_is_a_usage_error(gmail: FakeGmail, account: ServiceAccount) -> None:
    result = run("--format", "mbox", account=account)
    assert result.exit_code == 2
    assert "--format" in result.stderr and "--to files" in result.stderr
    assert gmail.log == []


def test_unusable_credentials_stop_sync_before_the_workbook_is_written(gmail: FakeGmail, tmp_path: Path) -> None:
    """A key file that is not a key: exit 2, the workbook untouched, no request."""
    before = Path("pipeline.xlsx").read_bytes()
    bad = tmp_path / "key.json"
    bad.write_text('{"type": "service_account"}', encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["sync", "pipeline.xlsx", "--as-of", AS_OF, "--to", "gmail", "--credentials", str(bad)]
    )
    assert result.exit_code == 2
    assert f"Error: Google credentials file {bad} lacks" in result.stderr
    assert Path("pipeline.xlsx").read_bytes() == before
    assert gmail.log == [] and not Path("drafts").exists()


# --- refusals: the others go on, the manifest is written, exit 3 -------------------------------


def test_a_mailbox_that_refuses_fails_only_its_own_drafts(
    gmail: FakeGmail, account: ServiceAccount, tmp_path: Path
) -> None:
    """Niran's domain never granted delegation: Niran's drafts fail with one Error naming the mailbox and the
    grant; Malee's go in; the manifest records them; exit 3; the log line says so without a secret."""
    branch = [list(r) for r in ROWS]
    for r in branch:
        if r[4] == NIRAN:
            r[4] = "niran@branch.example"
    gmail.add_mailbox("niran@branch.example")
    write_xlsx(Path("pipeline.xlsx"), {"Pipeline": [HEADERS, *branch]})
    log = tmp_path / "run.log"
    result = run("--log-file", str(log), account=account, command="sync")
    assert result.exit_code == 3, result.output
    assert rows_in(gmail, MALEE) == [2, 4] and gmail.drafts("niran@branch.example") == []
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "niran@branch.example" in errors[0] and CLIENT_ID in errors[0] and SCOPE in errors[0]
    assert "Domain-wide delegation" in errors[0]
    lines = {int(m["row"]): m for m in manifest()}
    assert [lines[r]["status"] for r in (2, 3, 4, 7)] == ["written", "failed", "written", "failed"]
    assert lines[3]["detail"] == lines[7]["detail"] and "niran@branch.example" in lines[3]["detail"]
    assert all(lines[r]["gmail_id"] for r in (2, 4))
    record = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert record["exit_code"] == 3 and "niran@branch.example" in record["error"]
    assert record["drafts"]["written"] == 2 and record["drafts"]["failed"] == 2
    text = result.output + log.read_text(encoding="utf-8")
    assert not [t for t in gmail.tokens if t in text]
    assert not [line for line in account.key_lines if line in text]
    assert "Hi Ann" not in text and "ya29." not in text


def test_quota_spent_after_the_retries_stops_the_run_and_keeps_the_ids(
    gmail: FakeGmail, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gmail keeps answering 429 once the first drafts are in: exit 3 with the quota message; the drafts
    already made are in the manifest with their ids, the rest failed and not tried; plain path, so the
    order is known."""
    monkeypatch.setenv(PLAIN_ENV, "gmail")
    gmail.fail("api", None, times=4)  # two drafts go in (a search and a create each) …
    gmail.fail("api", 429, times=999)  # … then every call is refused
    result = run(account=account)
    assert result.exit_code == 3, result.output
    assert "Error: Gmail quota exhausted for mailbox" in result.stderr and "after 5 tries" in result.stderr
    lines = manifest()
    written = [m for m in lines if m["status"] == "written"]
    failed = [m for m in lines if m["status"] == "failed"]
    assert len(written) == 2 and all(m["gmail_id"] for m in written)
    assert len(failed) == 2 and all(m["detail"].startswith("not put into Gmail: Gmail quota exhausted") for m in failed)
    api = [entry.kind for entry in gmail.log if entry.kind != "token"]
    assert api.count("drafts.list") + api.count("drafts.create") == len(api)
    assert api[-5:] == ["drafts.list"] * 5  # the third draft's search, tried five times; nothing after it


def test_quota_bursts_are_waited_out_without_duplicates(gmail: FakeGmail, account: ServiceAccount) -> None:
    """429s and a 403 rateLimitExceeded between the creates: every draft lands once."""
    gmail.fail("drafts.create", 429, times=3)
    result = run(account=account)
    assert result.exit_code == 0, result.output
    assert {box: rows_in(gmail, box) for box in PUT} == PUT
    assert [r.status for r in gmail.requests("drafts.create")].count(429) == 3
    assert gmail.count("drafts.create") == 4 + 3


def test_one_persons_login_puts_only_their_own_drafts(gmail: FakeGmail, tmp_path: Path) -> None:
    """An authorized-user file reaches Malee's mailbox only: her drafts go in, Niran's fail by name, exit 3."""
    path = make_authorized_user(gmail, tmp_path, MALEE, scopes=[SCOPE])
    result = CliRunner().invoke(
        cli,
        ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--to", "gmail", "--out", "drafts", "--credentials", str(path)],
    )
    assert result.exit_code == 3, result.output
    assert rows_in(gmail, MALEE) == [2, 4] and gmail.drafts(NIRAN) == []
    assert f"reaches only the mailbox {MALEE}" in result.stderr and NIRAN in result.stderr
    assert gmail.count("getProfile") == 1


# --- many drafts, many mailboxes ---------------------------------------------------------------


def big_pipeline(path: Path, mailboxes: list[str], per_mailbox: int) -> None:
    due = [d("2026-11-25"), d("2026-11-26"), None, None, "en"]  # last contact, follow-up due, …
    rows = [
        [
            f"Prospect {i} of {box}",
            f"Contact {i}",
            f"c{i}.{box}",
            box.split("@")[0],
            box,
            "Lead",
            "no",
            None,
            None,
            *due,
        ]
        for i in range(per_mailbox)
        for box in mailboxes
    ]
    write_xlsx(path, {"Pipeline": [HEADERS, *rows]})


@pytest.mark.parametrize("plain", [False, True], ids=["threads", "plain"])
def test_many_mailboxes_at_once_never_two_requests_to_one(
    gmail: FakeGmail, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, plain: bool
) -> None:
    """Five mailboxes, 12 drafts each, every call 20 ms: up to four mailboxes at once, one call per mailbox at
    a time; the plain path (SHEETSYNC_PLAIN=gmail) one call at a time; both give the same mailboxes."""
    boxes = [f"rep{i}@acme.example" for i in range(5)]
    for box in boxes:
        gmail.add_mailbox(box)
    big_pipeline(Path("pipeline.xlsx"), boxes, 12)
    if plain:
        monkeypatch.setenv(PLAIN_ENV, "gmail")
    gmail.latency = 0.02
    result = run(account=account)
    assert result.exit_code == 0, result.output
    assert all(len(gmail.drafts(box)) == 12 for box in boxes)
    assert max(gmail.peak.values()) == 1
    assert gmail.peak_total == (1 if plain else 4)
    assert api_calls(gmail) == {"drafts.list": 60, "drafts.create": 60}
    assert "120 Gmail request(s), 900 quota units" in result.stdout
    assert [int(m["row"]) for m in manifest()] == list(range(2, 62))


def test_the_progress_bar_counts_gmail_drafts(
    gmail: FakeGmail, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's progress callback gets every due row once, ending at (total, total), from the main thread."""
    import threading

    from sheetsync import console

    seen: list[tuple[int, int, str]] = []

    class Bar:
        def __enter__(self) -> Callable[[int, int], None]:
            return lambda done, total: seen.append((done, total, threading.current_thread().name))

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(console, "progress_bar", lambda: Bar())
    assert run(account=account).exit_code == 0
    assert seen[-1][:2] == (6, 6) and len(seen) == 4
    assert {name for *_n, name in seen} == {threading.main_thread().name}


def test_sigterm_while_putting_drafts_stops_after_the_drafts_in_hand(
    gmail: FakeGmail, account: ServiceAccount, tmp_path: Path
) -> None:
    """The console script, stopped mid-run: exit 143 with one line; the manifest lists exactly the drafts in
    Gmail (the rest interrupted), no request follows; the next run puts the rest and duplicates none."""
    boxes = [f"rep{i}@acme.example" for i in range(5)]
    for box in boxes:
        gmail.add_mailbox(box)
    big_pipeline(Path("pipeline.xlsx"), boxes, 8)
    gmail.latency = 0.1
    env = subprocess_env(SHEETSYNC_GMAIL_ENDPOINT=gmail.url, SHEETSYNC_RETRY_BASE="0.01", HOME=str(tmp_path / "home"))
    command = [SHEETSYNC, "drafts", "pipeline.xlsx", "--as-of", AS_OF, "--to", "gmail", "--out", "drafts"]
    command += ["--credentials", str(account.path)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while gmail.count("drafts.create") < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("Error: stopped by SIGTERM while putting drafts into Gmail")
    calls = len(gmail.log)
    time.sleep(0.3)
    assert len(gmail.log) == calls  # nothing after the process ended

    lines = manifest()
    put = {m["gmail_id"] for m in lines if m["status"] == "written"}
    assert put == {draft.id for box in boxes for draft in gmail.drafts(box)}
    interrupted = [m for m in lines if m["status"] == "interrupted"]
    assert 6 <= len(put) < 40 and len(put) + len(interrupted) == 40
    assert f"— {len(put)} of 40 put" in stderr

    gmail.latency = 0
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert sum(len(gmail.drafts(box)) for box in boxes) == 40
    assert {m["status"] for m in manifest()} == {"written"}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drafts.create", "status": 403},
        {"kind": "api", "status": 500, "times": 99},
        {"kind": "api", "status": 429, "times": 99},
        {"kind": "api", "status": 401},
        {"kind": "token", "status": 400},
        {"kind": "drafts.create", "drop": True, "apply_first": True},
    ],
    ids=["403", "500s", "429s", "401", "token refused", "answer lost"],
)
def test_no_token_key_or_message_text_in_any_output(
    gmail: FakeGmail,
    account: ServiceAccount,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
) -> None:
    """Failing runs, debug logging on: stdout, stderr, the --log-file line and the log records hold no access
    token, no line of the key, no line or subject of a draft, and no piece of the raw message."""
    files = CliRunner().invoke(cli, ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--to", "files", "--out", "eml"])
    assert files.exit_code == 0, files.output
    eml = next(Path("eml").glob("*_row2_*.eml")).read_bytes()
    sent = base64.urlsafe_b64encode(eml).decode()  # what drafts.create carries
    caplog.set_level("DEBUG")
    gmail.fail(**fault)
    log = tmp_path / "run.log"
    result = run("--log-file", str(log), "--verbose", account=account, command="sync")
    assert result.exit_code in (0, 3), result.output
    assert gmail.count("drafts.list", "drafts.create") or fault["kind"] == "token"  # something was sent
    text = "\n".join([result.stdout, result.stderr, log.read_text(encoding="utf-8"), caplog.text])
    assert not [token for token in gmail.tokens if token in text]
    assert not [line for line in account.key_lines if line in text]
    for secret in ("Hi Ann", "I wanted to follow up", "PRIVATE KEY", "assertion", sent[60:100], sent[-60:-20]):
        assert secret not in text
    assert "Following up — Acme" not in text.replace(result.stdout, "")  # subjects only in the report itself
