"""Read Excel and OpenDocument workbooks with python-calamine; write back through the package writer.

python-calamine reads every cell fast but reports Excel error cells (``#N/A``)
and formulas without a saved result as empty.  For ``.xlsx``/``.xlsm`` a
byte-level scan of the sheet's XML finds exactly those cells, so they become
``bad-value`` findings instead of silently empty cells.  This module never
writes: ``ExcelBook.write`` hands the grids to :mod:`.ooxml.write`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .. import speed
from ..background import Background
from ..errors import SourceError
from ..grid import Grid
from ..model.values import CellError, Value, col_index
from .base import header_like
from .fingerprint import Fingerprint, snapshot
from .ooxml.workbook import MACRO_SHEET_TYPES, read_workbook, sheet_member
from .ooxml.zipcopy import Package

READABLE = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
WRITABLE = (".xlsx", ".xlsm")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


def open_excel(path: Path) -> ExcelBook:
    """Open a workbook for reading, or raise a SourceError that says what to do.

    The whole file is read into memory once (see :mod:`.fingerprint`): its
    bytes feed python-calamine, the error-cell scan and the fingerprint.
    """
    if not path.exists():
        raise SourceError(f"{path} does not exist — check the path, or set `source` in sheetsync.toml")
    if path.is_dir():
        raise SourceError(f"{path} is a folder, not a workbook — pass the .xlsx file inside it")
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        hint = " — save it from Excel as .xlsx" if suffix in (".csv", ".tsv", ".txt") else ""
        raise SourceError(
            f"{path}: {suffix or 'no extension'} is not a supported format "
            f"(use {', '.join(READABLE)} or a Google Sheets URL){hint}"
        )
    data, fingerprint = snapshot(path)
    head = data[:8]
    if suffix in (".xlsx", ".xlsm", ".xlsb") and head.startswith(_OLE_MAGIC):
        raise SourceError(
            f"{path} is password-protected (encrypted) — save an unprotected copy "
            "(File → Info → Protect Workbook → remove the password) and point sheetsync at it"
        )
    if suffix in (".xlsx", ".xlsm", ".xlsb", ".ods") and not head.startswith(_ZIP_MAGIC):
        raise SourceError(
            f"{path} is not a {suffix} workbook (it looks like {'an empty file' if not head else 'text or another'}"
            " format) — open it in Excel and save it as .xlsx"
        )
    if suffix == ".xls" and not head.startswith(_OLE_MAGIC):
        raise SourceError(f"{path} is not an Excel .xls workbook — open it in Excel and save it as .xlsx")
    return ExcelBook(path, data, fingerprint)


class ExcelBook:
    """An Excel/ODS workbook held in memory, read with python-calamine."""

    def __init__(self, path: Path, data: bytes, fingerprint: Fingerprint) -> None:
        from python_calamine import CalamineWorkbook

        self.path = path
        self.location = str(path)
        self.writable = path.suffix.lower() in WRITABLE
        self._data = data
        self._fingerprint = fingerprint
        readable = data
        if path.suffix.lower() in (".xlsx", ".xlsm") and _has_macro_sheets(data, self.location):
            from .ooxml.write import without_macro_sheets  # rare: the writer is imported in the background

            readable = without_macro_sheets(data, self.location)
        try:
            self._wb = CalamineWorkbook.from_filelike(io.BytesIO(readable))
            self._titles = list(self._wb.sheet_names)
        except Exception as exc:  # calamine raises several unrelated classes for damaged files
            raise SourceError(_open_problem(path, exc)) from None

    def titles(self) -> list[str]:
        return list(self._titles)

    def rows(self, title: str) -> Iterator[tuple[int, list[Value]]]:
        # python-calamine releases the GIL while it loads the sheet (about a second for
        # 100,000 rows), and so does decompressing that sheet's XML for the error scan:
        # running the scan in a thread meanwhile takes it off the clock when a second
        # core is free.
        scan = Background(self._error_cells, title) if self.writable else None
        try:
            sheet = self._wb.get_sheet_by_name(title)
            merged = sheet.merged_cell_ranges or []
            # python-calamine's iter_rows() starts at the sheet's first row but at the
            # first *used* column: pad columns, never rows.
            start_col = (sheet.start or (0, 0))[1]
            it = sheet.iter_rows()
        except Exception as exc:
            if scan is not None:
                scan.wait()  # its answer no longer matters, but it must not outlive the book
            raise _unreadable(self.path, title, exc) from None
        suffix = self.path.suffix.lower()
        if scan is not None:
            errors = scan.result()
        elif suffix == ".ods":
            merged, errors = _ods_merges_and_errors(self._data, title)
        elif suffix == ".xls":
            errors = _xls_errors(self._data, title)
        else:
            errors = {}
        return _iter(it, start_col, merged, errors, title, self.path)

    def check_writable(self) -> None:
        if not self.writable:
            raise SourceError(
                f"{self.path}: write-back needs an .xlsx or .xlsm workbook ({self.path.suffix} can only be read)"
                " — save it as .xlsx, or use --dry-run to see the results without writing"
            )

    def write(self, grids: Sequence[Grid]) -> list[str]:
        self.check_writable()
        from .ooxml.write import write_tabs  # imported already, in the error scan's thread

        return write_tabs(self.path, grids, expected=self._fingerprint)

    def close(self) -> None:
        self._wb.close()

    def _error_cells(self, title: str) -> dict[int, dict[int, CellError]]:
        """Error cells and formulas without a saved value, by 0-based row and column.

        Run in a thread while python-calamine loads the sheet, which also
        imports the writer a sync needs next (~6 ms off the clock).  The sheet's
        part is found through the package's relationships, as the writer finds it.
        """
        from .ooxml import write  # noqa: F401

        try:
            package = Package(self._data, self.location)
            member = sheet_member(package, read_workbook(package), title)
            if member is None:
                return {}
            with zipfile.ZipFile(io.BytesIO(self._data)) as zf:
                with zf.open(member.name) as fh:
                    if not _may_hold_errors(fh):
                        return {}
                data = zf.read(member.name)
        except (SourceError, ValueError, zipfile.BadZipFile, KeyError, OSError):
            return {}  # a package python-calamine could open but this can't: no error cells to add
        return (_scan_errors if speed.plain("scan") else _scan_errors_fast)(data)


def _scan_errors(xml: bytes) -> dict[int, dict[int, CellError]]:
    """Error cells and formulas without a saved value in a worksheet's XML, by 0-based row and column.

    The plain path: each pattern searched for over the whole text.
    """
    found: dict[int, dict[int, CellError]] = {}
    if b't="e"' in xml:
        for m in _ERROR_CELL.finditer(xml):
            r, c = _ref(m[1], m[2])
            found.setdefault(r, {})[c] = CellError(m[3].decode("utf-8", "replace"))
    if b"<f" in xml or b":f" in xml:
        for m in _UNCACHED.finditer(xml):
            if b't="str"' in m[3]:
                continue  # saved result is the empty string: an empty cell
            r, c = _ref(m[1], m[2])
            found.setdefault(r, {})[c] = CellError("")
    return found


def _scan_errors_fast(xml: bytes) -> dict[int, dict[int, CellError]]:
    """``_scan_errors``, answered by trying the patterns only where a cell can match.

    Searching with a pattern tries it at every ``<`` of the 40 MB a
    100,000-row sheet holds, with the GIL held (~0.9 s; python-calamine's
    load, which this runs beside, takes ~0.65 s).  Every match holds a
    literal marker: an error cell's start tag holds `` t="e"``, an uncached
    formula's cell starts right before its ``<f`` or ``<x:f`` tag.  So
    ``bytes.find`` (C speed) finds the markers, the cell's ``<`` is the last
    one before each (start tags hold no ``<``), and the same pattern is
    matched there.  Matches can't overlap (a cell's content holds no ``<c``),
    so these are exactly the matches the search finds, in the same order;
    tests/test_xml_scans.py compares the two on adversarial XML.
    """
    found: dict[int, dict[int, CellError]] = {}
    if b't="e"' in xml:
        for m in _matches_at(_ERROR_CELL, xml, _starts_before(xml, _marker_hits(xml, b't="e"'))):
            r, c = _ref(m[1], m[2])
            found.setdefault(r, {})[c] = CellError(m[3].decode("utf-8", "replace"))
    if b"<f" in xml or b":f" in xml:
        tags = _marker_hits(xml, b"<f")
        if b":f" in xml:  # a prefixed formula tag (<x:f>): its tag starts at the "<" before the prefix
            tags = sorted({*tags, *_starts_before(xml, _marker_hits(xml, b":f"))})
        for m in _matches_at(_UNCACHED, xml, _starts_before(xml, tags)):
            if b't="str"' in m[3]:
                continue  # saved result is the empty string: an empty cell
            r, c = _ref(m[1], m[2])
            found.setdefault(r, {})[c] = CellError("")
    return found


def _marker_hits(xml: bytes, marker: bytes) -> list[int]:
    """Where ``marker`` occurs in ``xml``, in order."""
    hits: list[int] = []
    at = xml.find(marker)
    while at >= 0:
        hits.append(at)
        at = xml.find(marker, at + 1)
    return hits


def _starts_before(xml: bytes, hits: list[int]) -> list[int]:
    """The last ``<`` before each hit (where its element starts, as no tag holds a ``<``), once each, in order.

    Each search looks back only as far as the previous hit, so a text of
    many hits and few ``<`` (`` t="e"`` a million times) costs its length once.
    """
    starts: list[int] = []
    last, start = 0, -1
    for hit in hits:
        found = xml.rfind(b"<", last, hit)
        start = found if found >= 0 else start
        last = hit
        if start >= 0 and (not starts or start != starts[-1]):
            starts.append(start)
    return starts


def _matches_at(pattern: re.Pattern[bytes], xml: bytes, starts: list[int]) -> Iterator[re.Match[bytes]]:
    for start in starts:
        m = pattern.match(xml, start)
        if m is not None:
            yield m


_SCAN_CHUNK = 1 << 20


def _may_hold_errors(fh: IO[bytes], chunk_size: int = _SCAN_CHUNK) -> bool:
    """Whether the sheet XML read from ``fh`` holds a marker ``_error_cells`` needs (see ``_holds_markers``).

    The usual sheet has none, and 100,000 rows are some 40 MB of XML:
    streaming it in 1 MiB pieces keeps that out of memory, and looking first
    for the letters ``f`` and ``e`` (rare in cell XML; one fast pass each)
    costs a fraction of searching for the markers themselves.  The answer is
    exactly ``_holds_markers`` of the whole text: pieces overlap by the
    longest marker's length minus one.
    """
    tail = b""
    while chunk := fh.read(chunk_size):
        text = tail + chunk
        if b"f" in text and (b"<f" in text or b":f" in text):
            return True
        if b"e" in text and b't="e"' in text:
            return True
        tail = text[-4:]
    return False


def _holds_markers(xml: bytes) -> bool:
    """The plain form of ``_may_hold_errors``: ``t="e"`` (an error cell) or ``<f``/``:f`` (a formula)."""
    return b't="e"' in xml or b"<f" in xml or b":f" in xml


# Every scan below is linear in its input, whatever the input: quantifiers are
# possessive (no backtracking into them), classes stop at "<" (which can't
# appear inside a tag), and no two adjacent pieces can match the same text.
_P = rb"(?:[A-Za-z_][\w.-]*+:)?"
_CELL = rb"<" + _P + rb'c r="([A-Z]{1,3})(\d+)"'
_FORMULA = rb"<" + _P + rb"f\b[^<>]*+(?:(?<=/)>|>[^<]*+</" + _P + rb"f>)"
_ERROR_CELL = re.compile(
    _CELL
    + rb'(?:[^<>\s]++|\s(?!t="e"))*+\st="e"[^<>]*+>'
    + rb"(?:"
    + _FORMULA
    + rb")?<"
    + _P
    + rb"v>([^<]*+)</"
    + _P
    + rb"v>"
)
_UNCACHED = re.compile(
    _CELL
    + rb"([^<>]*+)(?<!/)>"
    + _FORMULA
    + rb"(?:<"
    + _P
    + rb"v\s*+/>|<"
    + _P
    + rb"v></"
    + _P
    + rb"v>)?</"
    + _P
    + rb"c>"
)


def _ref(letters: bytes, digits: bytes) -> tuple[int, int]:
    """0-based (row, column) of a cell reference's letters and digits."""
    return int(digits) - 1, col_index(letters.decode("ascii"))


