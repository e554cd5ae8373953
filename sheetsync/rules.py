"""Rows → findings (SPEC 5).  Rows are never changed."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from .config import Config, Stage
from .schema import Layout, Quotas, Row

_SEVERITY_RANK = {"off": 0, "warning": 1, "error": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str  # "error" | "warning"
    row: int
    cell: str
    prospect: str | None
    message: str

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


def _norm_email(email: str | None) -> str:
    """``_norm`` for addresses, which are all different: parsed ones hold no whitespace at all."""
    if email is not None and " " not in email and email.isprintable():
        return email.casefold()  # isprintable() is False for every whitespace but " "
    return _norm(email)


class _Checker:
    def __init__(self, layout: Layout, config: Config, as_of: dt.date) -> None:
        self.layout = layout
        self.config = config
        self.as_of = as_of
        self.severity = config.severity
        self.stages = {_norm(s.name): (i, s) for i, s in enumerate(config.stages)}
        self.stage_cache: dict[str, tuple[int, Stage]] = {}
        self.dm_from = config.stage_index(config.decision_maker_from_stage)
        self.qualified_from = config.stage_index(config.qualified_from_stage)
        middle = [s for s in config.stages if s.group == "middle"]
        self.first_middle = middle[0].name if middle else None
        self.out = Checked()

    def add(self, rule: str, row: Row, cell: str, message: str, severity: str | None = None) -> None:
        sev = severity or self.severity[rule]
        if sev != "off":
            self.out.findings.append(Finding(rule, sev, row.row, cell, row.prospect, message))

    def cell(self, name: str, row: Row) -> str:
        """The field's cell, or the row's prospect cell when the sheet has no such column."""
        cols = self.layout.columns
        return self.layout.cell(name if name in cols else "prospect", row.row)

    def run(self, rows: Sequence[Row], quotas: Quotas | None) -> Checked:
        seen: dict[tuple[str, str], Row] = {}
        prospect_key = _NormMemo()
        for row in rows:
            stage = self.row(row)
            if stage is None:
                self.out.excluded.add(row.row)
                continue
            if row.prospect:
                key = (prospect_key[row.prospect], _norm_email(row.email))
                first = seen.get(key)
                if first is None:
                    seen[key] = row
                else:
                    self.add(
                        "duplicate",
                        row,
                        self.cell("prospect", row),
                        f"same prospect and email as row {first.row} ({self.cell('prospect', first)}) — "
                        "merge the two rows or delete this one",
                    )
        if quotas:
            for cell, number, message in quotas.problems:
                sev = self.severity["bad-value"]
                if sev != "off":
                    self.out.findings.append(Finding("bad-value", sev, number, cell, None, message))
        return self.out

    def row(self, row: Row) -> Stage | None:
        """Check one row; return its stage, or None when the row is excluded."""
        for bad in row.bad:
            cell = self.layout.cell_at(bad.col, row.row)
            header = self.layout.headers[bad.col] if bad.col < len(self.layout.headers) else cell
            self.add("bad-value", row, cell, f"{header}: {bad.message}")
        if row.prospect and row.stage:
            missing: list[str] = []  # the usual row: skip the per-field look-ups below
        else:
            missing = [name for name in ("prospect", "stage") if not getattr(row, name) and not row.is_bad(name)]
        for name in missing:
            what = "prospect (company) name" if name == "prospect" else "stage"
            self.add(
                "required", row, self.cell(name, row), f"row {row.row} has no {what} — fill it in or clear the row"
            )
        if row.stage is None:
            return None
        found = self.stage_cache.get(row.stage)
        if found is None:
            found = self.stages.get(_norm(row.stage))
            if found is not None:
                self.stage_cache[row.stage] = found
        if found is None:
            names = [s.name for s in self.config.stages]
            close = difflib.get_close_matches(row.stage, names, n=1, cutoff=0.5) or difflib.get_close_matches(
                row.stage.casefold(), [n.casefold() for n in names], n=1, cutoff=0.5
            )
            hint = (
                f"did you mean {names[[n.casefold() for n in names].index(close[0].casefold())]!r}?"
                if close
                else (f"use one of {', '.join(names)}")
            )
            self.add(
                "unknown-stage",
                row,
                self.cell("stage", row),
                f"stage {row.stage!r} is not a known stage — {hint} (or add it under [[stages]])",
            )
            return None
        if missing:
            return None
        index, stage = found
        self.qualification(row, index, stage)
        return stage

    def qualification(self, row: Row, index: int, stage: Stage) -> None:
        as_of = self.as_of
        is_open = stage.is_open
        if is_open and index >= self.dm_from and row.decision_maker is not True and not row.is_bad("decision_maker"):
            self.add(
                "decision-maker",
                row,
                self.cell("decision_maker", row),
                f"{stage.name} deal without a confirmed decision maker — confirm you are talking to the "
                "person who can buy before you book meetings, then mark Decision Maker yes",
            )
        if index >= self.qualified_from and (is_open or stage.group == "won"):
            if row.budget is None and not row.is_bad("budget"):
                self.add(
                    "budget-known",
                    row,
                    self.cell("budget", row),
                    f"{stage.name} deal with no budget — ask the prospect what they plan to spend and enter it",
                )
            if is_open and row.expected_close is None and not row.is_bad("expected_close"):
                self.add(
                    "timeline-known",
                    row,
                    self.cell("expected_close", row),
                    f"{stage.name} deal with no expected close date — ask when they will decide and enter the date",
                )
        if is_open:
            appt = row.appointment_date
            if row.next_follow_up is None and not row.is_bad("next_follow_up") and (appt is None or appt < as_of):
                self.add(
                    "next-step",
                    row,
                    self.cell("next_follow_up", row),
                    "open deal with no next step — set a next follow-up date or book an appointment",
                )
            if stage.stale_after_days is not None:
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
            if row.expected_close is not None and row.expected_close < as_of:
                self.add(
                    "close-date-passed",
                    row,
                    self.cell("expected_close", row),
                    f"expected close {row.expected_close.isoformat()} has passed — close the deal, mark it lost, "
                    "or agree a new date",
                )
            if stage.name == self.first_middle and appt is not None and appt < as_of:
                self.add(
                    "appointment-passed",
                    row,
                    self.cell("appointment", row),
                    f"the appointment on {appt.isoformat()} has passed but the stage is still {stage.name} — "
                    "move the deal on (or back) and book the next step",
                )
        if stage.group in ("won", "lost") and row.closed_on is None and not row.is_bad("closed_on"):
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
