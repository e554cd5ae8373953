"""Issue 13: a team's own sheet — a title row, headers of its own, gaps — through the real CLI.

Two sheets: one built here with openpyxl (a hand-written config, custom
stages), and ``sample_workbooks/deals.xlsx`` set up by ``init --from`` with
no hand edits.  Every figure is checked against a calculation in the test;
the drafts are one per prospect, in the prospect's language.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import Result
from conftest import REPO, write_xlsx
from fake_sheets import FakeSheets, ServiceAccount

AS_OF = "2026-11-27"
D = dt.date
DEALS_XLSX = REPO / "sample_workbooks" / "deals.xlsx"

HEADERS = [
    "Company",  # A
    "Contact Person",  # B
    "Email",  # C
    "Rep",  # D
    "Rep Email",  # E
    "Status",  # F
    "DM confirmed?",  # G
    "Deal Size",  # H
    "Close Date",  # I
    "Prob.",  # J
    "Lang",  # K
    "Meeting Date",  # L
    "Last Contacted",  # M
    "Next Action Date",  # N: no alias — the columns report suggests next_follow_up
    "Region",  # O: no field at all
]
SOMCHAI, NATTAYA = ("Somchai", "somchai@team.example"), ("Nattaya", "nattaya@team.example")


def deal(company: str, contact: str, mail: str, rep: tuple[str, str], status: str, **cells: Any) -> list[Any]:
    row: dict[str, Any] = {"Company": company, "Contact Person": contact, "Email": mail, "Status": status}
    row.update({"Rep": rep[0], "Rep Email": rep[1], "Lang": "en", "Region": "North"})
    row.update({k.replace("_", " "): v for k, v in cells.items()})
    return [row.get(h) for h in HEADERS]


ACME = deal(
    "บริษัท แอคมี เทรดดิ้ง จำกัด", "คุณนิด", "nid@acme.example", SOMCHAI, "Appointment",
    **{"DM confirmed?": "ใช่", "Deal Size": "120k", "Close Date": D(2026, 12, 10), "Lang": "th",
       "Meeting Date": dt.datetime(2026, 11, 28, 10, 0)},
)  # fmt: skip
ROWS = [
    ["Pipeline Q4 2026 — North team"],  # row 1: a title
    HEADERS,  # row 2
    ACME,  # row 3: a Thai reminder
    ACME,  # row 4: the same prospect entered twice
    deal("Beta Foods", "Mr. Ben", "ben@beta.example", NATTAYA, "Closed Won",
         **{"Deal Size": "1.2M", "Close Date": D(2026, 11, 15)}),  # row 5
    deal("Gamma Hotel", "คุณแก้ว", "kaew@gamma.example", NATTAYA, "Closed Won",
         **{"Deal Size": "฿300,000", "Close Date": D(2026, 12, 20), "Lang": "th"}),  # row 6
    deal("Delta Clinic", "Dr. Dee", "dee@delta.example", SOMCHAI, "closed won",
         **{"Deal Size": 250_000, "Close Date": D(2026, 10, 2)}),  # row 7
    deal("Echo Logistics", "Ms. Eve", "eve@echo.example", SOMCHAI, "Closed Won",
         **{"Deal Size": 90_000, "Close Date": D(2026, 9, 30)}),  # row 8: last quarter
    deal("Fox Print", "Mr. Fox", "fox@fox.example", NATTAYA, "Closed Lost",
         **{"Deal Size": 50_000, "Close Date": D(2026, 11, 1)}),  # row 9
    deal("Golf Resort", "Ms. Gail", "gail@golf.example", NATTAYA, "On hold",
         **{"Deal Size": "2.5 ล้าน", "Close Date": D(2026, 12, 1), "Meeting Date": D(2026, 11, 26),
            "Last Contacted": D(2026, 9, 1)}),  # row 10: paused — no draft, no rule, not expected
    deal("Hotel Ibis Rayong", "Mr. Hal", "hal@ibis.example", SOMCHAI, "Proposal",
         **{"DM confirmed?": "yes", "Deal Size": "3 แสน", "Close Date": D(2026, 12, 15), "Prob.": 0.5,
            "Last Contacted": D(2026, 11, 1)}),  # row 11: quiet 26 days > 14: a trial offer
    deal("Kilo Tech", "Ms. Kim", "kim@kilo.example", SOMCHAI, "Lead",
         **{"Deal Size": "about 50k", "Last Contacted": D(2026, 11, 25)}),  # row 12: a bad value
    deal("Lima Co", "Mr. Lim", "lim@lima.example", NATTAYA, "Closing",
         **{"Deal Size": 70_000}),  # row 13: a stage that is no typo of any
    deal("ร้านมะลิ", "คุณมะลิ", "mali@mali.example", NATTAYA, "Lead",
         **{"Deal Size": "5 หมื่น", "Close Date": D(2027, 1, 10), "Lang": "th",
            "Last Contacted": D(2026, 11, 20)}),  # row 14
]  # fmt: skip
TARGETS = [["Sales Rep", "Q4 Target"], ["Somchai", 2_000_000], ["Nattaya", "1.5M"]]
# A custom stage list with no stale_after_days anywhere: the open stages go stale after 14 days.
CONFIG = """
source = "book.xlsx"
[tabs]
pipeline = "Deals"
quotas = "Targets"
[[stages]]
name = "Lead"
probability = 10
group = "early"
[[stages]]
name = "Appointment"
probability = 40
group = "middle"
[[stages]]
name = "Proposal"
probability = 70
group = "late"
[[stages]]
name = "Closed Won"
group = "won"
[[stages]]
name = "Closed Lost"
group = "lost"
[[stages]]
name = "On hold"
group = "paused"
"""


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The newcomer's workbook and config in a folder that is the working directory."""
    write_xlsx(tmp_path / "book.xlsx", {"Deals": ROWS, "Targets": TARGETS})
    (tmp_path / "sheetsync.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def as_json(result: Result) -> dict[str, Any]:
    assert "Traceback" not in result.stderr, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_newcomer_sheet_figures_match_the_hand_calculation(team: Path, run_cli: Callable[..., Result]) -> None:
    """Issue 13: won by Close Date, the duplicate and the typo left out, On hold nowhere but its line.

    Included rows 3, 5-12, 14 (row 4 duplicates row 3; row 13's stage is unknown).
    Won this period (Close Date in 2026-10-01..12-31): rows 5 (1.2M), 6 (฿300,000),
    7 (250,000) = 1,750,000; row 8 closed on 30 Sep.  Open: row 3 120,000 × 40 % =
    48,000; row 11 300,000 × its 50 % = 150,000; row 12 0 (about 50k); row 14
    50,000 × 10 % = 5,000.  Expected (close by 31 Dec): 48,000 + 150,000 = 198,000.
    Quota 2,000,000 + 1.5M = 3,500,000; to generate 3,500,000 − 1,750,000 − 198,000
    = 1,552,000; attainment 0.5; coverage (120,000 + 300,000) / 1,750,000 = 0.24.
    Win rate 4 / 5; average won deal 1,840,000 / 4 = 460,000.
    """
    data = as_json(run_cli("summary", "--as-of", AS_OF, "--json", "--dry-run"))
    assert (data["rows"], data["excluded_rows"]) == (12, 2)
    assert (data["won_this_period"], data["expected"], data["quota"]) == (1_750_000, 198_000, 3_500_000)
    assert (data["to_generate"], data["attainment"], data["coverage"]) == (1_552_000, 0.5, 0.24)
    assert (data["open_count"], data["open_amount"], data["weighted_pipeline"]) == (4, 470_000, 203_000)
    assert (data["win_rate"], data["average_won_deal"]) == (0.8, 460_000)
    stages = {s["stage"]: (s["count"], s["amount"], s["weighted"]) for s in data["stages"]}
    assert stages == {
        "Lead": (2, 50_000, 5_000),
        "Appointment": (1, 120_000, 48_000),  # once, not twice
        "Proposal": (1, 300_000, 150_000),
        "Closed Won": (4, 1_840_000, 1_840_000),
        "Closed Lost": (1, 50_000, 0),
        "On hold": (1, 2_500_000, 0),
    }
    owners = {o["owner"]: (o["won_this_period"], o["quota"], o["to_generate"]) for o in data["owners"]}
    assert owners == {"Nattaya": (1_500_000, 1_500_000, 0), "Somchai": (250_000, 2_000_000, 1_552_000)}
    assert data["notes"] == ["Won deals dated by Expected Close: there is no Closed On column"]


def test_newcomer_sheet_findings_and_columns_report(team: Path, run_cli: Callable[..., Result]) -> None:
    """Every header is named: used ones with their field, unused ones listed, the look-alike with its fix."""
    result = run_cli("validate", "--as-of", AS_OF)
    assert result.exit_code == 1
    out = result.stdout
    assert "Columns of Deals (header row 2):" in out
    assert 'decision_maker = "DM confirmed?"' in out and 'probability = "Prob."' in out and 'language = "Lang"' in out
    assert 'contact = "Contact Person"' in out and 'owner_email = "Rep Email"' in out
    assert "no column for: next_follow_up, info_requested, closed_on, created_on, do_not_contact, notes" in out
    assert "not used by any field (templates still get them): 'Next Action Date', 'Region'" in out
    hint = "'Next Action Date' looks like next_follow_up: add `next_follow_up = \"Next Action Date\"` under [columns]"
    assert hint in out
    data = as_json(run_cli("validate", "--as-of", AS_OF, "--json"))
    assert data["columns"]["fields"]["decision_maker"] == "DM confirmed?"
    assert data["columns"]["fields"]["closed_on"] is None
    assert data["columns"]["unused"] == ["Next Action Date", "Region"]
    assert data["columns"]["suggested"] == {"Next Action Date": "next_follow_up"}
    got = [(f["rule"], f["row"], f["cell"], f["severity"]) for f in data["findings"]]
    assert got == [
        ("next-step", None, "Deals", "warning"),
        ("closed-date", None, "Deals", "warning"),
        ("duplicate", 4, "Deals!A4", "warning"),
        ("stale", 11, "Deals!M11", "warning"),
        ("bad-value", 12, "Deals!H12", "error"),
        ("unknown-stage", 13, "Deals!F13", "error"),
    ]
    unknown = data["findings"][-1]["message"]
    assert "did you mean" not in unknown and "use one of Lead, Appointment, Proposal" in unknown


def test_newcomer_sheet_syncs_one_draft_per_prospect_in_their_language(
    team: Path, run_cli: Callable[..., Result]
) -> None:
    """Issue 13: one reminder for the prospect entered twice, in Thai; none for the paused deal."""
    result = run_cli("sync", "--as-of", AS_OF, "--out", "drafts")
    assert result.exit_code == 1, result.stderr
    files = sorted(p.name for p in (team / "drafts").glob("*.eml"))
    assert files == [
        "2026-11-27_appointment-reminder_row3_บริษัท-แอคมี-เทรดดิ้ง-จำกัด.eml",
        "2026-11-27_trial-offer_row11_hotel-ibis-rayong.eml",
    ]
    thai = email.message_from_bytes((team / "drafts" / files[0]).read_bytes(), policy=email.policy.default)
    assert str(thai["Subject"]).startswith("ยืนยันนัดประชุม") and thai["From"] == "Somchai <somchai@team.example>"
    english = email.message_from_bytes((team / "drafts" / files[1]).read_bytes(), policy=email.policy.default)
    assert str(english["Subject"]) == "Checking in — Hotel Ibis Rayong"  # no [drafts] offer: no trial promised
    wb = openpyxl.load_workbook(team / "book.xlsx", read_only=True)
    summary = [r for r in wb["Summary"].iter_rows(values_only=True) if any(v is not None for v in r)]
    notes = [r for r in summary if "Won deals dated by Expected Close: there is no Closed On column" in r]
    assert len(notes) == 1  # said once, under the key figures
    checks = [r for r in wb["Checks"].iter_rows(values_only=True) if r and r[0] == "Deals"]
    assert [(r[0], r[1]) for r in checks] == [("Deals", None), ("Deals", None)]  # tab-level: an empty Row


@pytest.mark.parametrize("command", ["validate", "summary", "drafts", "sync"])
def test_config_after_the_command_name(tmp_path: Path, run_cli: Callable[..., Result], command: str) -> None:
    """Issue 13: `sheetsync validate --config FILE` means `sheetsync --config FILE validate`."""
    write_xlsx(tmp_path / "book.xlsx", {"Deals": ROWS, "Targets": TARGETS})
    config = tmp_path / "north.toml"
    config.write_text(CONFIG, encoding="utf-8")
    args = ["--as-of", AS_OF, "--json", "--dry-run"] if command != "validate" else ["--as-of", AS_OF, "--json"]
    after = run_cli(command, "--config", str(config), *args)
    before = run_cli("--config", str(config), command, *args)
    both = run_cli("--config", str(config), command, "--config", str(config), *args)
    assert after.exit_code == before.exit_code == both.exit_code == 1, after.stderr
    assert as_json(after)["rows"] == as_json(before)["rows"] == 12
    assert after.stdout == before.stdout == both.stdout
    clash = run_cli("--config", str(config), command, "--config", str(tmp_path / "other.toml"), *args)
    assert clash.exit_code == 2 and "--config is given twice" in clash.stderr


def test_no_header_row_found_names_the_row_and_header_row(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """With headers sheetsync can't place, the error names the row it looked at and the header_row key."""
    book = write_xlsx(tmp_path / "x.xlsx", {"Pipeline": [["Report for Q4"], ["Firma", "Etappe"], ["Acme", "Lead"]]})
    result = run_cli("validate", str(book))
    assert result.exit_code == 2
    assert "looked at row 1, the first non-empty one: 'Report for Q4'" in result.stderr
    assert "[tabs] header_row" in result.stderr


# ---------------------------------------------------------------- init --from


def test_init_from_the_sample_deals_sheet_needs_no_hand_edits(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: init --from finds the tab, header row, quotas, stages and the one look-alike header; sync is right.

    The figures of sample_workbooks/deals.xlsx as of 2026-11-27 (see make_deals.py):
    won rows 6 (1.2M), 7 (฿320,000), 8 (150,000) by Close Date = 1,670,000; row 9 closed
    in September.  Expected: row 3 450,000 × 75 % = 337,500; row 4 120k × 40 % = 48,000;
    row 14 540,000 × its 90 = 486,000 (Close Date 20/12/2569 = 2026-12-20); row 15 380,000 ×
    60 % = 228,000; row 18 about 50k = 0; row 20 210,000 × 40 % = 84,000; row 21 750k × its
    30 % = 225,000; row 24 THB 600,000 × 90 % = 540,000 (overdue) → 1,948,500.  Quota
    2,500,000 + 1.5M = 4,000,000; to generate 381,500.
    """
    shutil.copyfile(DEALS_XLSX, tmp_path / "Deals.xlsx")
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "--from", "Deals.xlsx")
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "pipeline.xlsx").exists()
    assert result.stdout.rstrip().splitlines()[-3:] == [
        "  sheetsync validate        # check every row; see which column each field is read from",
        "  sheetsync sync --dry-run  # the figures and the drafts, nothing written",
        "  sheetsync sync            # write Summary, Checks and History into Deals.xlsx, and the drafts",
    ]
    assert "found   quotas in tab 'Targets' (owner 'Sales Rep', quota 'Q4 Target')" in result.stdout
    text = (tmp_path / "sheetsync.toml").read_text(encoding="utf-8")
    assert 'source = "Deals.xlsx"' in text and 'pipeline = "Deals"' in text and 'quotas = "Targets"' in text
    assert "header_row = 2" in text
    mapped = [line for line in text.splitlines() if line and line[0].isalpha() and " = " in line]
    columns = mapped[mapped.index('pipeline = "Deals"') :]
    assert 'last_contact = "Last Touch"' in columns
    for header in ("Contact Person", "Rep Email", "DM confirmed?", "Prob.", "Lang", "Status"):
        assert f'"{header}"' not in text  # found by alias: nothing to map by hand
    assert '# Headers no field uses (templates still get them): "Industry"' in text
    assert 'name = "Closed Won"' in text and 'name = "Closed Lost"' in text

    data = as_json(run_cli("sync", "--as-of", AS_OF, "--json"))
    assert data["exit_code"] == 1
    assert (data["won_this_period"], data["expected"], data["to_generate"]) == (1_670_000, 1_948_500, 381_500)
    assert (data["quota"], data["rows"], data["excluded_rows"]) == (4_000_000, 24, 2)
    written = sorted((d["row"], d["reason"]) for d in data["drafts"] if d["status"] == "written")
    assert written == [
        (4, "appointment-reminder"),
        (5, "post-meeting"),
        (14, "trial-offer"),
        (20, "appointment-reminder"),
    ]
    for row in (4, 14):  # Thai rows get the Thai templates
        (path,) = (tmp_path / "drafts").glob(f"*_row{row}_*.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert any("\u0e00" <= c <= "\u0e7f" for c in str(message["Subject"]))

    again = run_cli("init", "--from", "Deals.xlsx")
    assert again.exit_code == 0 and "kept    sheetsync.toml (already there)" in again.stdout
    assert "note    sheetsync.toml exists and is kept as it is" in again.stdout
    assert (tmp_path / "sheetsync.toml").read_text(encoding="utf-8") == text


def test_init_from_into_another_folder_writes_a_relative_source(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """`init --from WORKBOOK DIR`: the source is relative to DIR, the next steps start with cd DIR."""
    book = tmp_path / "shared" / "Deals.xlsx"
    book.parent.mkdir()
    shutil.copyfile(DEALS_XLSX, book)
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = run_cli("init", "--from", str(book), "setup")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    assert 'source = "../shared/Deals.xlsx"' in (tmp_path / "setup" / "sheetsync.toml").read_text(encoding="utf-8")
    assert (tmp_path / "setup" / "templates" / "th" / "follow-up.txt.j2").is_file()
    assert "  cd setup" in result.stdout


def test_init_in_a_folder_holding_a_workbook_points_to_init_from(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """Issue 13: plain init beside the team's workbook writes nothing and says to run init --from it."""
    shutil.copyfile(DEALS_XLSX, tmp_path / "Deals.xlsx")
    result = run_cli("init", str(tmp_path))
    assert result.exit_code == 2
    assert f"sheetsync init --from {tmp_path / 'Deals.xlsx'}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Deals.xlsx"]


def test_init_from_a_workbook_with_no_pipeline_tab(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A workbook where no tab has two known headers is exit 2 naming its tabs; nothing is written."""
    book = write_xlsx(tmp_path / "x.xlsx", {"Notes": [["hello"]], "Data": [["Firma", "Etappe"], ["Acme", "Lead"]]})
    result = run_cli("init", "--from", str(book), str(tmp_path / "out"))
    assert result.exit_code == 2 and "no tab of" in result.stderr and "Notes, Data" in result.stderr
    assert not (tmp_path / "out").exists()


def test_init_from_a_google_sheet(
    sheets: FakeSheets, account: ServiceAccount, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """`init --from gsheet:KEY` reads the sheet through the Sheets API as any run does, and names it as source."""
    key = "1OwnSheetKey_abcdefghijklmnop"
    serial = (dt.date(2026, 12, 10) - dt.date(1899, 12, 30)).days
    deals = [["Q4 deals"], ["Company", "Status", "Deal Size", "Close Date", "Last Touch"], ["Acme", "Lead", 5, serial]]
    sheets.add_spreadsheet(key, {"Deals": deals, "Targets": [["Sales Rep", "Q4 Target"], ["Nid", 100]]})
    result = run_cli("init", "--from", f"gsheet:{key}", str(tmp_path / "g"), "--credentials", str(account.path))
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "g" / "sheetsync.toml").read_text(encoding="utf-8")
    assert f'source = "gsheet:{key}"' in text and 'pipeline = "Deals"' in text and 'quotas = "Targets"' in text
    assert "header_row = 2" in text and 'last_contact = "Last Touch"' in text


def test_the_deals_sample_is_what_its_script_makes(tmp_path: Path) -> None:
    """sample_workbooks/deals.xlsx is make_deals.py's output, byte for byte: the docs' figures come from it."""
    from sample_workbooks import make_deals

    make_deals.build(tmp_path / "deals.xlsx")
    assert (tmp_path / "deals.xlsx").read_bytes() == DEALS_XLSX.read_bytes()


def test_sync_on_a_terminal_prints_only_the_look_alike_lines_unless_verbose(team: Path) -> None:
    """`sync` without --verbose keeps the columns report to the lines that need the user; --verbose prints it all."""
    from sheetsync.config import load_config
    from sheetsync.report import run_text
    from sheetsync.run import Options, execute

    result = execute(load_config(team / "sheetsync.toml"), Options(as_of=D(2026, 11, 27), summary=True, dry_run=True))
    short, full = run_text(result, "sync"), run_text(result, "sync", verbose=True)
    hint = "  'Next Action Date' looks like next_follow_up: add `next_follow_up = \"Next Action Date\"` under [columns]"
    assert f"Columns:\n{hint}\n" in short and "Columns of Deals" not in short
    assert "Columns of Deals (header row 2):" in full and hint in full


TITLED_MERGED = [
    ["Q4 pipeline"],  # merged over A1:E1
    ["Prospect", "Stage", "Contact", None, "Owner"],  # Contact merged over C2:D2
    ["Acme", "Lead", "Khun Nid", "081-234-5678", "Somchai"],
    ["Beta", "Demo", "Ms. Bee", "089-000-0000", None],  # Owner merged down over E3:E4
]
MERGES = ["A1:E1", "C2:D2", "E3:E4"]


def test_merged_header_under_a_merged_title_stays_one_header(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Issue 13: a header merged over two columns below a title is one header (was: a duplicate header)."""
    book = write_xlsx(tmp_path / "m.xlsx", {"Pipeline": TITLED_MERGED}, {"Pipeline": MERGES})
    data = as_json(run_cli("validate", str(book), "--as-of", AS_OF, "--json"))
    assert data["columns"]["fields"]["contact"] == "Contact" and data["columns"]["unused"] == []
    assert data["rows"] == 2


def test_merged_header_under_a_title_in_a_google_sheet(
    sheets: FakeSheets, account: ServiceAccount, run_cli: Callable[..., Result]
) -> None:
    """The Google backend fills merges as the Excel one does: not across the header row or a title above it."""
    key = "1MergedHeaderKey_abcdefghijklmn"
    sheets.add_spreadsheet(key, {"Pipeline": TITLED_MERGED}, merges={"Pipeline": MERGES})
    args = ("validate", f"gsheet:{key}", "--as-of", AS_OF, "--json", "--credentials", str(account.path))
    data = as_json(run_cli(*args))
    assert data["columns"]["fields"]["contact"] == "Contact" and data["columns"]["unused"] == []
    assert data["rows"] == 2


def test_init_writes_the_config_named_by_config_and_says_what_to_run_next(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """`init --config FILE` writes FILE (templates beside it); plain init ends with the next commands too."""
    shutil.copyfile(DEALS_XLSX, tmp_path / "Deals.xlsx")
    result = run_cli("init", "--from", str(tmp_path / "Deals.xlsx"), "--config", str(tmp_path / "north.toml"))
    assert result.exit_code == 0, result.stderr
    assert 'source = "Deals.xlsx"' in (tmp_path / "north.toml").read_text(encoding="utf-8")
    assert not (tmp_path / "sheetsync.toml").exists() and (tmp_path / "templates" / "follow-up.txt.j2").is_file()
    assert "  sheetsync validate --config north.toml" in result.stdout
    sample = run_cli("init", str(tmp_path / "fresh"))
    assert sample.exit_code == 0
    assert sample.stdout.splitlines()[-4:] == [
        f"  cd {tmp_path / 'fresh'}",
        "  sheetsync validate        # check every row; see which column each field is read from",
        "  sheetsync sync --dry-run  # the figures and the drafts, nothing written",
        "  sheetsync sync            # write Summary, Checks and History into the sample workbook, and the drafts",
    ]
