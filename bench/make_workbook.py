"""Generate large, deterministic pipeline workbooks for the benchmark (reference 9), as messy as a team's sheet.

    python bench/make_workbook.py N OUT.xlsx [--seed 7] [--check]

writes a ``Pipeline`` tab with N data rows and 14 columns (Prospect, Contact, Email,
Owner, Stage, Decision Maker, Budget, Expected Close, Last Contact, Next Follow-up,
Appointment, Closed On, Language, Notes) plus a ``Chart`` tab holding a small stage
table and a column chart that refers to it (a write-back that rewrites only its own
parts must keep it).

The mix is tuned for ``--as-of 2026-11-27`` (reference 5 and 8.1, default config):

- 5% of rows are due for exactly one draft: 4.5% ``follow-up`` (next follow-up on or
  before as-of) and 0.5% ``appointment-reminder`` (Appointment stage, meeting on
  as-of + 1);
- 6% of rows have exactly one finding, none of them due.  Half are ``bad-value``, in
  equal shares of five kinds: a malformed address on a ``.co.th``/``.in.th``/``.com``
  domain (``somchai at example.co.th``, ``a@@example.in.th``, two addresses in one
  cell…), a budget in words (``TBD``, ``ยังไม่ทราบ``), a date typed as text that isn't
  one (``31/02/2027``, ``27/11/69``, ``next week``), an ``#N/A`` error cell (a
  ``VLOOKUP`` for the budget with its cached error) and a control character in the
  Contact or Notes text.  The other half, in equal shares: ``decision-maker``
  (Appointment+ with decision maker no/blank), ``budget-known`` (Qualified+ with no
  budget), ``timeline-known`` (Qualified+ with no expected close), ``duplicate`` (the
  prospect and email of an earlier row) and ``closed-date`` (Won or Lost with no
  Closed On);
- the rest is clean: open rows (Lead..Negotiation) with last contact at most 6 days
  ago (never stale), a future next follow-up and expected close, decision maker yes at
  Appointment+, a budget at Qualified+, Appointment-stage meetings in the future and
  past meetings of later stages more than 3 days ago (no post-meeting); and Won and
  Lost rows with a Closed On date (Won with a budget).  Some dates are typed as text
  that reads fine (``15/01/2027``, Buddhist Era ``15/01/2570``, ``2027-01-15``).

Owners come in runs of 1–6 consecutive rows, and about half the runs of two or more
rows have their Owner cell merged over the run (only the top cell holds the name).
Rows with a malformed address have a prospect name of their own (``… สาขา 12``), so
two of them never make an unplanned ``duplicate``.

The exact counts are ``round(0.05 * N)`` due rows and ``round(0.06 * N)`` finding rows
(``round(0.03 * N)`` of them bad values), placed by a seeded shuffle.  ``--check``
reads the file back (python-calamine for the cells, the sheet's XML for the error
cells) and recounts both shares from the cells with an independent, simplified
implementation of the reference 4.1, 5 and 8.1 rules for these columns, then compares the
recount with the plan.

Strings go to the shared-string table (XlsxWriter's default, as Excel writes them);
``constant_memory`` is not used because it switches XlsxWriter to inline strings.
Valid emails are unique per row and use the reserved domains example.com /
example.co.th.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import xlsxwriter  # type: ignore[import-untyped]

AS_OF = dt.date(2026, 11, 27)
DUE_SHARE = 0.05
REMINDER_SHARE = 0.005
FINDING_SHARE = 0.06
BAD_VALUE_SHARE = 0.03  # of the rows with a finding, these have a bad value
MERGE_SHARE = 0.5  # of the runs of one owner's rows, these have the Owner cell merged

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
    "Closed On",
    "Language",
    "Notes",
]
WIDTHS = [42, 28, 34, 12, 13, 15, 13, 15, 14, 15, 17, 12, 10, 30]
COL = {h: i for i, h in enumerate(HEADERS)}

# name, weight among clean rows, stale-after days (reference 4.2; None for closed stages)
STAGES: list[tuple[str, int, int | None]] = [
    ("Lead", 28, 14),
    ("Qualified", 23, 14),
    ("Appointment", 14, 7),
    ("Demo", 11, 10),
    ("Proposal", 9, 10),
    ("Negotiation", 7, 7),
    ("Won", 5, None),
    ("Lost", 3, None),
]
STAGE_NAMES = [s[0] for s in STAGES]
STAGE_WEIGHTS = [s[1] for s in STAGES]
OPEN_STAGES = STAGE_NAMES[:6]
BAD_KINDS = ["bad-email", "bad-budget", "bad-date", "error-cell", "control-character"]
OTHER_KINDS = ["decision-maker", "budget-known", "timeline-known", "duplicate", "closed-date"]

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

EN_NOTES = ["asked for a quote", "call back after Songkran", "met at the trade fair", "price sensitive", "referral"]
TH_NOTES = ["ขอใบเสนอราคา", "โทรกลับหลังสงกรานต์", "เจอที่งานแสดงสินค้า", "ลูกค้าแนะนำมา", "ต่อราคาเยอะ"]
BAD_BUDGETS = ["TBD", "about 50k", "ยังไม่ทราบ", "ask boss"]
BAD_DATES = ["31/02/2027", "27/11/69", "next week", "2026-13-01", "ASAP", "ปลายเดือน"]
DATE_COLUMNS = ["Expected Close", "Last Contact", "Next Follow-up"]


class ErrorCell(NamedTuple):
    """A formula whose saved result is an Excel error (a ``VLOOKUP`` that found nothing)."""

    formula: str
    error: str = "#N/A"


Cell = str | int | dt.date | dt.datetime | ErrorCell | None
Row = list[Cell]


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
    bad = round(BAD_VALUE_SHARE * n)
    cats = ["reminder"] * reminders + ["follow-up"] * (due - reminders)
    cats += [BAD_KINDS[i % len(BAD_KINDS)] for i in range(bad)]
    cats += [OTHER_KINDS[i % len(OTHER_KINDS)] for i in range(findings - bad)]
    cats += ["clean"] * (n - len(cats))
    rng.shuffle(cats)
    # A duplicate repeats an earlier row with a valid address: none may come before the first such row.
    first = next((i for i, c in enumerate(cats) if c not in ("duplicate", "bad-email")), len(cats))
    cleans = [i for i, c in enumerate(cats) if c == "clean" and i > first]
    for i in range(first):
        if cats[i] == "duplicate" and cleans:
            j = cleans.pop()
            cats[i], cats[j] = cats[j], cats[i]
    return cats


def _owners(n: int, rng: random.Random) -> tuple[list[str], list[tuple[int, int]]]:
    """Each row's owner, in runs of 1-6 rows, and the runs (first, last row index) whose Owner cell is merged."""
    owners: list[str] = []
    merged: list[tuple[int, int]] = []
    while len(owners) < n:
        length = min(rng.choice([1, 1, 2, 2, 3, 4, 5, 6]), n - len(owners))
        if length > 1 and rng.random() < MERGE_SHARE:
            merged.append((len(owners), len(owners) + length - 1))
        owners.extend([rng.choice(OWNERS)] * length)
    return owners, merged


