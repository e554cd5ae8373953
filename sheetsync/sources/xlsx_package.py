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

The parts themselves are handled in :mod:`.ooxml` (the zip container, XML as
text, relationships, the workbook, styles and sheet parts); this module
decides what changes, and commits it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import posixpath
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import ConfigError, SourceError, WriteRefused
from ..fsutil import sweep_temp_files, temp_file
from ..grid import Grid
from .fingerprint import Fingerprint, changed_while_read, fingerprint, fingerprint_of, read_whole
from .ooxml.opc import STYLES_CT, WORKSHEET_CT, override, relationship, rels_part
from .ooxml.sheet import ILLEGAL, sheet_xml
from .ooxml.styles import Styles
from .ooxml.workbook import (
    MACRO_SHEET_TYPES,
    app_titles,
    calc_chain_sheets,
    drawing_refs,
    find_sheet,
    full_calc_on_load,
    read_workbook,
    refuse_locked_structure,
    signature_warnings,
)
from .ooxml.xmltext import XmlText, attrs, close_tag, elements, esc_attr, root, splice, tag
from .ooxml.zipcopy import Package, emit

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
    package = Package(data, str(path))
    plan = _plan(package, grids)
    _commit(path, st, lambda out: emit(package, out, plan.changed, plan.dropped, plan.added))
    return plan.warnings


def without_macro_sheets(data: bytes, label: str) -> bytes:
    """A copy of the package whose workbook part no longer lists its Excel 4.0 macro sheets.

    For python-calamine, which refuses a workbook that lists one; the copy
    is made in memory (raw member copies, one edited part) and never written.
    """
    package = Package(data, label)
    try:
        book = read_workbook(package)
    except (ValueError, KeyError) as exc:
        raise SourceError(
            f"{label} has Excel 4.0 macro sheets, which sheetsync can't read, and its workbook part can't be "
            "made sense of without them — save a copy without the macro sheets and point sheetsync at it"
        ) from exc
    edits = [(s.start, s.end, "") for s in book.sheets if s.kind.endswith(MACRO_SHEET_TYPES)]
    book.xml.text = splice(book.xml.text, edits)
    out = io.BytesIO()
    emit(package, out, {book.part.lower(): book.xml.encode()}, set(), [])
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
        elif ILLEGAL.search(title):
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
# The plan: what to replace, drop and add


@dataclass(slots=True)
class _Plan:
    changed: dict[str, bytes]
    dropped: set[str]
    added: list[tuple[str, bytes]]
    warnings: list[str]


def _plan(package: Package, grids: Sequence[Grid]) -> _Plan:
    try:
        return _make_plan(package, grids)
    except (ValueError, KeyError) as exc:
        raise SourceError(
            f"{package.label} is damaged or not an Excel workbook (can't make sense of its "
            f"{exc.args[0] if exc.args else 'structure'})"
        ) from exc


