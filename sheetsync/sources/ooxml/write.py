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

from ...errors import ConfigError, SourceError, WriteRefused
from ...fsutil import sweep_temp_files, temp_file
from ...grid import Grid
from ...model.values import tab_name_problem
from ..fingerprint import Fingerprint, changed_while_read, fingerprint, fingerprint_of, read_whole
from .charts import DRAWING_RELATIONSHIP, drawing_parts, is_sheetsync_drawing
from .opc import STYLES_CT, WORKSHEET_CT, override, relationship, rels_part
from .sheet import absolute_ref, sheet_xml
from .sheetrels import SheetRels, owned_parts
from .styles import Styles
from .workbook import (
    MACRO_SHEET_TYPES,
    Sheet,
    app_titles,
    calc_chain_sheets,
    drawing_refs,
    filter_names,
    find_sheet,
    full_calc_on_load,
    read_workbook,
    refuse_locked_structure,
    signature_warnings,
)
from .xmltext import XmlText, attrs, close_tag, elements, esc_attr, root, splice, tag
from .zipcopy import Member, Package, emit

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


def _check_titles(grids: Sequence[Grid]) -> None:
    """The config checked the tab names when it was read; a grid from elsewhere gets the same check.

    Its layout too: a merge or filter outside the grid would make a sheet Excel repairs.
    """
    seen: dict[str, str] = {}
    for grid in grids:
        grid.check_layout()
        title = grid.title
        problem = tab_name_problem(title)
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
        planner = _Planner(package, grids)
        for grid in grids:
            match = find_sheet(planner.book.sheets, grid.title)
            if match is None:
                planner.add_sheet(grid)
            else:
                planner.replace_sheet(grid, match)
        planner.name_filters()
        planner.recalculate_on_open()
        planner.write_styles()
        planner.drop_stale_calc_chain()
        return planner.finish()
    except (ValueError, KeyError) as exc:
        raise SourceError(
            f"{package.label} is damaged or not an Excel workbook (can't make sense of its "
            f"{exc.args[0] if exc.args else 'structure'})"
        ) from exc


