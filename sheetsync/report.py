"""Terminal and JSON output of a run (reference 2, 6.4): the text each command prints, never printed here.

cli.py prints what these functions return; this module never runs anything,
reads a workbook or writes a file.  It never styles text itself either: the
caller passes the highlight for famine months when stdout is a terminal.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .config import toml_string
from .figures import Figures, OwnerLine
from .forecast import FAMINE, ForecastMonth
from .model.fields import FIELDS, Layout
from .model.likeness import by_header, suggest_columns
from .rounding import cents
from .rules import Finding
from .run import Result

TOP_FINDINGS = 20
BAR_WIDTH = 24  # the forecast strip's bars
FAMINE_MARK = "famine ◀"

#: What makes a famine month stand out on a terminal (cli.py passes click.style); None in a pipe.
Highlight = Callable[[str], str] | None
WIDTH = 100


def as_json(result: Result, command: str) -> str:
    """The machine-readable result: ``validate`` → {as_of, rows, findings}; others the full object."""
    findings = [f.as_json() for f in result.checked.findings]
    data: dict[str, Any]
    if command == "validate":
        data = {
            "as_of": result.as_of.isoformat(),
            "rows": len(result.rows),
            "columns": columns_json(result.layout),
            "findings": findings,
        }
    else:
        if result.figures is not None:
            data = result.figures.as_json()
        else:
            data = {
                "as_of": result.as_of.isoformat(),
                "rows": len(result.rows),
                "excluded_rows": len(result.checked.excluded),
            }
        if command != "drafts":
            data["columns"] = columns_json(result.layout)
        data["findings"] = findings
        data["drafts"] = list(result.drafts.entries_json()) if result.drafts is not None else []
        if result.written_tabs:
            data["written_tabs"] = result.written_tabs
    data["warnings"] = result.warnings
    data["exit_code"] = result.exit_code
    return json.dumps(data, ensure_ascii=False, indent=2)


def columns_json(layout: Layout) -> dict[str, Any]:
    """Reference 6.4 ``columns``: each field's header (or null), the headers no field uses, and what those look like."""
    return {
        "fields": {name: layout.header(name) if name in layout.columns else None for name in FIELDS},
        "unused": list(layout.extras.values()),
        "suggested": by_header(suggest_columns(layout)),
    }


def columns_text(layout: Layout, full: bool = True) -> str:
    """The columns report (reference 4.1): where each field is read from, what is missing, what is not used.

    ``full`` False (``sync`` on a terminal without ``--verbose``): only the
    headers that look like a field, each with the line that maps it.
    """
    suggested = by_header(suggest_columns(layout))
    hints = [
        f"  {header!r} looks like {field}: add `{field} = {toml_string(header)}` under [columns]"
        for header in layout.extras.values()
        if (field := suggested.get(header)) is not None
    ]
    if not full:
        return "\n".join(["Columns:", *hints]) if hints else ""
    lines = [f"Columns of {layout.tab} (header row {layout.header_row}):"]
    lines += _packed([f"{name} = {toml_string(layout.header(name))}" for name in FIELDS if name in layout.columns])
    missing = [name for name in FIELDS if name not in layout.columns]
    if missing:
        lines += _packed(missing, "no column for: ")
    unused = list(layout.extras.values())
    if unused:
        lines += _packed([repr(h) for h in unused], "not used by any field (templates still get them): ")
    return "\n".join(lines + hints)


def _packed(items: list[str], lead: str = "") -> list[str]:
    """Items joined by commas into lines of at most WIDTH characters, never splitting an item."""
    lines: list[str] = []
    line = "  " + lead
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(line) + len(piece) + 1 > WIDTH and line.strip():
            lines.append(line.rstrip())
            line = "    "
        line += piece + " "
    lines.append(line.rstrip())
    return lines


def money(value: Decimal | None, currency: str) -> str:
    if value is None:
        return "–"
    return f"{currency} {value:,.2f}" if currency else f"{value:,.2f}"


def pct(value: Decimal | None) -> str:
    """A ratio as the Summary tab shows it (``0.0%``): one decimal, halves rounded up as Excel shows them."""
    return "–" if value is None else f"{one_decimal(value * 100)}%"


