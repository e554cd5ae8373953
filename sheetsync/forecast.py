"""The forecast by month (reference 6.1, "Forecast by month"): months of expected sales against a target.

:func:`monthly` turns each month's count of deals and weighted amount (summed
by :mod:`sheetsync.figures`) into :class:`ForecastMonth` entries with their
target and feast/steady/famine status.  It never reads rows or formats text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import MAX_PREC, Decimal, localcontext

from .config import Config
from .rounding import money

MONTHS_IN_PERIOD = {"month": 1, "quarter": 3, "year": 12}
FAMINE, STEADY, FEAST = "famine", "steady", "feast"


@dataclass(frozen=True, slots=True)
class ForecastMonth:
    """One month of the feast-or-famine strip (reference 6.1, "Forecast by month").

    ``expected`` is the weighted amount of the open deals whose expected close
    date falls in ``month`` (deals already overdue count in the first month),
    and ``deals`` how many they are.  ``target`` is the period's quota spread
    evenly over its months; ``status`` says how ``expected`` compares with it:
    ``"famine"`` under ``[forecast] famine_share`` of it, ``"feast"`` over
    ``feast_share`` of it, else ``"steady"``.  Both are None without a quota.
    """

    month: str  # "2026-11"
    deals: int
    expected: Decimal
    target: Decimal | None
    status: str | None  # FAMINE, STEADY, FEAST or None

    def as_json(self) -> dict[str, object]:
        return {
            "month": self.month,
            "deals": self.deals,
            "expected": money(self.expected),
            "target": money(self.target),
            "status": self.status,
        }


def monthly(
    deals: Sequence[int], expected: Sequence[Decimal], as_of: dt.date, quota: Decimal | None, config: Config
) -> list[ForecastMonth]:
    """The forecast strip from each month's deals and expected amount, against ``quota`` spread over the period."""
    n = MONTHS_IN_PERIOD[config.period]
    target = None
    if quota is not None:
        with localcontext() as wide:  # quota / 3 never ends: keep every digit the cents need
            wide.prec = max(28, quota.adjusted() + 8)
            target = quota / n
    famine = Decimal(str(config.forecast.famine_share))
    feast = Decimal(str(config.forecast.feast_share))
    first = as_of.year * 12 + as_of.month - 1
    out: list[ForecastMonth] = []
    with localcontext() as exact:
        exact.prec = MAX_PREC
        for k, (count, amount) in enumerate(zip(deals, expected, strict=True)):
            year, month = divmod(first + k, 12)
            status = None
            if quota is not None:
                # expected < share × quota / n, compared without the division, so an edge is exact
                if amount * n < famine * quota:
                    status = FAMINE
                elif amount * n > feast * quota:
                    status = FEAST
                else:
                    status = STEADY
            out.append(ForecastMonth(f"{year:04d}-{month + 1:02d}", count, amount, target, status))
    return out
