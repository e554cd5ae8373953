"""Write sheetsync's tabs into an .xlsx/.xlsm package without disturbing anything else.

Loading and re-saving a workbook with a general-purpose library drops whatever
that library doesn't model (sparklines, slicers, 2010 data bars, macros …), so
this module never interprets the workbook as a whole.  It works on the zip
package: every member it has no reason to change is copied as its raw
compressed bytes (fast, and byte-identical by construction); sheetsync's own
worksheet parts are generated; and the few bookkeeping parts that must list a
new sheet (workbook, its relationships, content types, styles, app
properties) are edited as text, so their namespace prefixes, ordering and
unknown content survive untouched.  The result replaces the original
atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import math
import os
import posixpath
import re
import stat
import struct
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

from ..errors import ConfigError, SourceError, WriteRefused
from ..grid import FMT_DATE, FMT_DATETIME, Cell, Grid
from .fingerprint import Fingerprint, changed_while_read, fingerprint, fingerprint_of, read_whole
from .tempfiles import sweep_dead_temp_files, temp_file

__all__ = ["Fingerprint", "fingerprint", "office_lock_file", "without_macro_sheets", "write_tabs"]

# The identity of the file as read (Fingerprint, fingerprint(), fingerprint_of()) lives in
# .fingerprint, which reading imports without this module.


def office_lock_file(path: Path) -> Path | None:
    """The owner file an office suite keeps beside a workbook it has open, if any.

    Excel writes ``~$name``, LibreOffice ``.~lock.name#``.  Writing under an
    open workbook would be lost (or clobber the user's edits) when they save.
    """
    places = {(path.parent, path.name)}
    real = Path(os.path.realpath(path))
    places.add((real.parent, real.name))
    for folder, name in sorted(places):
        for candidate in (folder / f"~${name}", folder / f".~lock.{name}#"):
            if os.path.lexists(candidate):
                return candidate
    return None


# --------------------------------------------------------------------------------------------------
# Public entry point


def write_tabs(path: Path, grids: Sequence[Grid], *, expected: Fingerprint | None) -> list[str]:
    """Add or replace each grid's sheet inside the workbook package at ``path``; return warnings.

    A sheet whose name matches a grid's title case-insensitively is replaced
    in place (same name, position, sheetId, relationship and part); other
    grids become new sheets after the last one, so sheet-scoped defined names
    keep pointing where they did.  ``expected`` is the fingerprint taken when
    the workbook was read: if the file changed since, nothing is written.
    The warnings say what the user should know about a write that was made
    (a digital signature it invalidated).
    """
    if not grids:
        return []
    _check_titles(grids)
    _refuse_if_open(path)
    try:
        data, st = read_whole(path)
    except FileNotFoundError as exc:
        if expected is not None:
            raise WriteRefused(f"{path} was moved or deleted after sheetsync read it — nothing was written") from exc
        raise SourceError(f"{path} does not exist") from exc
    except OSError as exc:
        raise SourceError(f"can't read {path}: {exc.strerror or exc}") from exc
    if expected is not None and (changed_while_read(data, st) or fingerprint_of(st, data) != expected):
        raise WriteRefused(
            f"{path} changed after sheetsync read it (saved by someone else?) — "
            "nothing was written; run sheetsync again"
        )
    if not data:
        raise SourceError(f"{path} is empty, not an Excel workbook")
    package = _Package(data, str(path))
    plan = _plan(package, grids)
    _commit(path, st, lambda out: _emit(package, plan, out))
    return plan.warnings


def without_macro_sheets(data: bytes, label: str) -> bytes:
    """A copy of the package whose workbook part no longer lists its Excel 4.0 macro sheets.

    For python-calamine, which refuses a workbook that lists one; the copy
    is made in memory (raw member copies, one edited part) and never written.
    """
    package = _Package(data, label)
    try:
        book = _workbook(package)
    except (ValueError, KeyError) as exc:
        raise SourceError(
            f"{label} has Excel 4.0 macro sheets, which sheetsync can't read, and its workbook part can't be "
            "made sense of without them — save a copy without the macro sheets and point sheetsync at it"
        ) from exc
    edits = [(s.start, s.end, "") for s in book.sheets if s.kind.endswith(_MACRO_SHEET_TYPES)]
    book.xml.text = _splice(book.xml.text, edits)
    out = io.BytesIO()
    _emit(package, _Plan({book.part.lower(): book.xml.encode()}, set(), [], []), out)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# Checks before writing

_BAD_TITLE_CHARS = frozenset("[]:*?/\\")


def _check_titles(grids: Sequence[Grid]) -> None:
    seen: dict[str, str] = {}
    for grid in grids:
        title = grid.title
        problem = None
        if not title or len(title) > 31:
            problem = "an Excel tab name has 1 to 31 characters"
        elif any(ch in _BAD_TITLE_CHARS for ch in title):
            problem = "an Excel tab name can't contain any of [ ] : * ? / \\"
        elif title[0] == "'" or title[-1] == "'":
            problem = "an Excel tab name can't start or end with an apostrophe"
        elif _ILLEGAL.search(title):
            problem = "an Excel tab name can't contain control characters"
        if problem:
            raise ConfigError(f"tab name {title!r} can't be used: {problem} — choose another in [tabs]")
        key = title.casefold()
        if key in seen:
            raise ConfigError(
                f"tab names {seen[key]!r} and {title!r} name the same tab — give each its own name in [tabs]"
            )
        seen[key] = title


def _refuse_if_open(path: Path) -> None:
    lock = office_lock_file(path)
    if lock is None:
        return
    app = "LibreOffice" if lock.name.startswith(".~lock.") else "Excel"
    raise WriteRefused(
        f"{path} is open in {app} ({lock.name} is beside it) — close it in {app} and run again "
        f"(if {app} is not running, delete {lock})"
    )


# --------------------------------------------------------------------------------------------------
# Reading the zip package

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_FLAG_UTF8 = 0x800


@dataclass(slots=True)
class _Member:
    """One zip member as found in the central directory.

    ``central`` is the directory record verbatim: copying it (with only the
    header offset patched) keeps timestamps, attributes and extra fields
    exactly as the original writer made them.
    """

    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int
    central: bytes
    offset_at: int
    offset_wide: bool
    data_start: int = 0
    end: int = 0


class _Package:
    """The members of a zip package, found through its central directory."""

    def __init__(self, data: bytes, label: str) -> None:
        self.data = data
        self.label = label
        if data[:4] == b"\xd0\xcf\x11\xe0":
            raise SourceError(
                f"{label} is password-protected or an old binary workbook (an OLE file, not a zip "
                "package) — remove the password or save it as .xlsx"
            )
        try:
            self.members, self.cd_start, self.comment = self._directory()
            self._locate()
        except (struct.error, UnicodeDecodeError, IndexError) as exc:
            raise SourceError(f"{label} is damaged (its zip directory can't be read)") from exc
        self.by_key: dict[str, _Member] = {}
        for member in self.members:
            key = member.name.lower()
            if key in self.by_key:
                raise SourceError(f"{label} is damaged: the part {member.name} appears twice")
            self.by_key[key] = member

    def _damaged(self, what: str) -> SourceError:
        return SourceError(f"{self.label} is damaged or not an Excel workbook ({what})")

    def _directory(self) -> tuple[list[_Member], int, bytes]:
        data = self.data
        eocd = data.rfind(_EOCD, max(0, len(data) - 65557))
        if eocd < 0:
            if data[:4] == _LOCAL:
                raise self._damaged("its zip directory is missing: truncated or still being copied?")
            raise SourceError(f"{self.label} is not an Excel workbook (not a zip package)")
        _, disk, cd_disk, _, count, cd_size, cd_offset, comment_len = struct.unpack_from("<4s4H2LH", data, eocd)
        comment = bytes(data[eocd + 22 : eocd + 22 + comment_len])
        tail = 0
        locator = eocd - 20
        if locator >= 56 and data[locator : locator + 4] == _EOCD64_LOCATOR:
            record = locator - 56
            if data[record : record + 4] != _EOCD64:
                raise self._damaged("bad ZIP64 directory")
            (_, _, _, _, disk, cd_disk, _, count, cd_size, cd_offset) = struct.unpack_from("<4sQ2H2L4Q", data, record)
            tail = 76
        if disk or cd_disk:
            raise SourceError(f"{self.label} is a multi-part zip archive, not an Excel workbook")
        cd_start = eocd - tail - cd_size
        shift = cd_start - cd_offset
        if cd_start < 0 or shift < 0:
            raise self._damaged("directory out of place")
        members: list[_Member] = []
        pos = cd_start
        for _ in range(count):
            if data[pos : pos + 4] != _CENTRAL:
                raise self._damaged("bad directory record")
            fields = struct.unpack_from("<4s6H3L5H2L", data, pos)
            flags, method, crc, csize, usize = fields[3], fields[4], fields[7], fields[8], fields[9]
            n, m, k, offset = fields[10], fields[11], fields[12], fields[16]
            raw_name = bytes(data[pos + 46 : pos + 46 + n])
            name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437")
            offset_at, wide = 42, False
            if _U32 in (csize, usize, offset):
                x, x_end = pos + 46 + n, pos + 46 + n + m
                while x + 4 <= x_end:
                    xid, xlen = struct.unpack_from("<HH", data, x)
                    if xid == 1:
                        q = x + 4
                        if usize == _U32:
                            (usize,) = struct.unpack_from("<Q", data, q)
                            q += 8
                        if csize == _U32:
                            (csize,) = struct.unpack_from("<Q", data, q)
                            q += 8
                        if offset == _U32:
                            (offset,) = struct.unpack_from("<Q", data, q)
                            offset_at, wide = q - pos, True
                        break
                    x += 4 + xlen
            record_end = pos + 46 + n + m + k
            central = bytes(data[pos:record_end])
            members.append(
                _Member(name, raw_name, flags, method, crc, csize, usize, offset + shift, central, offset_at, wide)
            )
            pos = record_end
        return members, cd_start, comment

    def _locate(self) -> None:
        """Find each member's data and the end of its bytes (local header, data, descriptor)."""
        ordered = sorted(self.members, key=lambda mb: mb.offset)
        for i, member in enumerate(ordered):
            end = ordered[i + 1].offset if i + 1 < len(ordered) else self.cd_start
            if self.data[member.offset : member.offset + 4] != _LOCAL:
                raise self._damaged(f"no local header for {member.name}")
            n, m = struct.unpack_from("<2H", self.data, member.offset + 26)
            member.data_start = member.offset + 30 + n + m
            member.end = end
            if member.data_start + member.csize > end:
                raise self._damaged(f"{member.name} overlaps the next part")

    def find(self, part: str) -> _Member | None:
        """OPC part names are case-insensitive (Excel writes ``xl/SharedStrings.xml`` at times)."""
        return self.by_key.get(part.lower())

    def read(self, member: _Member) -> bytes:
        if member.flags & 1:
            raise SourceError(f"{self.label}: the part {member.name} is encrypted")
        raw = self.data[member.data_start : member.data_start + member.csize]
        try:
            if member.method == 0:
                content = bytes(raw)
            elif member.method == 8:
                content = zlib.decompress(raw, -15)
            else:
                raise SourceError(f"{self.label}: the part {member.name} uses a zip compression Excel doesn't write")
        except zlib.error as exc:
            raise self._damaged(f"{member.name} can't be decompressed") from exc
        if zlib.crc32(content) != member.crc:
            raise self._damaged(f"{member.name} fails its checksum")
        return content

    def read_text(self, part: str) -> _XmlText | None:
        member = self.find(part)
        return None if member is None else _XmlText.decode(self.read(member), self.label, member.name)


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_DECLARED_ENCODING = re.compile(rb"<\?xml[^<>]*?\sencoding\s*+=\s*+[\"']([A-Za-z][\w.-]*+)[\"']")


@dataclass(slots=True)
class _XmlText:
    """An XML part as text, remembering how to encode it back the way it came."""

    text: str
    encoding: str
    bom: bytes

    @classmethod
    def decode(cls, content: bytes, label: str, name: str) -> _XmlText:
        bom, encoding = next(((b, e) for b, e in _BOMS if content.startswith(b)), (b"", ""))
        if not encoding:
            declared = _DECLARED_ENCODING.match(content)
            encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        try:
            return cls(content[len(bom) :].decode(encoding), encoding, bom)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(f"{label} is damaged: {name} is not readable text") from exc

    def encode(self) -> bytes:
        # Character references keep text we add valid in a part declared as, say, ISO-8859-1.
        return self.bom + self.text.encode(self.encoding, "xmlcharrefreplace")


# --------------------------------------------------------------------------------------------------
# Minimal, prefix-preserving XML text handling

# Every pattern here is linear in its input, whatever the input (a workbook is untrusted
# text): quantifiers are possessive, so nothing is tried twice; quoted values stop at "<",
# which XML forbids there, so a scan from one "<" never runs past the next one.
_ATTRS = r"((?:\s++[\w:.-]++\s*+=\s*+(?:\"[^\"<]*+\"|'[^'<]*+'))*+)\s*+(/?)>"
_ATTR = re.compile(r"(?<![\w:.-])([\w:.-]++)\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)')")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]++|#[0-9]++|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(value: str) -> str:
    if "&" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref[0] != "#":
            return _NAMED[ref]
        return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))

    return _ENTITY.sub(one, value)


