"""The forecast by month, famine-ahead and each owner's own advice (reference 6.1 "Forecast by month", 6.2; issue 14).

Every expected number was worked out by hand from the rows of the test (the
arithmetic is in the comments), never by calling the code under test.  Rows
go the real way: raw cells → read_rows → check → compute (test_figures.run),
and the CLI tests run the real command on real workbooks.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import AS_OF as AS_OF_TEXT
from conftest import REPO, SAMPLE
from test_figures import AS_OF, DAY, D, cfg, deal, run
from test_sync import run_on_terminal

from sheetsync.config import Forecast, parse_config
from sheetsync.errors import ConfigError
from sheetsync.forecast import ForecastMonth
from sheetsync.report import forecast_lines

Q = {"quota": {"amount": 3000}}  # a quarter's quota: a target of 1,000 a month


def months(r: Any, owner: str | None = None) -> list[tuple[str, int, Decimal]]:
    """(month, deals, expected) of the team's strip, or of one owner's."""
    strip = r.f.forecast if owner is None else r.owner(owner).forecast
    return [(m.month, m.deals, m.expected) for m in strip]


def sure(amount: Any, close: dt.date, **fields: Any) -> dict[str, Any]:
    """An open deal whose weighted amount is its amount: a Negotiation with its own Probability of 100 %."""
    return deal("Negotiation", amount, expected_close=close, probability=100, **fields)


# ---------------------------------------------------------------- the months


def test_six_months_from_the_month_of_as_of_by_default() -> None:
    """Six entries, 2026-11 … 2027-04, across the year's end; an empty pipeline expects 0 in each."""
    r = run([deal("Lead", 100)])  # no expected close: in no month
    assert months(r) == [(m, 0, Decimal(0)) for m in ("2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04")]


@pytest.mark.parametrize(
    ("close", "month"),
    [
        (D(2026, 11, 27), "2026-11"),  # as-of itself
        (D(2026, 11, 30), "2026-11"),  # the last day of the month
        (D(2026, 12, 1), "2026-12"),  # the next day is the next month
        (D(2026, 12, 31), "2026-12"),
        (D(2027, 1, 1), "2027-01"),  # 31 Dec → 1 Jan: January of the next year
        (D(2027, 4, 30), "2027-04"),  # the sixth month's last day
    ],
)
def test_a_deal_counts_in_the_month_of_its_expected_close(close: dt.date, month: str) -> None:
    """A deal lands in the calendar month of its expected close date, and in no other."""
    r = run([sure(700, close)])
    assert [(m, n, x) for m, n, x in months(r) if n] == [(month, 1, Decimal(700))]


