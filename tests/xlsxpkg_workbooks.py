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
import xml.etree.ElementTree as ET
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


# --------------------------------------------------------------------------------------------------
# Odd workbooks of issue 11: made from a rich workbook by editing parts, as other writers leave them

MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14AC_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
MACRO_SHEET_TYPE = "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet"
MACRO_SHEET_CT = "application/vnd.ms-excel.macrosheet+xml"
SIGNATURE_ORIGIN_TYPE = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin"
SIGNATURE_TYPE = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/signature"


def _add_to(xml: bytes, closing: str, addition: str) -> bytes:
    text = xml.decode("utf-8")
    assert closing in text, closing
    return text.replace(closing, addition + closing, 1).encode("utf-8")


def macro_sheet_workbook(path: Path) -> Path:
    """A rich workbook (.xlsm) with an Excel 4.0 macro sheet ``Macro1`` between Pipeline and Notes.

    Listed in workbook.xml like any sheet, with relationship type ``xlMacrosheet``
    and its part in ``xl/macrosheets/``, as Excel saves one.
    """
    plain = rich_workbook(path.with_name("plain-" + path.stem + ".xlsx"))
    contents = parts(plain)
    workbook = contents["xl/workbook.xml"].decode()
    sheets = re.findall(r"<sheet [^>]*/>", workbook)
    macro = '<sheet name="Macro1" sheetId="90" r:id="rId90"/>'
    workbook = workbook.replace(sheets[0], sheets[0] + macro, 1)
    macro_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<xm:macrosheet xmlns="{MAIN_NS}" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="str"><f>ALERT("hello")</f><v>TRUE</v></c></row>'
        '<row r="2"><c r="A2" t="b"><f>RETURN()</f><v>1</v></c></row></sheetData></xm:macrosheet>'
    )
    return rebuild(
        plain,
        path,
        edit={
            "xl/workbook.xml": workbook.encode(),
            "xl/_rels/workbook.xml.rels": _add_to(
                contents["xl/_rels/workbook.xml.rels"],
                "</Relationships>",
                f'<Relationship Id="rId90" Type="{MACRO_SHEET_TYPE}" Target="macrosheets/sheet1.xml"/>',
            ),
            "[Content_Types].xml": _add_to(
                contents["[Content_Types].xml"],
                "</Types>",
                f'<Override PartName="/xl/macrosheets/sheet1.xml" ContentType="{MACRO_SHEET_CT}"/>',
            ),
            "xl/macrosheets/sheet1.xml": macro_xml.encode(),
        },
    )


def hancell_workbook(path: Path) -> Path:
    """A rich workbook whose styles part wraps entries in ``mc:AlternateContent``, as Hancom Hancell writes.

    The first font and the first two cell formats each sit in an
    AlternateContent holding a Choice and a Fallback copy: one entry apiece,
    though their tags appear twice.
    """
    plain = rich_workbook(path.with_name("plain-" + path.name))
    styles = parts(plain)["xl/styles.xml"].decode()

    def wrap(element: str) -> str:
        return (
            f'<mc:AlternateContent xmlns:mc="{MC_NS}" xmlns:x14ac="{X14AC_NS}">'
            f'<mc:Choice Requires="x14ac">{element}</mc:Choice><mc:Fallback>{element}</mc:Fallback>'
            "</mc:AlternateContent>"
        )

    fonts = re.search(r"<fonts[^>]*>(.*?)</fonts>", styles, re.S)
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S)
    assert fonts is not None and xfs is not None
    first_font = re.match(r"<font>.*?</font>|<font/>", fonts.group(1), re.S)
    cell_xfs = re.findall(r"<xf [^>]*/>|<xf [^>]*>.*?</xf>", xfs.group(1), re.S)
    assert first_font is not None and len(cell_xfs) >= 2
    new_xfs = wrap(cell_xfs[0]) + wrap(cell_xfs[1]) + "".join(cell_xfs[2:])
    styles = styles[: xfs.start(1)] + new_xfs + styles[xfs.end(1) :]
    styles = styles.replace(first_font.group(0), wrap(first_font.group(0)), 1)
    return rebuild(plain, path, edit={"xl/styles.xml": styles.encode()})


