"""Rows → findings (reference 5): each rule with a passing and a failing row, severities, exclusion."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from sheetsync.config import DEFAULT_SEVERITY, RULES, Config
from sheetsync.model.fields import Layout
from sheetsync.model.reader import Row, read_rows
from sheetsync.rules import Checked, Finding, check

AS_OF = dt.date(2026, 11, 27)
HEADERS = [
    "Prospect",  # A
    "Email",  # B
    "Stage",  # C
    "Decision Maker",  # D
    "Budget",  # E
    "Expected Close",  # F
    "Last Contact",  # G
    "Next Follow-up",  # H
    "Appointment",  # I
    "Closed On",  # J
    "Created",  # K
]
FUTURE = dt.date(2026, 12, 15)
RECENT = dt.date(2026, 11, 25)

# A fully qualified open row at each stage: no rule fires on it.
CLEAN: dict[str, Any] = {
    "Prospect": "Acme Co",
    "Email": "buyer@acme.example",
    "Stage": "Negotiation",
    "Decision Maker": "yes",
    "Budget": 100_000,
    "Expected Close": FUTURE,
    "Last Contact": RECENT,
    "Next Follow-up": FUTURE,
}


def run(
    *rows: dict[str, Any], config: Config | None = None, headers: list[str] | None = None
) -> tuple[Checked, Layout, list[Row]]:
    """Check rows given as {header: value}, on sheet rows 2, 3, …"""
    config = config or Config()
    headers = headers or HEADERS
    table = [(1, list(headers))] + [(i, [r.get(h) for h in headers]) for i, r in enumerate(rows, 2)]
    layout, parsed = read_rows("Pipeline", table, config)
    return check(parsed, layout, config, AS_OF), layout, parsed


def row(**changes: Any) -> dict[str, Any]:
    """The clean row with some cells changed (keys use _ for spaces, `Next_Follow_up` for the dash)."""
    out = dict(CLEAN)
    for key, value in changes.items():
        out[key.replace("_", " ").replace("Next Follow up", "Next Follow-up")] = value
    return out


def rules_of(checked: Checked) -> list[str]:
    return [f.rule for f in checked.findings]


def only(checked: Checked, rule: str) -> Finding:
    found = [f for f in checked.findings if f.rule == rule]
    assert len(found) == 1, checked.findings
    return found[0]


@pytest.mark.parametrize("stage", ["Lead", "Qualified", "Appointment", "Demo", "Proposal", "Negotiation"])
def test_clean_open_row_has_no_findings(stage: str) -> None:
    """A qualified, recently contacted open row with a next step passes every rule at every open stage."""
    checked, _layout, _rows = run(row(Stage=stage))
    assert checked.findings == []
    assert checked.excluded == set()


def test_clean_won_and_lost_rows_have_no_findings() -> None:
    """Won and Lost rows with a closed-on date pass."""
    checked, _l, _r = run(
        row(Stage="Won", Closed_On=RECENT, Next_Follow_up=None),
        row(Prospect="Beta", Stage="Lost", Closed_On=RECENT, Budget=None, Next_Follow_up=None),
    )
    assert checked.findings == []


# ---------------------------------------------------------------- required / unknown-stage


@pytest.mark.parametrize(("blank", "cell"), [("Prospect", "Pipeline!A2"), ("Stage", "Pipeline!C2")])
def test_required(blank: str, cell: str) -> None:
    """An empty prospect or stage on a non-blank row is a `required` error on that cell; the row is excluded."""
    checked, _l, _r = run(row(**{blank: None}))
    finding = only(checked, "required")
    assert (finding.severity, finding.row, finding.cell) == ("error", 2, cell)
    assert checked.excluded == {2}


def test_required_row_is_not_checked_further() -> None:
    """An excluded row gets no qualification findings (its missing budget etc. don't matter)."""
    checked, _l, _r = run({"Stage": "Proposal"})
    assert rules_of(checked) == ["required"]


@pytest.mark.parametrize(("typed", "suggested"), [("Negociation", "Negotiation"), ("qualifed", "Qualified")])
def test_unknown_stage_suggests_the_closest(typed: str, suggested: str) -> None:
    """A stage that is not configured is an error suggesting the closest stage; the row is excluded."""
    checked, _l, _r = run(row(Stage=typed))
    finding = only(checked, "unknown-stage")
    assert finding.severity == "error" and finding.cell == "Pipeline!C2"
    assert typed in finding.message and repr(suggested) in finding.message
    assert checked.excluded == {2}
    assert rules_of(checked) == ["unknown-stage"]


def test_unknown_stage_without_close_match_lists_the_stages() -> None:
    """With nothing close, the message lists the configured stages."""
    checked, _l, _r = run(row(Stage="Zzz"))
    assert "Lead" in only(checked, "unknown-stage").message and "Negotiation" in checked.findings[0].message


@pytest.mark.parametrize("typed", ["won", "WON", " Won ", "NEGOTIATION"])
def test_stage_names_match_case_insensitively(typed: str) -> None:
    """Stage names match whatever their case and surrounding spaces."""
    checked, _l, _r = run(row(Stage=typed, Closed_On=RECENT))
    assert "unknown-stage" not in rules_of(checked)


# ---------------------------------------------------------------- bad-value


def test_bad_value_names_the_cell_and_header() -> None:
    """An unreadable cell is one `bad-value` error on that cell, with the header in the message."""
    checked, _l, _r = run(row(Budget="about 50k"))
    finding = only(checked, "bad-value")
    assert (finding.severity, finding.cell, finding.prospect) == ("error", "Pipeline!E2", "Acme Co")
    assert finding.message.startswith("Budget:") and "about 50k" in finding.message


def test_bad_value_passes_for_readable_text() -> None:
    """`฿45,000` in a number column is read, not reported."""
    checked, _l, _r = run(row(Budget="฿45,000"))
    assert checked.findings == []


@pytest.mark.parametrize(
    ("changes", "cell"),
    [
        ({"Budget": "TBD"}, "Pipeline!E2"),  # not also budget-known
        ({"Decision Maker": "maybe"}, "Pipeline!D2"),  # not also decision-maker
        ({"Expected Close": "soon"}, "Pipeline!F2"),  # not also timeline-known
        ({"Next Follow-up": "when free"}, "Pipeline!H2"),  # not also next-step
    ],
)
def test_bad_cell_is_not_reported_again_by_other_rules(changes: dict[str, Any], cell: str) -> None:
    """A budget of TBD is one `bad-value` finding, not also `budget-known` (and likewise for other rules)."""
    data = dict(CLEAN, **changes)
    checked, _l, _r = run(data)
    assert [(f.rule, f.cell) for f in checked.findings] == [("bad-value", cell)]


def test_bad_closed_on_is_not_also_closed_date() -> None:
    """A Won row whose closed-on cell is unreadable gets the bad-value only."""
    checked, _l, _r = run(row(Stage="Won", Closed_On="last week", Next_Follow_up=None))
    assert [(f.rule, f.cell) for f in checked.findings] == [("bad-value", "Pipeline!J2")]


def test_bad_stage_cell_excludes_row_with_one_finding() -> None:
    """An Excel error in the Stage cell is one bad-value; the row is left out (it has no usable stage)."""
    from sheetsync.model.values import CellError

    checked, _l, _r = run(row(Stage=CellError("#N/A")))
    assert [(f.rule, f.cell) for f in checked.findings] == [("bad-value", "Pipeline!C2")]
    assert checked.excluded == {2}


def test_negative_budget_is_bad_value() -> None:
    """A negative budget is a bad value, not a budget."""
    checked, _l, _r = run(row(Budget=-100))
    assert [(f.rule, f.cell) for f in checked.findings] == [("bad-value", "Pipeline!E2")]


# ---------------------------------------------------------------- decision-maker


@pytest.mark.parametrize(("stage", "dm", "fires"), [
    ("Appointment", None, True),
    ("Appointment", "no", True),
    ("Negotiation", "ไม่", True),
    ("Appointment", "yes", False),
    ("Demo", "ใช่", False),
    ("Qualified", None, False),  # before decision_maker_from_stage
    ("Lost", None, False),  # not open
])  # fmt: skip
def test_decision_maker(stage: str, dm: str | None, fires: bool) -> None:
    """Open deals at or after Appointment need a confirmed decision maker."""
    checked, _l, _r = run(row(Stage=stage, Decision_Maker=dm, Closed_On=RECENT))
    assert ("decision-maker" in rules_of(checked)) is fires
    if fires:
        finding = only(checked, "decision-maker")
        assert finding.cell == "Pipeline!D2" and finding.severity == "error"
        assert "person who can buy" in finding.message


def test_decision_maker_from_stage_option() -> None:
    """`decision_maker_from_stage = "Proposal"` moves the threshold."""
    config = Config(decision_maker_from_stage="Proposal")
    demo, _l, _r = run(row(Stage="Demo", Decision_Maker=None), config=config)
    proposal, _l, _r = run(row(Stage="Proposal", Decision_Maker=None), config=config)
    assert rules_of(demo) == [] and rules_of(proposal) == ["decision-maker"]


@pytest.mark.parametrize("stage", ["Lead", "Qualified", "Appointment", "Demo", "Proposal", "Negotiation"])
def test_decision_maker_before_a_booked_meeting_at_any_stage(stage: str) -> None:
    """Issue 14: a meeting booked with no confirmed decision maker is a finding at every open stage, named by date."""
    checked, _l, _r = run(row(Stage=stage, Decision_Maker="no", Appointment=dt.date(2026, 12, 4)))
    finding = only(checked, "decision-maker")  # one finding, also where the stage alone would give one
    assert (finding.cell, finding.severity) == ("Pipeline!D2", "error")
    assert finding.message.startswith("meeting booked for 2026-12-04 without a confirmed decision maker — ")


def test_decision_maker_meeting_today_and_past() -> None:
    """A meeting on as-of is still ahead ("booked for"); one already held says so and what to do next."""
    today, _l, _r = run(row(Stage="Lead", Decision_Maker=None, Appointment=AS_OF))
    assert only(today, "decision-maker").message.startswith(f"meeting booked for {AS_OF.isoformat()}")
    held, _l, _r = run(row(Stage="Qualified", Decision_Maker="ไม่", Appointment=dt.date(2026, 11, 20)))
    assert only(held, "decision-maker").message.startswith(
        "meeting held on 2026-11-20 without a confirmed decision maker — find out who decides"
    )


@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        ({"Stage": "Lead", "Decision_Maker": "yes"}, False),  # confirmed
        ({"Stage": "Lead", "Decision_Maker": "ใช่"}, False),
        ({"Stage": "Lead", "Decision_Maker": "maybe"}, False),  # unreadable: its bad-value is the one finding
        ({"Stage": "Won", "Decision_Maker": None, "Closed_On": RECENT}, False),  # not open
        ({"Stage": "Lost", "Decision_Maker": None, "Closed_On": RECENT}, False),
        ({"Stage": "Lead", "Decision_Maker": None}, True),
    ],
)
def test_decision_maker_meeting_only_for_open_unconfirmed_deals(changes: dict[str, Any], fires: bool) -> None:
    """The meeting check needs an open deal whose Decision Maker is not yes (and not unreadable)."""
    checked, _l, _r = run(row(Appointment=dt.date(2026, 12, 4), **changes))
    assert ("decision-maker" in rules_of(checked)) is fires