def _identity(i: int, rng: random.Random) -> tuple[str, str, str, str, str]:
    """(prospect, contact, email, language, mailbox name) for data row i."""
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
        return prospect, f"คุณ{first} {last}", f"{first_r}.{last_r}{i}@example.co.th", "th", first_r
    prospect = f"{rng.choice(EN_PLACES)} {rng.choice(EN_TRADES)} {rng.choice(EN_FORMS)}"
    first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
    title = "Ms." if first in {"Jane", "Sarah", "Emma", "Grace", "Anna"} else "Mr."
    return prospect, f"{title} {first} {last}", f"{first.lower()}.{last.lower()}{i}@example.com", "en", first.lower()


def _bad_email(i: int, name: str, rng: random.Random) -> str:
    """An address as people mistype it, on a domain with one or two dots."""
    domain = rng.choice(["example.co.th", "example.in.th", "example.com"])
    return rng.choice(
        [
            f"{name} at {domain}",
            f"{name}{i}@@{domain}",
            f"{name}{i}@example",
            f"{name}.{i}.{domain}",
            f"{name}{i}@{domain}; sales@{domain}",
            f"{name}{i}@{domain.replace('.', ',', 1)}",
        ]
    )


def _budget(rng: random.Random) -> int | str:
    amount = rng.randrange(20, 2000) * 1000
    r = rng.random()
    if r < 0.03:
        return f"฿{amount:,}"
    if r < 0.05:
        return f"THB {amount:,}"
    return amount


