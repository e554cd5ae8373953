"""Figures and findings → backend-neutral grids for the Summary, Checks and History tabs (reference 7.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from .config import Config
from .figures import Figures, cents
from .grid import (
    FMT_DATE,
    FMT_DECIMAL,
    FMT_INT,
    FMT_PERCENT,
    MARKER,
    Cell,
    Grid,
    GridCell,
    amount_format,
)
from .model.values import Value, from_serial
from .rules import Finding

HISTORY_HEADER = (
    "As of",
    "Period start",
    "Open deals",
    "Open pipeline",
    "Weighted pipeline",
    "Won this period",
    "Quota",
    "To generate",
)
CHECKS_HEADER = ("Cell", "Row", "Prospect", "Rule", "Severity", "Message")
BAR_WIDTH = 30


def marker(as_of: dt.date) -> str:
    return f"{MARKER} — as of {as_of.isoformat()}"


def _bold(values: Iterable[Value]) -> list[GridCell]:
    return [Cell(v, bold=True) for v in values]


def _amount(value: Decimal | None, fmt: str) -> GridCell:
    return Cell(None if value is None else cents(value), fmt)


def _ratio(value: Decimal | None) -> GridCell:
    return Cell(None if value is None else float(value), FMT_PERCENT)


def summary_grid(f: Figures, config: Config) -> Grid:
    money = amount_format(f.currency)
    rows: list[list[GridCell]] = [[Cell(marker(f.as_of), bold=True)], []]
    key_figures: list[tuple[str, GridCell]] = [
        ("As of", Cell(f.as_of, FMT_DATE)),
        ("Period start", Cell(f.period_start, FMT_DATE)),
        ("Period end", Cell(f.period_end, FMT_DATE)),
        ("Quota", _amount(f.quota, money)),
        ("Won this period", _amount(f.won_this_period, money)),
        ("Expected from pipeline", _amount(f.expected, money)),
        ("To generate", _amount(f.to_generate, money)),
        ("Attainment", _ratio(f.attainment)),
        ("Coverage", Cell(None if f.coverage is None else float(f.coverage), '0.00"×"')),
        ("Open deals", Cell(f.open_count, FMT_INT)),
        ("Open pipeline", _amount(f.open_amount, money)),
        ("Weighted pipeline", _amount(f.weighted_pipeline, money)),
        ("Win rate", _ratio(f.win_rate)),
        ("Closing rate", _ratio(f.closing_rate)),
        ("Average won deal", _amount(f.average_won_deal, money)),
        ("Sales cycle (days)", Cell(None if f.cycle_days is None else float(f.cycle_days), FMT_DECIMAL)),
        ("Velocity per day", _amount(f.velocity, money)),
        ("Excluded rows", Cell(f.excluded_rows, FMT_INT)),
    ]
    rows.extend([Cell(label, bold=True), value] for label, value in key_figures)
    rows.append([])
    rows.append(_bold(("Stage", "Deals", "Amount", "Probability", "Weighted", "Funnel")))
    most = max((s.count for s in f.stages), default=0)
    for s in f.stages:
        bar = "█" * round(BAR_WIDTH * s.count / most) if most else ""
        rows.append(
            [
                s.stage,
                Cell(s.count, FMT_INT),
                _amount(s.amount, money),
                _ratio(s.probability),
                _amount(s.weighted, money),
                bar,
            ]
        )
    rows.append([])
    rows.append(
        _bold(
            (
                "Owner",
                "Deals",
                "Open pipeline",
                "Weighted pipeline",
                "Won this period",
                "Expected",
                "Quota",
                "Remaining",
                "To generate",
                "Attainment",
            )
        )
    )
    for o in f.owners:
        rows.append(
            [
                o.owner,
                Cell(o.count, FMT_INT),
                _amount(o.open_amount, money),
                _amount(o.weighted_pipeline, money),
                _amount(o.won_this_period, money),
                _amount(o.expected, money),
                _amount(o.quota, money),
                _amount(o.remaining, money),
                _amount(o.to_generate, money),
                _ratio(o.attainment),
            ]
        )
    rows.append([])
    rows.append(_bold(("Diagnosis", "Advice")))
    if f.diagnosis:
        rows.extend([a.code, a.message] for a in f.diagnosis)
    else:
        rows.append(["ok", "nothing to flag: keep prospecting at the same pace"])
    if f.notes:  # how a figure was worked out (Won dated by Expected Close): said once, under the advice
        rows.append([])
        rows.append(_bold(("Notes",)))
        rows.extend([note] for note in f.notes)
    return Grid(config.tabs.summary, rows, widths=[24, 18, 18, 18, 18, 32, 18, 18, 18, 12])


def checks_grid(findings: Sequence[Finding], as_of: dt.date, config: Config) -> Grid:
    rows: list[list[GridCell]] = [[Cell(marker(as_of), bold=True)], [], _bold(CHECKS_HEADER)]
    rows.extend([f.cell, f.row, f.prospect, f.rule, f.severity, f.message] for f in findings)
    if not findings:
        rows.append([None, None, None, None, None, "No findings: every row passes the rules."])
    return Grid(config.tabs.checks, rows, widths=[16, 7, 32, 20, 10, 100])


def history_grid(f: Figures, existing: Iterable[Sequence[Value]], config: Config) -> Grid:
    """Earlier rows kept (parsed back from the tab), the row for this as-of date replaced."""
    money = amount_format(f.currency)
    kept: dict[dt.date, list[GridCell]] = {}
    for values in existing:
        as_of = _as_date(values[0] if values else None)
        if as_of is None:
            continue
        cells: list[GridCell] = [Cell(as_of, FMT_DATE), Cell(_as_date(_at(values, 1)), FMT_DATE)]
        cells.append(Cell(_at(values, 2), FMT_INT))
        cells.extend(Cell(_at(values, i), money) for i in range(3, 8))
        kept[as_of] = cells
    kept[f.as_of] = [
        Cell(f.as_of, FMT_DATE),
        Cell(f.period_start, FMT_DATE),
        Cell(f.open_count, FMT_INT),
        _amount(f.open_amount, money),
        _amount(f.weighted_pipeline, money),
        _amount(f.won_this_period, money),
        _amount(f.quota, money),
        _amount(f.to_generate, money),
    ]
    rows: list[list[GridCell]] = [_bold(HISTORY_HEADER)]
    rows.extend(kept[d] for d in sorted(kept))
    return Grid(config.tabs.history, rows, widths=[12, 12, 11, 18, 18, 18, 18, 18])


def _at(values: Sequence[Value], i: int) -> Value:
    v = values[i] if i < len(values) else None
    return None if v == "" else v


def _as_date(v: Value) -> dt.date | None:
    """History's date cells as any backend returns them: a date, a serial number, or ISO text."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return from_serial(v // 1)  # whole days: a History row is one day
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            return None
    return None
