"""Build ``sample_workbooks/deals.xlsx``: a team's own sheet, as a newcomer brings it (issue 13).

Run ``python -m sample_workbooks.make_deals`` from the repository; it rewrites
``deals.xlsx`` next to this file, the same bytes every time.  Meant for ``--as-of 2026-11-27`` (the quarter is
2026-10-01..2026-12-31), with the config ``sheetsync init --from deals.xlsx`` writes.

Unlike ``pipeline.xlsx`` it is not laid out for sheetsync:

- tab ``Deals``: a title merged over row 1, the headers in row 2 (26 rows in all);
  headers of its own: ``Company``, ``Contact Person``, ``Rep``, ``Rep Email``,
  ``Status``, ``DM confirmed?``, ``Deal Size``, ``Close Date``, ``Prob.``, ``Lang``,
  ``Meeting Date`` (all aliases), ``Last Touch`` (no alias: the columns report
  suggests last_contact) and ``Industry`` (used by no field); no Closed On, Created,
  Next Follow-up column;
- stages ``Closed Won``, ``Closed Lost``, ``On hold`` besides the default ones, and
  one typo (``Qualifed``);
- amounts typed ``120k``, ``1.2M``, ``2.5 ล้าน``, ``1.5m``, ``฿320,000``, ``THB 600,000``,
  and ``about 50k`` (a bad value); one close date typed in the Buddhist Era (``20/12/2569``);
- one prospect entered twice (rows 4 and 16: same company, same email);
- tab ``Targets``: ``Sales Rep`` | ``Q4 Target`` (Somchai 2,500,000; Nattaya typed ``1.5M``).

The figures as of 2026-11-27, worked out by hand in tests/test_own_sheet.py: won this
period 1,670,000 (rows 6, 7, 8 dated by their Close Date), expected 1,948,500, quota
4,000,000, to generate 381,500; rows 16 (the duplicate) and 17 (the typo) left out;
four drafts: rows 4 (Thai reminder), 5 (post-meeting), 14 (Thai trial offer), 20 (reminder).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter  # type: ignore[import-untyped]

from .make_sample import Formats, write_values

OUT = Path(__file__).resolve().parent / "deals.xlsx"
TITLE = "Siam Sales — Q4 2026 deals (updated 27 Nov)"
HEADERS = [
    "Company",
    "Contact Person",
    "Email",
    "Rep",
    "Rep Email",
    "Status",
    "DM confirmed?",
    "Deal Size",
    "Close Date",
    "Prob.",
    "Lang",
    "Meeting Date",
    "Last Touch",
    "Industry",
]
WIDTHS = [38, 18, 30, 10, 26, 13, 14, 12, 12, 7, 6, 17, 12, 15]
TARGETS = [("Somchai", 2_500_000), ("Nattaya", "1.5M")]
REPS = {"Somchai": "somchai@siamsales.co.th", "Nattaya": "nattaya@siamsales.co.th"}

D = dt.date
T = dt.datetime
# Company, Contact Person, Email, Rep, Status, DM confirmed?, Deal Size, Close Date, Prob., Lang, Meeting Date,
# Last Touch, Industry — from sheet row 3; Rep Email comes from REPS.
# fmt: off
DEALS: list[tuple[object, ...]] = [
    # row 3: Proposal due this quarter
    ("Bangkok Logistics Co., Ltd.", "Khun Anan", "anan@bkklogistics.co.th", "Somchai", "Proposal", "yes",
     450_000, D(2026, 12, 15), None, "en", None, D(2026, 11, 20), "Logistics"),
    # row 4: meeting tomorrow: a Thai reminder
    ("บริษัท เชียงใหม่ คอฟฟี่ จำกัด", "คุณนภา", "napa@cmcoffee.co.th", "Nattaya", "Appointment", "ใช่",
     "120k", D(2026, 12, 20), None, "th", T(2026, 11, 28, 10, 0), D(2026, 11, 25), "Food & Beverage"),
    # row 5: met on 25 Nov, nothing since: post-meeting; its own probability; closes next year
    ("Andaman Dive Centers Ltd.", "Mr. Tom Baker", "tom@andamandive.com", "Somchai", "Demo", "yes",
     85_000, D(2027, 1, 20), 0.5, "EN", D(2026, 11, 25), D(2026, 11, 20), "Tourism"),
    # rows 6-9: Closed Won (6, 7, 8 this quarter by their Close Date; 9 last quarter)
    ("Riverside Dental Clinic", "Dr. May", "may@riverside.clinic", "Nattaya", "Closed Won", "yes",
     "1.2M", D(2026, 11, 10), None, "en", D(2026, 10, 15), D(2026, 11, 10), "Healthcare"),
    ("บริษัท ไทยแพ็ค อินดัสทรี จำกัด", "คุณสมศักดิ์", "somsak@thaipack.co.th", "Somchai", "Closed Won", "ใช่",
     "฿320,000", D(2026, 10, 5), None, "th", None, D(2026, 10, 5), "Manufacturing"),
    ("Sathorn Legal Partners", "Ms. Ploy", "ploy@sathornlegal.com", "Nattaya", "Closed Won", "yes",
     150_000, D(2026, 11, 21), None, "en", None, D(2026, 11, 21), "Legal"),
    ("Mekong Trading Co., Ltd.", "Mr. Lee", "lee@mekongtrading.com", "Somchai", "Closed Won", "yes",
     200_000, D(2026, 9, 15), None, "en", None, D(2026, 9, 15), "Import/Export"),
    # row 10: Closed Lost
    ("Silom Fitness Co., Ltd.", "Ms. Jane", "jane@silomfitness.com", "Nattaya", "Closed Lost", "no",
     90_000, D(2026, 11, 2), None, "en", None, D(2026, 11, 2), "Fitness"),
    # row 11: On hold: a meeting two days ago and long silence, yet no draft and no rule
    ("บริษัท ภูเก็ต รีสอร์ท แอนด์ สปา จำกัด", "คุณวิไล", "wilai@phuketresort.co.th", "Nattaya", "On hold", None,
     "2.5 ล้าน", D(2026, 12, 30), None, "th", D(2026, 11, 25), D(2026, 10, 1), "Hospitality"),
    # row 12: a Lead gone quiet (stale), no budget yet
    ("Tech Hub Coworking", "Mr. Ken", "ken@techhub.co", "Somchai", "Lead", None,
     None, None, None, "en", None, D(2026, 11, 1), "Real Estate"),
    # row 13: Qualified, closes next year
    ("Krungthep Solar Energy Co., Ltd.", "Khun Preecha", "preecha@ktsolar.co.th", "Somchai", "Qualified", "no",
     "300k", D(2027, 2, 15), None, "en", None, D(2026, 11, 20), "Energy"),
    # row 14: Negotiation, quiet for 17 days: a Thai trial offer; Close Date in the Buddhist Era
    ("บริษัท สุขใจ ฟาร์มา จำกัด", "คุณสุดา", "suda@sukjai.co.th", "Nattaya", "Negotiation", "ใช่",
     540_000, "20/12/2569", 90, "th", None, D(2026, 11, 10), "Pharma"),
    # row 15: Demo without a confirmed decision maker
    ("Eastern Seaboard Packaging Co., Ltd.", "Mr. Somkiat", "somkiat@esp.co.th", "Somchai", "Demo", "no",
     380_000, D(2026, 12, 10), None, "en", None, D(2026, 11, 24), "Packaging"),
    # row 16: row 4 entered twice
    ("บริษัท เชียงใหม่ คอฟฟี่ จำกัด", "คุณนภา", "napa@cmcoffee.co.th", "Nattaya", "Appointment", "ใช่",
     "120k", D(2026, 12, 20), None, "th", T(2026, 11, 28, 10, 0), D(2026, 11, 25), "Food & Beverage"),
    # row 17: a typo in the stage
    ("Riverside Yoga Studio", "Ms. Fah", "fah@riversideyoga.com", "Nattaya", "Qualifed", "yes",
     60_000, D(2026, 12, 12), None, "en", None, D(2026, 11, 21), "Fitness"),
    # row 18: a budget that isn't an amount
    ("Bangkok Smile Dental", "Dr. Arun", "arun@bsmile.co.th", "Nattaya", "Proposal", "yes",
     "about 50k", D(2026, 12, 5), None, "en", None, D(2026, 11, 22), "Healthcare"),
    # row 19: a Thai lead
    ("ร้าน ข้าวหอม ออร์แกนิค", "คุณมะลิ", "mali@khaohom.co.th", "Nattaya", "Lead", None,
     "50k", D(2027, 3, 1), None, "TH", None, D(2026, 11, 25), "Retail"),
    # row 20: meeting today at 09:30: a reminder
    ("Pattaya Marine Supply", "Mr. John", "john@pattayamarine.com", "Somchai", "Appointment", "yes",
     210_000, D(2026, 12, 18), None, "en", T(2026, 11, 27, 9, 30), D(2026, 11, 20), "Marine"),
    # row 21: Qualified at its own 30 %
    ("บริษัท นครไทย คอนสตรัคชั่น จำกัด", "คุณวีระ", "weera@nakhonthai.co.th", "Somchai", "Qualified", "ใช่",
     "750k", D(2026, 12, 28), 30, "th", None, D(2026, 11, 23), "Construction"),
    # row 22: Closed Lost
    ("Chao Phraya Hotels Group", "Ms. Dao", "dao@cphotels.com", "Somchai", "Closed Lost", "yes",
     400_000, D(2026, 10, 20), None, "en", None, D(2026, 10, 20), "Hospitality"),
    # row 23: Demo with no close date
    ("BlueWave Software Co., Ltd.", "Mr. Nat", "nat@bluewave.io", "Nattaya", "Demo", "yes",
     180_000, None, None, "en", None, D(2026, 11, 26), "Software"),
    # row 24: Negotiation whose close date has passed (still expected this quarter)
    ("Isan Agritech Co., Ltd.", "Khun Boon", "boon@isanagritech.co.th", "Somchai", "Negotiation", "yes",
     "THB 600,000", D(2026, 11, 20), None, "en", None, D(2026, 11, 25), "Agriculture"),
    # row 25: a new lead
    ("Siam Print House", "Ms. Noi", "noi@siamprint.co.th", "Nattaya", "Lead", None,
     None, None, None, "en", None, D(2026, 11, 26), None),
    # row 26: a big Proposal for next quarter
    ("Lanna Craft Co., Ltd.", "Khun Ton", "ton@lannacraft.co.th", "Somchai", "Proposal", "yes",
     "1.5m", D(2027, 1, 15), None, "en", None, D(2026, 11, 24), "Retail"),
]
# fmt: on


def build(path: Path = OUT) -> None:
    """Write the workbook to ``path``."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": TITLE, "author": "sheetsync sample", "created": dt.datetime(2026, 11, 27, 8, 0, 0)})
    title = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    fmt_date = wb.add_format({"num_format": "dd/mm/yyyy"})
    fmt_datetime = wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    fmt_int = wb.add_format({"num_format": "#,##0"})
    fmt_pct = wb.add_format({"num_format": "0%"})

    ws = wb.add_worksheet("Deals")
    ws.merge_range(0, 0, 0, len(HEADERS) - 1, TITLE, title)
    ws.write_row(1, 0, HEADERS, bold)
    ws.freeze_panes(2, 0)
    for col, width in enumerate(WIDTHS):
        ws.set_column(col, col, width)
    prob_col = HEADERS.index("Prob.")
    formats = Formats(fmt_date, fmt_datetime, fmt_int, fmt_pct)
    for r, deal in enumerate(DEALS, start=2):
        company, contact, email, rep, *rest = deal
        write_values(ws, r, [company, contact, email, rep, REPS[str(rep)], *rest], formats, prob_col)

    ts = wb.add_worksheet("Targets")
    ts.write_row(0, 0, ["Sales Rep", "Q4 Target"], bold)
    ts.set_column(0, 1, 14)
    for r, (rep, target) in enumerate(TARGETS, start=1):
        ts.write_string(r, 0, rep)
        if isinstance(target, int):
            ts.write_number(r, 1, target, fmt_int)
        else:
            ts.write_string(r, 1, target)
    wb.close()


def main() -> None:
    build(OUT)
    print(f"wrote {OUT} ({len(DEALS)} deals under a title row, as-of 2026-11-27)")


if __name__ == "__main__":
    main()
