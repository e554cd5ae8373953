"""Summary, Checks and History grids (reference 7.1), checked cell by cell on the backend-neutral Grid."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sheetsync.config import Config, parse_config
from sheetsync.figures import Figures, compute
from sheetsync.grid import (
    Cell,
    CellRange,
    Grid,
    Link,
    Page,
    amount_format,
    column_pixels,
    covered_cells,
    row_pixels,
    shown_width,
    unwrap,
)
from sheetsync.model.quotas import read_quotas
from sheetsync.model.reader import read_rows
from sheetsync.rounding import cents
from sheetsync.rules import Checked, Finding, check
from sheetsync.tabs import (
    CHART_GAP,
    CHART_WIDTH,
    cell_link,
    checks_grid,
    history_grid,
    summary_grid,
    trend_entries,
)

AS_OF = dt.date(2026, 11, 27)
D = dt.date

KEY_LABELS = [
    "As of",
    "Period start",
    "Period end",
    "Quota",
    "Won this period",
    "Expected from pipeline",
    "To generate",
    "Attainment",
    "Coverage",
    "Open deals",
    "Open pipeline",
    "Weighted pipeline",
    "Win rate",
    "Closing rate",
    "Average won deal",
    "Sales cycle (days)",
    "Velocity per day",
    "Excluded rows",
]
HISTORY_HEADER = [
    "As of",
    "Period start",
    "Open deals",
    "Open pipeline",
    "Weighted pipeline",
    "Won this period",
    "Quota",
    "To generate",
    "Expected from pipeline",
]
HEAD = ["Prospect", "Owner", "Stage", "Budget", "Expected Close", "Closed On", "Created", "Appointment",
        "Last Contact", "Next Follow-up", "Decision Maker", "Email"]  # fmt: skip

# A small pipeline whose figures are known by hand (as of 2026-11-27, Q4 2026):
#   won this period 1000.10 (row 2), Won row 3 closed last quarter (500)
#   open: Proposal 2000 due 12-15 (weighted 1500), Lead 300 no date (weighted 30) → open 2300, weighted 1530
#   expected 1500; quota 4000 (Quotas tab: Alice 3000, Bob 1000); remaining 2999.90; to_generate 1499.90
#   win rate 2 / 3; cycle (32 + 31) / 2 = 31.5 days; row 7 has no prospect (excluded); row 6 Lost.
PIPELINE = [
    ["Deal A", "Alice", "Won", 1000.1, None, D(2026, 11, 2), D(2026, 10, 1), D(2026, 10, 15)],
    ["Deal B", "Alice", "Won", 500, None, D(2026, 9, 1), D(2026, 8, 1), D(2026, 8, 10)],
    ["Deal C", "Bob", "Proposal", 2000, D(2026, 12, 15), None, None, D(2026, 11, 20)],
    ["Deal D", None, "Lead", 300],
    ["Deal E", "Bob", "Lost", 100, None, D(2026, 11, 3)],
    [None, "Bob", "Lead", 50],
]


def cfg(data: dict[str, Any] | None = None) -> Config:
    return parse_config(data or {}, Path("x/sheetsync.toml"))


def figures(
    rows: list[list[Any]] | None = None,
    config: Config | None = None,
    quotas: dict[str, Any] | None = None,
) -> tuple[Figures, Checked]:
    """Raw rows → read_rows → check → compute, with clean contact dates filled in."""
    config = config or Config()
    values: list[tuple[int, list[Any]]] = [(1, HEAD)]
    for i, r in enumerate(PIPELINE if rows is None else rows, 2):
        cells = list(r) + [None] * (len(HEAD) - len(r))
        cells[8] = cells[8] or AS_OF  # last contact
        cells[9] = cells[9] or AS_OF + dt.timedelta(days=7)  # next follow-up
        cells[10] = cells[10] or "yes"
        values.append((i, cells))
    layout, parsed = read_rows("Pipeline", values, config)
    q = None
    if quotas is not None:
        q = read_quotas(
            "Quotas", [(1, ["Owner", "Quota"]), *[(i, [o, a]) for i, (o, a) in enumerate(quotas.items(), 2)]], config
        )
    checked = check(parsed, layout, config, AS_OF, q)
    return compute(parsed, checked, config, AS_OF, q), checked


def values(grid: Grid) -> list[list[Any]]:
    return [[unwrap(c)[0] for c in row] for row in grid.rows]


def key_cell(grid: Grid, label: str) -> tuple[Any, str | None]:
    """(value, number format) of column B on the row whose column A is ``label`` (first match)."""
    for row in grid.rows:
        if row and unwrap(row[0])[0] == label:
            value, fmt, _bold = unwrap(row[1]) if len(row) > 1 else (None, None, False)
            return value, fmt
    raise AssertionError(f"no {label!r} row in column A")


def row_starting(grid: Grid, first: str) -> int:
    for i, row in enumerate(grid.rows):
        if row and unwrap(row[0])[0] == first:
            return i
    raise AssertionError(f"no row starting with {first!r}")


def table_at(grid: Grid, header: list[str]) -> tuple[int, int]:
    """(row, column) where a table's header row stands, wherever the layout put it."""
    for i, row in enumerate(grid.rows):
        cells = [unwrap(c)[0] for c in row]
        for j in range(len(cells) - len(header) + 1):
            if cells[j : j + len(header)] == header:
                return i, j
    raise AssertionError(f"no table with header {header!r}")