def test_december_as_of_rolls_the_strip_into_the_next_year() -> None:
    """As of 31 December the strip is 2026-12 … 2027-05; a deal due 1 January is January's, not December's."""
    r = run([sure(100, D(2027, 1, 1)), sure(50, D(2026, 12, 31))], as_of=D(2026, 12, 31))
    assert [m for m, _n, _x in months(r)] == ["2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "2027-05"]
    assert months(r)[:2] == [("2026-12", 1, Decimal(50)), ("2027-01", 1, Decimal(100))]


def test_overdue_deals_count_in_the_first_month() -> None:
    """Deals whose expected close is before as-of, this month or months ago, are in the first month."""
    rows = [sure(1, D(2026, 11, 26)), sure(10, D(2026, 6, 1)), sure(100, D(2025, 12, 31)), sure(1000, AS_OF)]
    r = run([*rows, sure(10000, D(2026, 10, 31))])
    assert months(r)[0] == ("2026-11", 5, Decimal(11111))  # 1 + 10 + 100 + 1,000 + 10,000
    assert sum(n for _m, n, _x in months(r)) == 5  # and in no other month


def test_deals_past_the_last_month_are_left_out_until_the_strip_is_longer() -> None:
    """A deal due in 2027-05 is past six months; with [forecast] months = 7 it is the seventh."""
    rows = [sure(100, D(2027, 5, 1))]
    assert sum(n for _m, n, _x in months(run(rows))) == 0
    longer = run(rows, cfg({"forecast": {"months": 7}}))
    assert months(longer)[-1] == ("2027-05", 1, Decimal(100)) and len(months(longer)) == 7
    assert [m for m, _n, _x in months(run(rows, cfg({"forecast": {"months": 1}})))] == ["2026-11"]


def test_only_open_dated_deals_count() -> None:
    """Rows without an expected close, Won, Lost and paused (On Hold) rows and excluded rows are in no month."""
    rows = [
        deal("Proposal", 1000, expected_close=None),  # undated
        deal("Won", 1000, expected_close=D(2026, 12, 1), closed_on=D(2026, 11, 20)),
        deal("Lost", 1000, expected_close=D(2026, 12, 1), closed_on=D(2026, 11, 20)),
        deal("Negociation", 1000, expected_close=D(2026, 12, 1)),  # unknown stage: excluded
        deal("On Hold", 1000, expected_close=D(2026, 12, 1), probability=90),  # paused: never expected
        deal("Demo", 1000, expected_close=D(2026, 12, 1)),  # the one that counts: 1,000 × 60 %
    ]
    r = run(rows)
    assert [(m, n, x) for m, n, x in months(r) if n] == [("2026-12", 1, Decimal(600))]


def test_expected_is_weighted_with_the_rows_own_probability_and_exact() -> None:
    """Weighted as everywhere (own probability, else the stage's) and summed exactly: 0.1 + 0.2 is 0.3."""
    rows = [
        deal("Proposal", 1000, expected_close=D(2026, 12, 5)),  # 750
        deal("Proposal", 1000, expected_close=D(2026, 12, 6), probability=10),  # 100
        sure(Decimal("0.1"), D(2027, 1, 2)),
        sure(Decimal("0.2"), D(2027, 1, 3)),
    ]
    r = run(rows)
    assert months(r)[1:3] == [("2026-12", 2, Decimal(850)), ("2027-01", 2, Decimal("0.3"))]
    assert r.json["forecast"][2]["expected"] == 0.3


def test_this_periods_months_add_up_to_expected() -> None:
    """November and December (the rest of Q4) hold exactly the deals of `expected`, overdue ones included."""
    rows = [deal("Negotiation", 1000, expected_close=D(2026, 11, 1)), deal("Demo", 333, expected_close=D(2026, 12, 31))]
    rows += [deal("Lead", 5000, expected_close=D(2027, 1, 1))]
    r = run(rows)
    assert months(r)[0][2] + months(r)[1][2] == r.f.expected == Decimal("1099.8")  # 900 + 199.8


def test_the_example_of_docs_figures_md() -> None:
    """docs/figures.md "Forecast by month", its example: the quarter's strip, then the same deals by the year."""
    rows = [
        deal("Negotiation", 1000, expected_close=D(2026, 11, 20)),  # overdue: November 900
        deal("Demo", 1000, expected_close=D(2026, 12, 1)),  # December 600
        deal("Proposal", 1000, expected_close=D(2026, 12, 31)),  # December 750
        deal("Lead", 4000, expected_close=D(2027, 1, 15)),  # January 400
    ]
    quarter = run(rows, cfg(Q)).f.forecast
    assert [(m.expected, m.status) for m in quarter] == [
        (Decimal(900), "steady"),
        (Decimal(1350), "steady"),
        (Decimal(400), "famine"),
        (Decimal(0), "famine"),
        (Decimal(0), "famine"),
        (Decimal(0), "famine"),
    ]
    year = run(rows, cfg({**Q, "pipeline": {"period": "year"}})).f.forecast
    assert [(m.target, m.status) for m in year[:3]] == [
        (Decimal(250), "feast"),
        (Decimal(250), "feast"),
        (Decimal(250), "steady"),
    ]


# ---------------------------------------------------------------- target and status


@pytest.mark.parametrize(
    ("period", "fiscal", "as_of", "target"),
    [
        ("quarter", 1, D(2026, 11, 27), Decimal(400)),  # 1,200 / 3
        ("month", 1, D(2026, 11, 27), Decimal(1200)),  # 1,200 / 1
        ("year", 1, D(2026, 11, 27), Decimal(100)),  # 1,200 / 12
        ("quarter", 4, D(2027, 2, 10), Decimal(400)),  # fiscal Q4 Jan–Mar 2027: 3 months
        ("year", 4, D(2027, 2, 10), Decimal(100)),  # fiscal year Apr 2026 – Mar 2027: 12 months
    ],
)
def test_target_is_the_quota_spread_over_the_periods_months(
    period: str, fiscal: int, as_of: dt.date, target: Decimal
) -> None:
    """target = quota ÷ months in the period (1, 3 or 12), whatever the fiscal year's first month."""
    config = cfg({"quota": {"amount": 1200}, "pipeline": {"period": period, "fiscal_year_start_month": fiscal}})
    r = run([deal("Lead", 1)], config, as_of=as_of)
    assert [m.target for m in r.f.forecast] == [target] * 6
    assert r.f.forecast[0].month == f"{as_of.year}-{as_of.month:02d}"


def test_a_target_that_does_not_divide_is_exact_until_output() -> None:
    """1,000 / 3 is kept to every digit the cents need and shown as 333.33; 2,000 / 3 as 666.67."""
    r = run([deal("Lead", 1)], cfg({"quota": {"amount": 1000}}))
    assert r.f.forecast[0].target == Decimal(1000) / 3
    assert r.json["forecast"][0]["target"] == 333.33
    assert run([deal("Lead", 1)], cfg({"quota": {"amount": 2000}})).json["forecast"][0]["target"] == 666.67


@pytest.mark.parametrize(
    ("amount", "status"),
    [
        (Decimal("499.99"), "famine"),  # under 0.5 × 1,000
        (Decimal(500), "steady"),  # exactly half is not famine
        (Decimal(2000), "steady"),  # exactly twice is not feast
        (Decimal("2000.01"), "feast"),
    ],
)
def test_status_edges_with_the_default_shares(amount: Decimal, status: str) -> None:
    """famine below famine_share (0.5) × target, feast above feast_share (2.0) × target, else steady."""
    r = run([sure(amount, D(2026, 12, 10))], cfg(Q))
    assert (r.f.forecast[1].expected, r.f.forecast[1].status) == (amount, status)


def test_status_edge_is_exact_when_the_target_does_not_divide() -> None:
    """Quota 1,000 a quarter: half the target is 166.666…; 166.67 is steady and 166.66 is famine."""
    config = cfg({"quota": {"amount": 1000}})
    assert run([sure(Decimal("166.67"), D(2026, 12, 10))], config).f.forecast[1].status == "steady"
    assert run([sure(Decimal("166.66"), D(2026, 12, 10))], config).f.forecast[1].status == "famine"


def test_configured_shares_move_the_edges() -> None:
    """famine_share 0.25 and feast_share 1.5 of a 1,000 target: 249 famine, 250 steady, 1,500 steady, 1,501 feast."""
    config = cfg({**Q, "forecast": {"famine_share": 0.25, "feast_share": 1.5}})
    rows = [sure(249, D(2026, 12, 1)), sure(250, D(2027, 1, 1)), sure(1500, D(2027, 2, 1)), sure(1501, D(2027, 3, 1))]
    assert [m.status for m in run(rows, config).f.forecast[1:5]] == ["famine", "steady", "steady", "feast"]


def test_no_quota_means_null_targets_and_statuses_and_no_famine_ahead() -> None:
    """Without any quota the strip still has deals and expected amounts, but no target, status or famine-ahead."""
    r = run([sure(100, D(2026, 12, 1))])
    assert [(m["target"], m["status"]) for m in r.json["forecast"]] == [(None, None)] * 6
    assert r.json["forecast"][1]["expected"] == 100.0
    assert "famine-ahead" not in r.codes()
    assert all(o["forecast"][1]["status"] is None for o in r.json["owners"])


def test_each_owner_is_measured_against_their_own_quota() -> None:
    """Alice (quota 600: 200 a month) and Bob (no Quotas row: null targets) against a team quota of 3,000."""
    rows = [sure(150, D(2026, 12, 1), owner="Alice"), sure(90, D(2026, 12, 2), owner="Bob")]
    r = run(rows, cfg(Q), quotas={"Alice": 600})
    alice, bob = r.owner("Alice").forecast[1], r.owner("Bob").forecast[1]
    assert (alice.deals, alice.expected, alice.target, alice.status) == (1, Decimal(150), Decimal(200), "steady")
    assert (bob.deals, bob.expected, bob.target, bob.status) == (1, Decimal(90), None, None)
    team = r.f.forecast[1]  # [quota] amount 3,000 is the team's: target 1,000; 240 < 500
    assert (team.deals, team.expected, team.target, team.status) == (2, Decimal(240), Decimal(1000), "famine")


def test_an_owner_with_a_quota_and_no_rows_starves_every_month() -> None:
    """Carol is on the Quotas tab only: six famine months of 0 deals, and her advice says so."""
    r = run([sure(100, D(2026, 12, 1))], quotas={"Alice": 300, "Carol": 600})
    carol = r.owner("Carol")
    assert [(m.deals, m.expected, m.status) for m in carol.forecast] == [(0, Decimal(0), "famine")] * 6
    assert [a.code for a in carol.diagnosis] == ["thin-coverage", "famine-ahead"]  # coverage 0 / 600


def test_owners_months_add_up_to_the_teams() -> None:
    """Each month's deals and expected amount for the team are the sums over the owners, (none) included."""
    rows = [
        sure(Decimal("0.1"), D(2026, 12, 1), owner="Alice"),
        sure(Decimal("0.2"), D(2026, 12, 2), owner="bob"),
        sure(Decimal("0.3"), D(2026, 11, 2), owner="Bob"),  # the same owner as "bob"
        sure(Decimal("0.4"), D(2027, 1, 2), owner=None),
    ]
    r = run(rows)
    for k, team in enumerate(r.f.forecast):
        assert team.deals == sum(o.forecast[k].deals for o in r.f.owners)
        assert team.expected == sum((o.forecast[k].expected for o in r.f.owners), Decimal(0))
    assert months(r)[:3] == [
        ("2026-11", 1, Decimal("0.3")),
        ("2026-12", 2, Decimal("0.3")),
        ("2027-01", 1, Decimal("0.4")),
    ]


def test_forecast_json_keys() -> None:
    """`forecast` and `owners[].forecast` entries have exactly month, deals, expected, target and status."""
    j = run([sure(100, D(2026, 12, 1))], cfg(Q), quotas={"Alice": 300}).json
    assert j["forecast"][1] == {"month": "2026-12", "deals": 1, "expected": 100.0, "target": 1000.0, "status": "famine"}
    alice = j["owners"][0]
    assert alice["forecast"][1] == {
        "month": "2026-12",
        "deals": 1,
        "expected": 100.0,
        "target": 100.0,
        "status": "steady",
    }
    assert {"coverage", "forecast", "diagnosis"} <= set(alice)
    assert list(j).index("forecast") < list(j).index("owners")


# ---------------------------------------------------------------- famine-ahead


def test_famine_ahead_needs_a_famine_month_after_the_first() -> None:
    """A lean current month alone is no famine-ahead (too late to prospect for it); a lean later month is."""
    spread = [sure(600, D(2026, 12, 1) + 31 * k * DAY) for k in range(5)]  # 600 in each of Dec … Apr
    assert months(run(spread, cfg(Q)))[0][2] == 0  # November: famine, and nothing else
    assert "famine-ahead" not in run(spread, cfg(Q)).codes()
    lean = [*spread[:2], sure(499, D(2027, 2, 1)), *spread[3:]]  # February 499: under half of 1,000
    r = run(lean, cfg(Q))
    assert [m.status for m in r.f.forecast] == ["famine", "steady", "steady", "famine", "steady", "steady"]
    assert r.codes()[-1] == "famine-ahead"
    assert r.f.diagnosis[-1].message.startswith("expected sales in 2027-02 are THB 499, under half the monthly target")


def test_famine_ahead_quotes_the_teams_sales_cycle() -> None:
    """Two Won deals of 30 and 90 days: "about 60 days"; the owner hears the team's cycle too, in their words."""
    rows = [
        deal("Won", 1, closed_on=D(2026, 10, 31), created=D(2026, 10, 1)),  # 30 days
        deal("Won", 1, closed_on=D(2026, 11, 20), created=D(2026, 8, 22), owner="Bob"),  # 90 days
        sure(1500, D(2026, 12, 1)),
    ]
    r = run(rows, cfg(Q), quotas={"Alice": 3000})
    assert r.f.diagnosis[-1].message == (
        "expected sales in 2027-01 are THB 0, under half the monthly target THB 1,000; "
        "deals take about 60 days to close, so prospect now"
    )
    assert r.owner("Alice").diagnosis[-1].message == (
        "your expected sales in 2027-01 are THB 0, under half your monthly target THB 1,000; "
        "deals take about 60 days to close, so prospect now"
    )


def test_famine_ahead_names_a_configured_share_and_cents() -> None:
    """famine_share 0.3 reads "under 30% of"; a target with cents shows them."""
    config = cfg({"quota": {"amount": 1000}, "forecast": {"famine_share": 0.3}})
    r = run([sure(Decimal("99.5"), D(2026, 12, 1))], config)  # 99.50 < 0.3 × 333.33
    assert r.f.diagnosis[-1].message.startswith(
        "expected sales in 2026-12 are THB 99.50, under 30% of the monthly target THB 333.33; prospect now"
    )


# ---------------------------------------------------------------- each owner's diagnosis


def test_one_reps_late_deals_get_prospect_more_while_the_team_does_not() -> None:
    """Bob's four Proposals with nothing early behind them: Bob hears prospect-more; Alice's five Leads hide it
    from the team (late 4, earlier 5)."""
    rows = [deal("Lead", 100, owner="Alice") for _ in range(5)]
    rows += [deal("Proposal", 100, owner="Bob", expected_close=D(2027, 3, 1)) for _ in range(4)]
    r = run(rows)
    assert "prospect-more" not in r.codes()
    bob = r.owner("Bob").diagnosis
    assert bob[0].code == "prospect-more"
    assert bob[0].message == (
        "you have 4 deals near closing but only 0 earlier in your pipeline — "
        "book prospecting calls now so your next period isn't empty"
    )
    assert "prospect-more" not in [a.code for a in r.owner("Alice").diagnosis]


def test_stalled_is_the_owners_own_stale_rows() -> None:
    """Alice's two quiet deals give her `stalled` (counted); Bob, whose deals are fresh, gets none."""
    old = AS_OF - 30 * DAY
    rows = [deal("Demo", 100, last_contact=old), deal("Demo", 100, last_contact=old), deal("Demo", 100, owner="Bob")]
    r = run(rows)
    assert "stalled" in r.codes()
    alice = {a.code: a.message for a in r.owner("Alice").diagnosis}
    assert alice["stalled"] == "2 of your deals have gone quiet — offer them a free trial or demo (see Checks: stale)"
    assert "stalled" not in [a.code for a in r.owner("Bob").diagnosis]
    one = {a.code: a.message for a in run([deal("Demo", 100, last_contact=old)]).owner("Alice").diagnosis}
    assert (
        one["stalled"]
        == "1 of your deals has gone quiet — offer that prospect a free trial or demo (see Checks: stale)"
    )


def test_big_deal_is_measured_against_the_owners_own_pipeline() -> None:
    """Alice's 500 of her 700 weighted (71%) is big for her; against the team's 5,700 it is not (9%)."""
    rows = [sure(500, D(2027, 3, 1)), sure(200, D(2027, 3, 1))]
    rows += [sure(1000, D(2027, 3, 1), owner="Bob") for _ in range(5)]
    r = run(rows)
    assert "big-deal" not in r.codes()
    alice = {a.code: a.message for a in r.owner("Alice").diagnosis}
    assert alice["big-deal"] == "one deal carries 71% of your weighted pipeline — hedge with several smaller deals"
    assert "big-deal" not in [a.code for a in r.owner("Bob").diagnosis]  # 1,000 of 5,000: 20 %


def test_thin_coverage_is_against_the_owners_remaining_quota() -> None:
    """Alice: 2,000 due against 1,000 left (2.0×, thin); Bob: 3,000 due against 1,000 left (3.0×, not thin)."""
    rows = [
        deal("Won", 500, closed_on=D(2026, 11, 1)),  # Alice won 500 of her 1,500
        deal("Lead", 2000, expected_close=D(2026, 12, 1)),
        deal("Lead", 3000, expected_close=D(2026, 12, 1), owner="Bob"),
    ]
    r = run(rows, quotas={"Alice": 1500, "Bob": 1000})
    alice, bob = r.owner("Alice"), r.owner("Bob")
    assert (alice.coverage, bob.coverage) == (Decimal(2), Decimal(3))
    assert {a.code: a.message for a in alice.diagnosis}["thin-coverage"] == (
        "your pipeline due this period covers 2.0× what is left of your quota (target 3×) — generate more pipeline"
    )
    assert "thin-coverage" not in [a.code for a in bob.diagnosis]


def test_closing_skills_and_present_more_per_owner() -> None:
    """Bob held 5 meetings and won none; Alice has 6 Leads and nothing later: each hears their own advice."""
    met = D(2026, 11, 2)
    rows = [deal("Lost", 100, appointment=met, closed_on=D(2026, 11, 5), owner="Bob") for _ in range(5)]
    rows += [deal("Won", 100, appointment=met, closed_on=D(2026, 11, 5), owner="Carol") for _ in range(5)]
    rows += [deal("Lead", 100) for _ in range(6)]
    r = run(rows)
    assert "closing-skills" not in r.codes()  # the team: 5 of 10 meetings won
    by = {o.owner: {a.code: a.message for a in o.diagnosis} for o in r.f.owners}
    assert by["Bob"]["closing-skills"] == (
        "you held 5 meetings but closed only 0% of them — work on closing: ask for the order and handle objections"
    )
    assert by["Alice"]["present-more"] == (
        "you have 6 early leads but only 0 presentations or proposals — cut cold calls, "
        "research the leads you have and present to them"
    )
    assert "closing-skills" not in by["Carol"] and "present-more" not in by["Bob"]
    assert r.f.appointments_held == 10  # the team's count is the owners' together


def test_team_advice_keeps_its_words() -> None:
    """The team list is worded as before issue 14, never "you"."""
    rows = [deal("Proposal", 100, expected_close=D(2027, 3, 1)) for _ in range(3)]
    assert run(rows).f.diagnosis[0].message == (
        "3 deals are near closing but only 0 are earlier in the pipeline — "
        "book prospecting calls now so next period isn't empty"
    )


# ---------------------------------------------------------------- [forecast] in sheetsync.toml


def test_forecast_config_defaults_and_values() -> None:
    """[forecast] months, famine_share and feast_share are read; left out, they are 6, 0.5 and 2.0."""
    assert cfg().forecast == Forecast(6, 0.5, 2.0)
    config = cfg({"forecast": {"months": 24, "famine_share": 0, "feast_share": 3}})
    assert (config.forecast.months, config.forecast.famine_share, config.forecast.feast_share) == (24, 0.0, 3.0)


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ({"months": 0}, "forecast.months", "between 1 and 24"),
        ({"months": 25}, "forecast.months", "between 1 and 24"),
        ({"months": 2.5}, "forecast.months", "whole number"),
        ({"months": "6"}, "forecast.months", "whole number"),
        ({"famine_share": -0.1}, "forecast.famine_share", "≥ 0"),
        ({"feast_share": "double"}, "forecast.feast_share", "a number"),
        ({"famine_share": True}, "forecast.famine_share", "a number"),
        ({"famine_share": 2.0}, "forecast.famine_share", "must be below feast_share"),
        ({"feast_share": 0.4}, "forecast.feast_share", "must be below feast_share"),
        ({"month": 6}, "'forecast.month'", "did you mean 'months'"),
    ],
)
def test_bad_forecast_config_names_the_key(table: dict[str, Any], key: str, says: str) -> None:
    """Each bad [forecast] value is a ConfigError (exit 2) naming the key, the file and what is wrong."""
    with pytest.raises(ConfigError) as info:
        parse_config({"forecast": table}, Path("x/sheetsync.toml"))
    assert info.value.exit_code == 2
    assert key in info.value.message and says in info.value.message and "sheetsync.toml" in info.value.message


