"""What putting a run's drafts into Gmail costs, against the fake Gmail API over real HTTP (docs/gmail.md, issue 16).

    python bench/gmail_drafts.py [--drafts 500] [--mailboxes 5] [--latency 0.05 …]

Writes a pipeline with ``--drafts`` due rows spread over ``--mailboxes``
owners, starts tests/fake_gmail.py (each API call answered after
``--latency`` seconds, as a real Gmail call takes a tenth of a second or
more), and runs the real ``sheetsync drafts --to gmail`` twice in a fresh
process — the first run creates every draft, the second (same as-of) updates
them — once with the mailbox threads and once on the plain path
(``SHEETSYNC_PLAIN=gmail``).  Prints, per run: the wall time, the requests
by method, the quota units, and how many calls were in progress at once
(per mailbox and in all).  Needs the test extras (the fake, openpyxl).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fake_gmail import FakeGmail  # noqa: E402
from fake_google import make_service_account  # noqa: E402

from sheetsync.drafts.gmail import QUOTA_UNITS  # noqa: E402

HEADERS = ["Prospect", "Contact", "Email", "Owner", "Owner Email", "Stage", "Last Contact", "Next Follow-up"]
CLIENT_ID = "118230498712345678901"


def write_pipeline(path: Path, drafts: int, mailboxes: list[str]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Pipeline"
    ws.append(HEADERS)
    dates = [dt.datetime(2026, 11, 25), dt.datetime(2026, 11, 26)]  # last contact; the follow-up due
    for i in range(drafts):
        box = mailboxes[i % len(mailboxes)]
        ws.append(
            [f"Prospect {i}", f"Contact {i}", f"contact{i}@client.example", box.split("@")[0], box, "Lead", *dates]
        )
    wb.save(path)


def sheetsync() -> str:
    beside = Path(sys.executable).with_name("sheetsync")
    return str(beside) if beside.exists() else "sheetsync"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--mailboxes", type=int, default=5)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05])
    args = parser.parse_args()
    boxes = [f"rep{i}@acme.example" for i in range(args.mailboxes)]
    with tempfile.TemporaryDirectory() as tmp, FakeGmail() as fake:
        work = Path(tmp)
        account = make_service_account(fake, work, "bench@sales-ops.iam.gserviceaccount.com", client_id=CLIENT_ID)
        write_pipeline(work / "pipeline.xlsx", args.drafts, boxes)
        print(f"{args.drafts} due drafts, {args.mailboxes} mailboxes, fake Gmail at {fake.url}")
        print(f"{'latency':>8} {'path':<8} {'run':<7} {'seconds':>8} {'requests':<40} {'units':>6} {'peak':>10}")
        for latency in args.latency:
            for path in ("threads", "plain"):
                fake.reset()
                fake.latency = latency
                for box in boxes:
                    fake.add_mailbox(box)
                fake.delegate("acme.example", CLIENT_ID)
                out = work / f"drafts-{latency}-{path}"
                env = {
                    **os.environ,
                    "SHEETSYNC_GMAIL_ENDPOINT": fake.url,
                    "SHEETSYNC_PLAIN": "gmail" if path == "plain" else "",
                    "HOME": str(work),
                }
                for run in ("create", "update"):
                    before = dict(fake.counts)
                    fake.peak.clear()
                    fake.peak_total = 0
                    command = [sheetsync(), "drafts", "pipeline.xlsx", "--as-of", "2026-11-27", "--to", "gmail"]
                    command += ["--out", str(out), "--credentials", str(account.path)]
                    started = time.perf_counter()
                    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
                    seconds = time.perf_counter() - started
                    if done.returncode != 0:
                        sys.exit(f"sheetsync exited {done.returncode}: {done.stderr}")
                    calls = {k: v - before.get(k, 0) for k, v in fake.counts.items() if v - before.get(k, 0)}
                    units = sum(QUOTA_UNITS.get(k, 0) * n for k, n in calls.items())
                    shown = ", ".join(f"{k} {n}" for k, n in sorted(calls.items()))
                    peak = f"{max(fake.peak.values(), default=0)}/{fake.peak_total}"
                    print(f"{latency:>8.2f} {path:<8} {run:<7} {seconds:>8.2f} {shown:<40} {units:>6} {peak:>10}")
                    assert sum(len(fake.drafts(box)) for box in boxes) == args.drafts


if __name__ == "__main__":
    main()
