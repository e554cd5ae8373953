"""Figures and findings → backend-neutral grids for the Summary, Checks and History tabs (reference 7.1).

The Summary is laid out as a one-page report (docs/decisions.md, "The Summary
tab"): a title band; the key figures in columns A–B with the stage table and
the History trend table beside them from column D; notes; the diagnosis; the
owner table across A–K (K: each owner's diagnosis codes) and the forecast
table under it; and the four charts in one column from M, beside the tables.
The columns hold values of one kind from table to table as far as they can
(names in A, counts in B, amounts in C…), so each fitted width suits them all.

This module decides what goes where and how it looks; it never writes a
workbook or talks to Google.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from .config import Config
from .figures import Figures, OwnerLine, StageLine
from .forecast import ForecastMonth
from .grid import (
    EXPECTED_COLOR,
    FMT_DATE,
    FMT_DECIMAL,
    FMT_INT,
    FMT_MULTIPLE,
    FMT_PERCENT,
    LINE_POINTS,
    MARKER,
    TARGET_COLOR,
    TO_GENERATE_COLOR,
    WON_COLOR,
    Cell,
    CellRange,
    ChartAnchor,
    ChartKind,
    ChartSeries,
    ChartSpec,
    Grid,
    GridCell,
    Layout,
    Link,
    Look,
    Page,
    amount_format,
    covered_cells,
    text_length,
)
from .model.values import Value, from_serial
from .rounding import cents
from .rules import Finding

#: The first eight History headers mark the tab as sheetsync's (reference 7.1); the ninth came with issue 15.
HISTORY_MARK = (
    "As of",
    "Period start",
    "Open deals",
    "Open pipeline",
    "Weighted pipeline",
    "Won this period",
    "Quota",
    "To generate",
)
HISTORY_HEADER = (*HISTORY_MARK, "Expected from pipeline")
CHECKS_HEADER = ("Cell", "Row", "Prospect", "Owner", "Rule", "Severity", "Message")
STAGE_HEADER = ("Stage", "Deals", "Amount", "Probability", "Weighted")
OWNER_HEADER = (
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
    "Diagnosis",
)
FORECAST_HEADER = ("Month", "Deals", "Expected", "Target", "Status")
TREND_HEADER = ("As of", "Won", "Expected", "To generate")
DIAGNOSIS_HEADER = ("Diagnosis", "Advice")

# --- the look ---------------------------------------------------------------------------------

NAVY = "#1F3864"
LINK_COLOR = "#0563C1"
AMOUNT_COLOR = "#9DC3E6"
TITLE = Look(fill=NAVY, color="#FFFFFF", size=14, valign="center")
HEADER = Look(fill="#DDEBF7", color=NAVY, border="box", align="center", valign="center", wrap=True)
HEADER_LINE = Look(fill="#DDEBF7", color=NAVY, border="box", align="center", valign="center")
BODY = Look(border="box")
NOTE = Look(italic=True, color="#595959", wrap=True, valign="top")
ADVICE = Look(border="box", wrap=True, valign="top")
#: An owner's line: at the top of its row, level with the first line of its wrapped diagnosis codes.
OWNER = Look(border="box", valign="top")
FLAG = Look(fill="#FFF2CC", border="box", valign="top")
ALL_CLEAR = Look(fill="#E2F0D9", border="box", valign="top")
#: A forecast month's status: famine in Excel's "Bad" colours, feast in the all-clear green.
STATUS = {
    "famine": Look(fill="#FFC7CE", color="#9C0006", border="box"),
    "feast": Look(fill="#E2F0D9", border="box"),
}
LINK = Look(color=LINK_COLOR, underline=True)
#: Excel's own "Bad" and "Neutral" cell styles: what a rep already reads as error and warning.
SEVERITY = {
    "error": Look(fill="#FFC7CE", color="#9C0006"),
    "warning": Look(fill="#FFEB9C", color="#9C5700"),
}
#: The three numbers that matter, tinted like their series in the charts.
HEADLINE = {
    "Won this period": Look(fill="#E2F0D9", border="box"),
    "Expected from pipeline": Look(fill="#DDEBF7", border="box"),
    "To generate": Look(fill="#FCE4D6", border="box"),
}

# --- the Summary's places (0-based rows and columns) ------------------------------------------

TABLE_COLUMNS = 11  #: A–K: the owner table, the widest
BESIDE_COL = 3  #: D: the stage table and the trend table, beside the key figures
GAP_COL = 11  #: L: a narrow gap between the tables and the charts
CHART_COL = 12  #: M: the charts, one under the other
#: K, the owners' diagnosis codes, wrapped: wide enough for two or three codes a line.
OWNER_DIAGNOSIS_WIDTH = 30
CHART_WIDTH = 576  # nine default columns, so the title band ends where the charts do
#: The chart column's places, in order: the funnel, the owners, the trend, and the forecast's.
CHART_HEIGHTS = (250, 200, 180, 180)
CHART_GAP = 12  # pixels between two charts
TREND_POINTS = 13  # the most as-of dates the trend shows
_CELL_REF = re.compile(r"(.*)!([A-Z]{1,3}[1-9][0-9]*)")


def marker(as_of: dt.date) -> str:
    return f"{MARKER} — as of {as_of.isoformat()}"


def _amount(value: Decimal | None, fmt: str, look: Look | None = BODY) -> Cell:
    return Cell(None if value is None else cents(value), fmt, look=look)


def _ratio(value: Decimal | None, look: Look | None = BODY) -> Cell:
    return Cell(None if value is None else float(value), FMT_PERCENT, look=look)


# --- Summary ----------------------------------------------------------------------------------


def summary_grid(
    f: Figures,
    config: Config,
    history: Iterable[Sequence[Value]] = (),
) -> Grid:
    """The Summary tab of reference 7.1 as a one-page report with its charts.

    ``history`` is the History tab's rows as read (the trend comes from those
    of this period, with this run's); the figures' ``notes`` are lines shown
    under the key figures (what the reader should know about how a figure was
    worked out, e.g. Won deals dated by Expected Close).
    """
    money = amount_format(f.currency)
    sheet = Layout()
    key_end = _key_figures(sheet, f, money)
    one_line = LINE_POINTS + 3
    stages = sheet.table(1, BESIDE_COL, STAGE_HEADER, [_stage_line(s, money) for s in f.stages], one_line, HEADER)
    # Beside the key figures every row stays one line high: the trend's header doesn't wrap.
    below = stages.row + stages.height + 1
    trend_lines = [_trend_line(t, money) for t in trend_entries(f, history)]
    trend = sheet.table(below, BESIDE_COL, TREND_HEADER, trend_lines, None, HEADER_LINE)
    row = max(key_end, trend.row + trend.height) + 1
    notes = f.notes
    for text in notes:
        sheet.wrapped(row, 0, TABLE_COLUMNS, Cell(text, look=NOTE))
        row += 1
    row = _diagnosis(sheet, f, row + (1 if notes else 0)) + 1
    owners = sheet.table(row, 0, OWNER_HEADER, [_owner_line(o, money) for o in f.owners], 2 * LINE_POINTS + 3, HEADER)
    for line in range(owners.row + 1, owners.row + owners.height):
        codes = sheet.cells[(line, TABLE_COLUMNS - 1)]
        assert isinstance(codes, Cell)
        sheet.wrapped(line, TABLE_COLUMNS - 1, 1, codes)  # its row grows with the codes
    forecast_rows = [_forecast_line(m, money) for m in f.forecast]
    forecast = sheet.table(owners.row + owners.height + 1, 0, FORECAST_HEADER, forecast_rows, LINE_POINTS + 3, HEADER)

    widths = sheet.fit_widths(TABLE_COLUMNS, least=8)
    widths[TABLE_COLUMNS - 1] = OWNER_DIAGNOSIS_WIDTH
    widths.append(2)  # the gap before the charts
    sheet.fit_heights(widths, LINE_POINTS)
    charts = _summary_charts(sheet, stages, owners, trend, forecast, _funnel_length(config), money)
    covered = [covered_cells(c.anchor, widths, sheet.heights) for c in charts]
    last_col = max([TABLE_COLUMNS - 1, *(area.col + area.width - 1 for area in covered)])
    sheet.band(0, Cell(marker(f.as_of), bold=True, look=TITLE), last_col + 1, 30)
    return Grid(
        config.tabs.summary,
        sheet.rows(),
        widths=widths,
        charts=charts,
        heights=sheet.heights,
        merges=sheet.merges,
        frozen_rows=1,
        gridlines=False,
        page=Page(),
    )


def _key_figures(sheet: Layout, f: Figures, money: str) -> int:
    """The key figures: labels in column A, values in column B from row 3, as ever; returns the row after."""
    key_figures: list[tuple[str, Cell]] = [
        ("As of", Cell(f.as_of, FMT_DATE, look=BODY)),
        ("Period start", Cell(f.period_start, FMT_DATE, look=BODY)),
        ("Period end", Cell(f.period_end, FMT_DATE, look=BODY)),
        ("Quota", _amount(f.quota, money)),
        ("Won this period", _amount(f.won_this_period, money)),
        ("Expected from pipeline", _amount(f.expected, money)),
        ("To generate", _amount(f.to_generate, money)),
        ("Attainment", _ratio(f.attainment)),
        ("Coverage", Cell(None if f.coverage is None else float(f.coverage), FMT_MULTIPLE, look=BODY)),
        ("Open deals", Cell(f.open_count, FMT_INT, look=BODY)),
        ("Open pipeline", _amount(f.open_amount, money)),
        ("Weighted pipeline", _amount(f.weighted_pipeline, money)),
        ("Win rate", _ratio(f.win_rate)),
        ("Closing rate", _ratio(f.closing_rate)),
        ("Average won deal", _amount(f.average_won_deal, money)),
        ("Sales cycle (days)", Cell(None if f.cycle_days is None else float(f.cycle_days), FMT_DECIMAL, look=BODY)),
        ("Velocity per day", _amount(f.velocity, money)),
        ("Excluded rows", Cell(f.excluded_rows, FMT_INT, look=BODY)),
    ]
    sheet.table(1, 0, ("Key figures",), [], LINE_POINTS + 3, HEADER)
    sheet.put(1, 1, Cell(None, look=HEADER))
    sheet.merges.append(CellRange(1, 0, 1, 2))
    for row, (label, value) in enumerate(key_figures, 2):
        headline = HEADLINE.get(label)
        if headline is not None:
            sheet.put(row, 0, Cell(label, bold=True, look=headline))
            sheet.put(row, 1, Cell(value.value, value.fmt, bold=True, look=headline))
        else:
            sheet.put(row, 0, Cell(label, look=BODY))
            sheet.put(row, 1, value)
    return 2 + len(key_figures)


def _stage_line(s: StageLine, money: str) -> list[GridCell]:
    return [
        Cell(s.stage, look=BODY),
        Cell(s.count, FMT_INT, look=BODY),
        _amount(s.amount, money),
        _ratio(s.probability),
        _amount(s.weighted, money),
    ]


def _owner_line(o: OwnerLine, money: str) -> list[GridCell]:
    return [
        Cell(o.owner, look=OWNER),
        Cell(o.count, FMT_INT, look=OWNER),
        _amount(o.open_amount, money, OWNER),
        _amount(o.weighted_pipeline, money, OWNER),
        _amount(o.won_this_period, money, OWNER),
        _amount(o.expected, money, OWNER),
        _amount(o.quota, money, OWNER),
        _amount(o.remaining, money, OWNER),
        _amount(o.to_generate, money, OWNER),
        _ratio(o.attainment, OWNER),
        Cell(", ".join(a.code for a in o.diagnosis) or "ok", look=ADVICE),
    ]


def _forecast_line(m: ForecastMonth, money: str) -> list[GridCell]:
    """Month | Deals | Expected | Target | Status, the status tinted when it is famine or feast."""
    return [
        Cell(m.month, look=BODY),
        Cell(m.deals, FMT_INT, look=BODY),
        _amount(m.expected, money),
        _amount(m.target, money),
        Cell(m.status, look=STATUS.get(m.status or "", BODY)),
    ]


def _diagnosis(sheet: Layout, f: Figures, top: int) -> int:
    """Each code in column A, its advice merged over B–J (wrapped when longer); returns the row after."""
    lines = [(a.code, a.message, FLAG) for a in f.diagnosis]
    if not lines:
        lines = [("ok", "nothing to flag: keep prospecting at the same pace", ALL_CLEAR)]
    width = TABLE_COLUMNS - 1
    sheet.table(top, 0, DIAGNOSIS_HEADER, [], LINE_POINTS + 3, HEADER)
    for col in range(2, TABLE_COLUMNS):
        sheet.put(top, col, Cell(None, look=HEADER))
    sheet.merges.append(CellRange(top, 1, 1, width))
    for row, (code, message, look) in enumerate(lines, top + 1):
        sheet.put(row, 0, Cell(code, look=look))
        sheet.wrapped(row, 1, width, Cell(message, look=ADVICE))
    return top + 1 + len(lines)


def _summary_charts(
    sheet: Layout,
    stages: CellRange,
    owners: CellRange,
    trend: CellRange,
    forecast: CellRange,
    funnel_rows: int,
    money: str,
) -> list[ChartSpec]:
    """The charts in the column from M, each in its place: the funnel, the owners, the trend, the forecast."""
    made: list[ChartSpec] = []
    places = _places(sheet)

    def chart(
        key: str, kind: ChartKind, title: str, table: CellRange, length: int, series: Sequence[tuple[int, str]],
        place: ChartAnchor, *, stacked: bool = False,
    ) -> None:  # fmt: skip
        if length < 1:
            return  # an empty table draws nothing
        lines = tuple(ChartSeries(CellRange(table.row, table.col + c, length + 1, 1), color) for c, color in series)
        categories = CellRange(table.row, table.col, length + 1, 1)
        largest = max(sum(_number(sheet.cells.get((r, line.cells.col))) for line in lines) for r in _body_rows(lines))
        axis = _axis_format(money, largest)
        made.append(ChartSpec(key, kind, title, categories, lines, place, stacked=stacked, number_format=axis))

    chart(
        "stage-funnel",
        "bar",
        "Pipeline by stage",
        stages,
        funnel_rows,
        [(2, AMOUNT_COLOR), (4, EXPECTED_COLOR)],
        places[0],
    )
    chart(
        "owners",
        "column",
        "Owners: won, expected and to generate",
        owners,
        owners.height - 1,
        [(4, WON_COLOR), (5, EXPECTED_COLOR), (8, TO_GENERATE_COLOR)],
        places[1],
        stacked=True,
    )
    chart("history-trend", "line", "Trend this period", trend, trend.height - 1,
          [(1, WON_COLOR), (2, EXPECTED_COLOR), (3, TO_GENERATE_COLOR)], places[2])  # fmt: skip
    chart("forecast", "column", "Forecast against target", forecast, forecast.height - 1,
          [(2, EXPECTED_COLOR), (3, TARGET_COLOR)], places[3])  # fmt: skip
    return made


def _places(sheet: Layout) -> list[ChartAnchor]:
    """The chart column's places from row 2 down, a gap between them: the funnel, owners, trend, forecast."""
    pixels = sheet.top_of(1)
    places: list[ChartAnchor] = []
    for height in CHART_HEIGHTS:
        row = sheet.row_at(pixels)
        places.append(ChartAnchor(row, CHART_COL, CHART_WIDTH, height))
        pixels = sheet.top_of(row) + height + CHART_GAP
    return places