def test_decision_maker_at_appointment_without_a_date_keeps_the_stage_message() -> None:
    """With no appointment date, a deal at Appointment or later gets the stage's message as before."""
    checked, _l, _r = run(row(Stage="Demo", Decision_Maker=None))
    assert only(checked, "decision-maker").message.startswith("Demo deal without a confirmed decision maker")


def test_decision_maker_meeting_is_not_checked_without_the_column() -> None:
    """No Decision Maker column: an early deal with a meeting gets no per-row decision-maker finding."""
    headers = [h for h in HEADERS if h != "Decision Maker"]
    checked, _l, _r = run(row(Stage="Qualified", Appointment=dt.date(2026, 12, 4)), headers=headers)
    dm = [f for f in checked.findings if f.rule == "decision-maker"]
    assert [(f.row, f.cell) for f in dm] == [(None, "Pipeline")]  # the one tab-level finding, no row's


# ---------------------------------------------------------------- budget-known / timeline-known


@pytest.mark.parametrize(("stage", "fires"), [
    ("Lead", False),
    ("Qualified", True),
    ("Negotiation", True),
    ("Won", True),
    ("Lost", False),
])  # fmt: skip
def test_budget_known(stage: str, fires: bool) -> None:
    """From Qualified on, open or won deals need a budget."""
    checked, _l, _r = run(row(Stage=stage, Budget=None, Closed_On=RECENT))
    assert ("budget-known" in rules_of(checked)) is fires
    if fires:
        assert only(checked, "budget-known").cell == "Pipeline!E2"