def _as_text(day: dt.date, rng: random.Random) -> dt.date | str:
    """Mostly a date cell; 3% of the time the date typed as text that reads fine."""
    r = rng.random()
    if r < 0.01:
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if r < 0.02:
        return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"  # Buddhist Era
    if r < 0.03:
        return day.isoformat()
    return day


def _yes(rng: random.Random, language: str) -> str:
    return "ใช่" if language == "th" and rng.random() < 0.5 else "yes"


def _row(i: int, cat: str, owner: str, rng: random.Random, earlier: list[tuple[str, str]]) -> Row:
    prospect, contact, email, language, name = _identity(i, rng)
    if cat == "bad-email":
        prospect = f"{prospect} สาขา {i}" if language == "th" else f"{prospect} (branch {i})"
        email = _bad_email(i, name, rng)
    elif cat == "duplicate":
        prospect, email = rng.choice(earlier)
    if cat == "reminder":
        stage = "Appointment"
    elif cat == "decision-maker":
        stage = rng.choice(OPEN_STAGES[2:])
    elif cat in ("budget-known", "timeline-known"):
        stage = rng.choice(OPEN_STAGES[1:])
    elif cat == "closed-date":
        stage = rng.choice(["Won", "Won", "Lost"])
    elif cat in ("follow-up", "bad-date"):
        stage = rng.choice(OPEN_STAGES)
    else:
        stage = rng.choices(STAGE_NAMES, STAGE_WEIGHTS)[0]
    order = STAGE_NAMES.index(stage)
    closed = stage in ("Won", "Lost")

    if order >= 2:
        decision: str | None = _yes(rng, language)
    else:
        decision = rng.choice(["yes", "no", "no", None, "ใช่" if language == "th" else "y"])
    if cat == "decision-maker":
        decision = rng.choice(["no", None, "ไม่" if language == "th" else "n"])

    budget: int | str | ErrorCell | None = _budget(rng) if order >= 1 or rng.random() < 0.5 else None
    if cat == "budget-known":
        budget = None
    elif cat == "bad-budget":
        budget = rng.choice(BAD_BUDGETS)
    elif cat == "error-cell":
        budget = ErrorCell(f"VLOOKUP(A{i + 2},Prices!A:B,2,FALSE)")

    expected: dt.date | str | None = None
    if order >= 1 or rng.random() < 0.3:
        expected = _as_text(_days(rng.randint(5, 150) if not closed else -rng.randint(0, 90)), rng)
    if cat == "timeline-known":
        expected = None

    closed_on: dt.date | None = None
    follow_up: dt.date | str | None
    last_contact: dt.date | str
    if closed:
        closed_on = None if cat == "closed-date" else _days(-rng.randint(0, 120))
        follow_up = None
        last_contact = _as_text(_days(-rng.randint(1, 150)), rng)
    elif cat == "follow-up":
        due_day = _days(-rng.randint(0, 3))
        follow_up = due_day
        last_contact = due_day - dt.timedelta(days=rng.randint(1, 3))
    else:
        follow_up = _days(rng.randint(1, 21))
        last_contact = _as_text(_days(-rng.randint(0, 6)), rng)
    if cat == "bad-date":
        column = rng.choice(DATE_COLUMNS)
        bad_date = rng.choice(BAD_DATES)
        if column == "Expected Close":
            expected = bad_date
        elif column == "Last Contact":
            last_contact = bad_date
        else:
            follow_up = bad_date

    appointment: dt.date | dt.datetime | None = None
    if cat == "reminder":
        appointment = dt.datetime.combine(_days(1), dt.time(rng.choice([9, 10, 13, 14, 15])))
    elif stage == "Appointment":
        appointment = _days(rng.randint(2, 30))
    elif order >= 3:
        appointment = _days(-rng.randint(8, 60))

    notes: str | None = None
    if rng.random() < 0.3:
        notes = rng.choice(TH_NOTES if language == "th" else EN_NOTES)
    if cat == "control-character":
        if rng.random() < 0.5:
            contact = contact.replace(" ", "\x0b", 1)  # a line break pasted from another program
        else:
            notes = rng.choice(EN_NOTES) + "\x07"

    if cat not in ("bad-email", "duplicate"):
        earlier.append((prospect, email))
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
        closed_on,
        language,
        notes,
    ]


