"""Rich workbooks for the package-writer tests: made with XlsxWriter, then edited at the zip level.

Each builder writes a real file into the test's folder and returns its path.
The zip-level edits reproduce what other writers do (an ``x:`` prefix on
SpreadsheetML, a calculation chain, a capitalised ``xl/SharedStrings.xml``,
streamed members with data descriptors, ZIP64 records).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xlsxwriter

from sheetsync.grid import MARKER

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CALC_CHAIN_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
CALC_CHAIN_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
STAGES = ["Lead", "Qualified", "Appointment", "Demo", "Proposal", "Negotiation", "Won", "Lost"]


def tiny_png() -> bytes:
    """A valid 2×2 red PNG, built by hand so the tests need no image files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def rich_workbook(
    path: Path,
    *,
    summary_tab: str | None = None,
    vba: bytes | None = None,
    date_1904: bool = False,
    chart_on_summary: bool = False,
) -> Path:
    """Pipeline + Notes tabs carrying everything a careful writer must not lose.

    A chart, an image, comments, data validation, conditional formats (with a
    2010 data bar), sparklines, an Excel table, global and sheet-scoped defined
    names with print areas, and optionally a macro project and an existing
    sheetsync tab (``summary_tab``, between Pipeline and Notes).
    """
    png = path.parent / f"{path.stem}-logo.png"
    png.write_bytes(tiny_png())
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    if vba is not None:
        bin_path = path.parent / f"{path.stem}-vbaProject.bin"
        bin_path.write_bytes(vba)
        wb.add_vba_project(str(bin_path))
    money = wb.add_format({"num_format": "#,##0"})
    pipeline = wb.add_worksheet("Pipeline")
    rows = [[f"Company {i}", STAGES[i % len(STAGES)], 10_000 * i, f"Owner {i % 3}"] for i in range(1, 11)]
    pipeline.add_table(
        "A1:D11",
        {
            "name": "Deals",
            "columns": [{"header": h} for h in ("Prospect", "Stage", "Budget", "Owner")],
            "data": rows,
        },
    )
    pipeline.set_column("C:C", 12, money)
    pipeline.write_comment("A2", "Call the CFO first")
    pipeline.data_validation("B2:B11", {"validate": "list", "source": STAGES})
    pipeline.conditional_format("C2:C11", {"type": "data_bar", "data_bar_2010": True})
    pipeline.conditional_format(
        "C2:C11", {"type": "cell", "criteria": ">", "value": 50_000, "format": wb.add_format({"bold": True})}
    )
    pipeline.write("E1", "Trend")
    pipeline.add_sparkline("E2", {"range": "Pipeline!C2:C11", "markers": True})
    pipeline.insert_image("G2", str(png))
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "Budget", "categories": "=Pipeline!$A$2:$A$11", "values": "=Pipeline!$C$2:$C$11"})
    pipeline.insert_chart("G8", chart)
    pipeline.print_area("A1:E11")
    if summary_tab is not None:
        summary = wb.add_worksheet(summary_tab)
        summary.write("A1", f"{MARKER} 2026-11-20")
        summary.write_formula("B2", "=1+1", None, 2)
        if chart_on_summary:
            own = wb.add_chart({"type": "bar"})
            own.add_series({"values": f"='{summary_tab}'!$B$2:$B$2"})
            summary.insert_chart("D2", own)
    notes = wb.add_worksheet("Notes")
    notes.write("A1", "Keep these notes")
    notes.print_area("A1:B5")
    wb.define_name("Total_Budget", "=Pipeline!$C$2:$C$11")
    wb.define_name("Notes!Local_Note", "=Notes!$A$1")
    wb.close()
    return path


def parts(path: Path) -> dict[str, bytes]:
    """Every member's uncompressed bytes by name."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


class _Unseekable(io.RawIOBase):
    """A write-only stream zipfile can't seek in, so it streams members with data descriptors."""

    def __init__(self, sink: io.BufferedWriter) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.sink.write(data)


def rebuild(
    src: Path,
    dst: Path,
    *,
    edit: dict[str, bytes | None] | None = None,
    rename: dict[str, str] | None = None,
    streamed: bool = False,
) -> Path:
    """Copy a package member by member, replacing (bytes), dropping (None) or renaming members."""
    edit = dict(edit or {})
    rename = rename or {}
    contents = parts(src)
    with open(dst, "wb") as raw:
        target: io.BufferedWriter | _Unseekable = _Unseekable(raw) if streamed else raw
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in contents.items():
                new = edit.pop(name, data)
                if new is not None:
                    zf.writestr(rename.get(name, name), new)
            for name, data in edit.items():
                if data is not None:
                    zf.writestr(name, data)
    return dst


def to_x_prefix(xml: bytes) -> bytes:
    """Bind SpreadsheetML to ``x:`` instead of the default namespace, as some generators do."""
    text = xml.decode("utf-8").replace(f'xmlns="{MAIN_NS}"', f'xmlns:x="{MAIN_NS}"')
    return re.sub(r"<(/?)([A-Za-z][\w]*)(?=[\s/>])", r"<\1x:\2", text).encode("utf-8")


def prefixed_workbook(path: Path, *, summary_tab: str | None = None) -> Path:
    """A rich workbook whose workbook, styles and worksheet parts all use the ``x:`` prefix."""
    plain = rich_workbook(path.with_name("plain-" + path.name), summary_tab=summary_tab)
    edits: dict[str, bytes | None] = {
        name: to_x_prefix(data)
        for name, data in parts(plain).items()
        if name in ("xl/workbook.xml", "xl/styles.xml") or name.startswith("xl/worksheets/sheet")
    }
    return rebuild(plain, path, edit=edits)


def calc_chain_workbook(path: Path, *, chain_sheet_ids: list[int]) -> Path:
    """A workbook with an existing ``summary`` tab (sheetId 2), a calcChain, and ``xl/SharedStrings.xml``.

    The chain lists one formula cell on each sheetId given, as Excel does.
    """
    plain = rich_workbook(path.with_name("plain-" + path.name), summary_tab="summary")
    contents = parts(plain)
    cells = "".join(f'<c r="B{2 + n}" i="{sheet_id}"/>' for n, sheet_id in enumerate(chain_sheet_ids))
    chain = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="{MAIN_NS}">{cells}</calcChain>'
    rels = contents["xl/_rels/workbook.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rId90" Type="{CALC_CHAIN_TYPE}" Target="calcChain.xml"/></Relationships>',
    )
    types = contents["[Content_Types].xml"].decode()
    types = types.replace("</Types>", f'<Override PartName="/xl/calcChain.xml" ContentType="{CALC_CHAIN_CT}"/></Types>')
    return rebuild(
        plain,
        path,
        edit={
            "xl/calcChain.xml": chain.encode(),
            "xl/_rels/workbook.xml.rels": rels.encode(),
            "[Content_Types].xml": types.encode(),
        },
        rename={"xl/sharedStrings.xml": "xl/SharedStrings.xml"},
    )


@contextmanager
def zip64_records() -> Iterator[None]:
    """Make zipfile write ZIP64 extra fields and a ZIP64 end record even for a small package.

    Only the standard library's thresholds change, while the fixture is written.
    """
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 200, 3  # type: ignore[misc]
    try:
        yield
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved  # type: ignore[misc]
