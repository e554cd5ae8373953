"""A minimal Excel binary workbook (.xlsb) written by hand, since no Python library writes the format.

An .xlsb is a zip package like .xlsx whose parts are BIFF12 records instead of
XML: each record is a type and a length (both 7-bit varints) and a payload
(MS-XLSB 2.1.4).  Only what a reader needs is written: the workbook's sheet
list (BrtBundleSh), each sheet's dimension and cells (strings as BrtCellSt,
numbers as BrtCellReal), and the relationships and content types.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
    "{overrides}</Types>"
)
_SHEET_TYPE = "application/vnd.ms-excel.worksheet"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _varint(value: int, limit: int) -> bytes:
    out = bytearray()
    for _ in range(limit):
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            break
    return bytes(out)


def _record(kind: int, payload: bytes = b"") -> bytes:
    return _varint(kind, 2) + _varint(len(payload), 4) + payload


def _wide(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data) // 2) + data


def _cell(col: int, value: str | float) -> bytes:
    head = struct.pack("<I", col) + b"\x00\x00\x00\x00"  # column, style 0, no flags
    if isinstance(value, str):
        return _record(0x0006, head + _wide(value))  # BrtCellSt
    return _record(0x0005, head + struct.pack("<d", float(value)))  # BrtCellReal


def _sheet(rows: Sequence[Sequence[str | float | None]]) -> bytes:
    width = max((len(r) for r in rows), default=1)
    parts = [
        _record(0x0081),  # BrtBeginSheet
        _record(0x0094, struct.pack("<4I", 0, max(len(rows) - 1, 0), 0, max(width - 1, 0))),  # BrtWsDim
        _record(0x0091),  # BrtBeginSheetData
    ]
    for r, row in enumerate(rows):
        parts.append(_record(0x0000, struct.pack("<I", r) + bytes(13)))  # BrtRowHdr
        parts.extend(_cell(c, v) for c, v in enumerate(row) if v is not None)
    parts += [_record(0x0092), _record(0x0082)]  # BrtEndSheetData, BrtEndSheet
    return b"".join(parts)


def _workbook(titles: Sequence[str]) -> bytes:
    parts = [_record(0x0083), _record(0x008F)]  # BrtBeginBook, BrtBeginBundleShs
    for i, title in enumerate(titles, 1):
        payload = struct.pack("<II", 0, i) + _wide(f"rId{i}") + _wide(title)
        parts.append(_record(0x009C, payload))  # BrtBundleSh: visible, tab id, relationship, name
    parts.append(_record(0x0090))  # BrtEndBundleShs
    parts.append(_record(0x009D, bytes(8)))  # BrtCalcProp: where a reader stops looking for names
    parts.append(_record(0x0084))  # BrtEndBook
    return b"".join(parts)


def write_xlsb(path: Path, sheets: dict[str, Sequence[Sequence[str | float | None]]]) -> Path:
    """Write ``sheets`` (title → rows of text, numbers or None) as an .xlsb package."""
    titles = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.bin" ContentType="{_SHEET_TYPE}"/>'
        for i in range(1, len(titles) + 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.bin"/>'
        for i in range(1, len(titles) + 1)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(overrides=overrides))
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.bin"/></Relationships>',
        )
        zf.writestr("xl/workbook.bin", _workbook(titles))
        zf.writestr(
            "xl/_rels/workbook.bin.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>",
        )
        for i, rows in enumerate(sheets.values(), 1):
            zf.writestr(f"xl/worksheets/sheet{i}.bin", _sheet(rows))
    return path