def _body_rows(lines: Sequence[ChartSeries]) -> range:
    first = lines[0].cells
    return range(first.row + 1, first.row + first.height)


def _number(cell: GridCell | None) -> float:
    value = cell.value if isinstance(cell, Cell) else cell
    return float(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else 0.0


def _axis_format(money: str, largest: float) -> str:
    """A chart's value axis in millions or thousands when its amounts run that high (``฿1.2M`` reads at a glance)."""
    if largest >= 1_000_000:
        return money.replace(FMT_INT, '#,##0.0,,"M"')
    if largest >= 10_000:
        return money.replace(FMT_INT, '#,##0,"k"')
    return money


def _funnel_length(config: Config) -> int:
    """The stages the funnel shows: the leading run of open and won stages (Lead … Won), else every stage.

    The stage table lists every configured stage in order (reference 6.1),
    so these are its first lines.
    """
    leading = 0
    for stage in config.stages:
        if stage.group == "lost" or stage.group == "paused":
            break
        leading += 1
    return leading or len(config.stages)


# --- History and its trend --------------------------------------------------------------------


class HistoryEntry(NamedTuple):
    """One History row: the figures of one as-of date."""

    as_of: dt.date
    period_start: dt.date | None
    open_deals: Value
    open_pipeline: Value
    weighted_pipeline: Value
    won: Value
    quota: Value
    to_generate: Value
    expected: Value


def history_entries(f: Figures, existing: Iterable[Sequence[Value]]) -> list[HistoryEntry]:
    """Earlier rows kept (parsed back from the tab, any backend's shape), this as-of date's replaced; sorted."""
    kept: dict[dt.date, HistoryEntry] = {}
    for values in existing:
        as_of = _as_date(values[0] if values else None)
        if as_of is None:
            continue
        rest = [_at(values, i) for i in range(2, 9)]
        kept[as_of] = HistoryEntry(as_of, _as_date(_at(values, 1)), *rest)
    kept[f.as_of] = HistoryEntry(
        f.as_of,
        f.period_start,
        f.open_count,
        _cents(f.open_amount),
        _cents(f.weighted_pipeline),
        _cents(f.won_this_period),
        _cents(f.quota),
        _cents(f.to_generate),
        _cents(f.expected),
    )
    return [kept[d] for d in sorted(kept)]


def trend_entries(f: Figures, history: Iterable[Sequence[Value]]) -> list[HistoryEntry]:
    """The History rows of this period (its period start), with this run's: at most the latest TREND_POINTS.

    With more as-of dates than that (a daily cron), the last run of each
    week stands for its week.
    """
    entries = [e for e in history_entries(f, history) if e.period_start == f.period_start]
    if len(entries) > TREND_POINTS:
        weekly: dict[tuple[int, int], HistoryEntry] = {}
        for entry in entries:
            weekly[entry.as_of.isocalendar()[:2]] = entry
        entries = list(weekly.values())
    return entries[-TREND_POINTS:]


def _trend_line(e: HistoryEntry, money: str) -> list[GridCell]:
    return [
        Cell(e.as_of, FMT_DATE, look=BODY),
        *(Cell(v, money, look=BODY) for v in (e.won, e.expected, e.to_generate)),
    ]


def history_grid(f: Figures, existing: Iterable[Sequence[Value]], config: Config) -> Grid:
    """Earlier rows kept (parsed back from the tab), the row for this as-of date replaced."""
    money = amount_format(f.currency)
    rows: list[list[GridCell]] = [[Cell(h, bold=True, look=HEADER) for h in HISTORY_HEADER]]
    for e in history_entries(f, existing):
        rows.append(
            [
                Cell(e.as_of, FMT_DATE),
                Cell(e.period_start, FMT_DATE),
                Cell(e.open_deals, FMT_INT),
                *(Cell(v, money) for v in (e.open_pipeline, e.weighted_pipeline, e.won, e.quota, e.to_generate)),
                Cell(e.expected, money),
            ]
        )
    return Grid(
        config.tabs.history,
        rows,
        widths=[12, 12, 11, 14, 14, 14, 14, 14, 14],
        heights={0: 2 * LINE_POINTS + 3},
        frozen_rows=1,
        page=Page(),
    )


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else cents(value)


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


# --- Checks -----------------------------------------------------------------------------------


def checks_grid(findings: Sequence[Finding], as_of: dt.date, config: Config) -> Grid:
    """One row per finding under a frozen, filterable header; each Cell links to the cell it names."""
    width = len(CHECKS_HEADER)
    sheet = Layout()
    sheet.band(0, Cell(marker(as_of), bold=True, look=TITLE), width, 24)
    rows = sheet.rows()
    rows.append([Cell(h, bold=True, look=HEADER) for h in CHECKS_HEADER])
    severity = {name: Cell(name, look=look) for name, look in SEVERITY.items()}
    links: dict[str, Cell] = {}
    for f in findings:
        where = links.get(f.cell)
        if where is None:
            where = links[f.cell] = Cell(f.cell, look=LINK, link=cell_link(f.cell))
        rows.append([where, f.row, f.prospect, f.owner, f.rule, severity.get(f.severity, f.severity), f.message])
    if not findings:
        rows.append([*([None] * (width - 1)), "No findings: every row passes the rules."])
    return Grid(
        config.tabs.checks,
        rows,
        widths=_checks_widths(findings),
        heights=sheet.heights,
        merges=sheet.merges,
        frozen_rows=2,
        autofilter=CellRange(1, 0, len(rows) - 1, width),
        page=Page(),
    )


def cell_link(cell: str) -> Link:
    """The link of a finding's cell: ``Pipeline!F12`` → that cell; a tab's name (a whole-tab finding) → its A1."""
    match = _CELL_REF.fullmatch(cell)
    return Link(match.group(1), match.group(2)) if match else Link(cell)


def _checks_widths(findings: Sequence[Finding]) -> list[float]:
    """Columns as wide as their longest text (within bounds), measured once per column for any number of rows."""

    def longest(texts: Iterable[str | None], least: int, most: int) -> float:
        return float(min(max(least, max((text_length(t) for t in set(texts) if t), default=0) + 2), most))

    return [
        longest((f.cell for f in findings), 8, 30),
        7,
        longest((f.prospect for f in findings), 12, 40),
        longest((f.owner for f in findings), 8, 24),
        longest((f.rule for f in findings), 8, 22),
        9,
        longest((f.message for f in findings), 40, 120),
    ]
