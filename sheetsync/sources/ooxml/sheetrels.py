"""A worksheet's relationships part, edited as text, and the parts one of its relationships owns.

The writer replaces the drawing sheetsync anchored on its own tab (its charts
are redrawn on every run): it follows the sheet's ``<drawing>`` relationship,
drops the drawing and every part only that drawing reaches (its charts, and
the style and colour parts Excel adds to a chart when it saves), and keeps
everything else the sheet's relationships name (a user's comments).  This
module reads parts and returns names and text; it never writes a package.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from .opc import Rel, relationship, relationships, rels_part
from .xmltext import XmlText, close_tag, elements, splice
from .zipcopy import Package

_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass(slots=True)
class SheetRels:
    """The relationships part of one worksheet part: the one it has, or a new empty one."""

    name: str
    exists: bool
    xml: XmlText
    prefix: str
    rels: list[Rel]
    ids: set[str]
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    @classmethod
    def of(cls, package: Package, sheet_part: str) -> SheetRels:
        name = rels_part(sheet_part)
        member = package.find(name)
        if member is None:
            xml = XmlText(f'{_DECLARATION}<Relationships xmlns="{_RELS_NS}"></Relationships>', "utf-8", b"")
            return cls(name, False, xml, "", [], set())
        xml = XmlText.decode(package.read(member), package.label, member.name)
        prefix, rels = relationships(xml, sheet_part)
        ids = {el.attrs.get("Id", "") for el in elements(xml.text, prefix + "Relationship")}
        return cls(member.name, True, xml, prefix, rels, ids)

    def find(self, rid: str) -> Rel | None:
        return next((rel for rel in self.rels if rel.id == rid), None)

    def remove(self, rel: Rel) -> None:
        self.edits.append((rel.start, rel.end, ""))
        self.ids.discard(rel.id)

    def add(self, rel_type: str, target: str) -> str:
        """A new relationship with an id no relationship here uses; returns the id."""
        n = 1
        while f"rId{n}" in self.ids:
            n += 1
        rid = f"rId{n}"
        self.ids.add(rid)
        at = close_tag(self.xml.text, self.prefix + "Relationships")
        self.edits.append((at, at, relationship(self.prefix, rid, rel_type, target)))
        return rid

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    def render(self) -> bytes:
        self.xml.text = splice(self.xml.text, self.edits)
        self.edits = []
        return self.xml.encode()


def owned_parts(package: Package, start: str, *, besides: set[str]) -> list[str]:
    """``start``, the parts it reaches through relationships, and their relationships parts.

    A part that a relationships part outside this set (and outside
    ``besides``, the lower-cased names of relationships parts being
    rewritten) also names is kept, with everything reached from it: the
    list holds only what nothing else uses.  Names come back as the package
    spells them.
    """
    reached = _reached(package, start)
    others = [
        m.name
        for m in package.members
        if m.name.lower().endswith(".rels")
        and m.name.lower() not in besides
        and _source_of(m.name).lower() not in reached
    ]
    shared = {rel.part.lower() for name in others for rel in _rels_in(package, name)} & set(reached)
    if start.lower() in shared:
        return []
    for part in shared:
        for name in _reached(package, reached[part]):
            reached.pop(name, None)
    owned = list(reached.values())
    owned.extend(m.name for m in (package.find(rels_part(name)) for name in list(owned)) if m is not None)
    return owned


def _reached(package: Package, start: str) -> dict[str, str]:
    """Lower-cased name → name of ``start`` and every part reached from it through relationships."""
    reached: dict[str, str] = {}
    queue = [start]
    while queue:
        member = package.find(queue.pop())
        if member is None or member.name.lower() in reached:
            continue
        reached[member.name.lower()] = member.name
        queue.extend(rel.part for rel in _rels_in(package, rels_part(member.name)))
    return reached


def _source_of(rels_name: str) -> str:
    """The part a relationships part belongs to: ``a/_rels/b.xml.rels`` → ``a/b.xml``."""
    folder, name = posixpath.split(rels_name)
    return posixpath.join(posixpath.dirname(folder), name.removesuffix(".rels"))


def _rels_in(package: Package, rels_name: str) -> list[Rel]:
    member = package.find(rels_name)
    if member is None:
        return []
    try:
        _, rels = relationships(XmlText.decode(package.read(member), package.label, member.name), _source_of(rels_name))
    except ValueError:
        return []  # a relationships part we can't read names nothing we could drop safely
    return rels