def is_number(v: Any) -> bool:
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


# ---------------------------------------------------------------- Summary


@pytest.fixture
def summary() -> Grid:
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    return summary_grid(f, Config())


def test_summary_marker_in_a1(summary: Grid) -> None:
    """A1 starts with `Generated by sheetsync` followed by the as-of date."""
    a1 = unwrap(summary.rows[0][0])[0]
    assert isinstance(a1, str)
    assert a1.startswith("Generated by sheetsync")
    assert "2026-11-27" in a1[len("Generated by sheetsync") :]
    assert summary.title == "Summary"


def test_summary_key_figure_labels_exact_and_in_order(summary: Grid) -> None:
    """Column A carries exactly the reference 7.1 key-figure labels, as one block in the listed order."""
    col_a = [unwrap(r[0])[0] if r else None for r in summary.rows]
    first = col_a.index("As of")
    assert col_a[first : first + len(KEY_LABELS)] == KEY_LABELS


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Quota", Decimal(4000)),  # 3000 + 1000 from the Quotas tab
        ("Won this period", Decimal("1000.10")),
        ("Expected from pipeline", Decimal(1500)),  # 2000 × 75 %
        ("To generate", Decimal("1499.90")),  # 4000 − 1000.10 − 1500
        ("Open pipeline", Decimal(2300)),  # 2000 + 300
        ("Weighted pipeline", Decimal(1530)),  # 1500 + 30
        ("Average won deal", Decimal("750.05")),  # (1000.10 + 500) / 2
    ],
)
def test_summary_amounts_are_numbers_with_currency_format(summary: Grid, label: str, expected: Decimal) -> None:
    """Amounts are numbers (not text), exact to the cent, shown in whole baht with the baht sign (issue 15)."""
    value, fmt = key_cell(summary, label)
    assert is_number(value), (label, value)
    assert Decimal(str(value)) == expected
    assert fmt == "฿#,##0"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Attainment", 1000.1 / 4000),
        ("Win rate", 2 / 3),  # 2 won, 1 lost
        ("Closing rate", 2 / 3),  # appointments held on rows 2, 3, 4: 2 won
    ],
)
def test_summary_ratios_are_percent(summary: Grid, label: str, expected: float) -> None:
    """Ratios are fractions formatted as percent."""
    value, fmt = key_cell(summary, label)
    assert is_number(value)
    assert float(value) == pytest.approx(expected)
    assert fmt is not None and fmt.endswith("%")