def signed_workbook(path: Path) -> Path:
    """A rich workbook carrying an XML digital signature (the parts Excel adds when you sign one)."""
    plain = rich_workbook(path.with_name("plain-" + path.name))
    contents = parts(plain)
    signature = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="idPackageSignature">'
        '<SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        "</SignedInfo><SignatureValue>AAAA</SignatureValue></Signature>"
    )
    return rebuild(
        plain,
        path,
        edit={
            "_rels/.rels": _add_to(
                contents["_rels/.rels"],
                "</Relationships>",
                f'<Relationship Id="rId90" Type="{SIGNATURE_ORIGIN_TYPE}" Target="_xmlsignatures/origin.sigs"/>',
            ),
            "[Content_Types].xml": _add_to(
                contents["[Content_Types].xml"],
                "</Types>",
                '<Default Extension="sigs" '
                'ContentType="application/vnd.openxmlformats-package.digital-signature-origin"/>'
                '<Override PartName="/_xmlsignatures/sig1.xml" '
                'ContentType="application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml"/>',
            ),
            "_xmlsignatures/origin.sigs": b"",
            "_xmlsignatures/_rels/origin.sigs.rels": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{SIGNATURE_TYPE}" Target="sig1.xml"/></Relationships>'
            ).encode(),
            "_xmlsignatures/sig1.xml": signature.encode(),
        },
    )


def protected_workbook(path: Path, protection: str, *, summary_tab: str | None = None) -> Path:
    """A rich workbook with ``protection`` (a ``<workbookProtection …/>`` element) in its schema place."""
    plain = rich_workbook(path.with_name("plain-" + path.name), summary_tab=summary_tab)
    workbook = parts(plain)["xl/workbook.xml"].decode()
    at = workbook.index("<bookViews")
    return rebuild(plain, path, edit={"xl/workbook.xml": (workbook[:at] + protection + workbook[at:]).encode()})


def style_problems(path: Path) -> list[str]:
    """Style references that point past the end of their table, found with a real XML parser.

    Every ``s`` of every cell and row (and ``style`` of every column) in every
    worksheet must be below the number of ``cellXfs`` entries, and every
    ``fontId``/``fillId``/``borderId``/``xfId`` of a cell format below the number
    of entries it indexes; a section's ``count`` must be its number of entries.
    An ``mc:AlternateContent`` child is one entry, as Excel and LibreOffice read it.
    """
    ns = f"{{{MAIN_NS}}}"
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        styles = ET.fromstring(zf.read(names["xl/styles.xml"]))
        sizes: dict[str, int] = {}
        for section in ("fonts", "fills", "borders", "cellStyleXfs", "cellXfs"):
            element = styles.find(ns + section)
            entries = [] if element is None else list(element)
            sizes[section] = len(entries)
            if element is not None and element.get("count") not in (None, str(len(entries))):
                problems.append(f"{section} count={element.get('count')} but {len(entries)} entries")
        cell_xfs = styles.find(ns + "cellXfs")
        for n, entry in enumerate([] if cell_xfs is None else list(cell_xfs)):
            for xf in [entry] if entry.tag == ns + "xf" else entry.iter(ns + "xf"):
                for attr, section in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
                    if int(xf.get(attr, "0")) >= max(sizes[section], 1):
                        problems.append(f"cellXfs[{n}] {attr}={xf.get(attr)} of {sizes[section]} {section}")
                if int(xf.get("xfId", "0")) >= max(sizes["cellStyleXfs"], 1):
                    problems.append(f"cellXfs[{n}] xfId={xf.get('xfId')} of {sizes['cellStyleXfs']}")
        limit = sizes["cellXfs"]
        for name in sorted(n for n in zf.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n, re.I)):
            sheet = ET.fromstring(zf.read(name))
            for tag, attr in (("c", "s"), ("row", "s"), ("col", "style")):
                for element in sheet.iter(ns + tag):
                    value = element.get(attr)
                    if value is not None and int(value) >= limit:
                        where = element.get("r") or element.get("min") or "?"
                        problems.append(f"{name} {tag} {where}: {attr}={value} but {limit} cell formats")
    return problems
