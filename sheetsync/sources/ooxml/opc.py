"""Open Packaging Conventions: relationships parts, their targets, content-type overrides, namespaces."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote

from .xmltext import XmlText, elements, esc_attr, root

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"


@dataclass(frozen=True, slots=True)
class Rel:
    id: str
    type: str
    part: str
    start: int
    end: int


def rels_part(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def resolve(source: str, target: str) -> str:
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target[1:])
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relationships(xml: XmlText, source: str) -> tuple[str, list[Rel]]:
    prefix, _ = root(xml.text, "Relationships")
    rels = []
    for el in elements(xml.text, prefix + "Relationship"):
        a = el.attrs
        if a.get("TargetMode", "Internal") == "External" or "Id" not in a:
            continue
        rels.append(Rel(a["Id"], a.get("Type", ""), resolve(source, a.get("Target", "")), el.start, el.end))
    return prefix, rels


def relationship(prefix: str, rid: str, rel_type: str, target: str) -> str:
    return f'<{prefix}Relationship Id="{esc_attr(rid)}" Type="{rel_type}" Target="{esc_attr(target)}"/>'


def override(prefix: str, part: str, content_type: str) -> str:
    return f'<{prefix}Override PartName="/{esc_attr(part)}" ContentType="{content_type}"/>'
