"""Rows → findings (reference 5).  Rows are never changed.

Also decides which rows are left out of the figures and drafts (a row with
no prospect or stage, an unknown stage, the later row of a duplicate), and
reports a rule whose input column the sheet lacks once, for the whole tab,
instead of once per row.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .config import Config, Stage, stage_key
from .model.fields import FIELD_SPECS, Layout
from .model.quotas import Quotas
from .model.reader import Row

_SEVERITY_RANK = {"off": 0, "warning": 1, "error": 2}
#: rule → the fields it reads; a sheet with none of them gets one finding for the whole tab (reference 5).
RULE_INPUTS: dict[str, tuple[str, ...]] = {
    "decision-maker": ("decision_maker",),
    "budget-known": ("budget",),
    "timeline-known": ("expected_close",),
    "close-date-passed": ("expected_close",),
    "next-step": ("next_follow_up",),
    "stale": ("last_contact", "created_on"),
    "appointment-passed": ("appointment",),
    "closed-date": ("closed_on",),
}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str  # "error" | "warning"
    row: int | None  # None: a finding about the whole tab (a missing column)
    cell: str
    prospect: str | None
    message: str
    owner: str | None = None  # the row's Owner: the Checks tab lists it so a rep can filter their own

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "row": self.row,
            "cell": self.cell,
            "prospect": self.prospect,
            "message": self.message,
        }


@dataclass(slots=True)
class Checked:
    """The outcome of checking every row."""

    findings: list[Finding] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)  # row numbers left out of figures and drafts
    stale: set[int] = field(default_factory=set)  # rows with a `stale` finding (trial offers, diagnosis)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")


def check(rows: Sequence[Row], layout: Layout, config: Config, as_of: dt.date, quotas: Quotas | None = None) -> Checked:
    return _Checker(layout, config, as_of).run(rows, quotas)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


class _NormMemo(dict[str | None, str]):
    """``_norm`` of prospect names, which repeat (branches, several contacts per company)."""

    def __missing__(self, text: str | None) -> str:
        value = self[text] = _norm(text)
        return value


def close_name(word: str, names: Sequence[str]) -> str | None:
    """The name ``word`` is a typo of: at most one edit away (two for names over 8 characters), else None.

    An edit is a letter added, dropped, changed, or two neighbours swapped
    (``Negociation`` → Negotiation, ``Qualifed`` → Qualified); case and
    spacing don't count.  ``Closing`` is four edits from ``Lost``: no
    suggestion, since a wrong one sends the user the wrong way.  A word
    whose length differs from a name's by more than the allowance is not
    compared, so a long cell costs nothing.
    """
    typed = stage_key(word)
    best: tuple[int, str] | None = None
    for name in names:
        key = stage_key(name)
        allowed = 1 if len(key) <= 8 else 2
        if abs(len(key) - len(typed)) <= allowed:
            d = _edits(typed, key)
            if d <= allowed and (best is None or d < best[0]):
                best = (d, name)
    return None if best is None else best[1]


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _row_of(finding: Finding) -> int:
    return finding.row or 0


class _Plan(NamedTuple):
    """Which rules apply to a row of one stage (reference 5), worked out once per stage instead of per row."""

    stage: Stage
    is_open: bool
    decision_maker: bool  # decision-maker by stage: open, at or after [rules] decision_maker_from_stage
    budget: bool  # budget-known: open or won, at or after [rules] qualified_from_stage
    timeline: bool  # timeline-known: as budget, open only
    first_middle: bool  # appointment-passed: the first "middle" stage
    closed: bool  # closed-date: won or lost
    # Each is False too when the rule's column is missing (one finding for the tab instead).


class _Checker:
    def __init__(self, layout: Layout, config: Config, as_of: dt.date) -> None:
        self.layout = layout
        self.config = config
        self.as_of = as_of
        self.severity = config.severity
        # Rules whose input columns the sheet lacks: checked for the tab, never per row.
        self.blind = [r for r, inputs in RULE_INPUTS.items() if not any(f in layout.columns for f in inputs)]
        can = {rule: rule not in self.blind for rule in RULE_INPUTS}
        self.decision_maker, self.next_step = can["decision-maker"], can["next-step"]
        self.stale, self.close_date_passed = can["stale"], can["close-date-passed"]
        self.dm_header = layout.header("decision_maker")
        dm_from = config.stage_index(config.decision_maker_from_stage)
        qualified_from = config.stage_index(config.qualified_from_stage)
        middle = [s for s in config.stages if s.group == "middle"]
        first_middle = middle[0].name if middle else None
        self.plans: dict[str, _Plan] = {}
        for i, s in enumerate(config.stages):
            is_open = s.is_open
            qualified = i >= qualified_from
            self.plans[stage_key(s.name)] = _Plan(
                s,
                is_open,
                is_open and i >= dm_from and can["decision-maker"],
                qualified and (is_open or s.group == "won") and can["budget-known"],
                qualified and is_open and can["timeline-known"],
                s.name == first_middle and can["appointment-passed"],
                s.group in ("won", "lost") and can["closed-date"],
            )
        self.plan_cache: dict[str, _Plan] = {}  # by the stage as typed
        self.unknown: dict[str, str] = {}  # unknown-stage message by the stage as typed (a typo repeats)
        self.out = Checked()

    def add(self, rule: str, row: Row, cell: str, message: str, severity: str | None = None) -> None:
        sev = severity or self.severity[rule]
        if sev != "off":
            self.out.findings.append(Finding(rule, sev, row.row, cell, row.prospect, message, row.owner))

    def cell(self, name: str, row: Row) -> str:
        """The field's cell, or the row's prospect cell when the sheet has no such column."""
        cols = self.layout.columns
        return self.layout.cell(name if name in cols else "prospect", row.row)

    def run(self, rows: Sequence[Row], quotas: Quotas | None) -> Checked:
        plan_cache = self.plan_cache
        excluded = self.out.excluded
        kept: list[Row] = []
        for row in rows:
            # The usual row (no unreadable cell, a prospect and a known stage) goes straight to its rules.
            if row.bad or not row.prospect or (plan := plan_cache.get(row.stage)) is None:  # type: ignore[arg-type]
                plan = self.unusual(row)
                if plan is None:
                    excluded.add(row.row)
                    continue
            self.qualification(row, plan)
            kept.append(row)
        duplicates = self.duplicates(kept)
        if duplicates:
            # Each row's duplicate finding comes after its other findings, as if found row by row.
            self.out.findings = list(heapq.merge(self.out.findings, duplicates, key=_row_of))
        tab_findings = self.missing_columns()
        if tab_findings:
            self.out.findings[:0] = tab_findings
        if quotas:
            for cell, number, message in quotas.problems:
                sev = self.severity["bad-value"]
                if sev != "off":
                    self.out.findings.append(Finding("bad-value", sev, number, cell, None, message))
        return self.out

    def missing_columns(self) -> list[Finding]:
        """One warning per rule whose input column is missing (reference 5): it can't be checked on any row.

        Always a warning, whatever the rule's configured severity (unless
        "off"): the sheet's shape is not a problem in its data, and an error
        would fail every run of a sheet that simply doesn't track the thing
        (docs/decisions.md, Rules).
        """
        found: list[Finding] = []
        for rule in self.blind:
            if self.severity[rule] == "off":
                continue
            names = " or ".join(self.config.columns.get(f) or FIELD_SPECS[f][1] for f in RULE_INPUTS[rule])
            found.append(
                Finding(
                    rule,
                    "warning",
                    None,
                    self.layout.tab,
                    None,
                    f"no {names} column — the {rule} rule can't be checked; add the column or map yours "
                    "under [columns]",
                )
            )
        return found

    def duplicates(self, kept: Sequence[Row]) -> list[Finding]:
        """A finding for each row with the prospect and email of an earlier row (spacing and case ignored).

        Worked out for all rows at once: each row's key is made by a
        comprehension, and one dict built from the keys backwards maps each
        key to its first row, so the usual sheet (no duplicates) never runs a
        Python statement per row.
        """
        if self.severity["duplicate"] == "off":
            return []
        named = [row for row in kept if row.prospect]
        prospect_key = _NormMemo()
        emails = [
            # Parsed addresses hold no whitespace (isprintable() is False for all of it but " "): casefold is _norm.
            e.casefold() if e is not None and " " not in e and e.isprintable() else _norm(e)
            for e in [row.email for row in named]
        ]
        keys = list(zip(map(prospect_key.__getitem__, [row.prospect for row in named]), emails, strict=True))
        first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
        if len(first) == len(keys):
            return []
        found: list[Finding] = []
        for i, key in enumerate(keys):
            j = first[key]
            if j != i:
                row, earlier = named[i], named[j]
                self.out.excluded.add(row.row)
                found.append(
                    Finding(
                        "duplicate",
                        self.severity["duplicate"],
                        row.row,
                        self.cell("prospect", row),
                        row.prospect,
                        f"same prospect and email as row {earlier.row} ({self.cell('prospect', earlier)}) — "
                        "merge the two rows or delete this one (until then this row is left out of the figures "
                        "and drafts)",
                        row.owner,
                    )
                )
        return found

    def unusual(self, row: Row) -> _Plan | None:
        """A row's unreadable cells, missing fields and stage; its plan, or None when the row is excluded."""
        for bad in row.bad:
            cell = self.layout.cell_at(bad.col, row.row)
            header = self.layout.headers[bad.col] if bad.col < len(self.layout.headers) else cell
            self.add("bad-value", row, cell, f"{header}: {bad.message}")
        missing = [name for name in ("prospect", "stage") if not getattr(row, name) and not row.is_bad(name)]
        for name in missing:
            what = "prospect (company) name" if name == "prospect" else "stage"
            self.add(
                "required", row, self.cell(name, row), f"row {row.row} has no {what} — fill it in or clear the row"
            )
        if row.stage is None:
            return None
        plan = self.plan_cache.get(row.stage)
        if plan is None:
            plan = self.plans.get(stage_key(row.stage))
            if plan is not None:
                self.plan_cache[row.stage] = plan
        if plan is None:
            message = self.unknown.get(row.stage)
            if message is None:
                message = self.unknown[row.stage] = self.unknown_stage(row.stage)
            self.add("unknown-stage", row, self.cell("stage", row), message)
            return None
        if missing:
            return None
        return plan

    def unknown_stage(self, stage: str) -> str:
        """The ``unknown-stage`` message, with the configured stage the text is a typo of, else the list."""
        names = [s.name for s in self.config.stages]
        close = close_name(stage, names)
        hint = f"did you mean {close!r}?" if close else f"use one of {', '.join(names)}"
        return f"stage {stage!r} is not a known stage — {hint} (or add it under [[stages]])"

    def qualification(self, row: Row, plan: _Plan) -> None:
        as_of = self.as_of
        stage = plan.stage
        if plan.is_open and row.decision_maker is not True and not row.is_bad("decision_maker"):
            # One finding a row: a meeting date names what to do and by when, so it wins over the stage.
            meeting = row.appointment_date if self.decision_maker else None
            if meeting is not None:
                self.add(
                    "decision-maker",
                    row,
                    self.cell("decision_maker", row),
                    _meeting_without_dm(meeting, as_of, self.dm_header),
                )
            elif plan.decision_maker:
                self.add(
                    "decision-maker",
                    row,
                    self.cell("decision_maker", row),
                    f"{stage.name} deal without a confirmed decision maker — confirm you are talking to the "
                    f"person who can buy before you book meetings, then mark {self.dm_header} yes",
                )
        if plan.budget and row.budget is None and not row.is_bad("budget"):
            self.add(
                "budget-known",
                row,
                self.cell("budget", row),
                f"{stage.name} deal with no budget — ask the prospect what they plan to spend and enter it",
            )
        if plan.timeline and row.expected_close is None and not row.is_bad("expected_close"):
            self.add(
                "timeline-known",
                row,
                self.cell("expected_close", row),
                f"{stage.name} deal with no expected close date — ask when they will decide and enter the date",
            )
        if plan.is_open:
            appt = row.appointment
            if isinstance(appt, dt.datetime):
                appt = appt.date()
            if (
                self.next_step
                and row.next_follow_up is None
                and not row.is_bad("next_follow_up")
                and (appt is None or appt < as_of)
            ):
                self.add(
                    "next-step",
                    row,
                    self.cell("next_follow_up", row),
                    "open deal with no next step — set a next follow-up date or book an appointment",
                )
            if self.stale and stage.stale_after_days is not None:
                ref, ref_field = (
                    (row.last_contact, "last_contact") if row.last_contact else (row.created_on, "created_on")
                )
                if ref is not None and (as_of - ref).days > stage.stale_after_days:
                    days = (as_of - ref).days
                    since = "last contact" if ref_field == "last_contact" else "created, never contacted"
                    if self.severity["stale"] != "off":
                        self.out.stale.add(row.row)
                    self.add(
                        "stale",
                        row,
                        self.cell(ref_field, row),
                        f"no contact for {days} days ({since} {ref.isoformat()}; {stage.name} deals go stale "
                        f"after {stage.stale_after_days}) — call or write to them this week",
                    )
            if self.close_date_passed and row.expected_close is not None and row.expected_close < as_of:
                self.add(
                    "close-date-passed",
                    row,
                    self.cell("expected_close", row),
                    f"expected close {row.expected_close.isoformat()} has passed — close the deal, mark it lost, "
                    "or agree a new date",
                )
            if plan.first_middle and appt is not None and appt < as_of:
                self.add(
                    "appointment-passed",
                    row,
                    self.cell("appointment", row),
                    f"the appointment on {appt.isoformat()} has passed but the stage is still {stage.name} — "
                    "move the deal on (or back) and book the next step",
                )
        elif plan.closed and row.closed_on is None and not row.is_bad("closed_on"):
            sev = self.severity["closed-date"]
            if stage.group == "lost" and _SEVERITY_RANK[sev] > _SEVERITY_RANK["warning"]:
                sev = "warning"
            self.add(
                "closed-date",
                row,
                self.cell("closed_on", row),
                f"{stage.name} deal with no closed-on date — enter the date it was {stage.group}",
                severity=sev,
            )


def _meeting_without_dm(meeting: dt.date, as_of: dt.date, header: str) -> str:
    """The decision-maker message for a deal with a meeting date (reference 5): before the meeting, or after it.

    ``header`` is the sheet's own Decision Maker header, the column the rep is told to mark.
    """
    if meeting >= as_of:
        return (
            f"meeting booked for {meeting.isoformat()} without a confirmed decision maker — confirm before "
            f"the meeting that the person who can buy will be there, then mark {header} yes"
        )
    return (
        f"meeting held on {meeting.isoformat()} without a confirmed decision maker — find out who decides "
        f"and meet them next, then mark {header} yes"
    )
