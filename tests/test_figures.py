"""Figures (reference 6.1), diagnosis (reference 6.2) and JSON money (reference 6.4) against hand-computed pipelines.

Every expected number below was worked out by hand from the rows in the test
(the arithmetic is in the comments), never by calling the code under test.
Rows go through the real path: raw cell values → ``schema.read_rows`` →
``rules.check`` → ``figures.compute``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.config import Config, parse_config
from sheetsync.figures import Figures, compute, period_bounds
from sheetsync.model.quotas import Quotas, read_quotas
from sheetsync.model.reader import Row, read_rows
from sheetsync.rules import Checked, check

AS_OF = dt.date(2026, 11, 27)  # quarter 2026-10-01 .. 2026-12-31 by default
D = dt.date
DAY = dt.timedelta(days=1)

HEAD = [
    "Prospect",
    "Owner",
    "Stage",
    "Budget",
    "Expected Close",
    "Probability",
    "Closed On",
    "Created",
    "Appointment",
    "Last Contact",
    "Next Follow-up",
    "Decision Maker",
    "Email",
]
FIELD_HEADER = {
    "prospect": "Prospect",
    "owner": "Owner",
    "expected_close": "Expected Close",
    "probability": "Probability",
    "closed_on": "Closed On",
    "created": "Created",
    "appointment": "Appointment",
    "last_contact": "Last Contact",
    "next_follow_up": "Next Follow-up",
    "decision_maker": "Decision Maker",
    "email": "Email",
}


def deal(stage: str | None, budget: Any = None, **fields: Any) -> dict[str, Any]:
    """One pipeline row as header → raw cell value; clean by default (recent contact, next step set)."""
    row: dict[str, Any] = {
        "Stage": stage,
        "Budget": budget,
        "Owner": "Alice",
        "Decision Maker": "yes",
        "Last Contact": AS_OF,
        "Next Follow-up": AS_OF + 7 * DAY,
    }
    row.update({FIELD_HEADER[k]: v for k, v in fields.items()})
    return row


def cfg(data: dict[str, Any] | None = None) -> Config:
    return parse_config(data or {}, Path("x/sheetsync.toml"))


def quotas_of(table: dict[str, Any], config: Config | None = None) -> Quotas:
    rows = [(1, ["Owner", "Quota"])] + [(i, [o, q]) for i, (o, q) in enumerate(table.items(), 2)]
    return read_quotas("Quotas", rows, config or Config())


@dataclass
class Run:
    rows: list[Row]
    checked: Checked
    f: Figures

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.f.as_json()))

    def rules(self) -> list[tuple[int, str]]:
        return [(x.row, x.rule) for x in self.checked.findings]

    def stage(self, name: str) -> Any:
        return next(s for s in self.f.stages if s.stage == name)

    def owner(self, name: str) -> Any:
        return next(o for o in self.f.owners if o.owner == name)

    def codes(self) -> list[str]:
        return [a.code for a in self.f.diagnosis]


def run(
    deals: Sequence[dict[str, Any] | None],
    config: Config | None = None,
    as_of: dt.date = AS_OF,
    quotas: Quotas | dict[str, Any] | None = None,
    drop: Sequence[str] = (),
) -> Run:
    """Raw rows (None = a fully blank row) → read_rows → check → compute; data rows start at sheet row 2.

    ``drop``: headers the sheet doesn't have (their cells are ignored), as run.py computes without them.
    """
    config = config or Config()
    head = [h for h in HEAD if h not in drop]
    values: list[tuple[int, list[Any]]] = [(1, list(head))]
    for i, d in enumerate(deals, 2):
        if d is None:
            values.append((i, [None] * len(head)))
            continue
        cells = {"Prospect": f"Prospect {i}", **d}
        values.append((i, [cells.get(h) for h in head]))
    layout, rows = read_rows("Pipeline", values, config)
    q = quotas_of(quotas, config) if isinstance(quotas, dict) else quotas
    checked = check(rows, layout, config, as_of, q)
    return Run(rows, checked, compute(rows, checked, config, as_of, q, "closed_on" in layout.columns))


# ---------------------------------------------------------------- period


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        (D(2026, 2, 14), D(2026, 2, 1), D(2026, 2, 28)),
        (D(2028, 2, 10), D(2028, 2, 1), D(2028, 2, 29)),  # leap year
        (D(2026, 12, 31), D(2026, 12, 1), D(2026, 12, 31)),
        (D(2026, 1, 1), D(2026, 1, 1), D(2026, 1, 31)),
    ],
)
def test_period_month_is_the_calendar_month(as_of: dt.date, start: dt.date, end: dt.date) -> None:
    """A month period is the calendar month containing as-of, whatever the fiscal start."""
    assert period_bounds(as_of, "month", 1) == (start, end)
    assert period_bounds(as_of, "month", 4) == (start, end)


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        (D(2026, 1, 1), D(2026, 1, 1), D(2026, 3, 31)),
        (D(2026, 3, 31), D(2026, 1, 1), D(2026, 3, 31)),
        (D(2026, 4, 1), D(2026, 4, 1), D(2026, 6, 30)),
        (D(2026, 8, 15), D(2026, 7, 1), D(2026, 9, 30)),
        (D(2026, 11, 27), D(2026, 10, 1), D(2026, 12, 31)),
    ],
)
def test_period_calendar_quarter(as_of: dt.date, start: dt.date, end: dt.date) -> None:
    """Quarters of a January fiscal year are Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec."""
    assert period_bounds(as_of, "quarter", 1) == (start, end)


def test_period_calendar_year() -> None:
    """A year period with fiscal start 1 is the calendar year."""
    assert period_bounds(D(2026, 11, 27), "year", 1) == (D(2026, 1, 1), D(2026, 12, 31))
    assert period_bounds(D(2026, 1, 1), "year", 1) == (D(2026, 1, 1), D(2026, 12, 31))


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        (D(2026, 11, 27), D(2026, 4, 1), D(2027, 3, 31)),
        (D(2026, 4, 1), D(2026, 4, 1), D(2027, 3, 31)),
        (D(2027, 1, 1), D(2026, 4, 1), D(2027, 3, 31)),  # Jan–Mar belong to the year that began last April
        (D(2027, 2, 10), D(2026, 4, 1), D(2027, 3, 31)),
        (D(2027, 3, 31), D(2026, 4, 1), D(2027, 3, 31)),
        (D(2026, 3, 31), D(2025, 4, 1), D(2026, 3, 31)),
    ],
)
def test_period_fiscal_year_starting_april(as_of: dt.date, start: dt.date, end: dt.date) -> None:
    """A fiscal year starting in April runs 1 April .. 31 March, also for as-of dates in Jan–Mar."""
    assert period_bounds(as_of, "year", 4) == (start, end)


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        (D(2026, 4, 15), D(2026, 4, 1), D(2026, 6, 30)),  # FQ1
        (D(2026, 7, 1), D(2026, 7, 1), D(2026, 9, 30)),  # FQ2
        (D(2026, 11, 27), D(2026, 10, 1), D(2026, 12, 31)),  # FQ3
        (D(2027, 1, 5), D(2027, 1, 1), D(2027, 3, 31)),  # FQ4 of FY starting April 2026
        (D(2027, 3, 31), D(2027, 1, 1), D(2027, 3, 31)),
        (D(2026, 2, 28), D(2026, 1, 1), D(2026, 3, 31)),
    ],
)
def test_period_fiscal_quarter_starting_april(as_of: dt.date, start: dt.date, end: dt.date) -> None:
    """Fiscal quarters of an April year are Apr–Jun, Jul–Sep, Oct–Dec, Jan–Mar."""
    assert period_bounds(as_of, "quarter", 4) == (start, end)


@pytest.mark.parametrize(
    ("as_of", "period", "fiscal", "start", "end"),
    [
        (D(2027, 1, 15), "quarter", 11, D(2026, 11, 1), D(2027, 1, 31)),  # quarter spanning new year
        (D(2026, 10, 31), "quarter", 11, D(2026, 8, 1), D(2026, 10, 31)),
        (D(2026, 9, 30), "year", 10, D(2025, 10, 1), D(2026, 9, 30)),
        (D(2026, 10, 1), "year", 10, D(2026, 10, 1), D(2027, 9, 30)),
        (D(2026, 12, 31), "year", 12, D(2026, 12, 1), D(2027, 11, 30)),
        (D(2026, 11, 30), "year", 12, D(2025, 12, 1), D(2026, 11, 30)),
    ],
)
def test_period_other_fiscal_starts(as_of: dt.date, period: str, fiscal: int, start: dt.date, end: dt.date) -> None:
    """Fiscal quarters and years starting in other months wrap across the calendar year correctly."""
    assert period_bounds(as_of, period, fiscal) == (start, end)


def _brute_period(as_of: dt.date, period: str, fiscal: int) -> tuple[dt.date, dt.date]:
    """Reference: the latest allowed period start on or before as-of, plus the period's length."""
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    first = 1 if period == "month" else fiscal
    starts_months = {(first - 1 + k * months) % 12 + 1 for k in range(12 // months)}
    candidates = [D(y, m, 1) for y in (as_of.year - 1, as_of.year) for m in starts_months if D(y, m, 1) <= as_of]
    start = max(candidates)
    total = start.year * 12 + start.month - 1 + months
    return start, D(total // 12, total % 12 + 1, 1) - DAY


@settings(max_examples=300, deadline=None)
@given(
    as_of=st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31)),
    period=st.sampled_from(["month", "quarter", "year"]),
    fiscal=st.integers(1, 12),
)
def test_period_matches_brute_force(as_of: dt.date, period: str, fiscal: int) -> None:
    """For any date, period and fiscal start, the bounds equal a brute-force search and contain as-of."""
    start, end = period_bounds(as_of, period, fiscal)
    assert (start, end) == _brute_period(as_of, period, fiscal)
    assert start <= as_of <= end


def test_fiscal_year_config_drives_won_this_period() -> None:
    """With period=year and fiscal start April, as-of 2027-02-10 counts wins from 2026-04-01 to 2027-03-31."""
    config = cfg({"pipeline": {"period": "year", "fiscal_year_start_month": 4}})
    r = run(
        [
            deal("Won", 1000, closed_on=D(2026, 4, 1)),  # first day of the FY: counts
            deal("Won", 200, closed_on=D(2027, 3, 31)),  # last day: counts
            deal("Won", 40, closed_on=D(2026, 3, 31)),  # previous FY
            deal("Won", 5, closed_on=D(2027, 4, 1)),  # next FY
        ],
        config,
        as_of=D(2027, 2, 10),
    )
    assert (r.f.period_start, r.f.period_end) == (D(2026, 4, 1), D(2027, 3, 31))
    assert r.f.won_this_period == Decimal(1200)  # 1000 + 200
    assert r.json["period"] == {"start": "2026-04-01", "end": "2027-03-31"}


# ---------------------------------------------------------------- stages and pipeline


def test_stage_table_in_stage_order_with_empty_stages() -> None:
    """Every stage is listed in configured order with count, amount, weighted and its probability, zeros included."""
    r = run(
        [
            deal("Lead", 1000),
            deal("lead", 1000),  # stage names match case-insensitively
            deal("Appointment", 500, expected_close=D(2026, 12, 1)),
            deal("Won", 2000, closed_on=D(2026, 11, 1)),
            deal("Lost", 300, closed_on=D(2026, 11, 1)),
        ]
    )
    got = [(s.stage, s.count, s.amount, s.weighted, s.probability) for s in r.f.stages]
    assert got == [
        ("Lead", 2, Decimal(2000), Decimal(200), Decimal("0.1")),  # 2 × 1000 × 10 %
        ("Qualified", 0, 0, 0, Decimal("0.2")),
        ("Appointment", 1, Decimal(500), Decimal(200), Decimal("0.4")),  # 500 × 40 %
        ("Demo", 0, 0, 0, Decimal("0.6")),
        ("Proposal", 0, 0, 0, Decimal("0.75")),
        ("Negotiation", 0, 0, 0, Decimal("0.9")),
        ("Won", 1, Decimal(2000), Decimal(2000), Decimal(1)),
        ("Lost", 1, Decimal(300), Decimal(0), Decimal(0)),
        ("On Hold", 0, 0, 0, Decimal(0)),
    ]
    assert r.json["stages"][0] == {"stage": "Lead", "count": 2, "amount": 2000.0, "probability": 0.1, "weighted": 200.0}
    assert r.json["stages"][1] == {"stage": "Qualified", "count": 0, "amount": 0.0, "probability": 0.2, "weighted": 0.0}


def test_open_totals_cover_open_rows_only() -> None:
    """open_count, open_amount and weighted_pipeline sum early/middle/late rows, never Won or Lost."""
    r = run(
        [
            deal("Lead", 1000),
            deal("Lead", 1000),
            deal("Appointment", 500, expected_close=D(2026, 12, 1)),
            deal("Negotiation", None, expected_close=D(2026, 12, 1)),  # no budget: amount 0
            deal("Won", 2000, closed_on=D(2026, 11, 1)),
            deal("Lost", 300, closed_on=D(2026, 11, 1)),
        ]
    )
    assert r.f.open_count == 4
    assert r.f.open_amount == Decimal(2500)  # 1000 + 1000 + 500 + 0
    assert r.f.weighted_pipeline == Decimal(400)  # 100 + 100 + 200 + 0


CUSTOM_STAGES = [
    {"name": "Cold", "probability": 5, "group": "early"},
    {"name": "Pitch", "probability": 50, "group": "middle"},
    {"name": "Signed", "group": "won"},
    {"name": "Gone", "group": "lost"},
]


def test_custom_stages_keep_their_order_and_probabilities() -> None:
    """[[stages]] replaces the default list: the stage table follows it and weights use its probabilities."""
    config = cfg(
        {
            "stages": CUSTOM_STAGES,
            "rules": {"options": {"decision_maker_from_stage": "Pitch", "qualified_from_stage": "Cold"}},
        }
    )
    r = run([deal("Pitch", 1000), deal("Cold", 2000), deal("Signed", 700, closed_on=D(2026, 11, 2))], config)
    assert [(s.stage, s.count, s.weighted) for s in r.f.stages] == [
        ("Cold", 1, Decimal(100)),  # 2000 × 5 %
        ("Pitch", 1, Decimal(500)),  # 1000 × 50 %
        ("Signed", 1, Decimal(700)),
        ("Gone", 0, Decimal(0)),
    ]
    assert r.f.weighted_pipeline == Decimal(600)
    assert r.f.won_this_period == Decimal(700)


def test_custom_stages_without_default_stage_names_do_not_crash() -> None:
    """[[stages]] without 'Appointment'/'Qualified' and no [rules.options]: a clear ConfigError or working figures."""
    from sheetsync.errors import ConfigError

    try:
        config = cfg({"stages": CUSTOM_STAGES})
    except ConfigError:
        return  # refusing the config with a message (exit 2) is acceptable
    r = run([deal("Pitch", 1000)], config)  # a KeyError traceback here is the bug
    assert r.f.weighted_pipeline == Decimal(500)


@pytest.mark.parametrize(
    ("cell", "weighted"),
    [
        (50, Decimal(500)),  # 50 → 50 %
        ("40%", Decimal(400)),
        (0.25, Decimal(250)),  # ≤ 1: a fraction
        ("0.25", Decimal(250)),
        (0, Decimal(0)),  # an explicit 0 % overrides the stage's 60 %
        (None, Decimal(600)),  # empty: the stage's 60 %
        ("high", Decimal(600)),  # bad-value counts as empty
    ],
)
def test_row_probability_overrides_stage_on_open_rows(cell: Any, weighted: Decimal) -> None:
    """An open row's own probability replaces its stage's (Demo 60 %) for a 1000 deal."""
    r = run([deal("Demo", 1000, probability=cell, expected_close=D(2026, 12, 1))])
    assert r.f.weighted_pipeline == weighted
    assert r.stage("Demo").weighted == weighted
    assert r.f.expected == weighted


def test_won_and_lost_ignore_the_probability_cell() -> None:
    """Won rows weigh 100 % and Lost rows 0 % whatever their probability cell says."""
    r = run(
        [
            deal("Won", 1000, probability=10, closed_on=D(2026, 11, 1)),
            deal("Lost", 1000, probability=90, closed_on=D(2026, 11, 1)),
        ]
    )
    assert r.stage("Won").weighted == Decimal(1000)
    assert r.stage("Lost").weighted == Decimal(0)
    assert r.f.weighted_pipeline == 0  # neither is open


# ---------------------------------------------------------------- the three numbers


def test_won_this_period_uses_closed_on_inside_the_period() -> None:
    """Only Won rows closed between period start and end (inclusive) count; the row's other dates don't matter."""
    r = run(
        [
            deal("Won", 100, closed_on=D(2026, 10, 1)),  # period start: counts
            deal("Won", 200, closed_on=D(2026, 12, 31)),  # period end (after as-of): counts
            deal("Won", 400, closed_on=D(2026, 9, 30), expected_close=D(2026, 11, 1)),  # last quarter
            deal("Won", 800, closed_on=D(2027, 1, 1)),  # next quarter
            deal("Won", 1600, expected_close=D(2026, 11, 1)),  # no closed-on date
            deal("Lost", 3200, closed_on=D(2026, 11, 1)),  # lost, not won
        ]
    )
    assert r.f.won_this_period == Decimal(300)  # 100 + 200


def test_expected_includes_overdue_and_skips_undated_rows() -> None:
    """expected = weighted open rows closing on or before period end, overdue ones included, undated ones not."""
    r = run(
        [
            deal("Negotiation", 1000, expected_close=D(2026, 11, 1)),  # overdue: 900
            deal("Proposal", 1000, expected_close=D(2026, 12, 31)),  # on period end: 750
            deal("Proposal", 1000, expected_close=D(2025, 1, 1)),  # long overdue: 750
            deal("Demo", 1000, expected_close=D(2027, 1, 1)),  # next period: no
            deal("Lead", 1000),  # no expected close: no
            deal("Won", 1000, expected_close=D(2026, 12, 1), closed_on=D(2026, 11, 2)),  # not open
            deal("Lost", 1000, expected_close=D(2026, 12, 1), closed_on=D(2026, 11, 2)),  # not open
        ]
    )
    assert r.f.expected == Decimal(2400)  # 900 + 750 + 750


def test_quota_from_config_beats_quotas_tab() -> None:
    """[quota] amount is the team quota even when a Quotas tab exists; owners keep their tab quotas."""
    r = run([deal("Lead", 100)], cfg({"quota": {"amount": 5000}}), quotas={"Alice": 1000, "Bob": 2000})
    assert r.f.quota == Decimal(5000)
    assert r.owner("Alice").quota == Decimal(1000)
    assert r.owner("Bob").quota == Decimal(2000)


def test_quota_is_sum_of_quotas_tab() -> None:
    """Without [quota] amount the team quota is the sum of the Quotas tab (exact to the cent)."""
    r = run([deal("Lead", 100)], quotas={"Alice": 1000.1, "Bob": "2,000.20"})
    assert r.f.quota == Decimal("3000.30")  # 1000.10 + 2000.20
    assert r.json["quota"] == 3000.3


def test_quotas_tab_owner_case_variants_agree_with_team_quota() -> None:
    """Quotas rows 'Alice' and 'alice' (one owner line): the owner lines' quotas must add up to the team quota."""
    r = run([deal("Lead", 100, owner="Alice")], quotas={"Alice": 1000, "alice": 500})
    owner_total = sum((o.quota for o in r.f.owners if o.quota is not None), Decimal(0))
    assert len(r.f.owners) == 1  # owners match case-insensitively
    assert r.f.quota == owner_total  # today: team 1500 but Alice's line shows 500, silently


@pytest.mark.parametrize("quotas", [None, {}], ids=["no-tab", "empty-tab"])
def test_no_quota_makes_quota_figures_null(quotas: dict[str, Any] | None) -> None:
    """No [quota] amount and no (or an empty) Quotas tab: quota, remaining, to_generate, attainment, coverage null."""
    r = run(
        [deal("Won", 500, closed_on=D(2026, 11, 1)), deal("Proposal", 1000, expected_close=D(2026, 12, 1))],
        quotas=quotas,
    )
    j = r.json
    for key in ("quota", "remaining", "to_generate", "attainment", "coverage"):
        assert j[key] is None, key
    assert "thin-coverage" not in r.codes()


def test_remaining_and_to_generate_with_quota() -> None:
    """remaining = quota − won, to_generate = quota − won − expected, attainment = won / quota, coverage on amounts."""
    r = run(
        [
            deal("Won", 300, closed_on=D(2026, 11, 1)),
            deal("Proposal", 400, expected_close=D(2026, 12, 1)),  # weighted 300, amount 400
            deal("Lead", 500, expected_close=D(2026, 12, 1)),  # weighted 50, amount 500
            deal("Demo", 9000, expected_close=D(2027, 2, 1)),  # not due this period
        ],
        cfg({"quota": {"amount": 1000}}),
    )
    assert r.f.won_this_period == Decimal(300)
    assert r.f.expected == Decimal(350)  # 300 + 50
    assert r.f.remaining == Decimal(700)  # 1000 − 300
    assert r.f.to_generate == Decimal(350)  # 1000 − 300 − 350
    assert r.f.attainment == Decimal("0.3")  # 300 / 1000
    assert r.f.coverage == Decimal(900) / Decimal(700)  # (400 + 500) / 700, amounts not weights
    assert r.json["coverage"] == pytest.approx(1.285714, abs=1e-6)


def test_to_generate_floors_at_zero() -> None:
    """When won + expected exceed the quota, to_generate is 0, not negative."""
    r = run(
        [
            deal("Won", 300, closed_on=D(2026, 11, 1)),
            deal("Negotiation", 1000, expected_close=D(2026, 12, 1)),  # weighted 900
        ],
        cfg({"quota": {"amount": 1000}}),
    )
    assert r.f.remaining == Decimal(700)
    assert r.f.to_generate == 0  # max(0, 1000 − 300 − 900 = −200)
    assert r.json["to_generate"] == 0.0


def test_quota_exceeded_floors_remaining_and_nulls_coverage() -> None:
    """Won beyond quota: remaining and to_generate are 0, attainment above 1, coverage null."""
    r = run(
        [deal("Won", 1200, closed_on=D(2026, 11, 1)), deal("Proposal", 1000, expected_close=D(2026, 12, 1))],
        cfg({"quota": {"amount": 1000}}),
    )
    assert r.f.remaining == 0
    assert r.f.to_generate == 0
    assert r.f.attainment == Decimal("1.2")  # 1200 / 1000
    assert r.f.coverage is None
    assert r.json["coverage"] is None
    assert "thin-coverage" not in r.codes()


# ---------------------------------------------------------------- conversion figures


def test_win_rate_over_whole_sheet() -> None:
    """win_rate = won / (won + lost) over all closed rows, whatever their closed-on date."""
    r = run(
        [
            deal("Won", 1, closed_on=D(2026, 11, 1)),
            deal("Won", 1, closed_on=D(2020, 1, 1)),  # long ago: still counts
            deal("Won", 1),  # no closed-on date: still a won row
            deal("Lost", 1, closed_on=D(2026, 11, 1)),
            deal("Lead", 1),
        ]
    )
    assert r.f.win_rate == Decimal("0.75")  # 3 / (3 + 1)
    assert r.json["win_rate"] == 0.75


def test_win_rate_null_without_closed_deals() -> None:
    """With no Won or Lost rows win_rate (and so velocity) is null."""
    r = run([deal("Lead", 100), deal("Demo", 100)])
    assert r.f.win_rate is None
    assert r.json["win_rate"] is None
    assert r.json["velocity"] is None


def test_appointments_held_and_closing_rate() -> None:
    """Appointments on or before as-of (any stage, date-times by their date) are held; closing rate = Won among them."""
    r = run(
        [
            deal("Won", 100, appointment=D(2026, 11, 1), closed_on=D(2026, 11, 5)),  # held, won
            deal("Lost", 100, appointment=D(2026, 11, 1), closed_on=D(2026, 11, 5)),  # held
            deal("Demo", 100, appointment=AS_OF),  # on as-of: held
            deal("Demo", 100, appointment=dt.datetime(2026, 11, 27, 15, 30)),  # later today: held
            deal("Appointment", 100, appointment=AS_OF + DAY),  # tomorrow: not held
            deal("Won", 100, closed_on=D(2026, 11, 5)),  # no appointment
        ]
    )
    assert r.f.appointments_held == 4
    assert r.f.closing_rate == Decimal(1) / Decimal(4)  # 1 won of 4 held
    assert r.json["closing_rate"] == 0.25


def test_closing_rate_null_without_appointments() -> None:
    """No held appointment: appointments_held 0 and closing_rate null."""
    r = run([deal("Won", 100, closed_on=D(2026, 11, 5)), deal("Appointment", 100, appointment=AS_OF + DAY)])
    assert r.f.appointments_held == 0
    assert r.json["closing_rate"] is None


def test_average_won_deal_counts_missing_budget_as_zero() -> None:
    """average_won_deal is the mean over all Won rows; a Won row with no (or a bad) budget counts as 0."""
    r = run(
        [
            deal("Won", 1000, closed_on=D(2026, 11, 1)),
            deal("Won", None, closed_on=D(2026, 11, 1)),
            deal("Won", "TBD", closed_on=D(2026, 11, 1)),
            deal("Won", 500, closed_on=D(2025, 1, 1)),
            deal("Lost", 9000, closed_on=D(2026, 11, 1)),
        ]
    )
    assert r.f.average_won_deal == Decimal(375)  # (1000 + 0 + 0 + 500) / 4
    assert r.json["average_won_deal"] == 375.0


def test_average_won_deal_null_without_won_rows() -> None:
    """With no Won row the average won deal is null."""
    assert run([deal("Lead", 100)]).json["average_won_deal"] is None


def test_cycle_days_only_won_rows_with_both_dates() -> None:
    """cycle_days = mean(closed − created) over Won rows having both dates; others are skipped."""
    r = run(
        [
            deal("Won", 1, created=D(2026, 10, 1), closed_on=D(2026, 10, 31)),  # 30 days
            deal("Won", 1, created=D(2026, 10, 1), closed_on=D(2026, 11, 10)),  # 40 days
            deal("Won", 1, closed_on=D(2026, 11, 10)),  # no created: skipped
            deal("Won", 1, created=D(2026, 1, 1)),  # no closed-on: skipped
            deal("Lost", 1, created=D(2026, 1, 1), closed_on=D(2026, 11, 10)),  # lost: skipped
        ]
    )
    assert r.f.cycle_days == Decimal(35)  # (30 + 40) / 2
    assert r.json["cycle_days"] == 35.0


def test_cycle_days_null_when_no_won_row_has_both_dates() -> None:
    """No Won row with created and closed-on dates: cycle_days and velocity are null."""
    r = run([deal("Won", 100, closed_on=D(2026, 11, 1)), deal("Lead", 100)])
    assert r.json["cycle_days"] is None
    assert r.json["velocity"] is None


def test_velocity_formula() -> None:
    """velocity = open_count × win_rate × average_won_deal / cycle_days."""
    r = run(
        [
            deal("Lead", 10),
            deal("Demo", 10),
            deal("Won", 1000, created=D(2026, 10, 1), closed_on=D(2026, 10, 31)),  # 30 days
            deal("Won", 2000, created=D(2026, 10, 1), closed_on=D(2026, 11, 20)),  # 50 days
            deal("Lost", 10, closed_on=D(2026, 11, 1)),
            deal("Lost", 10, closed_on=D(2026, 11, 1)),
        ]
    )
    # open 2, win rate 2/4 = 0.5, average won (1000 + 2000) / 2 = 1500, cycle (30 + 50) / 2 = 40
    assert r.f.velocity == Decimal("37.5")  # 2 × 0.5 × 1500 / 40
    assert r.json["velocity"] == 37.5


@pytest.mark.parametrize(
    "deals",
    [
        # no open rows: open_count 0
        [deal("Won", 1000, created=D(2026, 10, 1), closed_on=D(2026, 10, 31)), deal("Lost", 1)],
        # win rate 0: only lost rows closed
        [deal("Lead", 10), deal("Lost", 1000, created=D(2026, 10, 1), closed_on=D(2026, 10, 31))],
        # average won deal 0: won rows have no budget
        [deal("Lead", 10), deal("Won", None, created=D(2026, 10, 1), closed_on=D(2026, 10, 31))],
        # cycle 0 days: created and closed the same day
        [deal("Lead", 10), deal("Won", 1000, created=D(2026, 10, 1), closed_on=D(2026, 10, 1))],
    ],
    ids=["no-open", "win-rate-0", "average-0", "cycle-0"],
)
def test_velocity_null_when_a_part_is_zero(deals: list[dict[str, Any]]) -> None:
    """velocity is null when any of its parts is zero."""
    assert run(deals).json["velocity"] is None


# ---------------------------------------------------------------- owners


def test_per_owner_figures_and_quotas_tab() -> None:
    """Per owner: counts, pipeline, won, expected, Quotas-tab quota, coverage; `(none)` for no owner; tab-only at zero.

    (Each owner's forecast and diagnosis have tests of their own below.)
    """
    r = run(
        [
            deal("Won", 1000, owner="Alice", closed_on=D(2026, 11, 1)),
            deal("Proposal", 2000, owner="Alice", expected_close=D(2026, 12, 1)),  # weighted 1500, expected
            deal("Lead", 500, owner="Alice"),  # weighted 50, no expected close
            deal("Demo", 1000, owner="Bob", expected_close=D(2027, 1, 15)),  # weighted 600, next period
            deal("Lead", 300, owner=None),  # weighted 30
            deal("Lead", 999, owner="Alice", prospect=None),  # excluded (no prospect)
        ],
        quotas={"Alice": 3000, "Bob": 1000, "Carol": 2000},
    )
    by = {o["owner"]: {k: v for k, v in o.items() if k not in ("forecast", "diagnosis")} for o in r.json["owners"]}
    assert set(by) == {"Alice", "Bob", "Carol", "(none)"}
    assert by["Alice"] == {
        "owner": "Alice",
        "count": 3,  # the excluded row is not counted
        "open_amount": 2500.0,  # 2000 + 500
        "weighted_pipeline": 1550.0,  # 1500 + 50
        "won_this_period": 1000.0,
        "expected": 1500.0,
        "quota": 3000.0,
        "remaining": 2000.0,  # 3000 − 1000
        "to_generate": 500.0,  # 3000 − 1000 − 1500
        "attainment": pytest.approx(0.333333, abs=1e-6),  # 1000 / 3000
        "coverage": 1.0,  # the Proposal's 2000 due this period / remaining 2000
    }
    assert by["Bob"] == {
        "owner": "Bob",
        "count": 1,
        "open_amount": 1000.0,
        "weighted_pipeline": 600.0,
        "won_this_period": 0.0,
        "expected": 0.0,
        "quota": 1000.0,
        "remaining": 1000.0,
        "to_generate": 1000.0,
        "attainment": 0.0,
        "coverage": 0.0,  # the Demo closes next period: nothing due / remaining 1000
    }
    assert by["Carol"] == {
        "owner": "Carol",
        "count": 0,
        "open_amount": 0.0,
        "weighted_pipeline": 0.0,
        "won_this_period": 0.0,
        "expected": 0.0,
        "quota": 2000.0,
        "remaining": 2000.0,
        "to_generate": 2000.0,
        "attainment": 0.0,
        "coverage": 0.0,
    }
    assert by["(none)"] == {
        "owner": "(none)",
        "count": 1,
        "open_amount": 300.0,
        "weighted_pipeline": 30.0,
        "won_this_period": 0.0,
        "expected": 0.0,
        "quota": None,
        "remaining": None,
        "to_generate": None,
        "attainment": None,
        "coverage": None,
    }
    assert r.f.quota == Decimal(6000)  # 3000 + 1000 + 2000


def test_owner_without_quota_has_null_quota_figures() -> None:
    """Without a Quotas tab owners' quota figures are null even when [quota] amount sets the team quota."""
    r = run([deal("Won", 100, closed_on=D(2026, 11, 1))], cfg({"quota": {"amount": 1000}}))
    alice = r.json["owners"][0]
    assert alice["owner"] == "Alice"
    assert (alice["quota"], alice["remaining"], alice["to_generate"], alice["attainment"]) == (None, None, None, None)
    assert alice["won_this_period"] == 100.0


def test_owner_to_generate_floors_at_zero() -> None:
    """An owner past quota has remaining and to_generate 0 and attainment above 1."""
    r = run(
        [deal("Won", 1500, owner="Bob", closed_on=D(2026, 11, 1))],
        quotas={"Bob": 1000},
    )
    bob = r.owner("Bob")
    assert (bob.remaining, bob.to_generate, bob.attainment) == (0, 0, Decimal("1.5"))


# ---------------------------------------------------------------- exclusion and bad values


def test_excluded_rows_are_left_out_of_every_figure() -> None:
    """Rows with required or unknown-stage errors count in rows and excluded_rows and in no other figure."""
    appt = D(2026, 11, 1)
    r = run(
        [
            deal("Lead", 100, owner="Alice"),
            None,  # fully blank row: not a row at all
            deal("Won", 1000, prospect=None, owner="Zed", closed_on=D(2026, 11, 1), appointment=appt),  # required
            deal(None, 700, owner="Zed", expected_close=D(2026, 12, 1)),  # required (no stage)
            deal("Negociation", 5000, owner="Zed", expected_close=D(2026, 12, 1), appointment=appt),  # unknown-stage
            deal("Lost", 50, prospect="  ", owner="Zed", appointment=appt),  # blank prospect: required
        ],
        cfg({"quota": {"amount": 10_000}}),
    )
    assert {rule for _row, rule in r.rules()} >= {"required", "unknown-stage"}
    assert r.f.rows == 5  # every non-blank data row
    assert r.f.excluded_rows == 4
    assert sum(s.count for s in r.f.stages) == 1
    assert r.f.open_count == 1
    assert r.f.open_amount == Decimal(100)
    assert r.f.weighted_pipeline == Decimal(10)
    assert r.f.won_this_period == 0
    assert r.f.expected == 0
    assert r.f.win_rate is None
    assert r.f.appointments_held == 0
    assert r.f.average_won_deal is None
    assert sum(o.count for o in r.f.owners) == 1
    assert all(o.count == 0 for o in r.f.owners if o.owner == "Zed")
    assert r.json["rows"] == 5 and r.json["excluded_rows"] == 4


def test_bad_budget_counts_as_empty() -> None:
    """A budget of `TBD` is one bad-value finding (no budget-known) and counts as amount 0 in every figure."""
    r = run(
        [
            deal("Proposal", "TBD", expected_close=D(2026, 12, 1)),
            deal("Proposal", 1000, expected_close=D(2026, 12, 1)),
        ],
        cfg({"quota": {"amount": 2000}}),
    )
    assert r.rules() == [(2, "bad-value")]
    assert r.f.excluded_rows == 0
    assert r.stage("Proposal").count == 2
    assert r.f.open_amount == Decimal(1000)
    assert r.f.expected == Decimal(750)
    assert r.f.coverage == Decimal(1000) / Decimal(2000)  # (0 + 1000) / remaining 2000


def test_bad_expected_close_counts_as_empty() -> None:
    """An unreadable expected close date counts as no date: the row is open but not expected this period."""
    r = run([deal("Demo", 1000, expected_close="soon"), deal("Demo", 100, expected_close=D(2026, 12, 1))])
    assert (2, "bad-value") in r.rules()
    assert r.f.open_count == 2
    assert r.f.expected == Decimal(60)  # only the second row: 100 × 60 %


# ---------------------------------------------------------------- money


def test_float_budgets_sum_exactly() -> None:
    """Budgets 0.1 and 0.2 (float cells) sum to exactly 0.3, and weighted 10 % to exactly 0.03."""
    r = run([deal("Lead", 0.1), deal("Lead", 0.2)])
    assert r.f.open_amount == Decimal("0.3")
    assert r.f.weighted_pipeline == Decimal("0.03")
    assert r.json["open_amount"] == 0.3
    assert r.json["weighted_pipeline"] == 0.03


def test_ten_thousand_cents_sum_exactly() -> None:
    """10,000 rows of 0.01 sum to exactly 100.00 in open_amount, the stage table and the owner line."""
    r = run([deal("Lead", 0.01) for _ in range(10_000)])
    assert r.f.open_amount == Decimal("100.00")
    assert r.stage("Lead").amount == Decimal("100.00")
    assert r.owner("Alice").open_amount == Decimal("100.00")
    assert r.f.weighted_pipeline == Decimal("10.00")  # 10 % of 100
    assert r.json["open_amount"] == 100.0


def test_sums_are_exact_beyond_28_digits_in_any_order() -> None:
    """10^27 + 0.01 + 0.02 needs 30 digits: Decimal's default 28 would round the cents away.

    Totals are made a (stage, owner) group at a time, so rows are not added in
    sheet order; exact sums make the order irrelevant.  Hand total:
    1,000,000,000,000,000,000,000,000,000.03 open, 10 % of it weighted.
    """
    big = "1000000000000000000000000000"
    r = run([deal("Lead", "0.01"), deal("Lead", big, owner="Bob"), deal("Lead", "0.02")])
    assert r.f.open_amount == Decimal(big + ".03")
    assert r.stage("Lead").amount == Decimal(big + ".03")
    assert r.f.weighted_pipeline == Decimal("100000000000000000000000000.003")
    assert r.owner("Alice").open_amount == Decimal("0.03")


def test_text_budgets_are_exact() -> None:
    """Text budgets with currency and thousands separators are read exactly to the cent."""
    r = run([deal("Won", "฿1,234.56", closed_on=D(2026, 11, 1)), deal("Won", "THB 0.44", closed_on=D(2026, 11, 1))])
    assert r.f.won_this_period == Decimal("1235.00")
    assert r.json["won_this_period"] == 1235.0


def test_json_rounds_half_up_to_the_cent() -> None:
    """JSON amounts are rounded half-up to the cent: 26.75 × 10 % = 2.675 → 2.68, 0.05 × 10 % = 0.005 → 0.01."""
    r = run([deal("Lead", 26.75)])
    assert r.f.weighted_pipeline == Decimal("2.675")  # kept exact inside
    assert r.json["weighted_pipeline"] == 2.68  # float round() would give 2.67
    assert r.json["stages"][0]["weighted"] == 2.68
    assert run([deal("Lead", 0.05)]).json["weighted_pipeline"] == 0.01  # banker's rounding would give 0.0


def test_budgets_past_28_digits_round_to_the_cent() -> None:
    """Issue 11: a 40-digit budget (more than Decimal's default 28 digits) is summed and rounded, not a traceback."""
    big = "1" * 40
    r = run([deal("Lead", big), deal("Lead", "0.005")])
    assert r.f.open_amount == Decimal(big + ".005")
    assert r.json["open_amount"] == float(big)  # 1111…111.01 as the nearest float
    assert r.json["weighted_pipeline"] == float(Decimal(big) / 10)


def test_json_numbers_are_numbers() -> None:
    """Every amount and ratio in the JSON object is a number or null, never a string; the object dumps as JSON."""
    r = run(
        [
            deal("Won", 1234567.89, closed_on=D(2026, 11, 1), created=D(2026, 10, 1)),
            deal("Lost", 1, closed_on=D(2026, 11, 1)),
            deal("Proposal", 1000.5, expected_close=D(2026, 12, 1)),
        ],
        quotas={"Alice": 2_000_000},
    )
    text = json.dumps(r.f.as_json())  # raises on Decimal or date objects
    assert '"1234567.89"' not in text
    j = json.loads(text)
    assert j["won_this_period"] == 1234567.89
    assert j["open_amount"] == 1000.5
    numeric = [
        "open_amount",
        "weighted_pipeline",
        "won_this_period",
        "expected",
        "quota",
        "remaining",
        "to_generate",
        "attainment",
        "coverage",
        "win_rate",
        "closing_rate",
        "average_won_deal",
        "cycle_days",
        "velocity",
    ]
    for key in numeric:
        assert j[key] is None or (isinstance(j[key], int | float) and not isinstance(j[key], bool)), key
    for key in ("rows", "excluded_rows", "open_count", "appointments_held"):
        assert type(j[key]) is int, key
    for line in j["stages"] + j["owners"]:
        for key, value in line.items():
            if key not in ("stage", "owner", "forecast", "diagnosis"):
                assert value is None or isinstance(value, int | float), (line, key)
    for month in j["forecast"] + j["owners"][0]["forecast"]:
        assert type(month["deals"]) is int and isinstance(month["expected"], float), month
        assert isinstance(month["target"], float) and isinstance(month["status"], str), month


def test_json_has_the_spec_keys() -> None:
    """The figures object carries every key of reference 6.4 (findings and drafts are added by the run)."""
    j = run([deal("Lead", 1)]).json
    keys = [
        "as_of",
        "period",
        "currency",
        "rows",
        "excluded_rows",
        "stages",
        "open_count",
        "open_amount",
        "weighted_pipeline",
        "won_this_period",
        "expected",
        "quota",
        "remaining",
        "to_generate",
        "attainment",
        "coverage",
        "win_rate",
        "appointments_held",
        "closing_rate",
        "average_won_deal",
        "cycle_days",
        "velocity",
        "owners",
        "diagnosis",
    ]
    assert set(keys) <= set(j)
    assert j["as_of"] == "2026-11-27"
    assert j["period"] == {"start": "2026-10-01", "end": "2026-12-31"}
    assert j["currency"] == "THB"


# ---------------------------------------------------------------- diagnosis


def _many(stage: str, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [deal(stage, 100, expected_close=D(2027, 6, 1), **fields) for _ in range(n)]


@pytest.mark.parametrize(
    ("early", "middle", "late", "fires"),
    [
        (1, 1, 3, True),  # late 3 ≥ 3 and 2 < 3
        (0, 0, 3, True),
        (2, 1, 3, False),  # early + middle 3 is not < 3
        (0, 0, 2, False),  # late 2 < 3
        (0, 3, 4, True),
    ],
)
def test_prospect_more_threshold(early: int, middle: int, late: int, fires: bool) -> None:
    """prospect-more fires when late ≥ 3 and early + middle < late."""
    rows = _many("Lead", early) + _many("Demo", middle) + _many("Proposal", late)
    assert ("prospect-more" in run(rows).codes()) is fires


@pytest.mark.parametrize(
    ("early", "later", "fires"),
    [
        (6, 2, True),  # 6 ≥ 3 × 2 and ≥ 6
        (6, 0, True),  # 6 ≥ 3 × max(1, 0)
        (6, 3, False),  # 6 < 9
        (5, 0, False),  # early < 6
        (9, 3, True),
        (8, 3, False),
    ],
)
def test_present_more_threshold(early: int, later: int, fires: bool) -> None:
    """present-more fires when early ≥ 3 × max(1, middle + late) and early ≥ 6."""
    rows = _many("Qualified", early) + _many("Negotiation", later)
    assert ("present-more" in run(rows).codes()) is fires


def test_won_and_lost_rows_do_not_count_as_stage_groups_for_diagnosis() -> None:
    """Closed rows are not open: 6 early leads against 5 Won/Lost rows still means present-more."""
    rows = _many("Lead", 6) + [deal("Won", 1, closed_on=D(2026, 11, 1)) for _ in range(3)]
    rows += [deal("Lost", 1, closed_on=D(2026, 11, 1)) for _ in range(2)]
    assert "present-more" in run(rows).codes()


def _meetings(held: int, won: int) -> list[dict[str, Any]]:
    """`held` past appointments, `won` of them on Won rows and the rest on Lost rows."""
    appt = D(2026, 11, 2)
    return [deal("Won", 100, appointment=appt, closed_on=D(2026, 11, 5)) for _ in range(won)] + [
        deal("Lost", 100, appointment=appt, closed_on=D(2026, 11, 5)) for _ in range(held - won)
    ]


@pytest.mark.parametrize(
    ("held", "won", "fires"),
    [
        (5, 0, True),  # 5 ≥ 5 and 0 < 0.2
        (10, 1, True),  # 0.1 < 0.2
        (5, 1, False),  # 0.2 is not < 0.2
        (4, 0, False),  # 4 < 5 meetings
    ],
)
def test_closing_skills_default_thresholds(held: int, won: int, fires: bool) -> None:
    """closing-skills fires when appointments_held ≥ 5 and closing_rate < 0.2."""
    assert ("closing-skills" in run(_meetings(held, won)).codes()) is fires


@pytest.mark.parametrize(("held", "won", "fires"), [(2, 0, True), (4, 1, True), (2, 1, False), (1, 0, False)])
def test_closing_skills_configured_thresholds(held: int, won: int, fires: bool) -> None:
    """[diagnosis] min_appointments = 2 and closing_rate_floor = 0.5 move both edges."""
    config = cfg({"diagnosis": {"min_appointments": 2, "closing_rate_floor": 0.5}})
    assert ("closing-skills" in run(_meetings(held, won), config).codes()) is fires


@pytest.mark.parametrize(
    ("due_amount", "target", "fires"),
    [
        (2999, None, True),  # coverage 2999 / 1000 = 2.999 < 3
        (3000, None, False),  # 3.0 is not < 3
        (1499, 1.5, True),
        (1500, 1.5, False),
    ],
)
def test_thin_coverage_threshold(due_amount: int, target: float | None, fires: bool) -> None:
    """thin-coverage fires when coverage < coverage_target (default 3.0, or [diagnosis] coverage_target)."""
    data: dict[str, Any] = {"quota": {"amount": 1000}}
    if target is not None:
        data["diagnosis"] = {"coverage_target": target}
    rows = [deal("Lead", due_amount, expected_close=D(2026, 12, 1))]
    assert ("thin-coverage" in run(rows, cfg(data)).codes()) is fires


@pytest.mark.parametrize(("days", "fires"), [(11, True), (10, False)])
def test_stalled_needs_a_stale_finding(days: int, fires: bool) -> None:
    """stalled fires when a Demo deal (stale after 10 days) was last contacted more than 10 days ago."""
    r = run([deal("Demo", 100, last_contact=AS_OF - days * DAY)])
    assert ("stale" in {rule for _r, rule in r.rules()}) is fires
    assert ("stalled" in r.codes()) is fires


def test_stalled_not_reported_when_stale_rule_is_off() -> None:
    """With [rules] stale = "off" there is no stale finding, so no stalled diagnosis (reference 6.2)."""
    r = run([deal("Demo", 100, last_contact=AS_OF - 30 * DAY)], cfg({"rules": {"stale": "off"}}))
    assert "stale" not in {rule for _r, rule in r.rules()}
    assert "stalled" not in r.codes()


@pytest.mark.parametrize(
    ("budgets", "share", "fires"),
    [
        ((410, 300, 290), None, True),  # weighted 41 > 0.4 × 100
        ((400, 300, 300), None, False),  # 40 is not > 40
        ((510, 250, 240), 0.5, True),  # 51 > 0.5 × 100
        ((500, 300, 200), 0.5, False),
    ],
)
def test_big_deal_threshold(budgets: tuple[int, ...], share: float | None, fires: bool) -> None:
    """big-deal fires when one open deal's weighted amount exceeds big_deal_share of the weighted pipeline."""
    config = cfg({"diagnosis": {"big_deal_share": share}} if share is not None else {})
    rows = [deal("Lead", b) for b in budgets]  # 10 % each: weighted pipeline 100
    assert ("big-deal" in run(rows, config).codes()) is fires


def test_big_deal_uses_weighted_not_raw_amount() -> None:
    """A large Lead (10 %) against a smaller Negotiation (90 %) deal: weights decide, not amounts."""
    # weighted: Lead 2000 × 10 % = 200, Negotiation 1000 × 90 % = 900, Lead 1000 × 10 % = 100 → total 1200
    r = run([deal("Lead", 2000), deal("Negotiation", 1000, expected_close=D(2027, 3, 1)), deal("Lead", 1000)])
    assert "big-deal" in r.codes()  # 900 > 0.4 × 1200 = 480


def test_big_deal_ignores_won_rows_and_empty_pipeline() -> None:
    """A huge Won deal is not an open deal, and a zero weighted pipeline never reports big-deal."""
    r = run([deal("Won", 1_000_000, closed_on=D(2026, 11, 1))] + [deal("Lead", 100) for _ in range(5)])
    assert "big-deal" not in r.codes()
    assert "big-deal" not in run([deal("Lead", None), deal("Lead", 0)]).codes()


def test_diagnosis_order_and_messages() -> None:
    """Several conditions at once come in reference order, each with a one-line, non-empty message."""
    rows = [
        deal("Proposal", 100_000, expected_close=D(2026, 12, 1), last_contact=AS_OF - 30 * DAY),  # stale, big
        deal("Proposal", 100, expected_close=D(2026, 12, 1)),
        deal("Negotiation", 100, expected_close=D(2026, 12, 1)),
    ]
    r = run(rows, cfg({"quota": {"amount": 1_000_000}}))
    assert r.codes() == ["prospect-more", "thin-coverage", "stalled", "big-deal", "famine-ahead"]
    for advice in r.f.diagnosis:
        assert advice.message and "\n" not in advice.message
    assert r.json["diagnosis"][0] == {"code": "prospect-more", "message": r.f.diagnosis[0].message}
    # December, the first month after November, expects 100,000 × 75 % + 100 × 75 % + 100 × 90 % = 75,165,
    # under half of 1,000,000 / 3; no Won deal, so no sales cycle to quote.
    assert r.f.diagnosis[-1].message == (
        "expected sales in 2026-12 are THB 75,165, under half the monthly target THB 333,333.33; prospect now "
        "(how long a deal takes is unknown: no Won deal has both a Created and a Closed On date)"
    )


def test_no_diagnosis_for_a_healthy_pipeline() -> None:
    """A balanced, covered, fresh pipeline gets no diagnosis code."""
    rows = [
        deal("Lead", 100, expected_close=D(2026, 12, 1)),
        deal("Qualified", 100, expected_close=D(2026, 12, 1)),
        deal("Demo", 100, expected_close=D(2026, 12, 1)),
        deal("Proposal", 100, expected_close=D(2026, 12, 1)),
        deal("Negotiation", 100, expected_close=D(2026, 12, 1)),
    ] + [deal("Lead", 200, expected_close=D(2027, month, 10)) for month in (1, 2, 3, 4)]
    # weighted 10 + 20 + 60 + 75 + 90 + 4 × 20 = 335; biggest 90 ≤ 0.4 × 335 = 134; coverage 500 / 100 = 5;
    # early 6 < 3 × 3 later deals; every month after November expects 20 or more, over half of 100 / 3 = 16.67.
    assert run(rows, cfg({"quota": {"amount": 100}})).codes() == []


# ---------------------------------------------------------------- the sample workbook, by hand

SAMPLE = Path(__file__).resolve().parent.parent / "sample_workbooks" / "pipeline.xlsx"
SAMPLE_AS_OF = D(2026, 11, 27)  # quarter 2026-10-01 .. 2026-12-31

# Hand calculation from the rows listed in sample_workbooks/make_sample.py (sheet row, prospect, amount).
# Won this period = Won rows with Closed On inside 2026-10-01 .. 2026-12-31.
HAND_WON_THIS_PERIOD = [
    (2, "บริษัท สยามฟู้ดส์ จำกัด", Decimal(320_000)),  # closed 2026-10-20
    (10, "Lotus Digital Agency", Decimal(45_000)),  # text "฿45,000", closed 2026-11-12
    (32, "Horizon Education Services", Decimal(130_000)),  # closed 2026-11-05
    (37, "บริษัท ไทยเทค โซลูชั่นส์ จำกัด", Decimal(150_000)),  # closed 2026-11-24
]  # = 645,000.  Not counted: row 17 (Won, no Closed On), row 26 (closed 2026-09-18).
HAND_WON_TOTAL = Decimal(645_000)

# Expected from pipeline = open rows with Expected Close <= 2026-12-31: amount × probability.
HAND_EXPECTED = [
    (3, "Bangkok Logistics Co., Ltd.", Decimal("337500")),  # Proposal 450,000 × 75 %
    (4, "บริษัท เชียงใหม่ คอฟฟี่ จำกัด", Decimal("34000")),  # Appointment 85,000 × 40 %
    (5, "Andaman Dive Centers Ltd.", Decimal("72000")),  # Demo 120,000 × 60 %
    (8, "Eastern Seaboard Packaging Co., Ltd.", Decimal("228000")),  # Demo 380,000 × 60 %
    (9, "บริษัท ไทยแพ็ค อินดัสทรี จำกัด (มหาชน)", Decimal("486000")),  # Negotiation 540,000 × 90 %
    (11, "บริษัท กรุงเทพ เมดิคอล ซัพพลาย จำกัด", Decimal("60000")),  # Appointment 150,000 × 40 %
    (13, "บริษัท ภูเก็ต รีสอร์ท แอนด์ สปา จำกัด", Decimal("0")),  # Proposal, budget blank
    (16, "BlueWave Software Co., Ltd.", Decimal("0")),  # Proposal, budget "TBD" (bad-value = empty)
    (18, "บริษัท สุขใจ ฟาร์มา จำกัด", Decimal("378000")),  # Negotiation 420,000 × 90 %, overdue 2026-11-20
    (24, "Krungthep Solar Energy Co., Ltd.", Decimal("108000")),  # Demo "THB 180,000" × 60 %
    (25, "Orchid Cosmetics (Thailand) Co., Ltd.", Decimal("105000")),  # Demo 210,000 × own 50 %
    (30, "Siam Motors Parts Co., Ltd.", Decimal("264000")),  # Negotiation 330,000 × own 80 %
    (31, "บริษัท บ้านสวย พร็อพเพอร์ตี้ จำกัด", Decimal("180000")),  # Proposal 240,000 × 75 %
]  # = 2,252,500.  Not counted: row 15 ("Negociation": unknown stage, excluded, would add 234,000);
#     rows 6, 19, 23, 27, 33, 35 (close in 2027); rows 7, 12, 14, 21, 22, 28, 36, 38, 39, 40 (no close date).
HAND_EXPECTED_TOTAL = Decimal(2_252_500)

HAND_QUOTA = Decimal(3_000_000)  # Quotas tab: Somchai 1,200,000 + Nattaya 1,000,000 + David 800,000
HAND_TO_GENERATE = Decimal(102_500)  # 3,000,000 − 645,000 − 2,252,500

_HAND_PROB = {
    "lead": Decimal("0.10"),
    "qualified": Decimal("0.20"),
    "appointment": Decimal("0.40"),
    "demo": Decimal("0.60"),
    "proposal": Decimal("0.75"),
    "negotiation": Decimal("0.90"),
}


def _hand_money(cell: Any) -> Decimal | None:
    """Budget cell → Decimal; blank or unreadable (e.g. 'TBD') → None."""
    if cell is None:
        return None
    if isinstance(cell, int | float):
        return Decimal(str(cell))
    text = str(cell).replace("฿", "").replace("THB", "").replace(",", "").strip()
    try:
        return Decimal(text)
    except ArithmeticError:
        return None


def _hand_sample() -> tuple[list[tuple[int, str, Decimal]], list[tuple[int, str, Decimal]], Decimal]:
    """A second, deliberately plain reading of the sample with openpyxl: (won rows, expected rows, quota)."""
    import openpyxl

    wb = openpyxl.load_workbook(SAMPLE, read_only=True, data_only=True)
    try:
        raw = list(wb["Pipeline"].iter_rows(values_only=True))
        quota = sum((Decimal(str(q)) for _o, q in list(wb["Quotas"].iter_rows(values_only=True))[1:]), Decimal(0))
    finally:
        wb.close()
    col = {name: i for i, name in enumerate(raw[0])}
    start, end = D(2026, 10, 1), D(2026, 12, 31)
    won: list[tuple[int, str, Decimal]] = []
    expected: list[tuple[int, str, Decimal]] = []
    for number, cells in enumerate(raw[1:], 2):
        prospect, stage = cells[col["Prospect"]], str(cells[col["Stage"]]).strip().lower()
        amount = _hand_money(cells[col["Budget"]]) or Decimal(0)
        closed, close_by = cells[col["Closed On"]], cells[col["Expected Close"]]
        if stage == "won" and closed is not None and start <= closed.date() <= end:
            won.append((number, prospect, amount))
        elif stage in _HAND_PROB and close_by is not None and close_by.date() <= end:
            own = cells[col["Probability"]]
            prob = _HAND_PROB[stage] if own is None else Decimal(str(own)) / (1 if own <= 1 else 100)
            expected.append((number, prospect, amount * prob))
    return won, expected, quota


def _read_sample(config: Config) -> tuple[list[Row], Any, Quotas]:
    """The sample through sheetsync's reader: open_excel when the package writer exists, else calamine rows."""
    import importlib.util

    if importlib.util.find_spec("sheetsync.sources.ooxml.write") is not None:
        from sheetsync.sources.excel import open_excel

        book = open_excel(SAMPLE)
        try:
            pipeline, quota_rows = list(book.rows("Pipeline")), list(book.rows("Quotas"))
        finally:
            book.close()
    else:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(SAMPLE))
        try:

            def tab(title: str) -> list[tuple[int, list[Any]]]:
                sheet = wb.get_sheet_by_name(title)
                assert sheet.start in (None, (0, 0))
                return [(i, list(v)) for i, v in enumerate(sheet.to_python(skip_empty_area=False), 1)]

            pipeline, quota_rows = tab("Pipeline"), tab("Quotas")
        finally:
            wb.close()
    layout, rows = read_rows("Pipeline", pipeline, config)
    return rows, layout, read_quotas("Quotas", quota_rows, config)


def test_sample_hand_calculation_matches_workbook_cells() -> None:
    """The row-by-row hand lists above are what a plain openpyxl reading of the sample workbook gives."""
    won, expected, quota = _hand_sample()
    assert won == HAND_WON_THIS_PERIOD
    assert expected == HAND_EXPECTED
    assert quota == HAND_QUOTA
    assert sum(a for *_x, a in HAND_WON_THIS_PERIOD) == HAND_WON_TOTAL
    assert sum(a for *_x, a in HAND_EXPECTED) == HAND_EXPECTED_TOTAL
    assert HAND_QUOTA - HAND_WON_TOTAL - HAND_EXPECTED_TOTAL == HAND_TO_GENERATE


def test_sample_headline_numbers_equal_hand_calculation() -> None:
    """sheetsync's won this period, expected from pipeline and to generate for the sample equal the hand calculation."""
    config = Config()
    rows, layout, quotas = _read_sample(config)
    checked = check(rows, layout, config, SAMPLE_AS_OF, quotas)
    f = compute(rows, checked, config, SAMPLE_AS_OF, quotas)
    assert (f.period_start, f.period_end) == (D(2026, 10, 1), D(2026, 12, 31))
    assert f.won_this_period == HAND_WON_TOTAL  # 645,000
    assert f.expected == HAND_EXPECTED_TOTAL  # 2,252,500
    assert f.quota == HAND_QUOTA  # 3,000,000
    assert f.to_generate == HAND_TO_GENERATE  # 102,500
    assert (f.rows, f.excluded_rows) == (40, 2)  # row 15 (unknown stage) and row 28 (duplicate of row 3)
    j = json.loads(json.dumps(f.as_json()))
    assert (j["won_this_period"], j["expected"], j["to_generate"]) == (645000.0, 2252500.0, 102500.0)
    assert [a["code"] for a in j["diagnosis"]] == ["thin-coverage", "stalled", "famine-ahead"]  # as its docstring says


# ---------------------------------------------------------------- issue 13: the team's own sheet


def test_won_rows_are_dated_by_expected_close_when_there_is_no_closed_on_column() -> None:
    """Issue 13: without a Closed On column, Won this period and the sales cycle use Expected Close, said once."""
    deals = [
        deal("Won", 100, expected_close=D(2026, 10, 1), created=D(2026, 9, 1)),  # in, 30 days
        deal("Won", 200, expected_close=D(2026, 12, 31), created=D(2026, 12, 1)),  # in, 30 days
        deal("Won", 400, expected_close=D(2026, 9, 30), created=D(2026, 9, 10)),  # last quarter, 20 days
        deal("Won", 800),  # no date at all
        deal("Lost", 1600, expected_close=D(2026, 11, 1)),
    ]
    r = run(deals, quotas={"Alice": 1000}, drop=["Closed On"])
    assert r.f.won_this_period == Decimal(300) and r.owner("Alice").won_this_period == Decimal(300)
    assert r.f.attainment == Decimal("0.3")
    assert r.f.cycle_days == Decimal(80) / 3
    assert r.f.notes == [
        "Won deals dated by Expected Close: there is no Closed On column; "
        "1 Won row has no Expected Close and is not won this period"
    ]
    assert r.json["notes"] == r.f.notes


def test_with_a_closed_on_column_an_empty_cell_is_not_won_this_period() -> None:
    """With the column there, Expected Close never dates a Won row: an empty Closed On is a closed-date error."""
    r = run([deal("Won", 100, expected_close=D(2026, 11, 1)), deal("Won", 50, closed_on=D(2026, 11, 2))])
    assert r.f.won_this_period == Decimal(50) and r.f.notes == [] and r.json["notes"] == []
    assert (2, "closed-date") in r.rules()


def test_paused_deals_are_in_the_stage_table_and_rows_only() -> None:
    """Issue 13: On Hold deals count in their stage line and in rows, and in no other figure or rule."""
    on_hold = deal(
        "On Hold",
        5000,
        expected_close=D(2026, 11, 1),
        probability=90,
        appointment=D(2026, 11, 20),
        last_contact=D(2026, 1, 1),
        next_follow_up=None,
        decision_maker="no",
        owner="Bob",
    )
    r = run([deal("Lead", 100, expected_close=D(2026, 12, 1)), on_hold], quotas={"Alice": 1000})
    line = r.stage("On Hold")
    assert (line.count, line.amount, line.weighted, line.probability) == (1, Decimal(5000), 0, 0)
    assert (r.f.rows, r.f.excluded_rows, r.f.open_count, r.f.open_amount) == (2, 0, 1, Decimal(100))
    assert (r.f.weighted_pipeline, r.f.expected, r.f.appointments_held) == (Decimal(10), Decimal(10), 0)
    assert r.f.coverage == Decimal(100) / Decimal(1000)
    assert r.f.win_rate is None and [o.owner for o in r.f.owners] == ["Alice"]
    assert r.rules() == [] and r.f.group_counts["paused"] == 1


def test_later_duplicates_count_in_no_figure() -> None:
    """Issue 13: a prospect entered twice is counted once: the later row is only in rows and excluded_rows."""
    twice = deal("Appointment", 1000, expected_close=D(2026, 12, 1), email="a@x.example", prospect="Acme")
    r = run([twice, twice, {**twice, "Email": "b@x.example"}])
    assert (r.f.rows, r.f.excluded_rows, r.stage("Appointment").count) == (3, 1, 2)
    assert r.f.open_amount == Decimal(2000) and r.f.expected == Decimal(800)
    assert r.rules() == [(3, "duplicate")]