def _make_plan(package: Package, grids: Sequence[Grid]) -> _Plan:
    label = package.label
    book = read_workbook(package)
    wb, p, sheets = book.xml, book.prefix, book.sheets
    wb_part, wb_rels, rel_prefix = book.part, book.rels, book.rel_prefix
    main_ns, rel_ns = book.main_ns, book.rel_ns
    refuse_locked_structure(wb.text, p, label, [g.title for g in grids if find_sheet(sheets, g.title) is None])
    ct_member = package.find("[Content_Types].xml")
    if ct_member is None:
        raise SourceError(f"{label} is damaged (content types missing)")
    ct = XmlText.decode(package.read(ct_member), label, ct_member.name)

    pr = tag(p + "workbookPr").search(wb.text)
    date1904 = pr is not None and attrs(pr.group(1)).get("date1904", "0").lower() in ("1", "true")
    view = tag(p + "workbookView").search(wb.text)
    active_tab = int(attrs(view.group(1)).get("activeTab", "0")) if view else 0

    by_id = {r.id: r for r in book.rel_list}
    used_ids = {el.attrs.get("Id", "") for el in elements(wb_rels.text, rel_prefix + "Relationship")}
    ct_prefix, _ = root(ct.text, "Types")
    overrides = list(elements(ct.text, ct_prefix + "Override"))
    taken = set(package.by_key) | {o.attrs.get("PartName", "").lstrip("/").lower() for o in overrides}

    styles_rel = next((r for r in book.rel_list if r.type.endswith("/styles")), None)
    styles_member = package.find(styles_rel.part) if styles_rel else None
    if styles_rel is not None and styles_member is None:
        raise SourceError(f"{label} is damaged: its styles part {styles_rel.part} is missing")
    styles_xml = XmlText.decode(package.read(styles_member), label, styles_member.name) if styles_member else None
    styles = Styles(styles_xml.text if styles_xml else None, main_ns)

    plan = _Plan({}, set(), [], signature_warnings(package, book))
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
            if name.lower() not in taken and rels_part(name).lower() not in taken:
                taken.add(name.lower())
                return name
        raise AssertionError("unreachable")  # pragma: no cover — the candidates never run out

    for grid in grids:
        match = find_sheet(sheets, grid.title)
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
            old = XmlText.decode(package.read(member), label, member.name).text
            xml = sheet_xml(
                grid,
                styles,
                date1904,
                selected=match.index == active_tab,
                keep=drawing_refs(old),
                main_ns=main_ns,
                rel_ns=rel_ns,
            )
            plan.changed[member.name.lower()] = xml
            replaced_ids.add(match.sheet_id)
            continue
        part = fresh_part("worksheets", "sheet")
        rid = fresh_rid()
        xml = sheet_xml(grid, styles, date1904, selected=False, keep=[], main_ns=main_ns, rel_ns=rel_ns)
        plan.added.append((part, xml))
        id_attr = f'{book.r_prefix}:id="{rid}"' if book.r_prefix else f'r:id="{rid}" xmlns:r="{rel_ns}"'
        wb_edits.append(
            (
                book.sheets_close,
                book.sheets_close,
                f'<{p}sheet name="{esc_attr(grid.title)}" sheetId="{next_sheet_id}" {id_attr}/>',
            )
        )
        next_sheet_id += 1
        target = posixpath.relpath(part, wb_dir or ".")
        rels_edits.append((-1, -1, relationship(rel_prefix, rid, f"{rel_ns}/worksheet", target)))
        ct_edits.append((-1, -1, override(ct_prefix, part, WORKSHEET_CT)))
        new_titles.append(grid.title)
    wb_edits.append(full_calc_on_load(wb.text, p, book.sheets_close))

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
            rels_edits.append((-1, -1, relationship(rel_prefix, fresh_rid(), f"{rel_ns}/styles", target)))
            ct_edits.append((-1, -1, override(ct_prefix, part, STYLES_CT)))

    # The calculation chain lists formula cells by sheetId; Excel rebuilds it when absent.
    if replaced_ids:
        for rel in book.rel_list:
            if not rel.type.endswith("/calcChain"):
                continue
            member = package.find(rel.part)
            chain = None if member is None else XmlText.decode(package.read(member), label, member.name)
            ids = None if chain is None else calc_chain_sheets(chain.text)
            if ids is not None and not ids & replaced_ids:
                continue
            if member is not None:
                plan.dropped.add(member.name.lower())
            rels_edits.append((rel.start, rel.end, ""))
            for o in overrides:
                if o.attrs.get("PartName", "").lstrip("/").lower() == rel.part.lower():
                    ct_edits.append((o.start, o.end, ""))

    wb.text = splice(wb.text, wb_edits)
    plan.changed[wb_part.lower()] = wb.encode()
    if rels_edits:
        close = close_tag(wb_rels.text, rel_prefix + "Relationships")
        wb_rels.text = splice(wb_rels.text, [(close, close, t) if s < 0 else (s, e, t) for s, e, t in rels_edits])
        plan.changed[book.rels_member.name.lower()] = wb_rels.encode()
    if ct_edits:
        close = close_tag(ct.text, ct_prefix + "Types")
        ct.text = splice(ct.text, [(close, close, t) if s < 0 else (s, e, t) for s, e, t in ct_edits])
        plan.changed[ct_member.name.lower()] = ct.encode()

    app_rel = next((r for r in book.package_rels if r.type.endswith("/extended-properties")), None)
    if new_titles and app_rel is not None:
        app_member = package.find(app_rel.part)
        if app_member is not None:
            app = XmlText.decode(package.read(app_member), label, app_member.name)
            worksheets = [s.name for s in sheets if s.kind.endswith("/worksheet")]
            updated = app_titles(app.text, worksheets, new_titles)
            if updated is not None:
                app.text = updated
                plan.changed[app_member.name.lower()] = app.encode()
    return plan


# --------------------------------------------------------------------------------------------------
# The new file beside the old one


def _commit(path: Path, st: os.stat_result, build: Callable[[BinaryIO], None]) -> None:
    """Write beside the original, then rename over it: a crash leaves the old or the new file, never half.

    Temporary files that killed runs left in the folder are swept first (see :mod:`sheetsync.fsutil`).
    """
    real = Path(os.path.realpath(path))
    folder = real.parent
    sweep_temp_files(folder)
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