def test_forecast_must_be_a_table() -> None:
    """`forecast = 6` is refused, naming [forecast]."""
    with pytest.raises(ConfigError, match=r"forecast: expected a table \(\[forecast\]\)"):
        parse_config({"forecast": 6}, Path("x/sheetsync.toml"))


# ---------------------------------------------------------------- the terminal strip


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLE, tmp_path / "pipeline.xlsx"))


def test_summary_prints_the_forecast_strip(sample: Path, run_cli: Callable[..., Result]) -> None:
    """The report's strip for the sample: one line per month, amount, target, a bar to scale, the status."""
    result = run_cli("summary", str(sample), "--as-of", AS_OF_TEXT, "--dry-run")
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index(
        "Forecast by month (THB: open deals weighted, by expected close; overdue deals in the first month)"
    )
    # The numbers are docs/figures.md's worked example; the scale is December's 1,874,500 = 24 blocks,
    # so the 1,000,000 target is at block 13 and 378,000 fills 5.
    assert lines[start + 1 : start + 8] == [
        "  Month     Deals          Expected            Target",
        "  2026-11       1        378,000.00      1,000,000.00  █████        │            famine ◀",
        "  2026-12      12      1,874,500.00      1,000,000.00  ████████████████████████  steady",
        "  2027-01       5        133,000.00      1,000,000.00  ██           │            famine ◀",
        "  2027-02       1         11,000.00      1,000,000.00               │            famine ◀",
        "  2027-03       0              0.00      1,000,000.00               │            famine ◀",
        "  2027-04       0              0.00      1,000,000.00               │            famine ◀",
    ]
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_each_owner_gets_a_strip_and_advice_under_their_name(sample: Path, run_cli: Callable[..., Result]) -> None:
    """Under each owner: their quota and coverage, their own months and their advice in their words."""
    out = run_cli("summary", str(sample), "--as-of", AS_OF_TEXT, "--dry-run").stdout
    lines = out.splitlines()
    at = lines.index("Nattaya (quota THB 1,000,000.00, coverage 1.2×)")
    assert lines[at + 2] == "  2026-11       1        378,000.00        333,333.33  ████████████████████████  steady"
    assert lines[at + 8 : at + 11] == [
        "  thin-coverage: your pipeline due this period covers 1.2× what is left of your quota (target 3×) — "
        "generate more pipeline",
        "  big-deal: one deal carries 49% of your weighted pipeline — hedge with several smaller deals",
        "  famine-ahead: your expected sales in 2027-01 are THB 0, under half your monthly target THB 333,333.33; "
        "deals take about 60 days to close, so prospect now",
    ]
    assert (
        lines.index("David (quota THB 800,000.00, coverage 1.4×)")
        < at
        < lines.index("Somchai (quota THB 1,200,000.00, coverage 1.4×)")
    )


