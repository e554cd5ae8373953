"""What every backend offers: tab titles, rows of raw values, and writing grids back.

The protocol only: no backend code, and nothing about fields, rules or
drafts (a backend reads tables and writes grids).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ..grid import Grid
from ..model.values import Value


class Book(Protocol):
    """An opened spreadsheet.

    ``rows`` yields ``(row_number, values)`` for every row of a tab that has a
    value, with 1-based sheet row numbers, values indexed from column A, and
    merged ranges already filled (every covered cell carries the range's
    value).  Raw values are what the backend reads: ``str``, ``int``,
    ``float``, ``bool``, ``date``/``datetime``, or ``None`` for empty; an
    Excel error cell is the error's text (``"#N/A"``).
    """

    #: How messages name this source (a path or a spreadsheet key).
    location: str
    #: Whether ``write`` can work (False for .xls/.xlsb/.ods).
    writable: bool

    def titles(self) -> list[str]:
        """Tab titles in workbook order."""
        ...

    def rows(self, title: str) -> Iterator[tuple[int, list[Value]]]:
        """Rows of the tab whose title is exactly ``title`` (as listed by ``titles``)."""
        ...

    def check_writable(self) -> None:
        """Raise ``SourceError`` (exit 2) now when ``write`` can't work for this source's format.

        A run calls it before any work, so a workbook that can only be read
        is refused at once, not after reading and checking every row.
        """
        ...

    def write(self, grids: Sequence[Grid]) -> list[str]:
        """Create or replace each grid's tab (matched case-insensitively), atomically; return warnings.

        Never touches any other tab.  Raises ``WriteRefused`` (exit 4) when the
        write isn't safe, ``SourceError`` when the format can't be written.
        The warnings (one line each) tell the user about a write that was made
        but has a cost they should know of (a digital signature it broke).
        """
        ...

    def close(self) -> None: ...


def header_like(values: Sequence[Value]) -> bool:
    """Whether a row, as typed (before merged ranges are filled), has two cells or more: it may be the header row.

    Backends fill a merged range across its columns only below the first
    such row, so a header merged over two columns stays one header even
    under a one-cell title (reference 4.1 finds the header row below titles).
    """
    return sum(1 for v in values if v is not None and v != "") >= 2


def find_title(titles: Sequence[str], wanted: str) -> str | None:
    """The tab title matching ``wanted`` case-insensitively (as Excel and Google do)."""
    key = wanted.casefold()
    for title in titles:
        if title.casefold() == key:
            return title
    return None