def test_budget_zero_is_known() -> None:
    """A budget of 0 is a known budget."""
    checked, _l, _r = run(row(Stage="Proposal", Budget=0))
    assert "budget-known" not in rules_of(checked)


@pytest.mark.parametrize(("stage", "fires"), [
    ("Lead", False),
    ("Qualified", True),
    ("Proposal", True),
    ("Won", False),
])  # fmt: skip
def test_timeline_known(stage: str, fires: bool) -> None:
    """From Qualified on, open deals need an expected close date."""
    checked, _l, _r = run(row(Stage=stage, Expected_Close=None, Closed_On=RECENT))
    assert ("timeline-known" in rules_of(checked)) is fires
    if fires:
        finding = only(checked, "timeline-known")
        assert (finding.cell, finding.severity) == ("Pipeline!F2", "error")


def test_qualified_from_stage_option() -> None:
    """`qualified_from_stage = "Demo"` lets Appointment deals go without budget and timeline."""
    config = Config(qualified_from_stage="Demo")
    checked, _l, _r = run(row(Stage="Appointment", Budget=None, Expected_Close=None), config=config)
    assert rules_of(checked) == []


# ---------------------------------------------------------------- next-step


@pytest.mark.parametrize(("follow_up", "appointment", "fires"), [
    (None, None, True),
    (None, dt.date(2026, 11, 20), True),  # appointment in the past
    (None, AS_OF, False),  # appointment today counts
    (None, dt.datetime(2026, 11, 30, 10, 0), False),
    (dt.date(2026, 11, 1), None, False),  # a past follow-up is due, not missing
    (FUTURE, None, False),
])  # fmt: skip
def test_next_step(follow_up: Any, appointment: Any, fires: bool) -> None:
    """An open deal with no next follow-up and no appointment on or after as-of is a warning."""
    checked, _l, _r = run(row(Stage="Qualified", Next_Follow_up=follow_up, Appointment=appointment))
    assert ("next-step" in rules_of(checked)) is fires
    if fires:
        finding = only(checked, "next-step")
        assert (finding.cell, finding.severity) == ("Pipeline!H2", "warning")