def _attrs(raw: str) -> dict[str, str]:
    return {m.group(1): _unescape(m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(raw)}


def _esc_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _esc_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tag(qname: str) -> re.Pattern[str]:
    return re.compile("<" + re.escape(qname) + r"(?=[\s/>])" + _ATTRS)


@dataclass(frozen=True, slots=True)
class _Element:
    start: int
    end: int
    attrs: dict[str, str]


def _elements(text: str, qname: str, start: int = 0, stop: int | None = None) -> Iterator[_Element]:
    """Leaf-like elements named ``qname`` (self-closing or with a matching end tag)."""
    stop = len(text) if stop is None else stop
    close = re.compile("</" + re.escape(qname) + r"\s*>")
    pos = start
    pattern = _tag(qname)
    while True:
        m = pattern.search(text, pos, stop)
        if m is None:
            return
        end = m.end()
        if not m.group(2):
            c = close.search(text, end, stop)
            end = c.end() if c else end
        yield _Element(m.start(), end, _attrs(m.group(1)))
        pos = end


def _root(text: str, local: str) -> tuple[str, dict[str, str]]:
    """The root element's prefix (with colon, or empty) and its attributes."""
    m = re.search(r"<((?:[\w.-]++:)?)" + local + r"(?=[\s/>])" + _ATTRS, text)
    if m is None:
        raise ValueError(local)
    return m.group(1), _attrs(m.group(2))


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits; insertions at one place keep the order given."""
    pieces = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
        pieces.append(text[pos:start])
        pieces.append(new)
        pos = max(pos, end)
    pieces.append(text[pos:])
    return "".join(pieces)


def _close_tag(text: str, qname: str) -> int:
    """Where the last end tag ``qname`` starts (an insertion point before it)."""
    ends = [m.start() for m in re.finditer("</" + re.escape(qname) + r"\s*>", text)]
    if not ends:
        raise ValueError(qname)
    return ends[-1]


_SPECIAL_MARKUP = (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>"))
_ANY_TAG = re.compile(r"<(/?)[\w.:-]++" + _ATTRS)


def top_level_elements(text: str, start: int, stop: int) -> list[int]:
    """Start offsets of the elements directly inside ``text[start:stop]`` (an element's content).

    Nested elements, comments, processing instructions and CDATA are
    stepped over; one pass, each character looked at once.  Markup that
    isn't well-formed raises ``ValueError``.
    """
    found: list[int] = []
    depth = 0
    pos = start
    while (lt := text.find("<", pos, stop)) >= 0:
        for opener, closer in _SPECIAL_MARKUP:
            if text.startswith(opener, lt):
                end = text.find(closer, lt + len(opener), stop)
                if end < 0:
                    raise ValueError("markup")
                pos = end + len(closer)
                break
        else:
            m = _ANY_TAG.match(text, lt, stop)
            if m is None:
                raise ValueError("markup")
            if m.group(1):
                depth -= 1
                if depth < 0:
                    raise ValueError("markup")
            else:
                if depth == 0:
                    found.append(lt)
                if not m.group(3):
                    depth += 1
            pos = m.end()
    return found


# --------------------------------------------------------------------------------------------------
# OPC relationships

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"


@dataclass(frozen=True, slots=True)
class _Rel:
    id: str
    type: str
    part: str
    start: int
    end: int


def _rels_part(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _resolve(source: str, target: str) -> str:
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target[1:])
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _relationships(xml: _XmlText, source: str) -> tuple[str, list[_Rel]]:
    prefix, _ = _root(xml.text, "Relationships")
    rels = []
    for el in _elements(xml.text, prefix + "Relationship"):
        a = el.attrs
        if a.get("TargetMode", "Internal") == "External" or "Id" not in a:
            continue
        rels.append(_Rel(a["Id"], a.get("Type", ""), _resolve(source, a.get("Target", "")), el.start, el.end))
    return prefix, rels


# --------------------------------------------------------------------------------------------------
# The plan: what to replace, drop and add


@dataclass(slots=True)
class _Plan:
    changed: dict[str, bytes]
    dropped: set[str]
    added: list[tuple[str, bytes]]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class _Sheet:
    """A ``<sheet>`` of the workbook part: where it sits in the text and the kind of part it names."""

    name: str
    sheet_id: int
    rid: str
    index: int
    start: int
    end: int
    kind: str  # its relationship's type ("" when the relationship is missing)


@dataclass(slots=True)
class _Workbook:
    """The workbook part and its relationships, as text to edit in place."""

    part: str
    xml: _XmlText
    prefix: str
    main_ns: str
    rel_ns: str
    r_prefix: str | None
    sheets: list[_Sheet]
    sheets_close: int
    rels_member: _Member
    rels: _XmlText
    rel_prefix: str
    rel_list: list[_Rel]
    package_rels: list[_Rel]


_MACRO_SHEET_TYPES = ("/xlMacrosheet", "/xlIntlMacrosheet")
_SIGNATURE_ORIGIN = "/digital-signature/origin"
# What may follow calcPr in CT_Workbook, in schema order: a new calcPr goes before the first present.
_AFTER_CALC_PR = (
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
)


def _plan(package: _Package, grids: Sequence[Grid]) -> _Plan:
    try:
        return _make_plan(package, grids)
    except (ValueError, KeyError) as exc:
        raise SourceError(
            f"{package.label} is damaged or not an Excel workbook (can't make sense of its "
            f"{exc.args[0] if exc.args else 'structure'})"
        ) from exc


def _workbook(package: _Package) -> _Workbook:
    """Find and read the workbook part, its sheet list and its relationships (``ValueError`` when they don't parse)."""
    label = package.label
    root_rels = package.read_text("_rels/.rels")
    if root_rels is None:
        raise SourceError(f"{label} is not an Excel workbook (no _rels/.rels part)")
    _, package_rels = _relationships(root_rels, "")
    wb_rel = next((r for r in package_rels if r.type.endswith("/officeDocument")), None)
    wb_member = package.find(wb_rel.part) if wb_rel is not None else None
    if wb_member is None:
        raise SourceError(f"{label} is not an Excel workbook (no workbook part)")
    wb_part = wb_member.name
    if not wb_part.lower().endswith(".xml"):
        raise SourceError(f"{label} is a binary workbook (.xlsb); sheetsync can only write .xlsx/.xlsm")
    wb = _XmlText.decode(package.read(wb_member), label, wb_part)
    rels_member = package.find(_rels_part(wb_part))
    if rels_member is None:
        raise SourceError(f"{label} is damaged (workbook relationships missing)")
    rels = _XmlText.decode(package.read(rels_member), label, rels_member.name)
    rel_prefix, rel_list = _relationships(rels, wb_part)
    kinds = {r.id: r.type for r in rel_list}

    p, root_attrs = _root(wb.text, "workbook")
    main_ns = root_attrs.get("xmlns:" + p[:-1] if p else "xmlns", _MAIN_NS)
    rel_ns = _STRICT_REL_NS if main_ns == _STRICT_MAIN_NS else _REL_NS
    r_prefix = next((k[6:] for k, v in root_attrs.items() if k.startswith("xmlns:") and v == rel_ns), None)
    sheets_close = _close_tag(wb.text, p + "sheets")
    sheets_open = _tag(p + "sheets").search(wb.text)
    if sheets_open is None:
        raise ValueError("sheet list")
    sheets = []
    for i, el in enumerate(_elements(wb.text, p + "sheet", sheets_open.end(), sheets_close)):
        rid = next((v for k, v in el.attrs.items() if k.endswith(":id")), None)
        if rid is None:
            raise ValueError("sheet list")
        sheets.append(_Sheet(el.attrs["name"], int(el.attrs["sheetId"]), rid, i, el.start, el.end, kinds.get(rid, "")))
    return _Workbook(
        wb_part,
        wb,
        p,
        main_ns,
        rel_ns,
        r_prefix,
        sheets,
        sheets_close,
        rels_member,
        rels,
        rel_prefix,
        rel_list,
        package_rels,
    )


def _make_plan(package: _Package, grids: Sequence[Grid]) -> _Plan:
    label = package.label
    book = _workbook(package)
    wb, p, sheets = book.xml, book.prefix, book.sheets
    wb_part, wb_rels, rel_prefix = book.part, book.rels, book.rel_prefix
    main_ns, rel_ns = book.main_ns, book.rel_ns
    _refuse_locked_structure(wb.text, p, label, [g.title for g in grids if _match(sheets, g.title) is None])
    ct_member = package.find("[Content_Types].xml")
    if ct_member is None:
        raise SourceError(f"{label} is damaged (content types missing)")
    ct = _XmlText.decode(package.read(ct_member), label, ct_member.name)

    pr = _tag(p + "workbookPr").search(wb.text)
    date1904 = pr is not None and _attrs(pr.group(1)).get("date1904", "0").lower() in ("1", "true")
    view = _tag(p + "workbookView").search(wb.text)
    active_tab = int(_attrs(view.group(1)).get("activeTab", "0")) if view else 0

    by_id = {r.id: r for r in book.rel_list}
    used_ids = {el.attrs.get("Id", "") for el in _elements(wb_rels.text, rel_prefix + "Relationship")}
    ct_prefix, _ = _root(ct.text, "Types")
    overrides = list(_elements(ct.text, ct_prefix + "Override"))
    taken = set(package.by_key) | {o.attrs.get("PartName", "").lstrip("/").lower() for o in overrides}

    styles_rel = next((r for r in book.rel_list if r.type.endswith("/styles")), None)
    styles_member = package.find(styles_rel.part) if styles_rel else None
    if styles_rel is not None and styles_member is None:
        raise SourceError(f"{label} is damaged: its styles part {styles_rel.part} is missing")
    styles_xml = _XmlText.decode(package.read(styles_member), label, styles_member.name) if styles_member else None
    styles = _Styles(styles_xml.text if styles_xml else None, main_ns)

    plan = _Plan({}, set(), [], _signature_warnings(package, book))
    wb_edits: list[tuple[int, int, str]] = []
    rels_edits: list[tuple[int, int, str]] = []
    ct_edits: list[tuple[int, int, str]] = []
    new_titles: list[str] = []
    replaced_ids: set[int] = set()
    next_sheet_id = max((s.sheet_id for s in sheets), default=0) + 1
    wb_dir = posixpath.dirname(wb_part)

    def fresh_rid() -> str:
        n = len(used_ids) + 1
        for i in range(1, n + 1):
            if f"rId{i}" not in used_ids:
                used_ids.add(f"rId{i}")
                return f"rId{i}"
        raise AssertionError("unreachable")  # pragma: no cover — n+1 candidates for n ids

    def fresh_part(folder: str, stem: str, first: str | None = None) -> str:
        """A part name nothing uses: no member, no Override, and no relationships part left behind.

        A leftover ``_rels/sheetN.xml.rels`` (its sheet deleted by a careless
        tool) would otherwise be read as the new part's relationships.
        """
        candidates = itertools.chain(
            [first] if first else [],
            (posixpath.join(wb_dir, folder, f"{stem}{i}.xml") for i in itertools.count(1)),
        )
        for name in candidates:
            if name.lower() not in taken and _rels_part(name).lower() not in taken:
                taken.add(name.lower())
                return name
        raise AssertionError("unreachable")  # pragma: no cover — the candidates never run out

    for grid in grids:
        match = _match(sheets, grid.title)
        if match is not None:
            rel = by_id.get(match.rid)
            if rel is None:
                raise SourceError(f"{label} is damaged: tab {match.name!r} has no part")
            if not rel.type.endswith("/worksheet"):
                raise WriteRefused(
                    f"tab {match.name!r} in {label} is not a worksheet (a chart or macro sheet) — "
                    f"sheetsync won't replace it; rename it or choose another name in [tabs]"
                )
            member = package.find(rel.part)
            if member is None:
                raise SourceError(f"{label} is damaged: the part {rel.part} of tab {match.name!r} is missing")
            old = _XmlText.decode(package.read(member), label, member.name).text
            xml = _sheet_xml(
                grid,
                styles,
                date1904,
                selected=match.index == active_tab,
                keep=_drawing_refs(old),
                main_ns=main_ns,
                rel_ns=rel_ns,
            )
            plan.changed[member.name.lower()] = xml
            replaced_ids.add(match.sheet_id)
            continue
        part = fresh_part("worksheets", "sheet")
        rid = fresh_rid()
        xml = _sheet_xml(grid, styles, date1904, selected=False, keep=[], main_ns=main_ns, rel_ns=rel_ns)
        plan.added.append((part, xml))
        id_attr = f'{book.r_prefix}:id="{rid}"' if book.r_prefix else f'r:id="{rid}" xmlns:r="{rel_ns}"'
        wb_edits.append(
            (
                book.sheets_close,
                book.sheets_close,
                f'<{p}sheet name="{_esc_attr(grid.title)}" sheetId="{next_sheet_id}" {id_attr}/>',
            )
        )
        next_sheet_id += 1
        target = posixpath.relpath(part, wb_dir or ".")
        rels_edits.append((-1, -1, _relationship(rel_prefix, rid, f"{rel_ns}/worksheet", target)))
        ct_edits.append((-1, -1, _override(ct_prefix, part, _WORKSHEET_CT)))
        new_titles.append(grid.title)
    wb_edits.append(_full_calc_on_load(wb.text, p, book.sheets_close))

    # Styles: a workbook without a styles part gets one only when the grids need it.
    styles_text = styles.render()
    if styles_text is not None:
        if styles_member is not None and styles_xml is not None:
            styles_xml.text = styles_text
            plan.changed[styles_member.name.lower()] = styles_xml.encode()
        else:
            part = fresh_part("", "styles", first=posixpath.join(wb_dir, "styles.xml"))
            plan.added.append((part, styles_text.encode("utf-8")))
            target = posixpath.relpath(part, wb_dir or ".")
            rels_edits.append((-1, -1, _relationship(rel_prefix, fresh_rid(), f"{rel_ns}/styles", target)))
            ct_edits.append((-1, -1, _override(ct_prefix, part, _STYLES_CT)))

    # The calculation chain lists formula cells by sheetId; Excel rebuilds it when absent.
    if replaced_ids:
        for rel in book.rel_list:
            if not rel.type.endswith("/calcChain"):
                continue
            member = package.find(rel.part)
            chain = None if member is None else _XmlText.decode(package.read(member), label, member.name)
            ids = None if chain is None else _calc_chain_sheets(chain.text)
            if ids is not None and not ids & replaced_ids:
                continue
            if member is not None:
                plan.dropped.add(member.name.lower())
            rels_edits.append((rel.start, rel.end, ""))
            for o in overrides:
                if o.attrs.get("PartName", "").lstrip("/").lower() == rel.part.lower():
                    ct_edits.append((o.start, o.end, ""))

    wb.text = _splice(wb.text, wb_edits)
    plan.changed[wb_part.lower()] = wb.encode()
    if rels_edits:
        close = _close_tag(wb_rels.text, rel_prefix + "Relationships")
        wb_rels.text = _splice(wb_rels.text, [(close, close, t) if s < 0 else (s, e, t) for s, e, t in rels_edits])
        plan.changed[book.rels_member.name.lower()] = wb_rels.encode()
    if ct_edits:
        close = _close_tag(ct.text, ct_prefix + "Types")
        ct.text = _splice(ct.text, [(close, close, t) if s < 0 else (s, e, t) for s, e, t in ct_edits])
        plan.changed[ct_member.name.lower()] = ct.encode()

    app_rel = next((r for r in book.package_rels if r.type.endswith("/extended-properties")), None)
    if new_titles and app_rel is not None:
        app_member = package.find(app_rel.part)
        if app_member is not None:
            app = _XmlText.decode(package.read(app_member), label, app_member.name)
            worksheets = [s.name for s in sheets if s.kind.endswith("/worksheet")]
            updated = _app_titles(app.text, worksheets, new_titles)
            if updated is not None:
                app.text = updated
                plan.changed[app_member.name.lower()] = app.encode()
    return plan


def _match(sheets: list[_Sheet], title: str) -> _Sheet | None:
    """The sheet a grid replaces: the same name, case-insensitively (as Excel compares tab names)."""
    key = title.casefold()
    return next((s for s in sheets if s.name.casefold() == key), None)


def _refuse_locked_structure(text: str, p: str, label: str, new_titles: list[str]) -> None:
    """Adding a tab to a workbook whose structure is protected is what the protection forbids.

    Replacing the cells of tabs that already exist changes no structure, so a
    workbook protected after its first sync keeps being written.
    """
    if not new_titles:
        return
    protection = _tag(p + "workbookProtection").search(text)
    if protection is None or _attrs(protection.group(1)).get("lockStructure", "0").lower() not in ("1", "true"):
        return
    tabs = ", ".join(new_titles)
    raise WriteRefused(
        f"{label} has a protected structure, so sheetsync can't add its {tabs} tab"
        f"{'s' if len(new_titles) > 1 else ''} — nothing was written. Unprotect it in Excel "
        "(Review → Protect Workbook; it asks for the password if one was set) and run again, "
        "or use --dry-run to see the results without writing"
    )


def _signature_warnings(package: _Package, book: _Workbook) -> list[str]:
    """A digitally signed package: the signature covers parts this write changes, so it breaks."""
    signed = any(r.type.endswith(_SIGNATURE_ORIGIN) for r in book.package_rels) or any(
        key.startswith("_xmlsignatures/") for key in package.by_key
    )
    if not signed:
        return []
    return [
        f"{package.label} was digitally signed; the signature no longer matches now that sheetsync wrote its tabs "
        "(Excel will show it as invalid) — sign the workbook again in Excel if it must stay signed"
    ]


_FULL_CALC = re.compile(r"(\sfullCalcOnLoad\s*+=\s*+)(\"[^\"<]*+\"|'[^'<]*+')")


def _full_calc_on_load(text: str, p: str, after: int) -> tuple[int, int, str]:
    """The workbook edit that makes Excel recalculate every formula on open (``calcPr fullCalcOnLoad``).

    Formulas elsewhere in the workbook that read our tabs would otherwise
    show the values cached before this write.  ``calcPr`` follows the sheet
    list (and ``definedNames``) in the schema; a new one goes before the
    first element that must follow it.
    """
    calc = _tag(p + "calcPr").search(text, after)
    if calc is None:
        followers = [m.start() for m in (_tag(p + name).search(text, after) for name in _AFTER_CALC_PR) if m]
        at = min(followers) if followers else _close_tag(text, p + "workbook")
        return at, at, f'<{p}calcPr fullCalcOnLoad="1"/>'
    head = calc.group(0)
    flag = _FULL_CALC.search(head)
    if flag is not None:
        start, end = calc.start() + flag.start(2), calc.start() + flag.end(2)
        return start, end, '"1"'
    at = calc.start() + 1 + len(p) + len("calcPr")
    return at, at, ' fullCalcOnLoad="1"'


def _relationship(prefix: str, rid: str, rel_type: str, target: str) -> str:
    return f'<{prefix}Relationship Id="{rid}" Type="{rel_type}" Target="{_esc_attr(target)}"/>'


def _override(prefix: str, part: str, content_type: str) -> str:
    return f'<{prefix}Override PartName="/{_esc_attr(part)}" ContentType="{content_type}"/>'


_CHAIN_CELL = re.compile(r"<(?:[\w.-]++:)?c(?=[\s/>])" + _ATTRS)


def _calc_chain_sheets(text: str) -> set[int] | None:
    """The sheetIds a calcChain names; None when it can't be told (a leading cell without ``i``)."""
    ids: set[int] = set()
    current: int | None = None
    for m in _CHAIN_CELL.finditer(text):
        value = _attrs(m.group(1)).get("i")
        if value is not None:
            current = int(value)
        elif current is None:
            return None
        ids.add(current)
    return ids


_DRAWING_REF = re.compile(r"<(?:[\w.-]++:)?(drawing|legacyDrawing|legacyDrawingHF)(?=[\s/>])" + _ATTRS)


def _drawing_refs(old_sheet: str) -> list[tuple[str, str]]:
    """Charts, pictures and comment boxes a user anchored on one of our tabs.

    They live in parts of their own, reached through the sheet's (kept)
    relationships, and don't depend on cell contents, so re-linking them lets a
    user's own chart of the Summary figures survive each run.
    """
    refs = []
    tail = max(old_sheet.rfind("sheetData>"), 0)  # they all come after the cells
    for m in _DRAWING_REF.finditer(old_sheet, tail):
        rid = next((v for k, v in _attrs(m.group(2)).items() if k.endswith(":id")), None)
        if rid:
            refs.append((m.group(1), rid))
    return refs


_NUMBER = re.compile(r"<((?:[\w.-]++:)?)(i4|i2|i1|int|ui4|ui2|ui1|uint)\s*+>\s*+(\d++)\s*+</\1\2\s*+>")
_VECTOR = re.compile(r"<(?:[\w.-]++:)?vector(?=[\s/>])" + _ATTRS)
_SIZE = re.compile(r"\ssize\s*+=\s*+[\"'](\d++)[\"']")


@dataclass(frozen=True, slots=True)
class _Body:
    """An attribute-less element such as ``<vt:lpstr>``: its prefix, its content's span, and where it ends."""

    prefix: str
    start: int
    stop: int
    end: int


def _bodies(text: str, local: str, start: int = 0, stop: int | None = None) -> Iterator[_Body]:
    """Each ``<p:local>…</p:local>`` (or ``<p:local/>``) in ``text[start:stop]``, in order, not nested.

    One pass: an element left open ends the search, as no later one could close.
    """
    stop = len(text) if stop is None else stop
    opener = re.compile(r"<((?:[\w.-]++:)?)" + local + r"\s*+(/?)>")
    pos = start
    while (m := opener.search(text, pos, stop)) is not None:
        prefix = m.group(1)
        if m.group(2):
            yield _Body(prefix, m.end(), m.end(), m.end())
            pos = m.end()
            continue
        close = re.compile("</" + re.escape(prefix) + local + r"\s*+>").search(text, m.end(), stop)
        if close is None:
            return
        yield _Body(prefix, m.end(), close.start(), close.end())
        pos = close.end()


def _app_titles(text: str, worksheets: list[str], added: list[str]) -> str | None:
    """Keep docProps/app.xml's list of worksheet titles true after adding sheets.

    The heading naming the worksheet group is localised ("Arbeitsblätter"), so
    the group is found by its titles matching the workbook's worksheets.
    Returns None when the properties don't list them as expected (Excel
    rewrites this part on its next save anyway).
    """
    heads = next(_bodies(text, "HeadingPairs"), None)
    parts = next(_bodies(text, "TitlesOfParts"), None)
    if heads is None or parts is None:
        return None
    counts: list[tuple[int, int, int]] = []
    for variant in _bodies(text, "variant", heads.start, heads.stop):
        number = _NUMBER.search(text, variant.start, variant.stop)
        if number is not None:
            counts.append((int(number.group(3)), number.start(3), number.end(3)))
    titles = list(_bodies(text, "lpstr", parts.start, parts.stop))
    vector = _VECTOR.search(text, parts.start, parts.stop)
    if vector is None or not titles:
        return None
    offset = 0
    for count, start, end in counts:
        block = [_unescape(text[t.start : t.stop]) for t in titles[offset : offset + count]]
        if count and block == worksheets:
            last = titles[offset + count - 1]
            edits = [
                (start, end, str(count + len(added))),
                (
                    last.end,
                    last.end,
                    "".join(f"<{last.prefix}lpstr>{_esc_text(t)}</{last.prefix}lpstr>" for t in added),
                ),
            ]
            size = _SIZE.search(vector.group(0))
            if size is not None:
                at = vector.start() + size.start(1)
                edits.append((at, at + len(size.group(1)), str(len(titles) + len(added))))
            return _splice(text, edits)
        offset += count
    return None


# --------------------------------------------------------------------------------------------------
# Styles: append only what the grids need, and reuse it on the next run

_SECTIONS = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
_DEFAULT_CHILDREN: dict[str, tuple[str, ...]] = {
    "fonts": ('<{p}font><{p}sz val="11"/><{p}name val="Calibri"/><{p}family val="2"/></{p}font>',),
    "fills": (
        '<{p}fill><{p}patternFill patternType="none"/></{p}fill>',
        '<{p}fill><{p}patternFill patternType="gray125"/></{p}fill>',
    ),
    "borders": ("<{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/><{p}diagonal/></{p}border>",),
    "cellStyleXfs": ('<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>',),
    "cellXfs": ('<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',),
}
_CHILD = {"numFmts": "numFmt", "fonts": "font", "fills": "fill", "borders": "border", "cellStyleXfs": "xf"}
_CHILD["cellXfs"] = "xf"
_CHILD["cellStyles"] = "cellStyle"
_FALLBACK = re.compile(r"<(?:[\w.-]++:)?Fallback(?=[\s/>])" + _ATTRS)
# Locale-independent built-in formats; dates (14…22) depend on the reader's locale, so they get a custom code.
_BUILTIN_FORMATS = {
    "General": 0,
    "0": 1,
    "0.00": 2,
    "#,##0": 3,
    "#,##0.00": 4,
    "0%": 9,
    "0.00%": 10,
    "0.00E+00": 11,
    "@": 49,
}


class _Styles:
    """Cell formats for the grids, appended to the workbook's styles part as text.

    What this class appends is deterministic and found again by exact text on
    the next run, so repeated syncs reuse their entries instead of growing the
    styles part run after run.  Nothing is touched until a styled cell needs it.
    """

    def __init__(self, text: str | None, main_ns: str) -> None:
        self.created = text is None
        if text is None:
            text = f'{_XML_DECLARATION}<styleSheet xmlns="{main_ns}"></styleSheet>'
        self.text = text
        self.p, _ = _root(text, "styleSheet")
        self.changed = self.created
        self.cache: dict[tuple[str | None, bool], int] = {}
        self.bold_font: int | None = None

    def render(self) -> str | None:
        """The new styles text, or None when the part can stay byte-identical."""
        return self.text if self.changed and self.cache else None

    def xf(self, fmt: str | None, bold: bool) -> int:
        """The cellXfs index for a number format and boldness."""
        key = (fmt, bold)
        index = self.cache.get(key)
        if index is None:
            index = self.cache[key] = self._xf(fmt, bold)
        return index

    def _xf(self, fmt: str | None, bold: bool) -> int:
        for section in ("fonts", "fills", "borders", "cellStyleXfs", "cellXfs"):
            if not self._children(section):
                for child in _DEFAULT_CHILDREN[section]:
                    self._append(section, child)
        if self.created and not self._children("cellStyles"):
            self._append("cellStyles", '<{p}cellStyle name="Normal" xfId="0" builtinId="0"/>')
        num = self._number_format(fmt) if fmt is not None else 0
        font = self._bold_font() if bold else 0
        xml = (
            f'<{{p}}xf numFmtId="{num}" fontId="{font}" fillId="0" borderId="0" xfId="0"'
            + (' applyNumberFormat="1"' if num else "")
            + (' applyFont="1"' if font else "")
            + "/>"
        )
        return self._reuse_or_append("cellXfs", xml)

    def _number_format(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        span = self._span("numFmts")
        if span is not None:
            for el in _elements(self.text, self.p + "numFmt", *span):
                if el.attrs.get("formatCode") == code and el.attrs.get("numFmtId", "").isdigit():
                    return int(el.attrs["numFmtId"])
        # dxfs carry numFmt ids of their own in the same id space: stay clear of every one.
        used = [int(n) for n in re.findall(r"\bnumFmtId\s*=\s*[\"'](\d+)[\"']", self.text)]
        new_id = max([163, *used]) + 1
        self._append("numFmts", f'<{{p}}numFmt numFmtId="{new_id}" formatCode="{_esc_attr(code)}"/>')
        return new_id

    def _bold_font(self) -> int:
        """A copy of the workbook's default font with bold on, so headers match the workbook's look."""
        if self.bold_font is not None:
            return self.bold_font
        base = self._first_font()
        b = _tag(self.p + "b").search(base)
        if b is not None and _attrs(b.group(1)).get("val", "1").lower() in ("1", "true"):
            self.bold_font = 0
            return 0
        bold_tag = f"<{self.p}b/>"
        if b is not None:
            bold = base[: b.start()] + bold_tag + base[b.end() :]
        else:
            head = _tag(self.p + "font").match(base)
            assert head is not None
            bold = base[: head.end()] + bold_tag + base[head.end() :]
        self.bold_font = self._reuse_or_append("fonts", bold.replace("{", "{{").replace("}", "}}"))
        return self.bold_font

    def _first_font(self) -> str:
        """The workbook's default font (entry 0) as plain ``<font>`` XML.

        An ``mc:AlternateContent`` entry gives its ``Fallback`` font, the one
        every reader understands; without one, the stock Calibri 11.
        """
        _, stop = self._open("fonts")
        entries = self._children("fonts")
        end = entries[1] if len(entries) > 1 else stop
        at = entries[0]
        font_tag = _tag(self.p + "font")
        if font_tag.match(self.text, at) is None:
            fallback = _FALLBACK.search(self.text, at, end)
            at = fallback.end() if fallback is not None else end
        first = font_tag.search(self.text, at, end)
        if first is None:
            return _DEFAULT_CHILDREN["fonts"][0].format(p=self.p)
        if first.group(2):
            return f"<{self.p}font{first.group(1)}></{self.p}font>"
        close = re.compile("</" + re.escape(self.p) + r"font\s*>").search(self.text, first.end(), end)
        if close is None:
            raise ValueError("styles")
        return self.text[first.start() : close.end()]

    # -- section plumbing ----------------------------------------------------------------------

    def _span(self, section: str) -> tuple[int, int] | None:
        """Where a section's children sit, or None when the section is absent."""
        m = _tag(self.p + section).search(self.text)
        if m is None:
            return None
        if m.group(2):
            return m.end(), m.end()
        close = re.compile("</" + re.escape(self.p + section) + r"\s*>").search(self.text, m.end())
        if close is None:
            raise ValueError("styles")
        return m.end(), close.start()

    def _open(self, section: str) -> tuple[int, int]:
        """Like ``_span``, first creating the section (in schema order) or opening a self-closed one."""
        m = _tag(self.p + section).search(self.text)
        if m is None:
            later = [s for s in _SECTIONS[_SECTIONS.index(section) + 1 :] if self._span(s) is not None]
            found = [_tag(self.p + s).search(self.text) for s in later]
            starts = [f.start() for f in found if f is not None]
            at = min(starts) if starts else _close_tag(self.text, self.p + "styleSheet")
            self.text = self.text[:at] + f'<{self.p}{section} count="0"></{self.p}{section}>' + self.text[at:]
            self.changed = True
        elif m.group(2):
            opened = f"<{self.p}{section}{m.group(1)}></{self.p}{section}>"
            self.text = self.text[: m.start()] + opened + self.text[m.end() :]
            self.changed = True
        span = self._span(section)
        assert span is not None
        return span

    def _children(self, section: str) -> list[int]:
        """Start offsets of a section's entries (empty when the section is absent).

        An entry is a child element; an ``mc:AlternateContent`` child is one
        entry whatever its Choice and Fallback hold (Hancom Hancell wraps
        styles in them), so indexes we hand out match the reader's.  A section
        without one, and without comments or processing instructions (the
        usual), is counted by one regex pass over its child tags, which can't
        nest there: what ``top_level_elements`` would find.
        """
        span = self._span(section)
        if span is None:
            return []
        if any(self.text.find(mark, *span) >= 0 for mark in ("AlternateContent", "<!", "<?")):
            return top_level_elements(self.text, *span)
        pattern = re.compile("<" + re.escape(self.p + _CHILD[section]) + r"(?=[\s/>])")
        return [m.start() for m in pattern.finditer(self.text, *span)]

    def _reuse_or_append(self, section: str, template: str) -> int:
        """The index of an entry that is exactly ``template``; appended when there is none."""
        xml = template.format(p=self.p)
        span = self._span(section)
        if span is not None:
            at = self.text.find(xml, *span)
            if at >= 0:
                entries = self._children(section)
                while at >= 0:
                    if at in entries:
                        return entries.index(at)
                    at = self.text.find(xml, at + 1, span[1])  # inside an AlternateContent: not an entry
        return self._append(section, template)

    def _append(self, section: str, template: str) -> int:
        _, stop = self._open(section)
        index = len(self._children(section))
        self.text = self.text[:stop] + template.format(p=self.p) + self.text[stop:]
        m = _tag(self.p + section).search(self.text)
        assert m is not None
        count = re.search(r"\scount\s*=\s*[\"'](\d+)[\"']", m.group(0))
        if count is not None:
            self.text = self.text[: m.start() + count.start(1)] + str(index + 1) + self.text[m.start() + count.end(1) :]
        self.changed = True
        return index


# --------------------------------------------------------------------------------------------------
# Sheet XML

_MAX_ROWS = 1_048_576
_MAX_COLS = 16_384
_MAX_TEXT_UNITS = 32_767  # Excel's cell limit, in UTF-16 code units
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile("_x[0-9A-Fa-f]{4}_")
_NEEDS_WORK = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FAST_TEXT = _MAX_TEXT_UNITS // 2  # no string this short can pass Excel's limit, even in UTF-16
_XML_SPACE = " \t\n\r"
_EPOCH_1900 = dt.date(1899, 12, 30).toordinal()
_EPOCH_1904 = dt.date(1904, 1, 1).toordinal()
_FIRST_1900 = dt.date(1900, 1, 1)
_LEAP_BUG_END = dt.date(1900, 3, 1)
_MAX_EXACT_INT = 2**53


def _letters(count: int) -> list[str]:
    out = []
    for n in range(1, count + 1):
        name = ""
        while n:
            n, rem = divmod(n - 1, 26)
            name = chr(65 + rem) + name
        out.append(name)
    return out


def _text(value: str) -> str:
    """Cell text escaped for XML, made legal, and cut to what Excel holds.

    ``_xHHHH_`` is how Excel escapes characters inside strings, so a literal
    one gets its underscore escaped to read back as typed.
    """
    if len(value) <= _FAST_TEXT and "_x" not in value and _NEEDS_WORK.search(value) is None:
        return value
    value = _ILLEGAL.sub("", value)
    if len(value) > _FAST_TEXT:
        units = value.encode("utf-16-le")
        if len(units) > 2 * _MAX_TEXT_UNITS:
            value = units[: 2 * _MAX_TEXT_UNITS].decode("utf-16-le", "ignore")
    if "_x" in value:
        value = _EXCEL_ESCAPE.sub(lambda m: "_x005F" + m.group(0), value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _serial(value: dt.date, date1904: bool) -> float | int | None:
    """Excel's day number for a date, or None when Excel can't show it (before its epoch)."""
    naive = value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value
    day = naive.toordinal()
    if date1904:
        if day < _EPOCH_1904:
            return None
        days = day - _EPOCH_1904
    else:
        plain = naive.date() if isinstance(naive, dt.datetime) else naive
        if plain < _FIRST_1900:
            return None
        # Excel counts a 29 February 1900 that never was (a Lotus 1-2-3 compatibility bug).
        days = day - _EPOCH_1900 - (1 if plain < _LEAP_BUG_END else 0)
    if isinstance(naive, dt.datetime):
        seconds = naive.hour * 3600 + naive.minute * 60 + naive.second + naive.microsecond / 1e6
        return days + seconds / 86400 if seconds else days
    return days


def _number(value: float) -> str | None:
    return repr(value) if math.isfinite(value) else None


def _cell(
    ref: str,
    value: object,
    fmt: str | None,
    bold: bool,
    style: Callable[[str | None, bool], str],
    date1904: bool,
) -> str:
    """The rarer cell kinds, kept out of the hot loop: booleans, dates, Decimals, odd numbers."""
    if isinstance(value, bool):
        return f'<c r="{ref}"{style(fmt, bold)} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        number: str | None
        if isinstance(value, int) and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
            number = str(int(value))
        elif isinstance(value, Decimal) and not value.is_finite():
            number = None
        else:
            try:
                number = _number(float(value))
            except OverflowError:
                number = None
        if number is None:  # Excel has no NaN or infinity; #NUM! is how it shows one
            return f'<c r="{ref}"{style(fmt, bold)} t="e"><v>#NUM!</v></c>'
        return f'<c r="{ref}"{style(fmt, bold)}><v>{number}</v></c>'
    if isinstance(value, dt.date):
        serial = _serial(value, date1904)
        if serial is not None:
            if fmt is None:
                fmt = FMT_DATETIME if isinstance(value, dt.datetime) else FMT_DATE
            number = repr(serial) if isinstance(serial, float) else str(serial)
            return f'<c r="{ref}"{style(fmt, bold)}><v>{number}</v></c>'
        value = value.isoformat()  # before Excel's first day: show it as written
    text = _text(str(value))
    space = ' xml:space="preserve"' if text and (text[0] in _XML_SPACE or text[-1] in _XML_SPACE) else ""
    return f'<c r="{ref}"{style(fmt, bold)} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _sheet_xml(
    grid: Grid,
    styles: _Styles,
    date1904: bool,
    *,
    selected: bool,
    keep: list[tuple[str, str]],
    main_ns: str,
    rel_ns: str,
) -> bytes:
    """One worksheet part: a list of strings, one join, one encode (this is the hot loop)."""
    rows = grid.rows
    width = grid.width
    if len(rows) > _MAX_ROWS or width > _MAX_COLS:
        raise WriteRefused(
            f"tab {grid.title!r} would have {len(rows):,} rows × {width:,} columns, "
            f"more than an Excel sheet holds ({_MAX_ROWS:,} × {_MAX_COLS:,})"
        )
    letters = _letters(width)
    style_attr: dict[tuple[str | None, bool], str] = {}

    def style(fmt: str | None, bold: bool) -> str:
        attr = style_attr.get((fmt, bold))
        if attr is None:
            index = styles.xf(fmt, bold)
            attr = style_attr[(fmt, bold)] = f' s="{index}"' if index else ""
        return attr

    out: list[str] = [""]
    add = out.append
    needs_work = _NEEDS_WORK.search
    fast_text, xml_space, max_int = _FAST_TEXT, _XML_SPACE, _MAX_EXACT_INT
    # Checks tabs repeat rule names, severities and messages: render each distinct text once.
    tails: dict[str, str] = {}
    tail_of = tails.get
    last_row = last_col = 0
    for r, row in enumerate(rows, 1):
        opened = len(out)
        rs = str(r)
        add(f'<row r="{rs}">')
        for ci, cell in enumerate(row):
            value: Any
            if type(cell) is Cell:
                value, fmt, bold = cell.value, cell.fmt, cell.bold
                s = "" if fmt is None and not bold else style(fmt, bold)
            else:
                value, fmt, bold, s = cell, None, False, ""
            kind = type(value)
            if kind is str:
                tail = tail_of(value)
                if tail is None:
                    text = value
                    if len(text) > fast_text or "_x" in text or needs_work(text) is not None:
                        text = _text(text)
                    space = ' xml:space="preserve"' if text and (text[0] in xml_space or text[-1] in xml_space) else ""
                    tail = tails[value] = f' t="inlineStr"><is><t{space}>{text}</t></is></c>'
                add(f'<c r="{letters[ci]}{rs}"{s}{tail}')
            elif kind is int and -max_int <= value <= max_int:
                add(f'<c r="{letters[ci]}{rs}"{s}><v>{value}</v></c>')
            elif kind is float and value - value == 0:
                add(f'<c r="{letters[ci]}{rs}"{s}><v>{value!r}</v></c>')
            elif value is None:
                if not s:
                    continue
                add(f'<c r="{letters[ci]}{rs}"{s}/>')
            else:
                add(_cell(letters[ci] + rs, value, fmt, bold, style, date1904))
            if ci >= last_col:
                last_col = ci + 1
        if len(out) == opened + 1:
            out.pop()
        else:
            add("</row>")
            last_row = r

    tab_selected = ' tabSelected="1"' if selected else ""
    dimension = f"A1:{letters[last_col - 1]}{last_row}" if last_row and (last_row, last_col) != (1, 1) else "A1"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{min(w, 255.0):.6g}" customWidth="1"/>'
        for i, w in enumerate(grid.widths, 1)
        if w and w > 0
    )
    out[0] = (
        f"{_XML_DECLARATION}"
        f'<worksheet xmlns="{main_ns}" xmlns:r="{rel_ns}">'
        f'<dimension ref="{dimension}"/>'
        f'<sheetViews><sheetView{tab_selected} workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"
    )
    add('</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    for order in ("drawing", "legacyDrawing", "legacyDrawingHF"):
        for element, rid in keep:
            if element == order:
                add(f'<{element} r:id="{_esc_attr(rid)}"/>')
    add("</worksheet>")
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Writing the zip package


def _dos_time(moment: float) -> tuple[int, int]:
    t = time.localtime(moment)
    year = max(t.tm_year, 1980)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


class _ZipWriter:
    """Appends members to ``out``: raw copies of source byte ranges, or freshly deflated parts."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pos = 0
        self.clock, self.date = _dos_time(time.time())

    def raw(self, chunk: bytes | memoryview) -> None:
        self.out.write(chunk)
        self.pos += len(chunk)

    def offset_for(self, member: _Member, offset: int) -> bytes:
        """The member's directory record, pointing at its new place."""
        record = bytearray(member.central)
        if member.offset_wide:
            struct.pack_into("<Q", record, member.offset_at, offset)
        else:
            self._fits(offset)
            struct.pack_into("<L", record, member.offset_at, offset)
        return bytes(record)

    def add(self, raw_name: bytes, flags: int, content: bytes) -> bytes:
        """Write one deflated member; return its directory record."""
        self._fits(self.pos)
        level = 6 if len(content) < 1 << 20 else 1
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        data = packer.compress(content) + packer.flush()
        crc = zlib.crc32(content)
        flags &= _FLAG_UTF8
        offset = self.pos
        header = struct.pack(
            "<4s5H3L2H", _LOCAL, 20, flags, 8, self.clock, self.date, crc, len(data), len(content), len(raw_name), 0
        )
        self.raw(header + raw_name)
        self.raw(data)
        return (
            struct.pack(
                "<4s6H3L5H2L",
                _CENTRAL,
                20,
                20,
                flags,
                8,
                self.clock,
                self.date,
                crc,
                len(data),
                len(content),
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw_name
        )

    def finish(self, records: list[bytes], comment: bytes) -> None:
        start = self.pos
        for record in records:
            self.raw(record)
        size = self.pos - start
        count = len(records)
        if count >= _U16 or start >= _U32 or size >= _U32:
            record_at = self.pos
            self.raw(struct.pack("<4sQ2H2L4Q", _EOCD64, 44, 45, 45, 0, 0, count, count, size, start))
            self.raw(struct.pack("<4sLQL", _EOCD64_LOCATOR, 0, record_at, 1))
        short = min(count, _U16)
        end = struct.pack("<4s4H2LH", _EOCD, 0, 0, short, short, min(size, _U32), min(start, _U32), len(comment))
        self.raw(end + comment)

    @staticmethod
    def _fits(offset: int) -> None:
        if offset >= _U32:
            raise WriteRefused("the workbook would grow past 4 GB, more than sheetsync writes")


def _emit(package: _Package, plan: _Plan, out: BinaryIO) -> None:
    """Copy untouched members as raw bytes in their original order; swap in the changed ones."""
    writer = _ZipWriter(out)
    records: dict[int, bytes] = {}
    index = {id(m): i for i, m in enumerate(package.members)}
    with memoryview(package.data) as view:
        run_start = run_end = -1
        run_out = 0

        def flush() -> None:
            nonlocal run_start
            if run_start >= 0:
                writer.raw(view[run_start:run_end])
                run_start = -1

        for member in sorted(package.members, key=lambda m: m.offset):
            key = member.name.lower()
            if key in plan.dropped:
                flush()
            elif key in plan.changed:
                flush()
                records[index[id(member)]] = writer.add(member.raw_name, member.flags, plan.changed[key])
            else:
                if run_start < 0:
                    run_start, run_out = member.offset, writer.pos
                records[index[id(member)]] = writer.offset_for(member, run_out + member.offset - run_start)
                run_end = member.end
        flush()
    ordered = [records[i] for i in sorted(records)]
    for name, content in plan.added:
        raw_name = name.encode("utf-8")
        ordered.append(writer.add(raw_name, 0 if raw_name.isascii() else _FLAG_UTF8, content))
    writer.finish(ordered, package.comment)


def _commit(path: Path, st: os.stat_result, build: Callable[[BinaryIO], None]) -> None:
    """Write beside the original, then rename over it: a crash leaves the old or the new file, never half.

    Temporary files that killed runs left in the folder are swept first (see :mod:`.tempfiles`).
    """
    real = Path(os.path.realpath(path))
    folder = real.parent
    sweep_dead_temp_files(folder)
    tmp: Path | None = None
    try:
        fd, tmp = temp_file(folder)
        with os.fdopen(fd, "wb") as f:
            build(f)
            f.flush()
            os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
            with contextlib.suppress(OSError):  # only root or the owner may; the mode bits matter most
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fsync(f.fileno())
        _refuse_if_open(path)
        now = os.stat(real)
        if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) != (
            st.st_ino,
            st.st_dev,
            st.st_size,
            st.st_mtime_ns,
        ):
            raise WriteRefused(f"{path} changed while sheetsync was writing it — nothing was written; run again")
        os.replace(tmp, real)
        tmp = None
    except OSError as exc:
        raise WriteRefused(
            f"could not write {path}: {exc.strerror or exc} — the workbook is unchanged; "
            "check that its folder is writable and the disk has space"
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems can't sync a directory; the rename itself is already atomic
    finally:
        os.close(dir_fd)