def _has_macro_sheets(data: bytes, label: str) -> bool:
    """Whether the workbook lists Excel 4.0 macro sheets, which python-calamine refuses to open."""
    try:
        book = read_workbook(Package(data, label))
    except Exception:  # a damaged package: python-calamine says so next, in the words users see
        return False
    return any(rel.type.endswith(MACRO_SHEET_TYPES) for rel in book.rel_list)


def _iter(
    it: Iterator[list[Any]],
    start_col: int,
    merged: list[tuple[tuple[int, int], tuple[int, int]]],
    errors: dict[int, dict[int, CellError]],
    title: str,
    path: Path,
) -> Iterator[tuple[int, list[Value]]]:
    """1-based row numbers, values from column A, merged ranges filled down, errors overlaid.

    A merged range's value counts for every cell it covers (an Owner merged
    over that owner's rows), except across the header row and the rows above
    it (a title), where a header merged over two columns stays one header:
    see :func:`~sheetsync.sources.base.header_like`.  A row that is blank
    apart from a range merged down into it stays blank.
    """
    if not merged and not errors and not start_col:
        return _numbered(it, title, path)
    return _overlaid(it, start_col, merged, errors, title, path)


def _numbered(it: Iterator[list[Any]], title: str, path: Path) -> Iterator[tuple[int, list[Value]]]:
    """The usual sheet (nothing merged, no error cell, data from column A): rows as they come.

    ``yield from`` a C iterator runs no Python code per row; the general loop
    below costs about a microsecond per row, a tenth of a second at 100,000.
    """
    try:
        yield from enumerate(it, 1)
    except Exception as exc:
        raise _unreadable(path, title, exc) from None


