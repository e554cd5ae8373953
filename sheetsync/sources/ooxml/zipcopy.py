"""The zip container: members found through the central directory, untouched ones copied as raw bytes.

Copying a member's stored bytes (local header, data, descriptor) instead of
decompressing and recompressing it is what keeps every part sheetsync has no
reason to change byte-identical, and it is fast.  Works on bytes in memory.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from ...errors import SourceError, WriteRefused
from .xmltext import XmlText

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_FLAG_UTF8 = 0x800


@dataclass(slots=True)
class Member:
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


class Package:
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
        self.by_key: dict[str, Member] = {}
        for member in self.members:
            key = member.name.lower()
            if key in self.by_key:
                raise SourceError(f"{label} is damaged: the part {member.name} appears twice")
            self.by_key[key] = member

    def _damaged(self, what: str) -> SourceError:
        return SourceError(f"{self.label} is damaged or not an Excel workbook ({what})")

    def _directory(self) -> tuple[list[Member], int, bytes]:
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
        members: list[Member] = []
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
                Member(name, raw_name, flags, method, crc, csize, usize, offset + shift, central, offset_at, wide)
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

    def find(self, part: str) -> Member | None:
        """OPC part names are case-insensitive (Excel writes ``xl/SharedStrings.xml`` at times)."""
        return self.by_key.get(part.lower())

    def read(self, member: Member) -> bytes:
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

    def read_text(self, part: str) -> XmlText | None:
        member = self.find(part)
        return None if member is None else XmlText.decode(self.read(member), self.label, member.name)


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

    def offset_for(self, member: Member, offset: int) -> bytes:
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


def emit(
    package: Package, out: BinaryIO, changed: dict[str, bytes], dropped: set[str], added: list[tuple[str, bytes]]
) -> None:
    """Copy untouched members as raw bytes in their original order; swap in the ``changed`` ones, leave out
    the ``dropped`` ones (both keyed by lower-cased name), append the ``added`` (name, content) parts."""
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
            if key in dropped:
                flush()
            elif key in changed:
                flush()
                records[index[id(member)]] = writer.add(member.raw_name, member.flags, changed[key])
            else:
                if run_start < 0:
                    run_start, run_out = member.offset, writer.pos
                records[index[id(member)]] = writer.offset_for(member, run_out + member.offset - run_start)
                run_end = member.end
        flush()
    ordered = [records[i] for i in sorted(records)]
    for name, content in added:
        raw_name = name.encode("utf-8")
        ordered.append(writer.add(raw_name, 0 if raw_name.isascii() else _FLAG_UTF8, content))
    writer.finish(ordered, package.comment)