def make_workbook(n: int, path: Path, seed: int = 7) -> dict[str, int]:
    """Write an N-row pipeline workbook to ``path`` (same n and seed, same cells); return the planned mix."""
    rng = random.Random(seed)
    cats = _categories(n, rng)
    owners, merged = _owners(n, rng)
    merged_rows = {r for first, last in merged for r in range(first + 1, last + 1)}

    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": f"Benchmark pipeline ({n} rows)", "created": dt.datetime(2026, 11, 27, 8, 0)})
    bold = wb.add_format({"bold": True})
    fmt_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    fmt_datetime = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    fmt_int = wb.add_format({"num_format": "#,##0"})
    fmt_owner = wb.add_format({"valign": "top"})

    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, HEADERS, bold)
    ws.freeze_panes(1, 0)
    for col, width in enumerate(WIDTHS):
        ws.set_column(col, col, width)

    write_string, write_number = ws.write_string, ws.write_number
    owner_col = COL["Owner"]
    # Date cells are numbers with a date format (what write_datetime stores); the serials
    # are cached because the few hundred distinct dates repeat on every row.
    serials: dict[dt.date, float] = {}
    stage_counts: Counter[str] = Counter()
    earlier: list[tuple[str, str]] = []
    for i, cat in enumerate(cats):
        r = i + 1
        row = _row(i, cat, owners[i], rng, earlier)
        stage_counts[str(row[COL["Stage"]])] += 1
        for c, v in enumerate(row):
            if v is None or (c == owner_col and i in merged_rows):
                continue
            if isinstance(v, str):
                write_string(r, c, v)
            elif isinstance(v, int):
                write_number(r, c, v, fmt_int)
            elif isinstance(v, ErrorCell):
                ws.write_formula(r, c, v.formula, fmt_int, v.error)
            else:
                serial = serials.get(v)
                if serial is None:
                    serial = serials[v] = _serial(v)
                write_number(r, c, serial, fmt_datetime if isinstance(v, dt.datetime) else fmt_date)
    for first, last in merged:
        ws.merge_range(first + 1, owner_col, last + 1, owner_col, owners[first], fmt_owner)

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
    planned = Counter("bad-value" if c in BAD_KINDS else c for c in cats)
    return {
        "rows": n,
        "due_rows": round(DUE_SHARE * n),
        "finding_rows": round(FINDING_SHARE * n),
        "bad_value_rows": round(BAD_VALUE_SHARE * n),
        "merged_runs": len(merged),
        "merged_rows": sum(last - first + 1 for first, last in merged),
        **{f"planned {k}": v for k, v in sorted(planned.items()) if k not in ("clean", "reminder", "follow-up")},
    }