def _overlaid(
    it: Iterator[list[Any]],
    start_col: int,
    merged: list[tuple[tuple[int, int], tuple[int, int]]],
    errors: dict[int, dict[int, CellError]],
    title: str,
    path: Path,
) -> Iterator[tuple[int, list[Value]]]:
    """Rows with error cells overlaid and merged ranges filled, in time linear in the cells read.

    A range is filled only as far as the row reaches (python-calamine's rows
    all span the sheet's used columns): cells beyond it have no header, and a
    range merged over thousands of empty columns would otherwise cost that
    many cells on every row it covers.
    """
    by_start: dict[int, list[tuple[int, int, int]]] = {}
    for (r0, c0), (r1, c1) in merged:
        by_start.setdefault(r0, []).append((c0, r1, c1))
    active: list[tuple[int, int, int, Value]] = []  # (c0, c1, last row, value)
    soonest = -1  # the first row after which one of the active ranges ends
    pad = [None] * start_col
    header_seen = False
    try:
        for r, values in enumerate(it):
            row: list[Value] = pad + values if start_col else values
            blank = not any(row)
            header_here = not header_seen and header_like(row)  # as typed, before any range fills it
            if r in errors:
                for c, err in errors[r].items():
                    if c >= len(row):
                        row.extend([None] * (c + 1 - len(row)))
                    row[c] = err
            if r in by_start:
                for c0, r1, c1 in by_start[r]:
                    active.append((c0, c1, r1, row[c0] if c0 < len(row) else None))
                soonest = min(a[2] for a in active)
            if active:
                if r > soonest:
                    active = [a for a in active if a[2] >= r]
                    soonest = min((a[2] for a in active), default=-1)
                if not blank:
                    width = len(row)
                    for c0, c1, _r1, value in active:
                        last = min(c1 if header_seen else c0, width - 1)
                        if last == c0:
                            row[c0] = value
                        elif last > c0:
                            row[c0 : last + 1] = [value] * (last + 1 - c0)
            header_seen = header_seen or header_here
            yield r + 1, row
    except Exception as exc:
        if isinstance(exc, GeneratorExit):
            raise
        raise _unreadable(path, title, exc) from None


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODS_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"