def test_summary_counts_dates_and_other_numbers(summary: Grid) -> None:
    """Dates are date values with a date format; counts, coverage, cycle days and velocity are numbers."""
    for label, day in (("As of", AS_OF), ("Period start", D(2026, 10, 1)), ("Period end", D(2026, 12, 31))):
        value, fmt = key_cell(summary, label)
        assert value == day and isinstance(value, dt.date), label
        assert fmt is not None and "yy" in fmt and "d" in fmt
    assert key_cell(summary, "Open deals")[0] == 2
    assert key_cell(summary, "Excluded rows")[0] == 1  # row 7 has no prospect
    coverage, fmt = key_cell(summary, "Coverage")
    assert float(coverage) == pytest.approx(2000 / 2999.9)  # due open amount / remaining
    assert fmt
    cycle, fmt = key_cell(summary, "Sales cycle (days)")
    assert float(cycle) == pytest.approx(31.5)  # (32 + 31) / 2
    assert fmt
    velocity, fmt = key_cell(summary, "Velocity per day")
    # 2 open × (2/3) × 750.05 / 31.5 = 31.7481…
    assert float(velocity) == pytest.approx(31.75, abs=0.005)
    assert fmt == "฿#,##0"
    for label in KEY_LABELS:
        value, _fmt = key_cell(summary, label)
        assert not isinstance(value, str), label


def test_summary_null_figures_are_empty_cells() -> None:
    """With no quota, Quota, To generate, Attainment and Coverage cells are empty (None), not 0 or text."""
    f, _ = figures()
    grid = summary_grid(f, Config())
    for label in ("Quota", "To generate", "Attainment", "Coverage"):
        assert key_cell(grid, label)[0] is None, label
    f, _ = figures([["Only lead", "Alice", "Lead", 100]])
    grid = summary_grid(f, Config())
    for label in ("Win rate", "Closing rate", "Average won deal", "Sales cycle (days)", "Velocity per day"):
        assert key_cell(grid, label)[0] is None, label


@pytest.mark.parametrize(
    ("currency", "expected"), [("USD", "$#,##0"), ("usd", "$#,##0"), ("SGD", '#,##0 "SGD"'), ("thb", "฿#,##0")]
)
def test_summary_currency_from_config(currency: str, expected: str) -> None:
    """[pipeline] currency picks the amount format: the baht and dollar signs, else the code after (issue 15)."""
    config = cfg({"pipeline": {"currency": currency}, "quota": {"amount": 100}})
    f, _ = figures(config=config)
    _value, fmt = key_cell(summary_grid(f, config), "Quota")
    assert fmt == expected


def test_summary_stage_table(summary: Grid) -> None:
    """The stage table header is `Stage | Deals | Amount | Probability | Weighted`, then every stage in order."""
    i, j = table_at(summary, ["Stage", "Deals", "Amount", "Probability", "Weighted"])
    body = [row[j : j + 5] for row in summary.rows[i + 1 : i + 9]]
    names = [unwrap(r[0])[0] for r in body]
    assert names == ["Lead", "Qualified", "Appointment", "Demo", "Proposal", "Negotiation", "Won", "Lost"]
    lead = [unwrap(c) for c in body[0][:5]]
    assert [v for v, _f, _b in lead] == ["Lead", 1, Decimal(300), pytest.approx(0.1), Decimal(30)]
    assert lead[3][1] is not None and lead[3][1].endswith("%")
    assert lead[2][1] is not None and "#,##0" in lead[2][1]
    qualified = [unwrap(c)[0] for c in body[1][:5]]
    assert qualified[1] == 0 and is_number(qualified[2]) and float(qualified[2]) == 0
    won = [unwrap(c)[0] for c in body[6][:5]]
    assert won[1:3] == [2, Decimal("1500.10")]


def test_summary_owner_table(summary: Grid) -> None:
    """The owner table header starts with `Owner`; each owner (incl. `(none)`) has a row of numbers."""
    i = row_starting(summary, "Owner")
    header = values(summary)[i]
    assert header[0] == "Owner"
    rows = {}
    for row in values(summary)[i + 1 :]:
        if not row or row[0] in (None, "") or row[0] == "Diagnosis":
            break
        rows[row[0]] = dict(zip(header, row, strict=False))
    assert set(rows) == {"Alice", "Bob", "(none)"}
    assert rows["Alice"]["Won this period"] == Decimal("1000.10")
    assert rows["Bob"]["Open pipeline"] == Decimal(2000)
    assert rows["Bob"]["Quota"] == Decimal(1000)
    assert rows["(none)"]["Quota"] is None