def one_decimal(value: Decimal) -> Decimal:
    """Half-up to one decimal, as a spreadsheet shows ``0.0``: 16.25 → 16.3 (a float would give 16.2)."""
    return Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def findings_text(result: Result, limit: int | None = None) -> str:
    checked = result.checked
    lines = [
        f"{result.layout.tab}: {len(result.rows)} rows checked as of {result.as_of.isoformat()} — "
        f"{checked.errors} error{'s' * (checked.errors != 1)}, "
        f"{checked.warnings} warning{'s' * (checked.warnings != 1)}"
        + (f", {len(checked.excluded)} row(s) left out of the figures" if checked.excluded else "")
    ]
    if not checked.findings:
        lines.append("Every row passes the rules.")
        return "\n".join(lines)
    counts = Counter((f.rule, f.severity) for f in checked.findings)
    lines.append("")
    lines.append("By rule:")
    for (rule, severity), n in sorted(counts.items(), key=lambda kv: (kv[0][1] != "error", -kv[1], kv[0][0])):
        lines.append(f"  {n:>5}  {rule:<20} {severity}")
    lines.append("")
    lines.append("Findings by row:")
    shown = checked.findings if limit is None else checked.findings[:limit]
    for f in shown:
        lines.append(_finding_line(f))
    if len(shown) < len(checked.findings):
        lines.append(f"  … and {len(checked.findings) - len(shown)} more (all of them are on the Checks tab)")
    return "\n".join(lines)


def _finding_line(f: Finding) -> str:
    what = f"{f.rule}: {f.prospect}" if f.prospect else f.rule
    return f"  {f.cell:<14} {f.severity:<7} {what} — {f.message}"


def figures_text(f: Figures, highlight: Highlight = None) -> str:
    c = f.currency
    lines = [
        f"Period {f.period_start.isoformat()} … {f.period_end.isoformat()} (as of {f.as_of.isoformat()})",
        "",
        f"  Won this period         {money(f.won_this_period, c):>22}"
        + (f"   {pct(f.attainment)} of quota {money(f.quota, c)}" if f.quota is not None else "   (no quota set)"),
        f"  Expected from pipeline  {money(f.expected, c):>22}",
        f"  To generate             {money(f.to_generate, c):>22}"
        + ("" if f.quota is not None else "   (set [quota] amount or a Quotas tab)"),
        "",
        f"  Open deals {f.open_count}   open pipeline {money(f.open_amount, c)}   "
        f"weighted {money(f.weighted_pipeline, c)}   coverage "
        + ("–" if f.coverage is None else f"{one_decimal(f.coverage)}×"),
        f"  Win rate {pct(f.win_rate)}   closing rate {pct(f.closing_rate)} of {f.appointments_held} meetings   "
        f"average won deal {money(f.average_won_deal, c)}",
        "  Sales cycle "
        + ("–" if f.cycle_days is None else f"{float(f.cycle_days):.0f} days")
        + f"   velocity {money(f.velocity, c)} per day   excluded rows {f.excluded_rows}",
        "",
        f"  {'Stage':<14}{'Deals':>6}{'Amount':>20}{'Prob.':>7}{'Weighted':>20}",
    ]
    most = max((s.count for s in f.stages), default=0)
    for s in f.stages:
        bar = "█" * round(20 * s.count / most) if most else ""
        lines.append(f"  {s.stage:<14}{s.count:>6}{s.amount:>20,.2f}{pct(s.probability):>7}{s.weighted:>20,.2f}  {bar}")
    lines.append("")
    lines.append(f"  {'Owner':<16}{'Deals':>6}{'Weighted':>18}{'Won':>18}{'Quota':>18}{'To generate':>18}{'Att.':>7}")
    for o in f.owners:
        quota = "–" if o.quota is None else f"{o.quota:,.2f}"
        to_gen = "–" if o.to_generate is None else f"{o.to_generate:,.2f}"
        lines.append(
            f"  {o.owner[:15]:<16}{o.count:>6}{o.weighted_pipeline:>18,.2f}{o.won_this_period:>18,.2f}"
            f"{quota:>18}{to_gen:>18}{pct(o.attainment):>7}"
        )
    lines.append("")
    lines.append(f"Forecast by month ({c}: open deals weighted, by expected close; overdue deals in the first month)")
    lines.extend(forecast_lines(f.forecast, highlight))
    lines.append("")
    if f.notes:
        lines.extend(f"Note: {note}" for note in f.notes)
        lines.append("")
    if f.diagnosis:
        lines.append("Diagnosis:")
        lines.extend(f"  {a.code}: {a.message}" for a in f.diagnosis)
    else:
        lines.append("Diagnosis: nothing to flag.")
    for o in f.owners:
        lines.append("")
        lines.extend(_owner_lines(o, c, highlight))
    return "\n".join(lines)


