"""The workbook part and what hangs off it: the sheet list, calcPr, protection, signatures, calc chain, app titles.

Read as text (see :mod:`.xmltext`); every function here returns edits or
facts, and :mod:`.write` applies them; the reader finds a sheet's part here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import SourceError, WriteRefused
from .opc import MAIN_NS, REL_NS, STRICT_MAIN_NS, STRICT_REL_NS, Rel, relationships, rels_part
from .xmltext import ATTRS, XmlText, attrs, bodies, close_tag, elements, esc_text, root, splice, tag, unescape
from .zipcopy import Member, Package


@dataclass(frozen=True, slots=True)
class Sheet:
    """A ``<sheet>`` of the workbook part: where it sits in the text and the kind of part it names."""

    name: str
    sheet_id: int
    rid: str
    index: int
    start: int
    end: int
    kind: str  # its relationship's type ("" when the relationship is missing)


@dataclass(slots=True)
class Workbook:
    """The workbook part and its relationships, as text to edit in place."""

    part: str
    xml: XmlText
    prefix: str
    main_ns: str
    rel_ns: str
    r_prefix: str | None
    sheets: list[Sheet]
    sheets_close: int
    rels_member: Member
    rels: XmlText
    rel_prefix: str
    rel_list: list[Rel]
    package_rels: list[Rel]


MACRO_SHEET_TYPES = ("/xlMacrosheet", "/xlIntlMacrosheet")
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


def read_workbook(package: Package) -> Workbook:
    """Find and read the workbook part, its sheet list and its relationships (``ValueError`` when they don't parse)."""
    label = package.label
    root_rels = package.read_text("_rels/.rels")
    if root_rels is None:
        raise SourceError(f"{label} is not an Excel workbook (no _rels/.rels part)")
    _, package_rels = relationships(root_rels, "")
    wb_rel = next((r for r in package_rels if r.type.endswith("/officeDocument")), None)
    wb_member = package.find(wb_rel.part) if wb_rel is not None else None
    if wb_member is None:
        raise SourceError(f"{label} is not an Excel workbook (no workbook part)")
    wb_part = wb_member.name
    if not wb_part.lower().endswith(".xml"):
        raise SourceError(f"{label} is a binary workbook (.xlsb); sheetsync can only write .xlsx/.xlsm")
    wb = XmlText.decode(package.read(wb_member), label, wb_part)
    rels_member = package.find(rels_part(wb_part))
    if rels_member is None:
        raise SourceError(f"{label} is damaged (workbook relationships missing)")
    rels = XmlText.decode(package.read(rels_member), label, rels_member.name)
    rel_prefix, rel_list = relationships(rels, wb_part)
    kinds = {r.id: r.type for r in rel_list}

    p, root_attrs = root(wb.text, "workbook")
    main_ns = root_attrs.get("xmlns:" + p[:-1] if p else "xmlns", MAIN_NS)
    rel_ns = STRICT_REL_NS if main_ns == STRICT_MAIN_NS else REL_NS
    r_prefix = next((k[6:] for k, v in root_attrs.items() if k.startswith("xmlns:") and v == rel_ns), None)
    sheets_close = close_tag(wb.text, p + "sheets")
    sheets_open = tag(p + "sheets").search(wb.text)
    if sheets_open is None:
        raise ValueError("sheet list")
    sheets = []
    for i, el in enumerate(elements(wb.text, p + "sheet", sheets_open.end(), sheets_close)):
        rid = next((v for k, v in el.attrs.items() if k.endswith(":id")), None)
        if rid is None:
            raise ValueError("sheet list")
        sheets.append(Sheet(el.attrs["name"], int(el.attrs["sheetId"]), rid, i, el.start, el.end, kinds.get(rid, "")))
    return Workbook(
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


def sheet_member(package: Package, book: Workbook, title: str) -> Member | None:
    """The part of the worksheet titled exactly ``title`` (as python-calamine lists it), through the relationships."""
    sheet = next((s for s in book.sheets if s.name == title), None)
    rel = None if sheet is None else next((r for r in book.rel_list if r.id == sheet.rid), None)
    return None if rel is None else package.find(rel.part)


def find_sheet(sheets: list[Sheet], title: str) -> Sheet | None:
    """The sheet a grid replaces: the same name, case-insensitively (as Excel compares tab names)."""
    key = title.casefold()
    return next((s for s in sheets if s.name.casefold() == key), None)


def refuse_locked_structure(text: str, p: str, label: str, new_titles: list[str]) -> None:
    """Adding a tab to a workbook whose structure is protected is what the protection forbids.

    Replacing the cells of tabs that already exist changes no structure, so a
    workbook protected after its first sync keeps being written.
    """
    if not new_titles:
        return
    protection = tag(p + "workbookProtection").search(text)
    if protection is None or attrs(protection.group(1)).get("lockStructure", "0").lower() not in ("1", "true"):
        return
    tabs = ", ".join(new_titles)
    raise WriteRefused(
        f"{label} has a protected structure, so sheetsync can't add its {tabs} tab"
        f"{'s' if len(new_titles) > 1 else ''} — nothing was written. Unprotect it in Excel "
        "(Review → Protect Workbook; it asks for the password if one was set) and run again, "
        "or use --dry-run to see the results without writing"
    )


def signature_warnings(package: Package, book: Workbook) -> list[str]:
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


def full_calc_on_load(text: str, p: str, after: int) -> tuple[int, int, str]:
    """The workbook edit that makes Excel recalculate every formula on open (``calcPr fullCalcOnLoad``).

    Formulas elsewhere in the workbook that read our tabs would otherwise
    show the values cached before this write.  ``calcPr`` follows the sheet
    list (and ``definedNames``) in the schema; a new one goes before the
    first element that must follow it.
    """
    calc = tag(p + "calcPr").search(text, after)
    if calc is None:
        followers = [m.start() for m in (tag(p + name).search(text, after) for name in _AFTER_CALC_PR) if m]
        at = min(followers) if followers else close_tag(text, p + "workbook")
        return at, at, f'<{p}calcPr fullCalcOnLoad="1"/>'
    head = calc.group(0)
    flag = _FULL_CALC.search(head)
    if flag is not None:
        start, end = calc.start() + flag.start(2), calc.start() + flag.end(2)
        return start, end, '"1"'
    at = calc.start() + 1 + len(p) + len("calcPr")
    return at, at, ' fullCalcOnLoad="1"'


FILTER_NAME = "_xlnm._FilterDatabase"


def filter_names(text: str, p: str, after: int, filters: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """Workbook edits naming each sheet's autofilter range as Excel does (``_xlnm._FilterDatabase``).

    ``filters`` are (sheet index, range such as ``'Checks'!$A$2:$G$9``).
    LibreOffice shows an autofilter only when the workbook names its range;
    an existing name for the same sheet is replaced, never doubled.
    ``definedNames`` follows the sheet list in the schema, before ``calcPr``.
    """
    if not filters:
        return []

    def element(index: int, ref: str) -> str:
        return (
            f'<{p}definedName name="{FILTER_NAME}" localSheetId="{index}" hidden="1">{esc_text(ref)}</{p}definedName>'
        )

    names = tag(p + "definedNames").search(text, after)
    if names is None:
        found = (tag(p + name).search(text, after) for name in ("calcPr", *_AFTER_CALC_PR))
        followers = [m.start() for m in found if m]
        at = min(followers) if followers else close_tag(text, p + "workbook")
        body = "".join(element(index, ref) for index, ref in filters)
        return [(at, at, f"<{p}definedNames>{body}</{p}definedNames>")]
    if names.group(2):  # <definedNames/>
        body = "".join(element(index, ref) for index, ref in filters)
        return [(names.start(), names.end(), f"<{p}definedNames{names.group(1)}>{body}</{p}definedNames>")]
    close = close_tag(text, p + "definedNames")
    existing = {
        el.attrs.get("localSheetId"): el
        for el in elements(text, p + "definedName", names.end(), close)
        if el.attrs.get("name") == FILTER_NAME
    }
    edits = []
    for index, ref in filters:
        old = existing.get(str(index))
        edits.append((old.start, old.end, element(index, ref)) if old else (close, close, element(index, ref)))
    return edits


_CHAIN_CELL = re.compile(r"<(?:[\w.-]++:)?c(?=[\s/>])" + ATTRS)


def calc_chain_sheets(text: str) -> set[int] | None:
    """The sheetIds a calcChain names; None when it can't be told (a leading cell without ``i``)."""
    ids: set[int] = set()
    current: int | None = None
    for m in _CHAIN_CELL.finditer(text):
        value = attrs(m.group(1)).get("i")
        if value is not None:
            current = int(value)
        elif current is None:
            return None
        ids.add(current)
    return ids


_DRAWING_REF = re.compile(r"<(?:[\w.-]++:)?(drawing|legacyDrawing|legacyDrawingHF)(?=[\s/>])" + ATTRS)


def drawing_refs(old_sheet: str) -> list[tuple[str, str]]:
    """Charts, pictures and comment boxes a user anchored on one of our tabs.

    They live in parts of their own, reached through the sheet's (kept)
    relationships, and don't depend on cell contents, so re-linking them lets a
    user's own chart of the Summary figures survive each run.
    """
    refs = []
    tail = max(old_sheet.rfind("sheetData>"), 0)  # they all come after the cells
    for m in _DRAWING_REF.finditer(old_sheet, tail):
        rid = next((v for k, v in attrs(m.group(2)).items() if k.endswith(":id")), None)
        if rid:
            refs.append((m.group(1), rid))
    return refs


_NUMBER = re.compile(r"<((?:[\w.-]++:)?)(i4|i2|i1|int|ui4|ui2|ui1|uint)\s*+>\s*+(\d++)\s*+</\1\2\s*+>")
_VECTOR = re.compile(r"<(?:[\w.-]++:)?vector(?=[\s/>])" + ATTRS)
_SIZE = re.compile(r"\ssize\s*+=\s*+[\"'](\d++)[\"']")


def app_titles(text: str, worksheets: list[str], added: list[str]) -> str | None:
    """Keep docProps/app.xml's list of worksheet titles true after adding sheets.

    The heading naming the worksheet group is localised ("Arbeitsblätter"), so
    the group is found by its titles matching the workbook's worksheets.
    Returns None when the properties don't list them as expected (Excel
    rewrites this part on its next save anyway).
    """
    heads = next(bodies(text, "HeadingPairs"), None)
    parts = next(bodies(text, "TitlesOfParts"), None)
    if heads is None or parts is None:
        return None
    counts: list[tuple[int, int, int]] = []
    for variant in bodies(text, "variant", heads.start, heads.stop):
        number = _NUMBER.search(text, variant.start, variant.stop)
        if number is not None:
            counts.append((int(number.group(3)), number.start(3), number.end(3)))
    titles = list(bodies(text, "lpstr", parts.start, parts.stop))
    vector = _VECTOR.search(text, parts.start, parts.stop)
    if vector is None or not titles:
        return None
    offset = 0
    for count, start, end in counts:
        block = [unescape(text[t.start : t.stop]) for t in titles[offset : offset + count]]
        if count and block == worksheets:
            last = titles[offset + count - 1]
            edits = [
                (start, end, str(count + len(added))),
                (
                    last.end,
                    last.end,
                    "".join(f"<{last.prefix}lpstr>{esc_text(t)}</{last.prefix}lpstr>" for t in added),
                ),
            ]
            size = _SIZE.search(vector.group(0))
            if size is not None:
                at = vector.start() + size.start(1)
                edits.append((at, at + len(size.group(1)), str(len(titles) + len(added))))
            return splice(text, edits)
        offset += count
    return None
