"""The diagnosis (reference 6.2): advice codes for the team or one owner, worded to them.

:func:`diagnose` reads a :class:`Basis` — the few counts and amounts the
conditions need, made by :mod:`sheetsync.figures` for the team and for each
owner — so one function serves both, only the voice differs.  It never
reads rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .config import Config
from .forecast import FAMINE, ForecastMonth
from .rounding import cents


@dataclass(frozen=True, slots=True)
class Advice:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Basis:
    """What the diagnosis reads (reference 6.2), for the team or for one owner."""

    early: int  # open rows by stage group
    middle: int
    late: int
    appointments_held: int
    closing_rate: Decimal | None
    coverage: Decimal | None
    stale: int  # rows with a `stale` finding
    weighted_pipeline: Decimal
    biggest_weight: Decimal  # of one open row
    forecast: Sequence[ForecastMonth]
    cycle_days: Decimal | None
    currency: str


#: Each code's advice: (to the team, to one owner).  The conditions are the same; only the voice differs.
_WORDS: dict[str, tuple[str, str]] = {
    "prospect-more": (
        "{late} deals are near closing but only {earlier} are earlier in the pipeline — "
        "book prospecting calls now so next period isn't empty",
        "you have {late} deals near closing but only {earlier} earlier in your pipeline — "
        "book prospecting calls now so your next period isn't empty",
    ),
    "present-more": (
        "{early} early leads but only {later} presentations or proposals — cut cold calls, "
        "research the leads you have and present to them",
        "you have {early} early leads but only {later} presentations or proposals — cut cold calls, "
        "research the leads you have and present to them",
    ),
    "closing-skills": (
        "{held} meetings held but only {rate:.0%} closed — work on closing: ask for the order and handle objections",
        "you held {held} meetings but closed only {rate:.0%} of them — work on closing: ask for the order "
        "and handle objections",
    ),
    "thin-coverage": (
        "the pipeline due this period covers {coverage:.1f}× what is left of the quota "
        "(target {target:g}×) — generate more pipeline",
        "your pipeline due this period covers {coverage:.1f}× what is left of your quota "
        "(target {target:g}×) — generate more pipeline",
    ),
    "stalled": (
        "some deals have gone quiet — offer the stalled prospects a free trial or demo (see Checks: stale)",
        "{stale} of your deals {have} gone quiet — offer {them} a free trial or demo (see Checks: stale)",
    ),
    "big-deal": (
        "one deal carries {share:.0%} of the weighted pipeline — hedge with several smaller deals",
        "one deal carries {share:.0%} of your weighted pipeline — hedge with several smaller deals",
    ),
    "famine-ahead": (
        "expected sales in {month} are {expected}, under {under} the monthly target {target}; {then}",
        "your expected sales in {month} are {expected}, under {under} your monthly target {target}; {then}",
    ),
}


def diagnose(b: Basis, config: Config, *, you: bool = False) -> list[Advice]:
    """The advice codes of reference 6.2 that hold for ``b``, in order; worded to the team, or to the owner."""
    d = config.diagnosis
    out: list[Advice] = []

    def advise(code: str, **values: object) -> None:
        out.append(Advice(code, _WORDS[code][you].format(**values)))

    early, middle, late = b.early, b.middle, b.late
    if late >= 3 and early + middle < late:
        advise("prospect-more", late=late, earlier=early + middle)
    if early >= 6 and early >= 3 * max(1, middle + late):
        advise("present-more", early=early, later=middle + late)
    if (
        b.appointments_held >= d.min_appointments
        and b.closing_rate is not None
        and b.closing_rate < Decimal(str(d.closing_rate_floor))
    ):
        advise("closing-skills", held=b.appointments_held, rate=float(b.closing_rate))
    if b.coverage is not None and b.coverage < Decimal(str(d.coverage_target)):
        advise("thin-coverage", coverage=float(b.coverage), target=d.coverage_target)
    if b.stale:
        one = b.stale == 1
        advise("stalled", stale=b.stale, have="has" if one else "have", them="that prospect" if one else "them")
    if b.weighted_pipeline > 0 and b.biggest_weight > b.weighted_pipeline * Decimal(str(d.big_deal_share)):
        advise("big-deal", share=float(b.biggest_weight / b.weighted_pipeline))
    lean = next((m for m in b.forecast[1:] if m.status == FAMINE), None)
    if lean is not None:
        assert lean.target is not None  # a status needs a target
        share = config.forecast.famine_share
        if b.cycle_days is None:
            then = (
                "prospect now (how long a deal takes is unknown: no Won deal has both a Created and a Closed On date)"
            )
        else:
            days = max(1, round(b.cycle_days))
            then = f"deals take about {days} day{'s' * (days != 1)} to close, so prospect now"
        advise(
            "famine-ahead",
            month=lean.month,
            expected=_say_money(lean.expected, b.currency),
            under="half" if share == 0.5 else f"{share:.0%} of",
            target=_say_money(lean.target, b.currency),
            then=then,
        )
    return out


def _say_money(value: Decimal, currency: str) -> str:
    """An amount in a sentence: ``THB 80,000``, or ``THB 333,333.33`` when it has cents."""
    c = cents(value)
    text = f"{c:,.0f}" if c == c.to_integral_value() else f"{c:,.2f}"
    return f"{currency} {text}" if currency else text