def test_the_strip_rounds_half_up_and_marks_only_famine() -> None:
    """Amounts in the strip are rounded half-up to the cent; only a famine month gets the marker and the highlight."""
    strip = [
        ForecastMonth("2026-11", 1, Decimal("0.125"), Decimal("1000.005"), "famine"),
        ForecastMonth("2026-12", 2, Decimal("2.675"), Decimal("1000.005"), "steady"),
    ]
    plain = forecast_lines(strip)
    bar = " " * 23 + "│"  # the target is the scale: its tick is the bar's last place
    assert plain[1] == f"  2026-11       1              0.13          1,000.01  {bar}  famine ◀"
    assert plain[2] == f"  2026-12       2              2.68          1,000.01  {bar}  steady"
    loud = forecast_lines(strip, lambda text: f"<{text}>")
    assert loud[1].endswith("<famine ◀>") and loud[2] == plain[2]


def test_without_a_quota_the_strip_shows_dashes(
    tmp_path: Path, make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """No quota: targets and statuses are "–", the bar is still drawn to scale, and no month is marked."""
    rows = [
        ["Acme", "Ann", "a@x.example", "Alice", "Proposal", "yes", 1000, D(2026, 12, 1), AS_OF, AS_OF + 7 * DAY],
        ["Beta", "Ben", "b@x.example", "Alice", "Proposal", "yes", 2000, D(2027, 1, 5), AS_OF, AS_OF + 7 * DAY],
    ]
    path = make_workbook(rows)
    out = run_cli("summary", str(path), "--as-of", AS_OF_TEXT, "--dry-run").stdout
    assert "  2026-12       1            750.00                 –  ████████████              –" in out.splitlines()
    assert "  2027-01       1          1,500.00                 –  ████████████████████████  –" in out.splitlines()
    assert "famine" not in out
    assert "Alice (no quota)" in out


def test_json_has_no_colour_and_the_strip(sample: Path, run_cli: Callable[..., Result]) -> None:
    """`summary --json` carries forecast and owners' forecast, coverage and diagnosis, and nothing of the terminal."""
    result = run_cli("summary", str(sample), "--as-of", AS_OF_TEXT, "--dry-run", "--json")
    assert "\x1b[" not in result.stdout and "◀" not in result.stdout
    data = json.loads(result.stdout)
    assert len(data["forecast"]) == 6
    for owner in data["owners"]:
        assert len(owner["forecast"]) == 6 and owner["diagnosis"] and owner["coverage"] is not None


def test_famine_months_are_red_on_a_terminal(sample: Path) -> None:
    """On a real terminal the famine marker is styled (ANSI red, bold); the other months are not."""
    code, text, stderr = run_on_terminal(sample)
    assert code == 1, stderr
    famine = [line for line in text.splitlines() if "famine ◀" in line]
    assert famine and all("\x1b[31m\x1b[1mfamine ◀\x1b[0m" in line for line in famine)
    steady = [line for line in text.splitlines() if line.rstrip().endswith("steady")]
    assert steady and not any("\x1b[" in line for line in steady)


# ---------------------------------------------------------------- docs/figures.md's worked example


def _doc_table(heading: str) -> list[list[str]]:
    """The first Markdown table under ``heading`` in docs/figures.md, as rows of cells (its header left out)."""
    text = (REPO / "docs" / "figures.md").read_text(encoding="utf-8")
    lines = text.split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in block[2:]]


