"""Generate large, deterministic pipeline workbooks for the benchmark (SPEC 9).

    python bench/make_workbook.py N OUT.xlsx [--seed 7] [--check]

writes a ``Pipeline`` tab with N data rows and 12 columns (Prospect, Contact, Email,
Owner, Stage, Decision Maker, Budget, Expected Close, Last Contact, Next Follow-up,
Appointment, Language) plus a ``Chart`` tab holding a small stage table and a column
chart that refers to it (a write-back that rewrites only its own parts must keep it).

The mix is tuned for ``--as-of 2026-11-27`` (SPEC 5 and 8.1, default config):

- 5% of rows are due for exactly one draft: 4.5% ``follow-up`` (next follow-up on or
  before as-of) and 0.5% ``appointment-reminder`` (Appointment stage, meeting on
  as-of + 1);
- 3% of rows have exactly one finding, none of them due: ``decision-maker``
  (Appointment+ with decision maker no/blank), ``budget-known`` (Qualified+ with no
  budget), ``timeline-known`` (Qualified+ with no expected close) and ``bad-value``
  (budget ``TBD`` / ``about 50k``), in equal shares;
- the rest is clean: every row is open (Lead..Negotiation; there is no Closed On
  column, so a Won or Lost row would be a ``closed-date`` finding), last contact at most
  6 days ago (never stale), a future next follow-up and expected close, decision maker
  yes at Appointment+, a budget at Qualified+, Appointment-stage meetings in the
  future and past meetings of later stages more than 3 days ago (no post-meeting).

The exact counts are ``round(0.05 * N)`` due rows and ``round(0.03 * N)`` finding rows,
placed by a seeded shuffle.  ``--check`` reads the file back with python-calamine and
recomputes both shares from the cells with an independent, simplified implementation of
the SPEC 5 and 8.1 rules for these columns.

Strings go to the shared-string table (XlsxWriter's default, as Excel writes them);
``constant_memory`` is not used because it switches XlsxWriter to inline strings.
Emails are unique per row (so there are no ``duplicate`` findings) and use the
reserved domains example.com / example.co.th.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter  # type: ignore[import-untyped]

AS_OF = dt.date(2026, 11, 27)
DUE_SHARE = 0.05
REMINDER_SHARE = 0.005
FINDING_SHARE = 0.03

HEADERS = [
    "Prospect",
    "Contact",
    "Email",
    "Owner",
    "Stage",
    "Decision Maker",
    "Budget",
    "Expected Close",
    "Last Contact",
    "Next Follow-up",
    "Appointment",
    "Language",
]
WIDTHS = [42, 28, 34, 12, 13, 15, 13, 15, 14, 15, 17, 10]
BUDGET_COL = HEADERS.index("Budget")

# name, weight among clean rows, stale-after days (SPEC 4.2)
STAGES: list[tuple[str, int, int]] = [
    ("Lead", 30, 14),
    ("Qualified", 25, 14),
    ("Appointment", 15, 7),
    ("Demo", 12, 10),
    ("Proposal", 10, 10),
    ("Negotiation", 8, 7),
]
STAGE_NAMES = [s[0] for s in STAGES]
STAGE_WEIGHTS = [s[1] for s in STAGES]
FINDING_KINDS = ["decision-maker", "budget-known", "timeline-known", "bad-value"]

OWNERS = ["Somchai", "Nattaya", "David", "Pimchanok", "Michael", "Wanida", "Kittisak", "Sarah"]

TH_PLACES = ["สยาม", "กรุงเทพ", "เชียงใหม่", "ภูเก็ต", "ขอนแก่น", "ชลบุรี", "อีสาน", "ล้านนา", "อันดามัน", "นครไทย"]
TH_WORDS = ["รุ่งเรือง", "ทองดี", "ศรีสุข", "มั่นคง", "เจริญ", "พัฒนา", "สมบูรณ์", "ไทยรุ่ง"]
TH_TRADES = [
    "ฟู้ดส์",
    "โลจิสติกส์",
    "การช่าง",
    "พลาสติก",
    "ฟาร์มา",
    "คอนสตรัคชั่น",
    "เทรดดิ้ง",
    "อินดัสทรี",
    "เท็กซ์ไทล์",
    "พร็อพเพอร์ตี้",
    "ออโต้พาร์ท",
    "เมดิคอล ซัพพลาย",
    "อะกริเทค",
    "ซอฟต์แวร์",
    "คอฟฟี่",
]
TH_FIRST = [
    ("สมชาย", "somchai"),
    ("สมศักดิ์", "somsak"),
    ("วิภา", "wipa"),
    ("ธนพล", "thanaphon"),
    ("อรุณี", "arunee"),
    ("มาลี", "malee"),
    ("บุญมี", "boonmee"),
    ("สุดารัตน์", "sudarat"),
    ("ชาตรี", "chatree"),
    ("วีระ", "weera"),
    ("นภา", "napa"),
    ("สุริยา", "suriya"),
    ("อนุชา", "anucha"),
    ("จันทร์เพ็ญ", "janpen"),
    ("ศิริพร", "siriporn"),
    ("กัลยา", "kanlaya"),
]
TH_LAST = [
    ("ใจดี", "jaidee"),
    ("ศรีสุข", "srisuk"),
    ("วงศ์ใหญ่", "wongyai"),
    ("แก้วมณี", "kaewmanee"),
    ("ทองดี", "thongdee"),
    ("มั่นคง", "mankong"),
    ("แสงทอง", "saengthong"),
    ("ธนากร", "thanakorn"),
    ("บุญมา", "boonma"),
    ("คำแสน", "khamsaen"),
    ("ศรีสวัสดิ์", "srisawat"),
    ("เพชรรัตน์", "petcharat"),
]
EN_PLACES = [
    "Bangkok",
    "Siam",
    "Andaman",
    "Mekong",
    "Chao Phraya",
    "Sathorn",
    "Silom",
    "Eastern Seaboard",
    "Northern",
    "Pacific",
    "Golden",
    "Lotus",
    "Orchid",
    "BlueWave",
    "Horizon",
    "Riverside",
]
EN_TRADES = [
    "Logistics",
    "Packaging",
    "Trading",
    "Software",
    "Hotels",
    "Dental",
    "Foods",
    "Motors",
    "Solar Energy",
    "Print & Sign",
    "Fitness",
    "Education",
    "Freight",
    "Cosmetics",
    "Furniture",
]
EN_FORMS = ["Co., Ltd.", "Ltd.", "Group", "Partners", "(Thailand) Co., Ltd."]
EN_FIRST = ["Jane", "Tom", "Michael", "Sarah", "Richard", "Emma", "Daniel", "Grace", "Peter", "Anna", "Jake"]
EN_LAST = ["Porter", "Becker", "Chen", "Kim", "Hall", "Wilson", "Ng", "Tan", "Lang", "Schmidt", "Sutton"]

Row = list[str | int | dt.date | dt.datetime | None]


def _days(n: int) -> dt.date:
    return AS_OF + dt.timedelta(days=n)


def _serial(value: dt.date) -> float:
    """Excel 1900-system serial of a date or date-time."""
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400
    return float((value - dt.date(1899, 12, 30)).days)


def _categories(n: int, rng: random.Random) -> list[str]:
    due = round(DUE_SHARE * n)
    reminders = round(REMINDER_SHARE * n)
    findings = round(FINDING_SHARE * n)
    cats = ["reminder"] * reminders + ["follow-up"] * (due - reminders)
    cats += [FINDING_KINDS[i % len(FINDING_KINDS)] for i in range(findings)]
    cats += ["clean"] * (n - len(cats))
    rng.shuffle(cats)
    return cats


def _identity(i: int, rng: random.Random) -> tuple[str, str, str, str]:
    """(prospect, contact, email, language) for data row i."""
    if rng.random() < 0.5:
        place, trade = rng.choice(TH_PLACES), rng.choice(TH_TRADES)
        form = rng.random()
        if form < 0.7:
            prospect = f"บริษัท {place} {trade} จำกัด"
        elif form < 0.85:
            prospect = f"ห้างหุ้นส่วนจำกัด {rng.choice(TH_WORDS)}{trade}"
        else:
            prospect = f"บริษัท {place} {rng.choice(TH_WORDS)} {trade} จำกัด (มหาชน)"
        (first, first_r), (last, last_r) = rng.choice(TH_FIRST), rng.choice(TH_LAST)
        return prospect, f"คุณ{first} {last}", f"{first_r}.{last_r}{i}@example.co.th", "th"
    prospect = f"{rng.choice(EN_PLACES)} {rng.choice(EN_TRADES)} {rng.choice(EN_FORMS)}"
    first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
    title = "Ms." if first in {"Jane", "Sarah", "Emma", "Grace", "Anna"} else "Mr."
    return prospect, f"{title} {first} {last}", f"{first.lower()}.{last.lower()}{i}@example.com", "en"


def _budget(rng: random.Random) -> int | str:
    amount = rng.randrange(20, 2000) * 1000
    r = rng.random()
    if r < 0.03:
        return f"฿{amount:,}"
    if r < 0.05:
        return f"THB {amount:,}"
    return amount


def _yes(rng: random.Random, language: str) -> str:
    return "ใช่" if language == "th" and rng.random() < 0.5 else "yes"


def _row(i: int, cat: str, rng: random.Random) -> Row:
    prospect, contact, email, language = _identity(i, rng)
    owner = rng.choice(OWNERS)
    if cat == "reminder":
        stage = "Appointment"
    elif cat == "decision-maker":
        stage = rng.choice(STAGE_NAMES[2:])
    elif cat in ("budget-known", "timeline-known"):
        stage = rng.choice(STAGE_NAMES[1:])
    else:
        stage = rng.choices(STAGE_NAMES, STAGE_WEIGHTS)[0]
    order = STAGE_NAMES.index(stage)

    if order >= 2:
        decision: str | None = _yes(rng, language)
    else:
        decision = rng.choice(["yes", "no", "no", None, "ใช่" if language == "th" else "y"])
    if cat == "decision-maker":
        decision = rng.choice(["no", None, "ไม่" if language == "th" else "n"])

    budget: int | str | None = _budget(rng) if order >= 1 or rng.random() < 0.5 else None
    if cat == "budget-known":
        budget = None
    elif cat == "bad-value":
        budget = rng.choice(["TBD", "about 50k", "ยังไม่ทราบ"])

    expected: dt.date | None = _days(rng.randint(5, 150)) if order >= 1 or rng.random() < 0.3 else None
    if cat == "timeline-known":
        expected = None

    if cat == "follow-up":
        follow_up = _days(-rng.randint(0, 3))
        last_contact = follow_up - dt.timedelta(days=rng.randint(1, 3))
    else:
        follow_up = _days(rng.randint(1, 21))
        last_contact = _days(-rng.randint(0, 6))

    appointment: dt.date | dt.datetime | None = None
    if cat == "reminder":
        appointment = dt.datetime.combine(_days(1), dt.time(rng.choice([9, 10, 13, 14, 15])))
    elif stage == "Appointment":
        appointment = _days(rng.randint(2, 30))
    elif order >= 3:
        appointment = _days(-rng.randint(8, 60))

    return [
        prospect,
        contact,
        email,
        owner,
        stage,
        decision,
        budget,
        expected,
        last_contact,
        follow_up,
        appointment,
        language,
    ]


def make_workbook(n: int, path: Path, seed: int = 7) -> None:
    """Write an N-row pipeline workbook to ``path`` (same n and seed, same cells)."""
    rng = random.Random(seed)
    cats = _categories(n, rng)

    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": f"Benchmark pipeline ({n} rows)", "created": dt.datetime(2026, 11, 27, 8, 0)})
    bold = wb.add_format({"bold": True})
    fmt_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    fmt_datetime = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    fmt_int = wb.add_format({"num_format": "#,##0"})

    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, HEADERS, bold)
    ws.freeze_panes(1, 0)
    for col, width in enumerate(WIDTHS):
        ws.set_column(col, col, width)

    write_string, write_number = ws.write_string, ws.write_number
    # Date cells are numbers with a date format (what write_datetime stores); the serials
    # are cached because the few hundred distinct dates repeat on every row.
    serials: dict[dt.date, float] = {}
    stage_counts: Counter[str] = Counter()
    for i, cat in enumerate(cats):
        r = i + 1
        row = _row(i, cat, rng)
        stage_counts[str(row[4])] += 1
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                write_string(r, c, v)
            elif isinstance(v, int):
                write_number(r, c, v, fmt_int)
            else:
                serial = serials.get(v)
                if serial is None:
                    serial = serials[v] = _serial(v)
                write_number(r, c, serial, fmt_datetime if isinstance(v, dt.datetime) else fmt_date)

    cs = wb.add_worksheet("Chart")
    cs.write_row(0, 0, ["Stage", "Rows"], bold)
    for r, stage in enumerate(STAGE_NAMES, start=1):
        cs.write_string(r, 0, stage)
        cs.write_number(r, 1, stage_counts[stage])
    cs.set_column(0, 0, 14)
    chart = wb.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "Rows per stage",
            "categories": ["Chart", 1, 0, len(STAGE_NAMES), 0],
            "values": ["Chart", 1, 1, len(STAGE_NAMES), 1],
        }
    )
    chart.set_title({"name": "Pipeline by stage"})
    chart.set_legend({"none": True})
    cs.insert_chart("D2", chart)
    wb.close()


# --- --check: recompute the mix from the written cells --------------------------------

_YES = {"yes", "y", "true", "1", "x", "✓", "ใช่"}
_NO = {"", "no", "n", "false", "0", "ไม่", "ไม่ใช่"}
_AMOUNT = re.compile(r"(?:฿|THB)?\s*(\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?")


def _as_date(v: object) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if v in (None, ""):
        return None
    raise ValueError(f"not a date cell: {v!r}")


def classify(row: Sequence[object], as_of: dt.date = AS_OF) -> tuple[list[str], str | None]:
    """(findings, draft reason) of one Pipeline row, SPEC 5 / 8.1 restricted to these columns."""
    stale_after = {s[0]: s[2] for s in STAGES}
    stage = str(row[4])
    order = STAGE_NAMES.index(stage)  # every generated row is open
    findings: list[str] = []
    dm = str(row[5] or "").strip().lower()
    if dm not in _YES and dm not in _NO:
        findings.append("bad-value")
    budget = row[6]
    budget_ok = isinstance(budget, int | float) or (
        isinstance(budget, str) and _AMOUNT.fullmatch(budget.strip()) is not None
    )
    if budget not in (None, "") and not budget_ok:
        findings.append("bad-value")
    expected, last, follow_up, appt = (_as_date(v) for v in row[7:11])
    if order >= 2 and dm not in _YES:
        findings.append("decision-maker")
    if order >= 1 and budget in (None, ""):
        findings.append("budget-known")
    if order >= 1 and expected is None:
        findings.append("timeline-known")
    if follow_up is None and not (appt and appt >= as_of):
        findings.append("next-step")
    stale = last is not None and (as_of - last).days > stale_after[stage]
    if stale:
        findings.append("stale")
    if expected is not None and expected < as_of:
        findings.append("close-date-passed")
    if order == 2 and appt is not None and appt < as_of:
        findings.append("appointment-passed")

    reason = None
    if appt is not None and as_of <= appt <= as_of + dt.timedelta(days=1):
        reason = "appointment-reminder"
    elif appt is not None and as_of - dt.timedelta(days=3) <= appt < as_of and (last is None or last <= appt):
        reason = "post-meeting"
    elif stale and order >= 2:
        reason = "trial-offer"
    elif follow_up is not None and follow_up <= as_of:
        reason = "follow-up"
    return findings, reason


def check(path: Path) -> dict[str, object]:
    """Read ``path`` back with python-calamine and tally findings and due drafts."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Pipeline").to_python()
    if rows[0] != HEADERS:
        raise ValueError(f"unexpected header row {rows[0]!r}")
    data = rows[1:]
    finding_rows = due_rows = overlap = 0
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    emails = set()
    for row in data:
        row = [*row, *[""] * (len(HEADERS) - len(row))]
        findings, reason = classify(row)
        emails.add(row[2])
        kinds.update(findings)
        finding_rows += bool(findings)
        if reason:
            reasons[reason] += 1
            due_rows += 1
            overlap += bool(findings)
    n = len(data)
    return {
        "rows": n,
        "due_rows": due_rows,
        "due_share": due_rows / n if n else 0.0,
        "finding_rows": finding_rows,
        "finding_share": finding_rows / n if n else 0.0,
        "due_and_finding": overlap,
        "unique_emails": len(emails) == n,
        "reasons": dict(reasons),
        "findings": dict(kinds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, help="number of data rows")
    parser.add_argument("out", type=Path, help="workbook to write (.xlsx)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="read the file back and report the mix")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    make_workbook(args.n, args.out, args.seed)
    elapsed = time.perf_counter() - start
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out}: {args.n} rows in {elapsed:.1f} s ({size:.1f} MB)")
    if args.check:
        for key, value in check(args.out).items():
            shown = f"{value:.2%}" if isinstance(value, float) else value
            print(f"  {key}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