def _ods_merges_and_errors(data: bytes, title: str) -> tuple[list[Any], dict[int, dict[int, CellError]]]:
    """Merged ranges and error cells of an .ods sheet, which python-calamine doesn't report."""
    import xml.etree.ElementTree as ET  # read-only parse; nothing is ever written back from it

    merges: list[Any] = []
    errors: dict[int, dict[int, CellError]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open("content.xml") as fh:
            in_table = False
            r = c = 0
            for event, el in ET.iterparse(fh, events=("start", "end")):
                tag = el.tag
                if tag == _ODS_TABLE + "table":
                    if event == "start":
                        in_table = el.get(_ODS_TABLE + "name") == title
                        r = 0
                    elif in_table:
                        break
                    continue
                if not in_table:
                    if event == "end":
                        el.clear()
                    continue
                if tag == _ODS_TABLE + "table-row":
                    if event == "start":
                        c = 0
                    else:
                        r += int(el.get(_ODS_TABLE + "number-rows-repeated", "1"))
                        el.clear()
                elif tag in (_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell") and event == "end":
                    rows_span = int(el.get(_ODS_TABLE + "number-rows-spanned", "1"))
                    cols_span = int(el.get(_ODS_TABLE + "number-columns-spanned", "1"))
                    if rows_span > 1 or cols_span > 1:
                        merges.append(((r, c), (r + rows_span - 1, c + cols_span - 1)))
                    if el.get(_ODS_CALCEXT + "value-type") == "error":
                        errors.setdefault(r, {})[c] = CellError("".join(el.itertext()).strip() or "#VALUE!")
                    c += int(el.get(_ODS_TABLE + "number-columns-repeated", "1"))
    except (zipfile.BadZipFile, KeyError, OSError, ET.ParseError):
        return [], {}
    return merges, errors


def _xls_errors(data: bytes, title: str) -> dict[int, dict[int, CellError]]:
    """Error cells of an .xls sheet (python-calamine reads them as empty) through xlrd."""
    import xlrd

    errors: dict[int, dict[int, CellError]] = {}
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_name(title)
        for r in range(sheet.nrows):
            types = sheet.row_types(r)
            if xlrd.XL_CELL_ERROR in types:
                for c, kind in enumerate(types):
                    if kind == xlrd.XL_CELL_ERROR:
                        code = sheet.cell_value(r, c)
                        errors.setdefault(r, {})[c] = CellError(xlrd.error_text_from_code.get(code, "#VALUE!"))
        book.release_resources()
    except Exception:  # xlrd is only a second opinion on error cells; calamine already read the values
        return {}
    return errors


def _unreadable(path: Path, title: str, exc: Exception) -> SourceError:
    return SourceError(
        f"{path}: the {title} tab can't be read ({_clean(exc)}) — the file may be damaged; "
        "open it in Excel and save it again"
    )


def _open_problem(path: Path, exc: Exception) -> str:
    name = type(exc).__name__
    if "Password" in name or "password" in str(exc).lower() or "encrypt" in str(exc).lower():
        return f"{path} is password-protected — save an unprotected copy and point sheetsync at it"
    return (
        f"{path} can't be read as a workbook ({_clean(exc)}) — it may be truncated or damaged; "
        "open it in Excel and save it again"
    )


def _clean(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