def _number(cell: str) -> float:
    """``1,874,500`` or ``266,666.67`` as the JSON number."""
    return float(cell.replace(",", ""))


def test_the_worked_forecast_in_docs_figures_md_is_what_sync_prints(
    sample: Path, run_cli: Callable[..., Result]
) -> None:
    """sync --json on the sample as of 2026-11-27 gives exactly the strips and advice docs/figures.md works out."""
    result = run_cli("sync", str(sample), "--as-of", AS_OF_TEXT, "--dry-run", "--json", "--out", str(sample.parent))
    data = json.loads(result.stdout)
    strips = {"team": data["forecast"], **{o["owner"]: o["forecast"] for o in data["owners"]}}
    table = _doc_table("### The sample's forecast")
    assert len(table) == 6 * 4  # six months for the team and for each of the three owners
    printed = [
        [who, m["month"], str(m["deals"]), m["expected"], m["target"], m["status"]]
        for who, strip in strips.items()
        for m in strip
    ]
    assert [[who, month, deals, _number(x), _number(t), status] for who, month, deals, x, t, status in table] == printed
    advice = _doc_table("### The sample's advice")
    codes = {
        "team": [a["code"] for a in data["diagnosis"]],
        **{o["owner"]: [a["code"] for a in o["diagnosis"]] for o in data["owners"]},
    }
    assert {who: cell.replace("`", "").split(", ") for who, cell in advice} == codes