def test_next_step_not_for_closed_deals() -> None:
    """Won and Lost deals need no next step."""
    checked, _l, _r = run(row(Stage="Won", Next_Follow_up=None, Closed_On=RECENT))
    assert rules_of(checked) == []


# ---------------------------------------------------------------- stale


@pytest.mark.parametrize(("stage", "last", "created", "fires", "cell"), [
    ("Demo", AS_OF - dt.timedelta(days=11), None, True, "Pipeline!G2"),  # Demo: stale after 10
    ("Demo", AS_OF - dt.timedelta(days=10), None, False, None),  # exactly 10 is not more than 10
    ("Lead", AS_OF - dt.timedelta(days=15), None, True, "Pipeline!G2"),
    ("Lead", AS_OF - dt.timedelta(days=14), None, False, None),
    ("Lead", None, AS_OF - dt.timedelta(days=30), True, "Pipeline!K2"),  # never contacted: created date
    ("Lead", None, AS_OF - dt.timedelta(days=3), False, None),
    ("Lead", None, None, False, None),  # neither date: no finding
    ("Lead", RECENT, AS_OF - dt.timedelta(days=300), False, None),  # last contact wins over created
])  # fmt: skip
def test_stale(stage: str, last: Any, created: Any, fires: bool, cell: str | None) -> None:
    """Open deals not contacted for more than the stage's stale_after_days are a warning."""
    checked, _l, _r = run(row(Stage=stage, Last_Contact=last, Created=created))
    assert ("stale" in rules_of(checked)) is fires
    assert (checked.stale == {2}) is fires
    if fires:
        finding = only(checked, "stale")
        assert (finding.cell, finding.severity) == (cell, "warning")


def test_stale_not_for_won() -> None:
    """A Won deal last touched long ago is not stale."""
    checked, _l, _r = run(row(Stage="Won", Last_Contact=dt.date(2025, 1, 1), Closed_On=RECENT))
    assert "stale" not in rules_of(checked)