def test_summary_diagnosis_lines() -> None:
    """Each diagnosis code appears on its own line with its message."""
    f, _ = figures(config=cfg({"quota": {"amount": 1_000_000}}))
    codes = [(a.code, a.message) for a in f.diagnosis]
    assert ("thin-coverage" in [c for c, _m in codes]) and codes
    grid = summary_grid(f, Config())
    lines = [tuple(r[:2]) for r in values(grid) if len(r) >= 2]
    for code, message in codes:
        assert (code, message) in lines


def test_summary_text_is_never_a_formula() -> None:
    """A prospect or owner that starts with `=` stays a plain string value in the grid."""
    f, _ = figures([['=HYPERLINK("x")', "=cmd|' /C calc'!A0", "Lead", 100]])
    grid = summary_grid(f, Config())
    owners = [r for r in values(grid) if r and r[0] == "=cmd|' /C calc'!A0"]
    assert owners and isinstance(owners[0][0], str)


# ---------------------------------------------------------------- Checks


def test_checks_grid_marker_header_and_rows_in_order() -> None:
    """Checks: marker in A1, the header row, then one row per finding in sheet-row order with its fields."""
    rows = [
        ["Good", "Alice", "Lead", 100],
        ["No DM", "Alice", "Demo", 100, D(2026, 12, 1), None, None, None, None, None, "no"],
        ["Typo", "Alice", "Negociation", 100],
        ["Budget", "Alice", "Proposal", "TBD", D(2026, 12, 1)],
        ["=1+1", "Alice", "Lead", 100, None, None, None, None, D(2026, 1, 1)],  # stale
    ]
    _f, checked = figures(rows)
    grid = checks_grid(checked.findings, AS_OF, Config())
    assert grid.title == "Checks"
    a1 = unwrap(grid.rows[0][0])[0]
    assert isinstance(a1, str) and a1.startswith("Generated by sheetsync") and "2026-11-27" in a1
    h = row_starting(grid, "Cell")
    assert values(grid)[h] == ["Cell", "Row", "Prospect", "Owner", "Rule", "Severity", "Message"]
    body = [r for r in values(grid)[h + 1 :] if any(v not in (None, "") for v in r)]
    expected = [(x.cell, x.row, x.prospect, "Alice", x.rule, x.severity, x.message) for x in checked.findings]
    assert [tuple(r) for r in body] == expected
    assert [r[1] for r in body] == sorted(r[1] for r in body)
    assert [(r[1], r[4]) for r in body] == [
        (3, "decision-maker"),
        (4, "unknown-stage"),
        (5, "bad-value"),
        (6, "stale"),
    ]
    assert body[0][0] == "Pipeline!K3"  # the Decision Maker cell
    assert body[3][2] == "=1+1" and isinstance(body[3][2], str)


def test_checks_grid_without_findings_has_no_finding_rows() -> None:
    """With no findings the Checks tab still has marker and header, and no row carries a rule."""
    grid = checks_grid([], AS_OF, Config())
    h = row_starting(grid, "Cell")
    assert values(grid)[h] == ["Cell", "Row", "Prospect", "Owner", "Rule", "Severity", "Message"]
    for row in values(grid)[h + 1 :]:
        assert len(row) < 5 or row[4] in (None, "")


def test_checks_grid_uses_configured_tab_name() -> None:
    """[tabs] checks names the grid."""
    assert checks_grid([], AS_OF, cfg({"tabs": {"checks": "Findings"}})).title == "Findings"


# ---------------------------------------------------------------- History


#: The History cells after the two dates of a run on PIPELINE with quotas: open deals, open pipeline, weighted,
#: won, quota, to generate, expected.
THIS_RUN = [2, Decimal(2300), Decimal(1530), Decimal("1000.10"), Decimal(4000), Decimal("1499.90"), Decimal(1500)]


