"""Build ``sample_workbooks/pipeline.xlsx``: a believable team pipeline for Q4 2026.

Run ``python sample_workbooks/make_sample.py``; it rewrites ``pipeline.xlsx`` next to
this file.  The output is deterministic (fixed data, fixed document properties), so
running it twice gives the same bytes.  It is meant to be used with
``--as-of 2026-11-27`` (the quarter is 2026-10-01..2026-12-31).

Tabs: ``Pipeline`` (40 prospects, the default headers of reference 4.1 in order plus an
extra ``Industry`` column, header in row 1, bold, frozen) and ``Quotas``
(Somchai 1,200,000 / Nattaya 1,000,000 / David 800,000 = team quota 3,000,000 THB).

Deliberate rule violations (reference 5), one per row; every other row is clean:

    row  rule               prospect: what
    8    stale              Eastern Seaboard Packaging Co., Ltd.: Demo, last contact 2026-11-09 (18 days > 10)
    11   decision-maker     บริษัท กรุงเทพ เมดิคอล ซัพพลาย จำกัด: Appointment, Decision Maker blank
    13   budget-known       บริษัท ภูเก็ต รีสอร์ท แอนด์ สปา จำกัด: Proposal, Budget blank
    14   timeline-known     Sathorn Legal Partners: Qualified, Expected Close blank
    15   unknown-stage      บริษัท อีสาน อะกริเทค จำกัด: Stage "Negociation" (closest: Negotiation)
    16   bad-value          BlueWave Software Co., Ltd.: Budget "TBD"
    17   closed-date        Chao Phraya Hotels Group: Won, Closed On blank
    18   close-date-passed  บริษัท สุขใจ ฟาร์มา จำกัด: Negotiation, Expected Close 2026-11-20
    28   duplicate          BANGKOK LOGISTICS CO., LTD.: same prospect and email as row 3

Errors: rows 11, 13, 14, 15, 16, 17 (so ``sheetsync validate`` exits 1); warnings:
rows 8, 18, 28.  Row 15 (unknown stage) and row 28 (the later row of a duplicate) are left
out of every figure and draft.

Drafts due as of 2026-11-27 (reference 8.1, first reason that holds; reminder_days 1,
post_meeting_days 3), in row order:

    row  reason                prospect: why
    3    follow-up             Bangkok Logistics Co., Ltd.: next follow-up 2026-11-27
    4    appointment-reminder  บริษัท เชียงใหม่ คอฟฟี่ จำกัด: appointment 2026-11-28 10:00
    5    post-meeting          Andaman Dive Centers Ltd.: appointment 2026-11-25, last contact 2026-11-20
    6    info-request          ห้างหุ้นส่วนจำกัด รุ่งเรืองการช่าง: Info Requested yes
    7    info-request          Riverside Dental Clinic: Info Requested yes
    8    trial-offer           Eastern Seaboard Packaging Co., Ltd.: stale Demo deal
    9    follow-up             บริษัท ไทยแพ็ค อินดัสทรี จำกัด (มหาชน): next follow-up 2026-11-26
    12   follow-up, skipped    Mekong Trading Co., Ltd.: next follow-up 2026-11-25, no email
    21   follow-up             บริษัท นครไทย คอนสตรัคชั่น จำกัด: next follow-up 2026-11-24
    24   follow-up             Krungthep Solar Energy Co., Ltd.: next follow-up 2026-11-27
    27   follow-up             Tech Hub Coworking: next follow-up 2026-11-26
    31   follow-up             บริษัท บ้านสวย พร็อพเพอร์ตี้ จำกัด: next follow-up 2026-11-27
    38   follow-up             ร้าน ข้าวหอม ออร์แกนิค: next follow-up 2026-11-26

That is 12 drafts written (Language ``th``: rows 4, 6, 9, 21, 24, 31, 38; ``en``: rows 3,
5, 7, 8, 27) and 1 skipped (row 12).  Row 22 (Silom Fitness Co., Ltd.) has a follow-up
due 2026-11-20 but Do Not Contact = yes, so it gets no draft.

Cell types on purpose: budgets are number cells formatted ``#,##0`` except row 10
(text ``฿45,000``) and row 24 (text ``THB 180,000``), both valid, and row 16 (``TBD``);
dates are real date cells formatted ``yyyy-mm-dd`` (row 4's appointment is a
date-time, ``yyyy-mm-dd hh:mm``); Decision Maker is yes/no text, Thai ``ใช่``/``ไม่`` on
Thai rows; row 25's Probability is the fraction 0.5 (50%), row 30's is 80.
Won rows closed in the quarter: 2, 10, 32, 37 (645,000 THB); row 26 closed
2026-09-18 (previous quarter); row 17 has no Closed On.  Lost: rows 20, 29, 34, 41.
With the Quotas tab (3,000,000) the diagnosis should read thin-coverage, stalled and
famine-ahead (2027-01 expects 133,000 against a monthly target of 1,000,000).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

OUT = Path(__file__).resolve().parent / "pipeline.xlsx"

HEADERS = [
    "Prospect",
    "Contact",
    "Email",
    "Owner",
    "Owner Email",
    "Stage",
    "Decision Maker",
    "Budget",
    "Expected Close",
    "Probability",
    "Last Contact",
    "Next Follow-up",
    "Appointment",
    "Info Requested",
    "Closed On",
    "Created",
    "Language",
    "Do Not Contact",
    "Notes",
    "Industry",
]
WIDTHS = [40, 26, 30, 11, 22, 13, 15, 13, 15, 12, 14, 15, 17, 15, 13, 13, 10, 15, 52, 18]

QUOTAS = [("Somchai", 1_200_000), ("Nattaya", 1_000_000), ("David", 800_000)]

# (sheet row, rule, prospect, what) — checked against the data below when run.
VIOLATIONS: list[tuple[int, str, str, str]] = [
    (8, "stale", "Eastern Seaboard Packaging Co., Ltd.", "Demo deal, last contact 2026-11-09 (18 days > 10)"),
    (11, "decision-maker", "บริษัท กรุงเทพ เมดิคอล ซัพพลาย จำกัด", "Appointment deal, Decision Maker blank"),
    (13, "budget-known", "บริษัท ภูเก็ต รีสอร์ท แอนด์ สปา จำกัด", "Proposal deal, Budget blank"),
    (14, "timeline-known", "Sathorn Legal Partners", "Qualified deal, Expected Close blank"),
    (15, "unknown-stage", "บริษัท อีสาน อะกริเทค จำกัด", 'Stage "Negociation" (typo of Negotiation)'),
    (16, "bad-value", "BlueWave Software Co., Ltd.", 'Budget "TBD"'),
    (17, "closed-date", "Chao Phraya Hotels Group", "Won deal, Closed On blank"),
    (18, "close-date-passed", "บริษัท สุขใจ ฟาร์มา จำกัด", "Negotiation deal, Expected Close 2026-11-20"),
    (28, "duplicate", "BANGKOK LOGISTICS CO., LTD.", "same prospect and email as row 3"),
]


@dataclass(frozen=True)
class Deal:
    prospect: str
    contact: str
    email: str | None
    owner: str
    stage: str
    decision_maker: str | None
    budget: int | str | None
    expected_close: str | None
    last_contact: str | None
    next_follow_up: str | None
    created: str
    language: str
    industry: str
    notes: str = ""
    appointment: str | None = None
    info_requested: str | None = None
    closed_on: str | None = None
    probability: int | float | None = None
    do_not_contact: str | None = None


# fmt: off
DEALS: list[Deal] = [
    # row 2: Won this quarter
    Deal("บริษัท สยามฟู้ดส์ จำกัด", "Khun Somsak", "somsak@example.co.th", "Somchai",
         "Won", "ใช่", 320_000, "2026-10-20", "2026-10-20", None, "2026-08-15",
         "th", "Food & Beverage", "เซ็นสัญญา 1 ปี ชำระรายไตรมาส",
         appointment="2026-10-06", closed_on="2026-10-20"),
    # row 3: follow-up due today
    Deal("Bangkok Logistics Co., Ltd.", "Ms. Jane Porter", "jane.porter@example.com", "David",
         "Proposal", "yes", 450_000, "2026-12-15", "2026-11-24", "2026-11-27", "2026-09-20",
         "en", "Logistics", "Proposal sent 24 Nov; chase for feedback", appointment="2026-11-12"),
    # row 4: appointment tomorrow (reminder)
    Deal("บริษัท เชียงใหม่ คอฟฟี่ จำกัด", "คุณวิภา ศรีสุข", "wipa@example.co.th", "Nattaya",
         "Appointment", "ใช่", 85_000, "2026-12-20", "2026-11-24", "2026-12-01", "2026-11-02",
         "th", "Food & Beverage", "นัดประชุมที่สำนักงานเชียงใหม่ 10 โมง", appointment="2026-11-28 10:00"),
    # row 5: met on 25 Nov, nothing logged since (post-meeting)
    Deal("Andaman Dive Centers Ltd.", "Mr. Tom Becker", "tom.becker@example.com", "David",
         "Demo", "yes", 120_000, "2026-12-18", "2026-11-20", "2026-11-28", "2026-10-14",
         "en", "Hospitality", "Demo held on site in Phuket", appointment="2026-11-25"),
    # row 6: asked for information
    Deal("ห้างหุ้นส่วนจำกัด รุ่งเรืองการช่าง", "Khun Prasert", "prasert@example.co.th", "Somchai",
         "Qualified", "ไม่", 60_000, "2027-01-31", "2026-11-23", "2026-12-03", "2026-11-05",
         "th", "Manufacturing", "ขอรายละเอียดแพ็กเกจและเงื่อนไขการรับประกัน", info_requested="yes"),
    # row 7: asked for information
    Deal("Riverside Dental Clinic", "Dr. Anan Wong", "anan.wong@example.com", "Nattaya",
         "Lead", "no", None, None, "2026-11-25", "2026-12-02", "2026-11-25",
         "en", "Healthcare", "Asked for a brochure and pricing for 3 branches", info_requested="yes"),
    # row 8: VIOLATION stale (Demo, 18 days) -> trial-offer
    Deal("Eastern Seaboard Packaging Co., Ltd.", "Mr. Michael Chen", "michael.chen@example.com", "David",
         "Demo", "yes", 380_000, "2026-12-20", "2026-11-09", "2026-12-04", "2026-09-28",
         "en", "Manufacturing", "Went quiet after the demo", appointment="2026-11-05"),
    # row 9: follow-up due (yesterday)
    Deal("บริษัท ไทยแพ็ค อินดัสทรี จำกัด (มหาชน)", "คุณธนพล วงศ์ใหญ่", "thanaphon@example.co.th", "Somchai",
         "Negotiation", "ใช่", 540_000, "2026-12-10", "2026-11-24", "2026-11-26", "2026-08-25",
         "th", "Manufacturing", "ต่อรองส่วนลด 5% สำหรับสัญญา 2 ปี", appointment="2026-10-29"),
    # row 10: Won this quarter, budget typed as text
    Deal("Lotus Digital Agency", "Ms. Ploy Siriwat", "ploy@example.com", "Nattaya",
         "Won", "yes", "฿45,000", "2026-11-10", "2026-11-12", None, "2026-10-01",
         "en", "Marketing", "Starter plan, upsell in Q1", appointment="2026-10-22", closed_on="2026-11-12"),
    # row 11: VIOLATION decision-maker missing at Appointment
    Deal("บริษัท กรุงเทพ เมดิคอล ซัพพลาย จำกัด", "คุณอรุณี แก้วมณี", "arunee@example.co.th", "Nattaya",
         "Appointment", None, 150_000, "2026-12-22", "2026-11-23", "2026-12-02", "2026-10-30",
         "th", "Healthcare", "คุยกับฝ่ายจัดซื้อ ยังไม่ได้คุยกับผู้บริหาร", appointment="2026-12-03"),
    # row 12: follow-up due but no email (skipped)
    Deal("Mekong Trading Co., Ltd.", "Mr. Somkiat Lee", None, "David",
         "Lead", "no", None, None, "2026-11-20", "2026-11-25", "2026-11-20",
         "en", "Import/Export", "Met at the trade fair; email address not on the card"),
    # row 13: VIOLATION budget-known (Proposal, no budget)
    Deal("บริษัท ภูเก็ต รีสอร์ท แอนด์ สปา จำกัด", "คุณมาลี ทองดี", "malee@example.co.th", "Somchai",
         "Proposal", "ใช่", None, "2026-12-28", "2026-11-22", "2026-12-01", "2026-10-02",
         "th", "Hospitality", "รอตัวเลขงบประมาณจากฝ่ายบัญชี", appointment="2026-11-10"),
    # row 14: VIOLATION timeline-known (Qualified, no expected close)
    Deal("Sathorn Legal Partners", "Mr. Richard Hall", "richard.hall@example.com", "Nattaya",
         "Qualified", "yes", 90_000, None, "2026-11-19", "2026-12-04", "2026-11-10",
         "en", "Legal", "Partners meeting decides budget; no date yet"),
    # row 15: VIOLATION unknown-stage (typo)
    Deal("บริษัท อีสาน อะกริเทค จำกัด", "คุณบุญมี พลเยี่ยม", "boonmee@example.co.th", "Somchai",
         "Negociation", "ใช่", 260_000, "2026-12-19", "2026-11-25", "2026-12-02", "2026-09-05",
         "th", "Agriculture", "ส่งร่างสัญญาแล้ว", appointment="2026-11-03"),
    # row 16: VIOLATION bad-value (budget TBD)
    Deal("BlueWave Software Co., Ltd.", "Ms. Sarah Kim", "sarah.kim@example.com", "David",
         "Proposal", "yes", "TBD", "2026-12-30", "2026-11-24", "2026-12-01", "2026-10-05",
         "en", "Software", "Scope depends on number of seats", appointment="2026-11-16"),
    # row 17: VIOLATION closed-date (Won, no Closed On)
    Deal("Chao Phraya Hotels Group", "Mr. Kittipong Rattana", "kittipong@example.com", "Nattaya",
         "Won", "yes", 275_000, "2026-11-20", "2026-11-20", None, "2026-09-10",
         "en", "Hospitality", "Signed 20 Nov; closed date not filled in", appointment="2026-10-28"),
    # row 18: VIOLATION close-date-passed
    Deal("บริษัท สุขใจ ฟาร์มา จำกัด", "ภญ. สุดารัตน์ ใจงาม", "sudarat@example.co.th", "Nattaya",
         "Negotiation", "ใช่", 420_000, "2026-11-20", "2026-11-24", "2026-12-01", "2026-08-18",
         "th", "Healthcare", "ฝ่ายกฎหมายยังตรวจสัญญาไม่เสร็จ", appointment="2026-10-15"),
    # row 19
    Deal("Green Valley International School", "Mrs. Emma Wilson", "emma.wilson@example.com", "David",
         "Appointment", "yes", 95_000, "2027-01-15", "2026-11-26", "2026-12-01", "2026-11-12",
         "en", "Education", "Meeting with the head of school", appointment="2026-12-02"),
    # row 20: Lost
    Deal("Pacific Freight Forwarding", "Mr. Daniel Ng", "daniel.ng@example.com", "David",
         "Lost", "no", 140_000, "2026-10-31", "2026-11-02", None, "2026-09-01",
         "en", "Logistics", "Chose a competitor on price", appointment="2026-10-12", closed_on="2026-11-02"),
    # row 21: follow-up due
    Deal("บริษัท นครไทย คอนสตรัคชั่น จำกัด", "คุณชาตรี มั่นคง", "chatree@example.co.th", "Somchai",
         "Lead", "ไม่", None, None, "2026-11-18", "2026-11-24", "2026-11-18",
         "th", "Construction", "โทรแนะนำตัวแล้ว"),
    # row 22: follow-up due but Do Not Contact
    Deal("Silom Fitness Co., Ltd.", "Ms. Nok Chaiyaporn", "nok@example.com", "Nattaya",
         "Lead", "no", None, None, "2026-11-16", "2026-11-20", "2026-11-16",
         "en", "Fitness", "Asked not to be emailed; phone only", do_not_contact="yes"),
    # row 23
    Deal("Northern Craft Brewery", "Mr. Jake Sutton", "jake.sutton@example.com", "David",
         "Qualified", "yes", 70_000, "2027-01-20", "2026-11-25", "2026-12-07", "2026-11-09",
         "en", "Food & Beverage", "Owner-run; decides alone"),
    # row 24: follow-up due, budget typed as text
    Deal("Krungthep Solar Energy Co., Ltd.", "คุณวีระ ศักดิ์ดี", "weera@example.co.th", "Somchai",
         "Demo", "ใช่", "THB 180,000", "2026-12-24", "2026-11-21", "2026-11-27", "2026-10-20",
         "th", "Energy", "สาธิตระบบแล้ว รอสรุปจำนวนผู้ใช้", appointment="2026-11-19"),
    # row 25
    Deal("Orchid Cosmetics (Thailand) Co., Ltd.", "Ms. Lalita Boonsong", "lalita@example.com", "Nattaya",
         "Demo", "yes", 210_000, "2026-12-31", "2026-11-25", "2026-12-03", "2026-10-08",
         "en", "Retail", "Pilot with two stores first", appointment="2026-11-18", probability=0.5),
    # row 26: Won last quarter
    Deal("บริษัท ขอนแก่น พลาสติก จำกัด", "คุณสมพร แสงทอง", "somporn@example.co.th", "Somchai",
         "Won", "ใช่", 190_000, "2026-09-15", "2026-09-18", None, "2026-07-01",
         "th", "Manufacturing", "ปิดการขายไตรมาสที่แล้ว", appointment="2026-08-20", closed_on="2026-09-18"),
    # row 27: follow-up due
    Deal("Tech Hub Coworking", "Mr. Arthit Pong", "arthit@example.com", "David",
         "Qualified", "yes", 55_000, "2027-02-15", "2026-11-18", "2026-11-26", "2026-11-04",
         "en", "Real Estate", "Wants to start after the new building opens"),
    # row 28: VIOLATION duplicate of row 3
    Deal("BANGKOK LOGISTICS CO., LTD.", "Ms. Jane Porter", "jane.porter@example.com", "Nattaya",
         "Lead", "yes", None, None, "2026-11-20", "2026-12-04", "2026-11-20",
         "en", "Logistics", "Added from the webinar sign-up list"),
    # row 29: Lost
    Deal("โรงแรม ริมน้ำ แกรนด์", "คุณกัลยา ศรีวงศ์", "kanlaya@example.co.th", "Nattaya",
         "Lost", "ไม่", 160_000, "2026-10-30", "2026-10-25", None, "2026-08-10",
         "th", "Hospitality", "งบประมาณถูกตัด", appointment="2026-09-24", closed_on="2026-10-25"),
    # row 30
    Deal("Siam Motors Parts Co., Ltd.", "Mr. Chaiwat Suksan", "chaiwat@example.com", "Somchai",
         "Negotiation", "yes", 330_000, "2026-12-12", "2026-11-25", "2026-12-01", "2026-09-14",
         "en", "Automotive", "Verbal yes; waiting for PO", appointment="2026-11-02", probability=80),
    # row 31: follow-up due today
    Deal("บริษัท บ้านสวย พร็อพเพอร์ตี้ จำกัด", "คุณนภา ธนากร", "napa@example.co.th", "Nattaya",
         "Proposal", "ใช่", 240_000, "2026-12-21", "2026-11-23", "2026-11-27", "2026-10-12",
         "th", "Real Estate", "ส่งใบเสนอราคาแล้ว", appointment="2026-11-11"),
    # row 32: Won this quarter
    Deal("Horizon Education Services", "Ms. Grace Tan", "grace.tan@example.com", "David",
         "Won", "yes", 130_000, "2026-11-05", "2026-11-05", None, "2026-09-01",
         "en", "Education", "Annual licence", appointment="2026-10-08", closed_on="2026-11-05"),
    # row 33
    Deal("Golden Rice Exporters Co., Ltd.", "คุณสุริยา ข้าวงาม", "suriya@example.co.th", "Somchai",
         "Appointment", "ใช่", 110_000, "2027-01-10", "2026-11-24", "2026-12-04", "2026-11-06",
         "th", "Agriculture", "นัดพบกรรมการผู้จัดการ", appointment="2026-12-08"),
    # row 34: Lost
    Deal("Samui Villas Management", "Mr. Peter Lang", "peter.lang@example.com", "David",
         "Lost", "yes", 90_000, "2026-11-30", "2026-11-15", None, "2026-09-22",
         "en", "Hospitality", "Project postponed to next year",
         appointment="2026-10-30", closed_on="2026-11-15"),
    # row 35
    Deal("บริษัท ชลบุรี ออโต้พาร์ท จำกัด", "คุณอนุชา เพชรรัตน์", "anucha@example.co.th", "Somchai",
         "Qualified", "ใช่", 125_000, "2027-01-25", "2026-11-20", "2026-12-02", "2026-11-03",
         "th", "Automotive", "สนใจระบบสำหรับ 2 โรงงาน"),
    # row 36
    Deal("Metro Print & Sign", "Ms. Jenny Lim", "jenny.lim@example.com", "Nattaya",
         "Lead", "no", None, None, "2026-11-24", "2026-12-01", "2026-11-24",
         "en", "Printing", "Inbound web form"),
    # row 37: Won this quarter
    Deal("บริษัท ไทยเทค โซลูชั่นส์ จำกัด", "คุณปิยะพงษ์ ศรีสวัสดิ์", "piyapong@example.co.th", "Somchai",
         "Won", "ใช่", 150_000, "2026-11-25", "2026-11-24", None, "2026-10-06",
         "th", "Software", "ลูกค้าอ้างอิงจากสยามฟู้ดส์", appointment="2026-10-27", closed_on="2026-11-24"),
    # row 38: follow-up due
    Deal("ร้าน ข้าวหอม ออร์แกนิค", "คุณจันทร์เพ็ญ บุญมา", "janpen@example.co.th", "Nattaya",
         "Lead", "ไม่", None, None, "2026-11-19", "2026-11-26", "2026-11-19",
         "th", "Retail", "ส่งไลน์แนะนำสินค้าแล้ว"),
    # row 39
    Deal("Paradise Events Co., Ltd.", "Ms. Anna Schmidt", "anna.schmidt@example.com", "David",
         "Lead", "no", None, None, "2026-11-23", "2026-12-05", "2026-11-23",
         "en", "Events", "Referral from Lotus Digital"),
    # row 40: no last contact yet (created 7 days ago)
    Deal("บริษัท ล้านนา เท็กซ์ไทล์ จำกัด", "คุณศิริพร คำแสน", "siriporn@example.co.th", "Somchai",
         "Lead", "ไม่", None, None, None, "2026-12-01", "2026-11-20",
         "th", "Textiles", "รายชื่อจากงานแสดงสินค้า"),
    # row 41: Lost
    Deal("Thonburi Furniture Co., Ltd.", "Mr. Wichai Saelim", "wichai@example.com", "Somchai",
         "Lost", "yes", 75_000, "2026-10-15", "2026-10-09", None, "2026-08-03",
         "en", "Furniture", "No budget this year", appointment="2026-09-10", closed_on="2026-10-09"),
]
# fmt: on

DUE: list[tuple[int, str]] = [
    (3, "follow-up"),
    (4, "appointment-reminder"),
    (5, "post-meeting"),
    (6, "info-request"),
    (7, "info-request"),
    (8, "trial-offer"),
    (9, "follow-up"),
    (12, "follow-up (skipped: no email)"),
    (21, "follow-up"),
    (24, "follow-up"),
    (27, "follow-up"),
    (31, "follow-up"),
    (38, "follow-up"),
]


def _date(text: str | None) -> dt.date | dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text) if " " in text else dt.date.fromisoformat(text)


def _values(deal: Deal) -> list[object]:
    return [
        deal.prospect,
        deal.contact,
        deal.email,
        deal.owner,
        f"{deal.owner.lower()}@example.com",
        deal.stage,
        deal.decision_maker,
        deal.budget,
        _date(deal.expected_close),
        deal.probability,
        _date(deal.last_contact),
        _date(deal.next_follow_up),
        _date(deal.appointment),
        deal.info_requested,
        _date(deal.closed_on),
        _date(deal.created),
        deal.language,
        deal.do_not_contact,
        deal.notes or None,
        deal.industry,
    ]


@dataclass(frozen=True)
class Formats:
    date: object
    datetime: object
    integer: object
    percent: object


def write_values(ws: Any, r: int, values: list[object], fmt: Formats, prob_col: int) -> None:
    """One row of cells from column A: dates as date cells, numbers as numbers (a fraction in prob_col as a %)."""
    for c, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, dt.datetime):
            ws.write_datetime(r, c, value, fmt.datetime)
        elif isinstance(value, dt.date):
            ws.write_datetime(r, c, value, fmt.date)
        elif isinstance(value, int | float):
            ws.write_number(r, c, value, fmt.percent if c == prob_col and value <= 1 else fmt.integer)
        else:
            ws.write_string(r, c, str(value))


def build(path: Path = OUT) -> None:
    """Write the sample workbook to ``path``."""
    for row, _rule, prospect, _what in VIOLATIONS:
        if DEALS[row - 2].prospect != prospect:
            raise ValueError(f"VIOLATIONS names row {row} {prospect!r}, but the data has {DEALS[row - 2]}")

    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties(
        {
            "title": "Sales pipeline Q4 2026",
            "author": "sheetsync sample",
            "created": dt.datetime(2026, 11, 27, 8, 0, 0),
        }
    )
    bold = wb.add_format({"bold": True})
    fmt_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    fmt_datetime = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    fmt_int = wb.add_format({"num_format": "#,##0"})
    fmt_pct = wb.add_format({"num_format": "0%"})

    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, HEADERS, bold)
    ws.freeze_panes(1, 0)
    for col, width in enumerate(WIDTHS):
        ws.set_column(col, col, width)

    prob_col = HEADERS.index("Probability")
    for r, deal in enumerate(DEALS, start=1):
        write_values(ws, r, _values(deal), Formats(fmt_date, fmt_datetime, fmt_int, fmt_pct), prob_col)

    qs = wb.add_worksheet("Quotas")
    qs.write_row(0, 0, ["Owner", "Quota"], bold)
    qs.freeze_panes(1, 0)
    qs.set_column(0, 0, 14)
    qs.set_column(1, 1, 14)
    for r, (owner, quota) in enumerate(QUOTAS, start=1):
        qs.write_string(r, 0, owner)
        qs.write_number(r, 1, quota, fmt_int)
    wb.close()


def main() -> None:
    build(OUT)
    print(f"wrote {OUT} ({len(DEALS)} prospects, as-of 2026-11-27)")
    print("deliberate rule violations:")
    for row, rule, prospect, what in VIOLATIONS:
        print(f"  row {row:>2}  {rule:<18} {prospect}: {what}")
    print("drafts due as of 2026-11-27:")
    for row, reason in DUE:
        print(f"  row {row:>2}  {reason}")


if __name__ == "__main__":
    main()
