"""XML parts as text: decode and encode them as they came, find elements and attributes, splice edits in.

Nothing here parses a document into a tree: edits land at offsets in the
original text, so namespace prefixes, attribute order, whitespace and
elements sheetsync doesn't know stay exactly as the writer left them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ...errors import SourceError

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_DECLARED_ENCODING = re.compile(rb"<\?xml[^<>]*?\sencoding\s*+=\s*+[\"']([A-Za-z][\w.-]*+)[\"']")


@dataclass(slots=True)
class XmlText:
    """An XML part as text, remembering how to encode it back the way it came."""

    text: str
    encoding: str
    bom: bytes

    @classmethod
    def decode(cls, content: bytes, label: str, name: str) -> XmlText:
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


# Every pattern here is linear in its input, whatever the input (a workbook is untrusted
# text): quantifiers are possessive, so nothing is tried twice; quoted values stop at "<",
# which XML forbids there, so a scan from one "<" never runs past the next one.
ATTRS = r"((?:\s++[\w:.-]++\s*+=\s*+(?:\"[^\"<]*+\"|'[^'<]*+'))*+)\s*+(/?)>"
_ATTR = re.compile(r"(?<![\w:.-])([\w:.-]++)\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)')")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]++|#[0-9]++|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def unescape(value: str) -> str:
    if "&" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref[0] != "#":
            return _NAMED[ref]
        return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))

    return _ENTITY.sub(one, value)


def attrs(raw: str) -> dict[str, str]:
    return {m.group(1): unescape(m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(raw)}


def esc_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def esc_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tag(qname: str) -> re.Pattern[str]:
    return re.compile("<" + re.escape(qname) + r"(?=[\s/>])" + ATTRS)


@dataclass(frozen=True, slots=True)
class Element:
    start: int
    end: int
    attrs: dict[str, str]


def elements(text: str, qname: str, start: int = 0, stop: int | None = None) -> Iterator[Element]:
    """Leaf-like elements named ``qname`` (self-closing or with a matching end tag)."""
    stop = len(text) if stop is None else stop
    close = re.compile("</" + re.escape(qname) + r"\s*>")
    pos = start
    pattern = tag(qname)
    while True:
        m = pattern.search(text, pos, stop)
        if m is None:
            return
        end = m.end()
        if not m.group(2):
            c = close.search(text, end, stop)
            end = c.end() if c else end
        yield Element(m.start(), end, attrs(m.group(1)))
        pos = end


def root(text: str, local: str) -> tuple[str, dict[str, str]]:
    """The root element's prefix (with colon, or empty) and its attributes."""
    m = re.search(r"<((?:[\w.-]++:)?)" + local + r"(?=[\s/>])" + ATTRS, text)
    if m is None:
        raise ValueError(local)
    return m.group(1), attrs(m.group(2))


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits; insertions at one place keep the order given."""
    pieces = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
        pieces.append(text[pos:start])
        pieces.append(new)
        pos = max(pos, end)
    pieces.append(text[pos:])
    return "".join(pieces)


def close_tag(text: str, qname: str) -> int:
    """Where the last end tag ``qname`` starts (an insertion point before it)."""
    ends = [m.start() for m in re.finditer("</" + re.escape(qname) + r"\s*>", text)]
    if not ends:
        raise ValueError(qname)
    return ends[-1]


_SPECIAL_MARKUP = (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>"))
_ANY_TAG = re.compile(r"<(/?)[\w.:-]++" + ATTRS)


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


@dataclass(frozen=True, slots=True)
class Body:
    """An attribute-less element such as ``<vt:lpstr>``: its prefix, its content's span, and where it ends."""

    prefix: str
    start: int
    stop: int
    end: int


def bodies(text: str, local: str, start: int = 0, stop: int | None = None) -> Iterator[Body]:
    """Each ``<p:local>…</p:local>`` (or ``<p:local/>``) in ``text[start:stop]``, in order, not nested.

    One pass: an element left open ends the search, as no later one could close.
    """
    stop = len(text) if stop is None else stop
    opener = re.compile(r"<((?:[\w.-]++:)?)" + local + r"\s*+(/?)>")
    pos = start
    while (m := opener.search(text, pos, stop)) is not None:
        prefix = m.group(1)
        if m.group(2):
            yield Body(prefix, m.end(), m.end(), m.end())
            pos = m.end()
            continue
        close = re.compile("</" + re.escape(prefix) + local + r"\s*+>").search(text, m.end(), stop)
        if close is None:
            return
        yield Body(prefix, m.end(), close.start(), close.end())
        pos = close.end()