def history_values(grid: Grid) -> list[list[Any]]:
    return [[unwrap(c)[0] for c in r] for r in grid.rows[1:]]


def test_history_header_and_first_row() -> None:
    """History: the exact header row first, then this run's row: dates, counts and amounts as values."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    grid = history_grid(f, [], Config())
    assert grid.title == "History"
    assert values(grid)[0] == HISTORY_HEADER
    assert history_values(grid) == [[AS_OF, D(2026, 10, 1), *THIS_RUN]]
    fmts = [unwrap(c)[1] for c in grid.rows[1]]
    assert fmts[0] and "yy" in fmts[0] and fmts[1] and "yy" in fmts[1]
    assert all(fmt and "#,##0" in fmt for fmt in fmts[3:])


def test_history_null_quota_is_empty() -> None:
    """Without a quota the Quota and To generate cells are empty."""
    f, _ = figures()
    row = history_values(history_grid(f, [], Config()))[0]
    assert row[6] is None and row[7] is None


def test_history_keeps_earlier_rows_in_any_backend_shape_and_sorts() -> None:
    """Existing rows read back as date cells, datetimes, serial numbers or ISO text are kept, sorted by date."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    existing = [
        HISTORY_HEADER,  # the header row as read back is not a data row
        [46346.0, 46296.0, 4.0, 2100.0, 1400.0, 900.0, 4000.0, 1600.0],  # 2026-11-20 as Excel/Sheets serials
        ["2026-11-13", "2026-10-01", 3, 1900, 1200, 800, 4000, 2000],  # ISO text
        [dt.datetime(2026, 12, 4, 0, 0), dt.datetime(2026, 10, 1, 0, 0), 5, 2500, 1800, 1000, 4000, 1200],
        [D(2026, 9, 30), D(2026, 7, 1), 7, 3000, 2000, 1500, None, None],
        [None, None, None],  # a blank row
    ]
    rows = history_values(history_grid(f, existing, Config()))
    assert [r[0] for r in rows] == [D(2026, 9, 30), D(2026, 11, 13), D(2026, 11, 20), AS_OF, D(2026, 12, 4)]
    assert all(type(r[0]) is dt.date for r in rows)
    by_date = {r[0]: r for r in rows}
    assert by_date[D(2026, 11, 20)][1] == D(2026, 10, 1)  # serial period start → date
    assert by_date[D(2026, 11, 13)][1] == D(2026, 10, 1)  # ISO period start → date
    assert by_date[D(2026, 12, 4)][1] == D(2026, 10, 1)  # datetime → date
    assert [float(v) for v in by_date[D(2026, 11, 20)][2:8]] == [4, 2100, 1400, 900, 4000, 1600]
    assert [float(v) for v in by_date[D(2026, 11, 13)][2:8]] == [3, 1900, 1200, 800, 4000, 2000]
    assert by_date[D(2026, 9, 30)][6:] == [None, None, None]  # rows written before issue 15 have no Expected
    assert by_date[AS_OF][3] == Decimal(2300)


@pytest.mark.parametrize(
    "same_day",
    [D(2026, 11, 27), dt.datetime(2026, 11, 27, 0, 0), 46353, 46353.0, "2026-11-27"],
    ids=["date", "datetime", "serial-int", "serial-float", "iso"],
)
def test_history_same_as_of_is_replaced(same_day: Any) -> None:
    """An existing row for the same as-of date (in any shape) is replaced by this run's row, not duplicated."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    existing = [
        [D(2026, 11, 20), D(2026, 10, 1), 1, 1, 1, 1, 1, 1],
        [same_day, D(2026, 10, 1), 99, 99, 99, 99, 99, 99],
    ]
    rows = history_values(history_grid(f, existing, Config()))
    assert [r[0] for r in rows] == [D(2026, 11, 20), AS_OF]
    assert rows[1][2:] == THIS_RUN


def test_history_rerun_is_idempotent() -> None:
    """Feeding the grid's own rows back in (as a backend would) gives the same rows again."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    first = history_values(history_grid(f, [[D(2026, 11, 20), D(2026, 10, 1), 1, 2, 3, 4, 5, 6]], Config()))
    again = history_values(history_grid(f, [HISTORY_HEADER, *first], Config()))
    assert again == first