def test_stale_off_marks_no_row_stale() -> None:
    """With `stale = "off"` there is no stale finding, so no row counts as stale (trial offers, diagnosis)."""
    config = Config(severity=dict(DEFAULT_SEVERITY, stale="off"))
    checked, _l, _r = run(row(Stage="Demo", Last_Contact=dt.date(2026, 1, 1)), config=config)
    assert rules_of(checked) == []
    assert checked.stale == set()


# ---------------------------------------------------------------- close-date-passed / appointment-passed


@pytest.mark.parametrize(("stage", "close", "fires"), [
    ("Proposal", dt.date(2026, 11, 20), True),
    ("Proposal", AS_OF, False),
    ("Proposal", FUTURE, False),
    ("Won", dt.date(2026, 11, 20), False),
])  # fmt: skip
def test_close_date_passed(stage: str, close: dt.date, fires: bool) -> None:
    """An open deal whose expected close is before as-of is a warning on that cell."""
    checked, _l, _r = run(row(Stage=stage, Expected_Close=close, Closed_On=RECENT))
    assert ("close-date-passed" in rules_of(checked)) is fires
    if fires:
        finding = only(checked, "close-date-passed")
        assert (finding.cell, finding.severity) == ("Pipeline!F2", "warning")
        assert "2026-11-20" in finding.message


@pytest.mark.parametrize(("stage", "appointment", "fires"), [
    ("Appointment", dt.date(2026, 11, 20), True),
    ("appointment", dt.datetime(2026, 11, 26, 15, 0), True),
    ("Appointment", AS_OF, False),
    ("Appointment", FUTURE, False),
    ("Demo", dt.date(2026, 11, 20), False),  # only the first middle-group stage
])  # fmt: skip
def test_appointment_passed(stage: str, appointment: Any, fires: bool) -> None:
    """An Appointment-stage deal whose appointment is before as-of is a warning."""
    checked, _l, _r = run(row(Stage=stage, Appointment=appointment))
    assert ("appointment-passed" in rules_of(checked)) is fires
    if fires:
        finding = only(checked, "appointment-passed")
        assert (finding.cell, finding.severity) == ("Pipeline!I2", "warning")


# ---------------------------------------------------------------- closed-date


def test_closed_date_won_is_error_lost_is_warning() -> None:
    """Won without a closed-on date is an error; Lost without one is only a warning."""
    checked, _l, _r = run(
        row(Stage="Won", Closed_On=None, Next_Follow_up=None),
        row(Prospect="Beta", Stage="Lost", Closed_On=None, Next_Follow_up=None),
    )
    assert [(f.rule, f.severity, f.row, f.cell) for f in checked.findings] == [
        ("closed-date", "error", 2, "Pipeline!J2"),
        ("closed-date", "warning", 3, "Pipeline!J3"),
    ]


def test_closed_date_passes_with_date() -> None:
    """A closed-on date satisfies the rule."""
    checked, _l, _r = run(row(Stage="Won", Closed_On=dt.date(2026, 10, 5)))
    assert "closed-date" not in rules_of(checked)


@pytest.mark.parametrize(("severity", "won", "lost"), [
    ("warning", "warning", "warning"),
    ("off", None, None),
])  # fmt: skip
def test_closed_date_configured_severity(severity: str, won: str | None, lost: str | None) -> None:
    """The configured severity applies to Won; Lost is never stronger than a warning."""
    config = Config(severity=dict(DEFAULT_SEVERITY, **{"closed-date": severity}))
    checked, _l, _r = run(
        row(Stage="Won", Closed_On=None, Next_Follow_up=None),
        row(Prospect="Beta", Stage="Lost", Closed_On=None, Next_Follow_up=None),
        config=config,
    )
    got = {f.row: f.severity for f in checked.findings}
    assert (got.get(2), got.get(3)) == (won, lost)


# ---------------------------------------------------------------- duplicate


def test_duplicate_names_the_first_row() -> None:
    """A later row with the same prospect (case/space-insensitive) and email is a warning naming the first row."""
    checked, _l, _r = run(
        row(),
        row(Prospect="Other Ltd", Email="x@other.example"),
        row(Prospect="  ACME   co ", Email="BUYER@acme.example"),
    )
    finding = only(checked, "duplicate")
    assert (finding.row, finding.cell, finding.severity) == (4, "Pipeline!A4", "warning")
    assert "row 2" in finding.message and "Pipeline!A2" in finding.message