def forecast_lines(months: Sequence[ForecastMonth], highlight: Highlight = None) -> list[str]:
    """The feast-or-famine strip: a line per month with the expected amount, the target, a bar and the status.

    The bar is the expected amount, to one scale for the whole strip (the
    largest amount or target); ``│`` marks the target where the bar falls short.
    """
    scale = max([m.expected for m in months] + [m.target for m in months if m.target is not None], default=0)
    lines = [f"  {'Month':<9}{'Deals':>6}{'Expected':>18}{'Target':>18}"]
    famine = highlight(FAMINE_MARK) if highlight else FAMINE_MARK
    for m in months:
        filled = min(BAR_WIDTH, round(BAR_WIDTH * m.expected / scale)) if scale else 0
        bar = ["█"] * filled + [" "] * (BAR_WIDTH - filled)
        if m.target is not None and scale:
            tick = min(BAR_WIDTH - 1, round(BAR_WIDTH * m.target / scale))
            if tick >= filled:
                bar[tick] = "│"
        target = "–" if m.target is None else f"{cents(m.target):,.2f}"
        status = famine if m.status == FAMINE else m.status or "–"
        lines.append(f"  {m.month:<9}{m.deals:>6}{cents(m.expected):>18,.2f}{target:>18}  {''.join(bar)}  {status}")
    return lines


def _owner_lines(o: OwnerLine, currency: str, highlight: Highlight) -> list[str]:
    """One owner's own forecast and advice, worded to them (reference 6.2, per owner)."""
    about = (
        "no quota"
        if o.quota is None
        else f"quota {money(o.quota, currency)}, coverage " + ("–" if o.coverage is None else f"{o.coverage:.1f}×")
    )
    lines = [f"{o.owner} ({about})", *forecast_lines(o.forecast, highlight)]
    if o.diagnosis:
        lines.extend(f"  {a.code}: {a.message}" for a in o.diagnosis)
    else:
        lines.append("  nothing to flag: keep prospecting at the same pace")
    return lines


def findings_count(result: Result) -> str:
    """The findings in one line, for ``drafts``: the list itself is ``validate``'s (issue 16)."""
    checked = result.checked
    if not checked.findings:
        return f"{result.layout.tab}: every row passes the rules"
    return (
        f"{result.layout.tab}: {checked.errors} error{'s' * (checked.errors != 1)}, "
        f"{checked.warnings} warning{'s' * (checked.warnings != 1)} — run `sheetsync validate` for the list"
    )


def run_text(result: Result, command: str, verbose: bool = False, highlight: Highlight = None) -> str:
    """The terminal report (``sync``: the whole columns report with --verbose only; ``drafts``: findings counted)."""
    parts: list[str] = []
    if result.figures is not None:
        parts.append(figures_text(result.figures, highlight))
    if command != "drafts":
        columns = columns_text(result.layout, full=command != "sync" or verbose)
        if columns:
            parts.append(columns)
    if command == "drafts":
        parts.append(findings_count(result))
    else:
        parts.append(findings_text(result, None if command == "validate" else TOP_FINDINGS))
    if result.written_tabs:
        parts.append(f"Wrote tabs {', '.join(result.written_tabs)} into {result.source}")
    elif command in ("summary", "sync") and result.figures is not None:
        parts.append("Dry run: no tab was written.")
    if result.drafts is not None:
        parts.append(result.drafts.summary_text())
    return "\n\n".join(parts)


def problem_lines(result: Result) -> list[str]:
    """What a person must hear about when nobody watches the run (cron): warnings and errors only."""
    lines: list[str] = []
    checked = result.checked
    if checked.findings:
        where = "the Checks tab" if result.written_tabs else "the report"
        lines.append(
            f"Warning: {result.layout.tab} has {checked.errors} error(s) and {checked.warnings} warning(s) "
            f"as of {result.as_of.isoformat()} — see {where} or run `sheetsync validate`"
        )
    drafts = result.drafts
    if drafts is not None:
        for e in drafts.entries:
            # A refusal by Gmail is one Error line for all its drafts (the CLI prints result.errors).
            if e.status == "failed" and not any(error in e.detail for error in drafts.errors):
                lines.append(f"Error: draft for row {e.row} ({e.prospect or ''}) failed: {e.detail}")
        if drafts.skipped:
            why = "a usable email or a mailbox" if drafts.to == "gmail" else "a usable email"
            lines.append(f"Warning: {drafts.skipped} due draft(s) skipped for want of {why} — see {drafts.manifest}")
    return lines