def test_summary_without_diagnosis_lists_no_code() -> None:
    """A healthy pipeline's summary names no diagnosis code (an all-clear line is fine)."""
    rows = [
        ["A", "Alice", "Lead", 100],
        ["B", "Alice", "Demo", 100],
        ["C", "Alice", "Proposal", 100, D(2027, 3, 1)],
        ["D", "Alice", "Negotiation", 100, D(2027, 3, 1)],
    ]  # weighted 10 + 60 + 75 + 90 = 235; biggest 90 ≤ 0.4 × 235 = 94; late 2 < 3; no quota
    f, _ = figures(rows)
    assert f.diagnosis == []
    codes = {"prospect-more", "present-more", "closing-skills", "thin-coverage", "stalled", "big-deal"}
    assert not codes & {v for row in values(summary_grid(f, Config())) for v in row if isinstance(v, str)}


# ---------------------------------------------------------------- the report layout (issue 15)


def cells_with_values(grid: Grid) -> set[tuple[int, int]]:
    return {
        (r, c) for r, row in enumerate(grid.rows) for c, cell in enumerate(row) if unwrap(cell)[0] not in (None, "")
    }


def test_summary_is_laid_out_as_a_one_page_report(summary: Grid) -> None:
    """Issue 15: a title band over the whole width, the title row frozen, no gridlines, landscape one page wide."""
    assert summary.frozen_rows == 1 and summary.gridlines is False
    assert summary.page == Page(landscape=True, fit_width=True)
    band = next(m for m in summary.merges if (m.row, m.col) == (0, 0))
    right_edge = max(covered_cells(c.anchor, summary.widths, summary.heights).col for c in summary.charts)
    assert band.height == 1 and band.col + band.width - 1 >= right_edge
    title = summary.rows[0][0]
    assert isinstance(title, Cell) and title.look is not None and title.look.fill and title.bold
    summary.check_layout()
    summary.check_charts()
    assert not any(isinstance(v, str) and "█" in v for row in values(summary) for v in row)  # the chart replaced it


def test_summary_columns_fit_what_they_hold(summary: Grid) -> None:
    """Each column of the tables is as wide as its widest value (merged cells aside) and no wider than that needs."""
    merged = {rc for m in summary.merges for rc in m.cells()}
    for col in range(10):
        shown = [
            shown_width(row[col]) for r, row in enumerate(summary.rows) if col < len(row) and (r, col) not in merged
        ]
        assert summary.widths[col] >= max(shown), col
        assert summary.widths[col] <= max(8, max(shown) + 2) + 0.1, col