def test_duplicate_needs_the_same_email() -> None:
    """Same prospect with a different contact email is not a duplicate."""
    checked, _l, _r = run(row(), row(Email="other@acme.example"))
    assert "duplicate" not in rules_of(checked)


def test_duplicate_ignores_excluded_rows() -> None:
    """A row left out (unknown stage) is not the 'first' of a duplicate pair."""
    checked, _l, _r = run(row(Stage="Nope"), row())
    assert rules_of(checked) == ["unknown-stage"]


def test_findings_come_row_by_row_with_each_duplicate_after_its_rows_other_findings() -> None:
    """Duplicates are found for all rows at once, but listed where a row-by-row check puts them."""
    checked, _l, _r = run(
        row(),  # 2
        row(Decision_Maker="no"),  # 3: decision-maker, then duplicate of 2
        row(Prospect="Other Ltd", Email="x@other.example", Budget=None),  # 4: budget-known
        row(Budget=None),  # 5: budget-known, then duplicate of 2
        row(Prospect="Other Ltd", Email="x@other.example"),  # 6: duplicate of 4
        row(Stage="Nope"),  # 7: unknown-stage
    )
    assert [(f.row, f.rule) for f in checked.findings] == [
        (3, "decision-maker"),
        (3, "duplicate"),
        (4, "budget-known"),
        (5, "budget-known"),
        (5, "duplicate"),
        (6, "duplicate"),
        (7, "unknown-stage"),
    ]
    assert "row 4" in checked.findings[5].message


# ---------------------------------------------------------------- severities, cells, output


@pytest.mark.parametrize("rule", ["next-step", "decision-maker"])
@pytest.mark.parametrize("severity", ["error", "warning", "off"])
def test_severity_from_config(rule: str, severity: str) -> None:
    """`[rules] <rule> = error|warning|off` sets the finding's severity, or drops it."""
    config = Config(severity=dict(DEFAULT_SEVERITY, **{rule: severity}))
    checked, _l, _r = run(row(Stage="Demo", Decision_Maker=None, Next_Follow_up=None), config=config)
    got = [f.severity for f in checked.findings if f.rule == rule]
    assert got == ([] if severity == "off" else [severity])
    assert checked.errors == sum(1 for f in checked.findings if f.severity == "error")


def test_every_rule_has_a_default_severity() -> None:
    """The twelve rules of reference 5 with their default severities."""
    assert len(RULES) == 12
    assert {r: DEFAULT_SEVERITY[r] for r in RULES} == {
        "required": "error",
        "unknown-stage": "error",
        "bad-value": "error",
        "decision-maker": "error",
        "budget-known": "error",
        "timeline-known": "error",
        "next-step": "warning",
        "stale": "warning",
        "close-date-passed": "warning",
        "appointment-passed": "warning",
        "closed-date": "error",
        "duplicate": "warning",
    }


def test_missing_column_is_one_finding_for_the_tab_not_one_per_row() -> None:
    """Issue 13: with no Budget column, budget-known is one warning on the tab (row None), never per row."""
    checked, _l, _r = run(
        {"Prospect": "Acme", "Stage": "Qualified"}, {"Prospect": "Beta", "Stage": "Won"}, headers=["Stage", "Prospect"]
    )
    finding = only(checked, "budget-known")
    assert (finding.row, finding.cell, finding.severity, finding.prospect) == (None, "Pipeline", "warning", None)
    assert finding.message.startswith("no Budget column — the budget-known rule can't be checked")


def test_findings_are_in_row_order_and_json_has_the_spec_keys() -> None:
    """Findings come in row order; each serialises with rule, severity, row, cell, prospect, message."""
    checked, _l, _r = run(
        row(Budget="TBD"), row(Prospect="Beta", Stage=None), row(Prospect="Gamma", Stage="Demo", Decision_Maker="no")
    )
    assert [f.row for f in checked.findings] == sorted(f.row for f in checked.findings)
    assert set(checked.findings[0].as_json()) == {"rule", "severity", "row", "cell", "prospect", "message"}
    assert checked.errors == 3 and checked.warnings == 0