# --- --check: recount the mix from the written cells ----------------------------------

_YES = {"yes", "y", "true", "1", "x", "✓", "ใช่"}
_NO = {"", "no", "n", "false", "0", "ไม่", "ไม่ใช่"}
_AMOUNT = re.compile(r"(?:฿|THB)?\s*(\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_IN_ADDRESS = set(' \t\n<>()[],;:"\\')
_ERROR = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*? t="e"')
_GROUP = {"Lead": "early", "Qualified": "early", "Appointment": "middle", "Demo": "middle"}
_GROUP.update({"Proposal": "late", "Negotiation": "late", "Won": "won", "Lost": "lost"})


def _valid_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or set(text) & _NOT_IN_ADDRESS:
        return False
    return "." in domain[1:-1]


def _read_date(v: object) -> tuple[dt.date | None, bool]:
    """(date, readable) of a date cell: a date, a serial-less text date (DMY, ISO, Buddhist Era), or blank."""
    if isinstance(v, dt.datetime):
        return v.date(), True
    if isinstance(v, dt.date):
        return v, True
    if v in (None, ""):
        return None, True
    text = str(v).strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if len(text.split("/")[-1]) != 4 and pattern == "%d/%m/%Y":
            return None, False
        return (day.replace(year=day.year - 543) if day.year >= 2400 else day), True
    return None, False


def classify(cells: dict[str, object], errors: set[str], as_of: dt.date = AS_OF) -> tuple[list[str], str | None]:
    """(findings, draft reason) of one Pipeline row by header, reference 5 / 8.1 restricted to these columns.

    ``errors`` names the columns whose cell holds an Excel error.  Duplicates
    are found by ``check``, which sees all rows.
    """
    stale_after = {name: days for name, _w, days in STAGES}
    stage = str(cells["Stage"])
    group = _GROUP[stage]
    is_open = group in ("early", "middle", "late")
    order = STAGE_NAMES.index(stage)
    bad: set[str] = set(errors)
    for header, value in cells.items():
        if isinstance(value, str) and _CONTROL.search(value):
            bad.add(header)
    email = str(cells["Email"] or "").strip()
    if email and not _valid_email(email):
        bad.add("Email")
    dm = str(cells["Decision Maker"] or "").strip().lower()
    if dm not in _YES and dm not in _NO:
        bad.add("Decision Maker")
    budget = cells["Budget"]
    if isinstance(budget, str) and budget.strip() and not _AMOUNT.fullmatch(budget.strip()):
        bad.add("Budget")
    dates = {}
    for header in ("Expected Close", "Last Contact", "Next Follow-up", "Appointment", "Closed On"):
        dates[header], readable = _read_date(cells[header])
        if not readable:
            bad.add(header)
    expected, last, follow_up = dates["Expected Close"], dates["Last Contact"], dates["Next Follow-up"]
    appt, closed_on = dates["Appointment"], dates["Closed On"]

    findings = ["bad-value"] * len(bad)
    if is_open and order >= 2 and dm not in _YES and "Decision Maker" not in bad:
        findings.append("decision-maker")
    if order >= 1 and group != "lost" and budget in (None, "") and "Budget" not in bad:
        findings.append("budget-known")
    if is_open and order >= 1 and expected is None and "Expected Close" not in bad:
        findings.append("timeline-known")
    if is_open and follow_up is None and "Next Follow-up" not in bad and not (appt and appt >= as_of):
        findings.append("next-step")
    days = stale_after[stage]
    stale = is_open and days is not None and last is not None and (as_of - last).days > days
    if stale:
        findings.append("stale")
    if is_open and expected is not None and expected < as_of:
        findings.append("close-date-passed")
    if stage == "Appointment" and appt is not None and appt < as_of:
        findings.append("appointment-passed")
    if not is_open and closed_on is None and "Closed On" not in bad:
        findings.append("closed-date")

    reason = None
    if not is_open:
        pass
    elif appt is not None and as_of <= appt <= as_of + dt.timedelta(days=1):
        reason = "appointment-reminder"
    elif appt is not None and as_of - dt.timedelta(days=3) <= appt < as_of and (last is None or last <= appt):
        reason = "post-meeting"
    elif stale and group in ("middle", "late"):
        reason = "trial-offer"
    elif follow_up is not None and follow_up <= as_of:
        reason = "follow-up"
    return findings, reason


def _error_cells(path: Path) -> dict[int, set[str]]:
    """0-based data row → headers whose cell is an Excel error, from the sheet's XML (calamine reads them as empty)."""
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    found: dict[int, set[str]] = {}
    for m in _ERROR.finditer(xml):
        col = 0
        for ch in m[1]:
            col = col * 26 + ch - 64
        found.setdefault(int(m[2]) - 2, set()).add(HEADERS[col - 1])
    return found


def check(path: Path) -> dict[str, object]:
    """Read ``path`` back and tally findings and due drafts."""
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Pipeline")
    rows = sheet.to_python()
    if rows[0] != HEADERS:
        raise ValueError(f"unexpected header row {rows[0]!r}")
    errors = _error_cells(path)
    data = [[*row, *[""] * (len(HEADERS) - len(row))] for row in rows[1:]]
    merges = [m for m in sheet.merged_cell_ranges or [] if m[0][1] == COL["Owner"]]
    for (r0, _c0), (r1, _c1) in merges:  # the Owner of a merged run counts for every row of it
        for r in range(r0, r1 + 1):
            data[r - 1][COL["Owner"]] = data[r0 - 1][COL["Owner"]]
    finding_rows = due_rows = overlap = 0
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for i, values in enumerate(data):
        cells = dict(zip(HEADERS, values, strict=True))
        findings, reason = classify(cells, errors.get(i, set()))
        email = str(cells["Email"]).strip()
        key = (" ".join(str(cells["Prospect"]).split()).casefold(), email.casefold() if _valid_email(email) else "")
        if key in seen:
            findings.append("duplicate")
        seen.add(key)
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
        "bad_value_rows": kinds["bad-value"],
        "due_and_finding": overlap,
        "merged_runs": len(merges),
        "merged_rows": sum(r1 - r0 + 1 for (r0, _), (r1, _) in merges),
        "owners_filled": all(v[COL["Owner"]] for v in data),
        "reasons": dict(reasons),
        "findings": dict(kinds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, help="number of data rows")
    parser.add_argument("out", type=Path, help="workbook to write (.xlsx)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="read the file back, recount the mix, compare")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    plan = make_workbook(args.n, args.out, args.seed)
    elapsed = time.perf_counter() - start
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out}: {args.n} rows in {elapsed:.1f} s ({size:.1f} MB)")
    if not args.check:
        return 0
    found = check(args.out)
    for key, value in found.items():
        shown = f"{value:.2%}" if isinstance(value, float) else value
        print(f"  {key}: {shown}")
    return 0 if report_plan(plan, found) else 1


def report_plan(plan: dict[str, int], found: dict[str, object]) -> bool:
    """Print the recount next to the plan; True when every planned count was found exactly."""
    kinds = found["findings"]
    assert isinstance(kinds, dict)
    recount = {
        k: found[k] for k in ("rows", "due_rows", "finding_rows", "bad_value_rows", "merged_runs", "merged_rows")
    }
    recount.update({f"planned {k}": kinds.get(k, 0) for k in OTHER_KINDS})
    recount["planned bad-value"] = kinds.get("bad-value", 0)
    wrong = {k: (v, recount.get(k)) for k, v in plan.items() if recount.get(k) != v}
    ok = not wrong and found["due_and_finding"] == 0 and found["owners_filled"] is True
    print("  recount matches the plan" if ok else f"  recount differs from the plan (planned, found): {wrong}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