def test_summary_tables_keep_their_headers_and_charts_read_them() -> None:
    """The funnel charts Lead … Won by amount and weighted; owners won, expected and to generate; the trend by date;
    the forecast each month's expected against its target."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    grid = summary_grid(f, Config())
    by_key = {c.key: c for c in grid.charts}
    assert list(by_key) == ["stage-funnel", "owners", "history-trend", "forecast"]

    def column(cells: CellRange) -> list[Any]:
        return [unwrap(grid.cell(r, c))[0] for r, c in cells.cells()]

    funnel = by_key["stage-funnel"]
    assert column(funnel.categories) == ["Stage", "Lead", "Qualified", "Appointment", "Demo", "Proposal",
                                         "Negotiation", "Won"]  # fmt: skip
    assert [column(s.cells)[0] for s in funnel.series] == ["Amount", "Weighted"]
    assert funnel.kind == "bar" and funnel.number_format == "฿#,##0"  # amounts under 10,000: whole baht
    owners = by_key["owners"]
    assert column(owners.categories) == ["Owner", "Alice", "Bob", "(none)"]
    assert [column(s.cells)[0] for s in owners.series] == ["Won this period", "Expected", "To generate"]
    assert owners.stacked and owners.kind == "column"
    trend = by_key["history-trend"]
    assert column(trend.categories) == ["As of", AS_OF]
    assert [column(s.cells) for s in trend.series] == [
        ["Won", Decimal("1000.10")],
        ["Expected", Decimal("1500.00")],
        ["To generate", Decimal("1499.90")],
    ]
    forecast = by_key["forecast"]
    months = column(forecast.categories)
    assert months[0] == "Month" and months[1:] == [m.month for m in f.forecast] and len(months) == 7
    assert [column(s.cells) for s in forecast.series] == [
        ["Expected", *(cents(m.expected) for m in f.forecast)],
        ["Target", *(cents(m.target) for m in f.forecast if m.target is not None)],
    ]
    assert forecast.kind == "column" and not forecast.stacked


def test_owner_table_says_each_owners_diagnosis_and_the_forecast_table_follows() -> None:
    """Issue 14: the owner table's Diagnosis column holds each owner's codes; the forecast table lists the months."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    grid = summary_grid(f, Config())
    rows = values(grid)
    top = row_starting(grid, "Owner")
    assert rows[top][10] == "Diagnosis"
    for o, row in zip(f.owners, rows[top + 1 : top + 1 + len(f.owners)], strict=True):
        assert row[0] == o.owner and row[10] == (", ".join(a.code for a in o.diagnosis) or "ok")
    at = row_starting(grid, "Month")
    assert at > top + len(f.owners)
    assert rows[at][:5] == ["Month", "Deals", "Expected", "Target", "Status"]
    assert [r[0] for r in rows[at + 1 : at + 1 + len(f.forecast)]] == [m.month for m in f.forecast]
    assert [r[4] for r in rows[at + 1 : at + 1 + len(f.forecast)]] == [m.status for m in f.forecast]


def test_charts_sit_beside_the_tables_and_leave_no_chart_over_a_table(summary: Grid) -> None:
    """No chart lies over a value or another chart; with the four charts the page is still one page.

    The page is landscape and one page wide, so it holds one page when the
    report is at least as wide for its height as the paper's printable
    area: 10.89 × 7.27 inches on A4 with our margins (Letter is less wide).
    """
    taken = cells_with_values(summary) - {(0, 0)}
    areas = [covered_cells(c.anchor, summary.widths, summary.heights) for c in summary.charts]
    for spec, area in zip(summary.charts, areas, strict=True):
        assert not set(area.cells()) & taken, spec.key
        assert area.col > 10, spec.key  # right of the owner table, the widest
    for upper, lower in itertools.pairwise(areas):
        assert upper.row + upper.height <= lower.row

    def top(row: int) -> int:
        return sum(row_pixels(summary.heights.get(r)) for r in range(row))

    fourth = summary.charts[-1].anchor
    height = max(top(len(summary.rows)), top(fourth.row) + fourth.height + CHART_GAP)
    width = sum(column_pixels(w) for w in summary.widths) + CHART_WIDTH
    assert width / height >= 10.89 / 7.27, (width, height)


@pytest.mark.parametrize(("amounts", "axis"), [(5_000, "฿#,##0"), (50_000, '฿#,##0,"k"'), (5_000_000, '฿#,##0.0,,"M"')])
def test_chart_axes_count_in_thousands_or_millions_when_amounts_run_high(amounts: int, axis: str) -> None:
    """A value axis reads ฿1.2M rather than ฿1,200,000 (Excel's axis format; cells keep their own)."""
    f, _ = figures([["Big", "Alice", "Proposal", amounts, D(2026, 12, 15)]])
    assert {c.number_format for c in summary_grid(f, Config()).charts} == {axis}


def test_amount_format_names_the_currency() -> None:
    """฿ and $ go before the number; any other code follows it; the format has no decimals (cells keep cents)."""
    assert [amount_format(c) for c in ("THB", "USD", "EUR", 'A"B')] == ["฿#,##0", "$#,##0", '#,##0 "EUR"', '#,##0 "AB"']


