"""The optional Quotas tab (reference 4.3): an owner and a quota column → each owner's quota.

The header row is found as the pipeline's (the first of the first 30
non-empty rows with an owner and a quota header: ``Sales Rep | Q4 Target``
will do).  A row it can't use (no owner, an amount that isn't one, an owner
listed twice) becomes a problem the rules report; only a tab with no such
header row, or with two quota columns, raises, since then the tab is likely
not a quota list at all or can't be read without guessing.
It never reads the Pipeline tab and never compares quotas with deals (the
figures do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..config import Config
from ..errors import SourceError
from .fields import QUOTA_SPECS, QUOTA_WORDS, find_header_row, header_key, normalize_header
from .parse import Parser
from .values import Value, col_letter, is_blank


@dataclass(frozen=True, slots=True)
class Quotas:
    by_owner: dict[str, Decimal]
    problems: list[tuple[str, int, str]]  # (cell, row, message)

    @property
    def total(self) -> Decimal | None:
        return sum(self.by_owner.values(), Decimal(0)) if self.by_owner else None


def quota_header(values: Sequence[Value], columns: Mapping[str, str]) -> tuple[int, list[int]] | None:
    """A header row's owner column and its quota column(s), or None when it lacks either (reference 4.3).

    ``[columns] quota_owner`` / ``quota`` name the only header each may be;
    else the aliases in order of preference, then (for the quota) any header
    holding "quota", "target" or "เป้า".  More than one quota column is for
    the caller to refuse.
    """
    keys = [header_key(v) if isinstance(v, str) else "" for v in values]
    owner = _columns(keys, columns.get("quota_owner"), QUOTA_SPECS["quota_owner"], ())
    if not owner:
        return None
    quota = [col for col in _columns(keys, columns.get("quota"), QUOTA_SPECS["quota"], QUOTA_WORDS) if col != owner[0]]
    return (owner[0], quota) if quota else None


def _columns(keys: Sequence[str], configured: str | None, aliases: Sequence[str], words: Sequence[str]) -> list[int]:
    if configured is not None:
        key = header_key(configured)
        return [i for i, k in enumerate(keys) if k == key][:1]
    for alias in aliases:
        key = header_key(alias)
        if key in keys:
            return [keys.index(key)]
    return [i for i, k in enumerate(keys) if k and any(word in k for word in words)]


def read_quotas(tab: str, rows: Iterable[tuple[int, list[Value]]], config: Config) -> Quotas:
    """The optional Quotas tab (reference 4.3): an owner and a quota column, under a header row found as in 4.1."""
    parser = Parser(config)
    by_owner: dict[str, Decimal] = {}
    seen: dict[str, str] = {}
    problems: list[tuple[str, int, str]] = []
    it = iter(rows)
    search = find_header_row(it, lambda values: quota_header(values, config.columns) is not None)
    if search.first is None:
        return Quotas({}, [])
    if search.found is None:
        number, values = search.first
        found = ", ".join(repr(str(v)) for v in values if not is_blank(v))
        raise SourceError(
            f"the {tab} tab needs an owner column (Owner, Rep, Sales Rep…) and a quota column (Quota, Target…) "
            f"in its header row (looked at row {number}, the first non-empty one: {found}) — rename the headers, "
            f"set [columns] quota_owner and quota in sheetsync.toml, or rename the tab if it is not a quota list"
        )
    number, values = search.found
    header = quota_header(values, config.columns)
    assert header is not None
    owner_col, quota_cols = header
    if len(quota_cols) > 1:
        named = " and ".join(f"{values[c]!r} ({tab}!{col_letter(c)}{number})" for c in quota_cols)
        raise SourceError(
            f"the {tab} tab has more than one quota column, {named} — "
            'set [columns] quota = "<the header to use>" in sheetsync.toml'
        )
    quota_col = quota_cols[0]
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