class _Planner:
    """The edits one write makes, gathered step by step, each step a method; :meth:`finish` applies them.

    The workbook part, its relationships and the content types are edited as
    text (edits are ``(start, end, text)`` spans, ``-1`` for "before the closing
    tag"); sheet and styles parts are generated whole.
    """

    def __init__(self, package: Package, grids: Sequence[Grid]) -> None:
        self.package = package
        self.label = label = package.label
        self.book = book = read_workbook(package)
        new = [g.title for g in grids if find_sheet(book.sheets, g.title) is None]
        refuse_locked_structure(book.xml.text, book.prefix, label, new)
        ct_member = package.find("[Content_Types].xml")
        if ct_member is None:
            raise SourceError(f"{label} is damaged (content types missing)")
        self.ct_member = ct_member
        self.ct = XmlText.decode(package.read(ct_member), label, ct_member.name)
        self.ct_prefix, _ = root(self.ct.text, "Types")
        self.overrides = list(elements(self.ct.text, self.ct_prefix + "Override"))

        wb_text, p = book.xml.text, book.prefix
        pr = tag(p + "workbookPr").search(wb_text)
        self.date1904 = pr is not None and attrs(pr.group(1)).get("date1904", "0").lower() in ("1", "true")
        view = tag(p + "workbookView").search(wb_text)
        self.active_tab = int(attrs(view.group(1)).get("activeTab", "0")) if view else 0

        self.rels_by_id = {r.id: r for r in book.rel_list}
        self.used_ids = {el.attrs.get("Id", "") for el in elements(book.rels.text, book.rel_prefix + "Relationship")}
        self.taken = set(package.by_key) | {o.attrs.get("PartName", "").lstrip("/").lower() for o in self.overrides}
        self.wb_dir = posixpath.dirname(book.part)
        self.next_sheet_id = max((s.sheet_id for s in book.sheets), default=0) + 1

        styles_rel = next((r for r in book.rel_list if r.type.endswith("/styles")), None)
        self.styles_member = package.find(styles_rel.part) if styles_rel else None
        if styles_rel is not None and self.styles_member is None:
            raise SourceError(f"{label} is damaged: its styles part {styles_rel.part} is missing")
        self.styles_xml = self._text(self.styles_member) if self.styles_member else None
        self.styles = Styles(self.styles_xml.text if self.styles_xml else None, book.main_ns)

        self.plan = _Plan({}, set(), [], signature_warnings(package, book))
        self.wb_edits: list[tuple[int, int, str]] = []
        self.rels_edits: list[tuple[int, int, str]] = []
        self.ct_edits: list[tuple[int, int, str]] = []
        self.new_titles: list[str] = []
        self.replaced_ids: set[int] = set()
        self.filters: list[tuple[int, str]] = []  # (sheet index, range) of each autofilter

    def _text(self, member: Member) -> XmlText:
        return XmlText.decode(self.package.read(member), self.label, member.name)

    def _sheet_xml(self, grid: Grid, *, selected: bool, keep: list[tuple[str, str]]) -> bytes:
        book = self.book
        return sheet_xml(
            grid, self.styles, self.date1904, selected=selected, keep=keep, main_ns=book.main_ns, rel_ns=book.rel_ns
        )

    def fresh_rid(self) -> str:
        n = len(self.used_ids) + 1
        for i in range(1, n + 1):
            if f"rId{i}" not in self.used_ids:
                self.used_ids.add(f"rId{i}")
                return f"rId{i}"
        raise AssertionError("unreachable")  # pragma: no cover — n+1 candidates for n ids

    def fresh_part(self, folder: str, stem: str, first: str | None = None) -> str:
        """A part name nothing uses: no member, no Override, and no relationships part left behind.

        A leftover ``_rels/sheetN.xml.rels`` (its sheet deleted by a careless
        tool) would otherwise be read as the new part's relationships.
        """
        candidates = itertools.chain(
            [first] if first else [],
            (posixpath.join(self.wb_dir, folder, f"{stem}{i}.xml") for i in itertools.count(1)),
        )
        for name in candidates:
            if name.lower() not in self.taken and rels_part(name).lower() not in self.taken:
                self.taken.add(name.lower())
                return name
        raise AssertionError("unreachable")  # pragma: no cover — the candidates never run out

    def _add_part(self, part: str, xml: bytes, rel_type: str, content_type: str) -> str:
        """A new part, its relationship from the workbook and its content type; returns the relationship id."""
        rid = self.fresh_rid()
        self.plan.added.append((part, xml))
        target = posixpath.relpath(part, self.wb_dir or ".")
        self.rels_edits.append(
            (-1, -1, relationship(self.book.rel_prefix, rid, f"{self.book.rel_ns}/{rel_type}", target))
        )
        self.ct_edits.append((-1, -1, override(self.ct_prefix, part, content_type)))
        return rid

    def replace_sheet(self, grid: Grid, match: Sheet) -> None:
        """The tab exists: its worksheet part is regenerated in place (same name, position, id and part)."""
        rel = self.rels_by_id.get(match.rid)
        if rel is None:
            raise SourceError(f"{self.label} is damaged: tab {match.name!r} has no part")
        if not rel.type.endswith("/worksheet"):
            raise WriteRefused(
                f"tab {match.name!r} in {self.label} is not a worksheet (a chart or macro sheet) — "
                f"sheetsync won't replace it; rename it or choose another name in [tabs]"
            )
        member = self.package.find(rel.part)
        if member is None:
            raise SourceError(f"{self.label} is damaged: the part {rel.part} of tab {match.name!r} is missing")
        keep = self.drawings(grid, member.name, drawing_refs(self._text(member).text))
        self.note_filter(grid, match.index)
        xml = self._sheet_xml(grid, selected=match.index == self.active_tab, keep=keep)
        self.plan.changed[member.name.lower()] = xml
        self.replaced_ids.add(match.sheet_id)

    def add_sheet(self, grid: Grid) -> None:
        """A new tab after the last one, so sheet-scoped defined names keep pointing where they did."""
        book = self.book
        part = self.fresh_part("worksheets", "sheet")
        keep = self.drawings(grid, part, [])
        self.note_filter(grid, len(book.sheets) + len(self.new_titles))
        rid = self._add_part(part, self._sheet_xml(grid, selected=False, keep=keep), "worksheet", WORKSHEET_CT)
        id_attr = f'{book.r_prefix}:id="{rid}"' if book.r_prefix else f'r:id="{rid}" xmlns:r="{book.rel_ns}"'
        element = f'<{book.prefix}sheet name="{esc_attr(grid.title)}" sheetId="{self.next_sheet_id}" {id_attr}/>'
        self.wb_edits.append((book.sheets_close, book.sheets_close, element))
        self.next_sheet_id += 1
        self.new_titles.append(grid.title)

    def drawings(self, grid: Grid, sheet_part: str, refs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The sheet's drawing: the previous run's charts dropped, this run's added; the elements to keep or add.

        ``refs`` are the drawing and comment elements of the sheet as it was.
        A drawing holding anything of a user's is theirs: it stays, and the
        charts are left out with a warning (a sheet holds one drawing).
        """
        rels = SheetRels.of(self.package, sheet_part)
        keep = list(refs)
        theirs = False
        for element, rid in refs:
            if element != "drawing":
                continue
            rel = rels.find(rid)
            member = None if rel is None else self.package.find(rel.part)
            if rel is not None and member is not None and not is_sheetsync_drawing(self.package.read(member)):
                theirs = True
                continue
            keep.remove((element, rid))
            if rel is not None:
                rels.remove(rel)
                if member is not None:
                    self.drop(owned_parts(self.package, member.name, besides={rels.name.lower()}))
        if grid.charts and theirs:
            self.plan.warnings.append(
                f"tab {grid.title!r} in {self.label} holds a drawing of your own (a picture or chart), so sheetsync "
                "drew its charts nowhere — move your drawing to another tab to see them"
            )
        elif grid.charts:
            drawing = self.fresh_part("drawings", "drawing")
            charts = [self.fresh_part("charts", "chart") for _ in grid.charts]
            made = drawing_parts(
                grid, sheet_part=sheet_part, drawing_part=drawing, chart_names=charts, date1904=self.date1904
            )
            self.plan.added.extend(made.parts)
            self.ct_edits.extend((-1, -1, override(self.ct_prefix, name, kind)) for name, kind in made.content_types)
            keep.append(("drawing", rels.add(DRAWING_RELATIONSHIP, made.target)))
        if rels.changed:
            if rels.exists:
                self.plan.changed[rels.name.lower()] = rels.render()
            else:
                self.plan.added.append((rels.name, rels.render()))
        return keep

    def drop(self, names: list[str]) -> None:
        """Parts left out of the new package, with their content types; their names may be used again."""
        lower = {name.lower() for name in names}
        self.plan.dropped |= lower
        self.taken -= lower
        for o in self.overrides:
            if o.attrs.get("PartName", "").lstrip("/").lower() in lower:
                self.ct_edits.append((o.start, o.end, ""))

    def note_filter(self, grid: Grid, index: int) -> None:
        if grid.autofilter is not None:
            quoted = "'" + grid.title.replace("'", "''") + "'"
            self.filters.append((index, f"{quoted}!{absolute_ref(grid.autofilter)}"))

    def name_filters(self) -> None:
        """Before ``calcPr`` goes in: a new ``definedNames`` and ``calcPr`` land at the same place, in that order."""
        self.wb_edits.extend(filter_names(self.book.xml.text, self.book.prefix, self.book.sheets_close, self.filters))

    def recalculate_on_open(self) -> None:
        self.wb_edits.append(full_calc_on_load(self.book.xml.text, self.book.prefix, self.book.sheets_close))

    def write_styles(self) -> None:
        """A workbook without a styles part gets one only when the grids need it."""
        styles_text = self.styles.render()
        if styles_text is None:
            return
        if self.styles_member is not None and self.styles_xml is not None:
            self.styles_xml.text = styles_text
            self.plan.changed[self.styles_member.name.lower()] = self.styles_xml.encode()
            return
        part = self.fresh_part("", "styles", first=posixpath.join(self.wb_dir, "styles.xml"))
        self._add_part(part, styles_text.encode("utf-8"), "styles", STYLES_CT)

    def drop_stale_calc_chain(self) -> None:
        """The calculation chain lists formula cells by sheetId; Excel rebuilds it when absent."""
        if not self.replaced_ids:
            return
        for rel in self.book.rel_list:
            if not rel.type.endswith("/calcChain"):
                continue
            member = self.package.find(rel.part)
            chain = None if member is None else self._text(member)
            ids = None if chain is None else calc_chain_sheets(chain.text)
            if ids is not None and not ids & self.replaced_ids:
                continue
            if member is not None:
                self.plan.dropped.add(member.name.lower())
            self.rels_edits.append((rel.start, rel.end, ""))
            for o in self.overrides:
                if o.attrs.get("PartName", "").lstrip("/").lower() == rel.part.lower():
                    self.ct_edits.append((o.start, o.end, ""))

    def list_new_titles(self) -> None:
        """docProps/app.xml lists the worksheet titles: new tabs join the list."""
        app_rel = next((r for r in self.book.package_rels if r.type.endswith("/extended-properties")), None)
        if not self.new_titles or app_rel is None:
            return
        app_member = self.package.find(app_rel.part)
        if app_member is None:
            return
        app = self._text(app_member)
        worksheets = [s.name for s in self.book.sheets if s.kind.endswith("/worksheet")]
        updated = app_titles(app.text, worksheets, self.new_titles)
        if updated is not None:
            app.text = updated
            self.plan.changed[app_member.name.lower()] = app.encode()

    def finish(self) -> _Plan:
        """Splice the gathered edits into the workbook part, its relationships and the content types; list new tabs."""
        book, plan = self.book, self.plan
        book.xml.text = splice(book.xml.text, self.wb_edits)
        plan.changed[book.part.lower()] = book.xml.encode()
        if self.rels_edits:
            book.rels.text = _splice_before_close(book.rels.text, book.rel_prefix + "Relationships", self.rels_edits)
            plan.changed[book.rels_member.name.lower()] = book.rels.encode()
        if self.ct_edits:
            self.ct.text = _splice_before_close(self.ct.text, self.ct_prefix + "Types", self.ct_edits)
            plan.changed[self.ct_member.name.lower()] = self.ct.encode()
        self.list_new_titles()
        return plan


def _splice_before_close(text: str, qname: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply edits, those at ``-1`` going just before the closing tag of ``qname``."""
    close = close_tag(text, qname)
    return splice(text, [(close, close, t) if s < 0 else (s, e, t) for s, e, t in edits])


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