def test_notes_go_under_the_key_figures_before_the_diagnosis() -> None:
    """A note (how a figure was worked out) is a full-width line after the key figures, above the diagnosis."""
    f, _ = figures()
    note = "Won deals dated by Expected Close: there is no Closed On column"
    f.notes.append(note)
    grid = summary_grid(f, Config())
    at = next(i for i, row in enumerate(values(grid)) if row and row[0] == note)
    assert at > row_starting(grid, "Excluded rows") and at < row_starting(grid, "Diagnosis")
    assert any((m.row, m.col, m.width) == (at, 0, 11) for m in grid.merges)


HIST = [AS_OF - dt.timedelta(days=7 * n) for n in range(1, 4)]


def test_trend_shows_this_periods_history_with_this_run() -> None:
    """The trend: History rows of this period (earlier periods left out), with today's figures, oldest first."""
    f, _ = figures(quotas={"Alice": 3000, "Bob": 1000})
    history = [
        [D(2026, 9, 25), D(2026, 7, 1), 1, 1, 1, 500, 4000, 3000, 500],  # last quarter: not this period's trend
        *[[day, D(2026, 10, 1), 2, 2000, 1500, 900, 4000, 1600, 1500] for day in HIST],
        [D(2026, 10, 2), D(2026, 10, 1), 2, 2000, 1500, 100, 4000, 3900],  # written before Expected was kept
    ]
    entries = trend_entries(f, history)
    assert [e.as_of for e in entries] == [D(2026, 10, 2), *sorted(HIST), AS_OF]
    assert entries[0].expected is None and entries[-1].expected == Decimal("1500.00")


def test_a_daily_trend_is_thinned_to_weeks() -> None:
    """More than 13 as-of dates (a daily cron): the last run of each week, at most the latest 13."""
    f, _ = figures()
    days = [D(2026, 10, 1) + dt.timedelta(days=n) for n in range(57)]
    entries = trend_entries(f, [[day, D(2026, 10, 1), 1, 1, 1, 1, None, None, 1] for day in days])
    assert len(entries) == 9 and entries[-1].as_of == AS_OF
    assert len({e.as_of.isocalendar()[:2] for e in entries}) == len(entries)


# ---------------------------------------------------------------- Checks a rep can work from (issue 15)


def test_checks_cells_link_to_the_cells_and_the_header_filters() -> None:
    """Issue 15: each Cell links to its cell, the owner is shown, errors and warnings are tinted, header frozen."""
    rows = [["No DM", "Bob", "Demo", 100, D(2026, 12, 1), None, None, None, None, None, "no"]]
    _f, checked = figures(rows)
    grid = checks_grid(checked.findings, AS_OF, Config())
    first = grid.rows[2]
    assert isinstance(first[0], Cell) and first[0].link == Link("Pipeline", "K2")
    assert unwrap(first[3])[0] == "Bob"
    severity = first[5]
    assert isinstance(severity, Cell) and severity.look is not None and severity.look.fill
    assert grid.frozen_rows == 2
    assert grid.autofilter == CellRange(1, 0, len(grid.rows) - 1, 7)


def test_a_whole_tab_finding_has_no_row_and_links_to_the_tab() -> None:
    """A finding about the whole tab (no row, its cell the tab name) links to the tab's A1 and leaves Row empty."""
    tab_finding = Finding("decision-maker", "warning", None, "Pipeline", None, "no Decision Maker column")  # type: ignore[arg-type]
    grid = checks_grid([tab_finding], AS_OF, Config())
    row = grid.rows[2]
    assert isinstance(row[0], Cell) and row[0].link == Link("Pipeline", "A1")
    assert unwrap(row[1])[0] is None


@pytest.mark.parametrize(
    ("cell", "link"),
    [
        ("Pipeline!F12", Link("Pipeline", "F12")),
        ("Q4!Deals!B3", Link("Q4!Deals", "B3")),
        ("Quotas!A3", Link("Quotas", "A3")),
        ("Pipeline", Link("Pipeline")),
        ("Sales 2026!", Link("Sales 2026!")),
    ],
)
def test_cell_link_reads_the_cell_reference_off_the_end(cell: str, link: Link) -> None:
    """A tab name may hold '!': the reference is what follows the last one, and only when it is a cell."""
    assert cell_link(cell) == link
