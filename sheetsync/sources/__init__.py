"""Backends: open a source as a :class:`~sheetsync.sources.base.Book` of tabs; write grids back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import SourceError
from .base import Book

GOOGLE_PREFIXES = ("https://docs.google.com/spreadsheets/", "http://docs.google.com/spreadsheets/", "gsheet:")


def is_google(source: str) -> bool:
    return source.startswith(GOOGLE_PREFIXES)


def open_book(
    source: str,
    *,
    wanted: Sequence[str],
    credentials: Path | None = None,
    endpoint: str | None = None,
) -> Book:
    """Open ``source`` (a path, a Sheets URL or ``gsheet:KEY``), reading the ``wanted`` tabs.

    ``wanted`` lists tab titles (matched case-insensitively) the run may ask
    for; a backend that must fetch up front (Google) fetches exactly these.
    """
    if is_google(source):
        from .gsheets import open_gsheet  # lazy: Excel-only runs never import gspread

        return open_gsheet(source, wanted=wanted, credentials=credentials, endpoint=endpoint)
    from .excel import open_excel

    if not source:
        raise SourceError("no source given — pass a workbook path or set `source` in sheetsync.toml")
    return open_excel(Path(source))