def test_quota_problems_are_bad_values() -> None:
    """Problems on the Quotas tab come back as bad-value findings on that tab's cells."""
    from sheetsync.model.quotas import read_quotas

    config = Config()
    quotas = read_quotas("Quotas", [(1, ["Owner", "Quota"]), (2, ["Somchai", "lots"])], config)
    layout, parsed = read_rows("Pipeline", [(1, HEADERS), (2, [CLEAN.get(h) for h in HEADERS])], config)
    checked = check(parsed, layout, config, AS_OF, quotas)
    assert [(f.rule, f.cell) for f in checked.findings] == [("bad-value", "Quotas!B2")]


# ---------------------------------------------------------------- issue 13: the team's own sheet

STAGES_WITH_CLOSED_WON = Config(
    stages=tuple(
        dataclasses.replace(s, name={"won": "Closed Won", "lost": "Closed Lost"}.get(s.group, s.name))
        for s in Config().stages
    )
)


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("Negociation", "Negotiation"),  # one letter changed
        ("Qualifed", "Qualified"),  # one dropped
        ("Apointment", "Appointment"),
        ("Propsoal", "Proposal"),  # two swapped
        ("Negotiatoin", "Negotiation"),
        ("on-hold", "On Hold"),
        ("Negotiating", "Negotiation"),  # two edits on a long name
    ],
)
def test_unknown_stage_suggests_only_a_typo(typed: str, suggested: str) -> None:
    """Issue 13: a stage one or two edits from a configured one gets 'did you mean'."""
    checked, _l, _r = run(row(Stage=typed))
    assert f"did you mean {suggested!r}?" in only(checked, "unknown-stage").message


@pytest.mark.parametrize("typed", ["Closing", "Closed", "Pending", "Signed", "Hot", "Cold lead", "x" * 32_000])
def test_unknown_stage_far_from_every_stage_lists_them_instead(typed: str) -> None:
    """Issue 13: `Closing` got "did you mean 'Lost'?"; a stage no typo away gets the list, no guess."""
    checked, _l, _r = run(row(Stage=typed))
    message = only(checked, "unknown-stage").message
    assert "did you mean" not in message
    assert "use one of Lead, Qualified, Appointment, Demo, Proposal, Negotiation, Won, Lost, On Hold" in message


@pytest.mark.parametrize("typed", ["closed won", "CLOSED  WON", " Closed Won "])
def test_configured_stage_typed_in_another_case_matches_outright(typed: str) -> None:
    """`closed won` typed for a configured `Closed Won` is that stage: no finding at all."""
    checked, _l, _r = run(row(Stage=typed, Closed_On=RECENT), config=STAGES_WITH_CLOSED_WON)
    assert checked.findings == [] and checked.excluded == set()


# The headers of HEADERS that each rule reads, and a row that would fire the rule when the column is there.
MISSING = [
    ("decision-maker", ["Decision Maker"], row(Stage="Demo", Decision_Maker="no"), "no Decision Maker column"),
    ("budget-known", ["Budget"], row(Budget=None), "no Budget column"),
    ("timeline-known", ["Expected Close"], row(Expected_Close=None), "no Expected Close column"),
    ("close-date-passed", ["Expected Close"], row(Expected_Close=dt.date(2026, 11, 1)), "no Expected Close column"),
    ("next-step", ["Next Follow-up"], row(Next_Follow_up=None), "no Next Follow-up column"),
    ("stale", ["Last Contact", "Created"], row(Last_Contact=dt.date(2026, 1, 1)), "no Last Contact or Created column"),
    ("appointment-passed", ["Appointment"], row(Stage="Appointment", Appointment=RECENT), "no Appointment column"),
    ("closed-date", ["Closed On"], row(Stage="Won"), "no Closed On column"),
]


