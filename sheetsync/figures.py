"""Rows → figures and diagnosis (reference 6.1, 6.2).

Amounts are ``Decimal`` from the cell to the total, so sums are exact to the
cent whatever the row count; they become JSON numbers (rounded half-up to the
cent) only at the edge.  Ratios are fractions.  Figures know nothing about
where rows came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import MAX_PREC, ROUND_HALF_UP, Decimal, localcontext

from .config import Config, StageLookup
from .model.quotas import Quotas
from .model.reader import Row
from .rules import Checked

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
NO_OWNER = "(none)"
#: Said once (terminal, JSON ``notes``, Summary tab) when Won rows are dated by their Expected Close (reference 6.1).
WON_BY_EXPECTED_CLOSE = "Won deals dated by Expected Close: there is no Closed On column"


def period_bounds(as_of: dt.date, period: str, fiscal_start: int) -> tuple[dt.date, dt.date]:
    """The month, quarter or (fiscal) year containing ``as_of``, inclusive."""
    if period == "month":
        start = as_of.replace(day=1)
        months = 1
    else:
        months = 3 if period == "quarter" else 12
        since = (as_of.month - fiscal_start) % 12
        first_month = fiscal_start + since - since % months  # may pass 12
        year = as_of.year - (1 if as_of.month < fiscal_start else 0)
        year += (first_month - 1) // 12
        start = dt.date(year, (first_month - 1) % 12 + 1, 1)
    end_month = start.month - 1 + months
    end = dt.date(start.year + end_month // 12, end_month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


@dataclass(slots=True)
class StageLine:
    stage: str
    probability: Decimal
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO


@dataclass(slots=True)
class OwnerLine:
    owner: str
    count: int = 0
    open_amount: Decimal = ZERO
    weighted_pipeline: Decimal = ZERO
    won_this_period: Decimal = ZERO
    expected: Decimal = ZERO
    quota: Decimal | None = None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.quota is None else max(ZERO, self.quota - self.won_this_period)

    @property
    def to_generate(self) -> Decimal | None:
        return None if self.quota is None else max(ZERO, self.quota - self.won_this_period - self.expected)

    @property
    def attainment(self) -> Decimal | None:
        return None if not self.quota else self.won_this_period / self.quota


@dataclass(frozen=True, slots=True)
class Advice:
    code: str
    message: str


@dataclass(slots=True)
class Figures:
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    currency: str
    rows: int
    excluded_rows: int
    stages: list[StageLine]
    open_count: int
    open_amount: Decimal
    weighted_pipeline: Decimal
    won_this_period: Decimal
    expected: Decimal
    quota: Decimal | None
    remaining: Decimal | None
    to_generate: Decimal | None
    attainment: Decimal | None
    coverage: Decimal | None
    win_rate: Decimal | None
    appointments_held: int
    closing_rate: Decimal | None
    average_won_deal: Decimal | None
    cycle_days: Decimal | None
    velocity: Decimal | None
    owners: list[OwnerLine]
    diagnosis: list[Advice] = field(default_factory=list)
    group_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # how a figure was worked out, when the sheet made us choose

    def as_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "currency": self.currency,
            "rows": self.rows,
            "excluded_rows": self.excluded_rows,
            "stages": [
                {
                    "stage": s.stage,
                    "count": s.count,
                    "amount": money(s.amount),
                    "probability": ratio(s.probability),
                    "weighted": money(s.weighted),
                }
                for s in self.stages
            ],
            "open_count": self.open_count,
            "open_amount": money(self.open_amount),
            "weighted_pipeline": money(self.weighted_pipeline),
            "won_this_period": money(self.won_this_period),
            "expected": money(self.expected),
            "quota": money(self.quota),
            "remaining": money(self.remaining),
            "to_generate": money(self.to_generate),
            "attainment": ratio(self.attainment),
            "coverage": ratio(self.coverage),
            "win_rate": ratio(self.win_rate),
            "appointments_held": self.appointments_held,
            "closing_rate": ratio(self.closing_rate),
            "average_won_deal": money(self.average_won_deal),
            "cycle_days": ratio(self.cycle_days),
            "velocity": money(self.velocity),
            "owners": [
                {
                    "owner": o.owner,
                    "count": o.count,
                    "open_amount": money(o.open_amount),
                    "weighted_pipeline": money(o.weighted_pipeline),
                    "won_this_period": money(o.won_this_period),
                    "expected": money(o.expected),
                    "quota": money(o.quota),
                    "remaining": money(o.remaining),
                    "to_generate": money(o.to_generate),
                    "attainment": ratio(o.attainment),
                }
                for o in self.owners
            ],
            "diagnosis": [{"code": a.code, "message": a.message} for a in self.diagnosis],
            "notes": self.notes,
        }


def _buckets(rows: Sequence[Row], excluded: set[int]) -> dict[tuple[str, str | None], list[Row]]:
    """The included rows by (stage, owner) as typed, in order of first appearance.

    The figures then work a bucket at a time with comprehensions and ``sum``
    instead of a Python loop body per row: 100,000 rows in ~0.1 s, not 0.17 s.
    """
    buckets: dict[tuple[str, str | None], list[Row]] = {}
    for row in rows:
        if row.stage is None or row.row in excluded:
            continue
        key = (row.stage, row.owner)
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [row]
        else:
            bucket.append(row)
    return buckets


def cents(value: Decimal) -> Decimal:
    """Rounded half-up to the cent, however many digits (the default context stops at 28)."""
    if value.adjusted() < 25:
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    with localcontext() as wide:
        wide.prec = value.adjusted() + 3
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal | None) -> float | None:
    """An amount as a JSON number, exact to the cent (the float's repr is the 2-decimal value)."""
    return None if value is None else float(cents(value))


def ratio(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 6)


def compute(
    rows: Sequence[Row],
    checked: Checked,
    config: Config,
    as_of: dt.date,
    quotas: Quotas | None = None,
    closed_on_column: bool = True,
) -> Figures:
    """The figures of reference 6.1; without a Closed On column (``closed_on_column`` False) Won rows are
    dated by their Expected Close, and the figures' ``notes`` say so."""
    start, end = period_bounds(as_of, config.period, config.fiscal_year_start_month)
    stage_of = StageLookup(config)
    lines = {s.name: StageLine(s.name, s.probability) for s in config.stages}
    owners: dict[str, OwnerLine] = {}

    by_name: dict[str | None, OwnerLine] = {}

    def owner_line(name: str | None) -> OwnerLine:
        line = by_name.get(name)
        if line is None:
            display = name or NO_OWNER
            key = " ".join(display.split()).casefold()
            line = owners.get(key)
            if line is None:
                line = owners[key] = OwnerLine(display)
            by_name[name] = line
        return line

    open_count = 0
    open_amount = weighted_pipeline = won_this_period = expected = expected_amount = won_total = ZERO
    biggest_weight: Decimal | None = None
    won = lost = held = held_won = 0
    cycle_total = 0
    cycle_n = 0
    groups = {"early": 0, "middle": 0, "late": 0, "won": 0, "lost": 0, "paused": 0}
    undated_won = 0
    included = 0

    with localcontext() as exact:
        exact.prec = MAX_PREC  # sums and products of amounts never round, so their order can't matter
        for (stage_name, owner_name), bucket in _buckets(rows, checked.excluded).items():
            stage = stage_of[stage_name]
            assert stage is not None, stage_name  # the rules exclude rows whose stage isn't configured
            group = stage.group
            n = len(bucket)
            included += n
            groups[group] += n
            line = lines[stage.name]
            amounts = [ZERO if (a := r.budget) is None else a for r in bucket]
            if group == "paused":  # in the stage table and in `rows`, nothing else (reference 4.2)
                line.count += n
                line.amount += sum(amounts, ZERO)
                continue
            owner = owner_line(owner_name)
            line.count += n
            owner.count += n
            if stage.is_open:
                default = stage.probability
                weights = [
                    a * (default if (p := r.probability) is None else p) for a, r in zip(amounts, bucket, strict=True)
                ]
            else:
                prob = ONE if group == "won" else ZERO
                weights = [a * prob for a in amounts]
            amount = sum(amounts, ZERO)
            weighted = sum(weights, ZERO)
            line.amount += amount
            line.weighted += weighted
            if stage.is_open:
                open_count += n
                open_amount += amount
                weighted_pipeline += weighted
                top = max(weights)
                biggest_weight = top if biggest_weight is None else max(biggest_weight, top)
                owner.open_amount += amount
                owner.weighted_pipeline += weighted
                closing = [i for i, r in enumerate(bucket) if (c := r.expected_close) is not None and c <= end]
                if closing:
                    due_weight = sum([weights[i] for i in closing], ZERO)
                    expected += due_weight
                    expected_amount += sum([amounts[i] for i in closing], ZERO)
                    owner.expected += due_weight
            elif group == "won":
                won += n
                won_total += amount
                dates = [r.closed_on for r in bucket] if closed_on_column else [r.expected_close for r in bucket]
                undated_won += dates.count(None)
                in_period = sum(
                    [a for a, c in zip(amounts, dates, strict=True) if c is not None and start <= c <= end], ZERO
                )
                won_this_period += in_period
                owner.won_this_period += in_period
                cycles = [
                    (c - o).days
                    for r, c in zip(bucket, dates, strict=True)
                    if c is not None and (o := r.created_on) is not None
                ]
                cycle_total += sum(cycles)
                cycle_n += len(cycles)
            elif group == "lost":
                lost += n
            for r in bucket:
                appt = r.appointment
                if appt is not None and (appt.date() if isinstance(appt, dt.datetime) else appt) <= as_of:
                    held += 1
                    if group == "won":
                        held_won += 1

    if quotas:
        for name, amount in quotas.by_owner.items():
            owner_line(name).quota = amount
    quota = config.quota_amount if config.quota_amount is not None else (quotas.total if quotas else None)
    remaining = None if quota is None else max(ZERO, quota - won_this_period)
    to_generate = None if quota is None else max(ZERO, quota - won_this_period - expected)
    attainment = won_this_period / quota if quota else None
    coverage = expected_amount / remaining if remaining else None
    win_rate = Decimal(won) / (won + lost) if won + lost else None
    closing_rate = Decimal(held_won) / held if held else None
    average_won = won_total / won if won else None
    cycle_days = Decimal(cycle_total) / cycle_n if cycle_n else None
    velocity = None
    if open_count and win_rate and average_won and cycle_days:
        velocity = open_count * win_rate * average_won / cycle_days

    figures = Figures(
        as_of=as_of,
        period_start=start,
        period_end=end,
        currency=config.currency,
        rows=len(rows),
        excluded_rows=len(rows) - included,
        stages=list(lines.values()),
        open_count=open_count,
        open_amount=open_amount,
        weighted_pipeline=weighted_pipeline,
        won_this_period=won_this_period,
        expected=expected,
        quota=quota,
        remaining=remaining,
        to_generate=to_generate,
        attainment=attainment,
        coverage=coverage,
        win_rate=win_rate,
        appointments_held=held,
        closing_rate=closing_rate,
        average_won_deal=average_won,
        cycle_days=cycle_days,
        velocity=velocity,
        owners=sorted(owners.values(), key=lambda o: (o.owner == NO_OWNER, o.owner.casefold())),
        group_counts=groups,
    )
    figures.diagnosis = diagnose(figures, config, bool(checked.stale), biggest_weight or ZERO)
    if not closed_on_column:
        note = WON_BY_EXPECTED_CLOSE
        if undated_won == 1:
            note += "; 1 Won row has no Expected Close and is not won this period"
        elif undated_won:
            note += f"; {undated_won} Won rows have no Expected Close and are not won this period"
        figures.notes.append(note)
    return figures


def diagnose(f: Figures, config: Config, any_stale: bool, biggest_weight: Decimal) -> list[Advice]:
    d = config.diagnosis
    g = f.group_counts
    early, middle, late = g.get("early", 0), g.get("middle", 0), g.get("late", 0)
    out: list[Advice] = []
    if late >= 3 and early + middle < late:
        out.append(
            Advice(
                "prospect-more",
                f"{late} deals are near closing but only {early + middle} are earlier in the pipeline — "
                "book prospecting calls now so next period isn't empty",
            )
        )
    if early >= 6 and early >= 3 * max(1, middle + late):
        out.append(
            Advice(
                "present-more",
                f"{early} early leads but only {middle + late} presentations or proposals — cut cold calls, "
                "research the leads you have and present to them",
            )
        )
    if (
        f.appointments_held >= d.min_appointments
        and f.closing_rate is not None
        and f.closing_rate < Decimal(str(d.closing_rate_floor))
    ):
        out.append(
            Advice(
                "closing-skills",
                f"{f.appointments_held} meetings held but only {float(f.closing_rate):.0%} closed — "
                "work on closing: ask for the order and handle objections",
            )
        )
    if f.coverage is not None and f.coverage < Decimal(str(d.coverage_target)):
        out.append(
            Advice(
                "thin-coverage",
                f"the pipeline due this period covers {float(f.coverage):.1f}× what is left of the quota "
                f"(target {d.coverage_target:g}×) — generate more pipeline",
            )
        )
    if any_stale:
        out.append(
            Advice(
                "stalled",
                "some deals have gone quiet — offer the stalled prospects a free trial or demo (see Checks: stale)",
            )
        )
    if f.weighted_pipeline > 0 and biggest_weight > f.weighted_pipeline * Decimal(str(d.big_deal_share)):
        share = biggest_weight / f.weighted_pipeline
        out.append(
            Advice(
                "big-deal",
                f"one deal carries {float(share):.0%} of the weighted pipeline — hedge with several smaller deals",
            )
        )
    return out
