"""The optional Quotas tab (reference 4.3): an Owner and a Quota column → each owner's quota.

A row it can't use (no owner, an amount that isn't one, an owner listed
twice) becomes a problem the rules report; only a header row without Owner
and Quota raises, since then the tab is likely not a quota list at all.
It never reads the Pipeline tab and never compares quotas with deals (the
figures do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..config import Config
from ..errors import SourceError
from .fields import normalize_header
from .parse import Parser
from .values import Value, col_letter, is_blank


@dataclass(frozen=True, slots=True)
class Quotas:
    by_owner: dict[str, Decimal]
    problems: list[tuple[str, int, str]]  # (cell, row, message)

    @property
    def total(self) -> Decimal | None:
        return sum(self.by_owner.values(), Decimal(0)) if self.by_owner else None


def read_quotas(tab: str, rows: Iterable[tuple[int, list[Value]]], config: Config) -> Quotas:
    """The optional Quotas tab (reference 4.3): columns Owner and Quota."""
    parser = Parser(config)
    by_owner: dict[str, Decimal] = {}
    seen: dict[str, str] = {}
    problems: list[tuple[str, int, str]] = []
    it = iter(rows)
    owner_col = quota_col = -1
    for number, values in it:
        if any(not is_blank(v) for v in values):
            keys = [normalize_header(str(v)) if v is not None else "" for v in values]
            if "owner" not in keys or "quota" not in keys:
                found = ", ".join(repr(str(v)) for v in values if not is_blank(v))
                raise SourceError(
                    f"the {tab} tab needs an 'Owner' and a 'Quota' column in its header row {number} "
                    f"(found: {found}) — fix the headers, or rename the tab if it is not a quota list"
                )
            owner_col, quota_col = keys.index("owner"), keys.index("quota")
            break
    else:
        return Quotas({}, [])
    for number, values in it:
        owner, _ = parser.text(values[owner_col] if owner_col < len(values) else None)
        raw = values[quota_col] if quota_col < len(values) else None
        if owner is None and is_blank(raw):
            continue
        cell = f"{tab}!{col_letter(quota_col)}{number}"
        if owner is None:
            problems.append(
                (f"{tab}!{col_letter(owner_col)}{number}", number, "quota with no owner — add the owner's name")
            )
            continue
        amount, problem = parser.amount(raw)
        if problem or amount is None:
            problems.append((cell, number, f"quota for {owner} {problem or 'is empty'} — type the amount"))
            continue
        key = normalize_header(owner)  # owners match case- and space-insensitively, as in the figures
        if key in seen:
            problems.append(
                (
                    cell,
                    number,
                    f"{owner} is listed twice on the {tab} tab (also as {seen[key]!r}); the first quota is used",
                )
            )
            continue
        seen[key] = owner
        by_owner[owner] = amount
    return Quotas(by_owner, problems)