@pytest.mark.parametrize(("rule", "dropped", "firing", "says"), MISSING, ids=[m[0] for m in MISSING])
def test_rule_without_its_column_is_one_warning_for_the_tab(
    rule: str, dropped: list[str], firing: dict[str, Any], says: str
) -> None:
    """Issue 13: a rule whose input column is missing gives one tab-level warning (row None, cell the tab), first."""
    with_column, _l, _r = run(firing, firing)
    assert rule in rules_of(with_column)  # the rows do fire it when the column is there
    headers = [h for h in HEADERS if h not in dropped]
    checked, _l, _r = run(firing, row(Prospect="Beta", Email="b@beta.example", Budget="TBD"), headers=headers)
    tab = [f for f in checked.findings if f.rule == rule]
    assert [(f.row, f.cell, f.severity, f.prospect) for f in tab] == [(None, "Pipeline", "warning", None)]
    assert tab[0].message == (f"{says} — the {rule} rule can't be checked; add the column or map yours under [columns]")
    rows = [f.row for f in checked.findings]
    assert rows[: rows.count(None)] == [None] * rows.count(None)  # whole-tab findings sort first
    assert tab[0].as_json()["row"] is None


def test_stale_with_only_a_created_column_is_checked_per_row() -> None:
    """stale needs Last Contact *or* Created: with Created alone it still runs on every row."""
    headers = [h for h in HEADERS if h != "Last Contact"]
    checked, _l, _r = run(row(Created=dt.date(2026, 1, 1)), headers=headers)
    assert [(f.rule, f.row) for f in checked.findings] == [("stale", 2)]


@pytest.mark.parametrize(("severity", "expected"), [("error", ["warning"]), ("warning", ["warning"]), ("off", [])])
def test_missing_column_finding_is_a_warning_whatever_the_rule_severity(severity: str, expected: list[str]) -> None:
    """docs/decisions.md: the tab-level finding is a warning even for an error rule; "off" silences it too."""
    config = Config(severity={**DEFAULT_SEVERITY, "decision-maker": severity})
    headers = [h for h in HEADERS if h != "Decision Maker"]
    checked, _l, _r = run(row(Stage="Demo"), config=config, headers=headers)
    assert [f.severity for f in checked.findings if f.rule == "decision-maker"] == expected
    assert checked.errors == 0


def test_decision_maker_message_names_the_sheets_own_header() -> None:
    """A DM rule finding tells the user to mark the column the sheet has, not a 'Decision Maker' it hasn't."""
    headers = ["DM confirmed?" if h == "Decision Maker" else h for h in HEADERS]
    checked, _l, _r = run({**row(Stage="Demo"), "DM confirmed?": "no"}, headers=headers)
    assert only(checked, "decision-maker").message.endswith("then mark DM confirmed? yes")
    for meeting in (AS_OF + dt.timedelta(days=1), AS_OF - dt.timedelta(days=1)):  # before and after a meeting too
        checked, _l, _r = run({**row(Stage="Lead", Appointment=meeting), "DM confirmed?": "no"}, headers=headers)
        assert only(checked, "decision-maker").message.endswith("then mark DM confirmed? yes")


def test_later_duplicate_is_left_out_and_the_first_kept() -> None:
    """Issue 13: the later row of a duplicate is excluded from figures and drafts; the first stays in."""
    checked, _l, _r = run(row(), row(Prospect="Other Ltd", Email="x@other.example"), row(), row())
    assert [f.row for f in checked.findings if f.rule == "duplicate"] == [4, 5]
    assert checked.excluded == {4, 5}
    assert "left out of the figures and drafts" in only(run(row(), row())[0], "duplicate").message


def test_duplicate_rule_off_keeps_both_rows() -> None:
    """With `duplicate = "off"` the rows are separate deals: no finding and nothing left out (docs/decisions.md)."""
    config = Config(severity={**DEFAULT_SEVERITY, "duplicate": "off"})
    checked, _l, _r = run(row(), row(), config=config)
    assert checked.findings == [] and checked.excluded == set()


def test_paused_deal_is_checked_only_for_required_unknown_stage_bad_value_and_duplicate() -> None:
    """An On Hold deal with every qualification problem gets none of those findings; its bad cell and duplicate do."""
    neglected = row(
        Stage="On Hold",
        Decision_Maker="no",
        Budget=None,
        Expected_Close=dt.date(2026, 1, 1),
        Last_Contact=dt.date(2026, 1, 1),
        Next_Follow_up=None,
        Appointment=dt.date(2026, 11, 1),
        Closed_On=None,
    )
    checked, _l, _r = run(neglected, {**neglected, "Closed On": "someday"})
    assert [(f.rule, f.row) for f in checked.findings] == [("bad-value", 3), ("duplicate", 3)]
    assert checked.stale == set() and checked.excluded == {3}
