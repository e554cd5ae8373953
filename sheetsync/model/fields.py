"""The pipeline's fields, the headers and aliases that name them, and where each sits in a tab.

:func:`map_headers` turns a header row into a :class:`Layout`; it raises
``SourceError`` only for a tab whose *shape* is wrong (a missing required
column, a duplicate header), because no row can be read until that is
fixed.  Nothing here parses a cell value or knows a backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ..errors import SourceError
from .values import Value, col_letter

# field → (kind, default header, aliases)
FIELD_SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "prospect": ("text", "Prospect", ("Company", "Account")),
    "contact": ("text", "Contact", ("Contact Name", "Name")),
    "email": ("email", "Email", ("Contact Email", "E-mail")),
    "owner": ("text", "Owner", ("Rep", "Sales Rep")),
    "owner_email": ("email", "Owner Email", ()),
    "stage": ("text", "Stage", ()),
    "decision_maker": ("yesno", "Decision Maker", ("Decision Maker Confirmed", "Authority")),
    "budget": ("amount", "Budget", ("Amount", "Deal Size", "Value")),
    "expected_close": ("date", "Expected Close", ("Close Date", "Timeline")),
    "probability": ("percent", "Probability", ()),
    "last_contact": ("date", "Last Contact", ()),
    "next_follow_up": ("date", "Next Follow-up", ("Follow-up", "Next Step Date")),
    "appointment": ("datetime", "Appointment", ("Meeting",)),
    "info_requested": ("yesno", "Info Requested", ()),
    "closed_on": ("date", "Closed On", ("Closed Date",)),
    "created_on": ("date", "Created", ("Created On",)),
    "language": ("text", "Language", ()),
    "do_not_contact": ("yesno", "Do Not Contact", ()),
    "notes": ("text", "Notes", ()),
}
FIELDS = tuple(FIELD_SPECS)
REQUIRED = ("prospect", "stage")


def normalize_header(text: str) -> str:
    return " ".join(text.split()).casefold()


class ColumnNames(Protocol):
    """What header matching needs of the config: ``[columns]``, field → the user's header."""

    @property
    def columns(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each field sits in the tab."""

    tab: str
    header_row: int
    columns: Mapping[str, int]  # field → 0-based column
    extras: Mapping[int, str]  # 0-based column → header text
    headers: tuple[str, ...]

    def cell(self, name: str, row: int) -> str:
        return f"{self.tab}!{col_letter(self.columns[name])}{row}"

    def cell_at(self, col: int, row: int) -> str:
        return f"{self.tab}!{col_letter(col)}{row}"


def map_headers(tab: str, header_row: int, values: list[Value], config: ColumnNames) -> Layout:
    """Find each field's column by header (aliases, case and spacing ignored; ``[columns]`` wins)."""
    wanted: dict[str, str] = {}
    for name, header in config.columns.items():  # your headers first: they beat any alias
        wanted[normalize_header(header)] = name
    for name, (_kind, default, aliases) in FIELD_SPECS.items():
        if name not in config.columns:
            for header in (default, *aliases):
                wanted.setdefault(normalize_header(header), name)
    headers = tuple("" if v is None else str(v).strip() for v in values)
    seen: dict[str, int] = {}
    columns: dict[str, int] = {}
    extras: dict[int, str] = {}
    for col, text in enumerate(headers):
        key = normalize_header(text)
        if not key:
            continue
        if key in seen:
            raise SourceError(
                f"duplicate header {text!r} in {tab}!{col_letter(seen[key])}{header_row} and "
                f"{tab}!{col_letter(col)}{header_row} — rename or delete one of the columns"
            )
        seen[key] = col
        field_name = wanted.get(key)
        if field_name is None:
            extras[col] = text
        elif field_name in columns:
            first = columns[field_name]
            raise SourceError(
                f"columns {headers[first]!r} ({tab}!{col_letter(first)}{header_row}) and {text!r} "
                f"({tab}!{col_letter(col)}{header_row}) both mean the {field_name.replace('_', ' ')} field — "
                "rename one, or set the header to use in [columns]"
            )
        else:
            columns[field_name] = col
    for name in REQUIRED:
        if name not in columns:
            expected = config.columns.get(name) or FIELD_SPECS[name][1]
            found = ", ".join(repr(h) for h in headers if h) or "none"
            raise SourceError(
                f"the {tab} tab has no {expected!r} column (header row {header_row}; headers found: {found}) "
                f'— add the column or set [columns] {name} = "<your header>" in sheetsync.toml'
            )
    return Layout(tab, header_row, columns, extras, headers)
