"""The styles part: cell formats for sheetsync's grids, appended as text and found again on the next run."""

from __future__ import annotations

import re

from ...grid import Look
from .opc import XML_DECLARATION
from .xmltext import ATTRS, attrs, close_tag, elements, esc_attr, root, tag, top_level_elements

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
_FALLBACK = re.compile(r"<(?:[\w.-]++:)?Fallback(?=[\s/>])" + ATTRS)
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


_PLAIN = Look()


def _argb(color: str) -> str:
    return "FF" + color[1:].upper()


def _fill(color: str) -> str:
    return (
        f'<{{p}}fill><{{p}}patternFill patternType="solid"><{{p}}fgColor rgb="{_argb(color)}"/>'
        '<{p}bgColor indexed="64"/></{p}patternFill></{p}fill>'
    )


def _border(look: Look) -> str:
    line = f'style="thin"><{{p}}color rgb="{_argb(look.border_color)}"/>'
    sides = ("left", "right", "top", "bottom") if look.border == "box" else ("bottom",)
    parts = [
        f"<{{p}}{side} {line}</{{p}}{side}>" if side in sides else f"<{{p}}{side}/>"
        for side in ("left", "right", "top", "bottom")
    ]
    return "<{p}border>" + "".join(parts) + "<{p}diagonal/></{p}border>"


def _alignment(look: Look) -> str:
    parts = []
    if look.align:
        parts.append(f'horizontal="{look.align}"')
    if look.valign:
        parts.append(f'vertical="{look.valign}"')
    if look.wrap:
        parts.append('wrapText="1"')
    return f"<{{p}}alignment {' '.join(parts)}/>" if parts else ""


class Styles:
    """Cell formats for the grids, appended to the workbook's styles part as text.

    What this class appends is deterministic and found again by exact text on
    the next run, so repeated syncs reuse their entries instead of growing the
    styles part run after run.  Nothing is touched until a styled cell needs it.
    """

    def __init__(self, text: str | None, main_ns: str) -> None:
        self.created = text is None
        if text is None:
            text = f'{XML_DECLARATION}<styleSheet xmlns="{main_ns}"></styleSheet>'
        self.text = text
        self.p, _ = root(text, "styleSheet")
        self.changed = self.created
        self.cache: dict[tuple[str | None, bool, Look | None], int] = {}
        self.fonts: dict[tuple[bool, Look | None], int] = {}

    def render(self) -> str | None:
        """The new styles text, or None when the part can stay byte-identical."""
        return self.text if self.changed and self.cache else None

    def xf(self, fmt: str | None, bold: bool, look: Look | None = None) -> int:
        """The cellXfs index for a number format, boldness and look."""
        key = (fmt, bold, look)
        index = self.cache.get(key)
        if index is None:
            index = self.cache[key] = self._xf(fmt, bold, look)
        return index

    def _xf(self, fmt: str | None, bold: bool, look: Look | None) -> int:
        for section in ("fonts", "fills", "borders", "cellStyleXfs", "cellXfs"):
            if not self._children(section):
                for child in _DEFAULT_CHILDREN[section]:
                    self._append(section, child)
        if self.created and not self._children("cellStyles"):
            self._append("cellStyles", '<{p}cellStyle name="Normal" xfId="0" builtinId="0"/>')
        look = look or _PLAIN
        num = self._number_format(fmt) if fmt is not None else 0
        font = self._font(bold, look)
        fill = self._reuse_or_append("fills", _fill(look.fill)) if look.fill else 0
        border = self._reuse_or_append("borders", _border(look)) if look.border else 0
        alignment = _alignment(look)
        xml = (
            f'<{{p}}xf numFmtId="{num}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"'
            + (' applyNumberFormat="1"' if num else "")
            + (' applyFont="1"' if font else "")
            + (' applyFill="1"' if fill else "")
            + (' applyBorder="1"' if border else "")
            + (' applyAlignment="1">' + alignment + "</{p}xf>" if alignment else "/>")
        )
        return self._reuse_or_append("cellXfs", xml)

    def _number_format(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        span = self._span("numFmts")
        if span is not None:
            for el in elements(self.text, self.p + "numFmt", *span):
                if el.attrs.get("formatCode") == code and el.attrs.get("numFmtId", "").isdigit():
                    return int(el.attrs["numFmtId"])
        # dxfs carry numFmt ids of their own in the same id space: stay clear of every one.
        used = [int(n) for n in re.findall(r"\bnumFmtId\s*=\s*[\"'](\d+)[\"']", self.text)]
        new_id = max([163, *used]) + 1
        self._append("numFmts", f'<{{p}}numFmt numFmtId="{new_id}" formatCode="{esc_attr(code)}"/>')
        return new_id

    def _font(self, bold: bool, look: Look) -> int:
        """A copy of the workbook's default font with the look's changes, so our cells match the workbook's look.

        0 (the default font itself) when nothing changes: a default font that
        is bold already serves bold text as it is.
        """
        key = (bold, look if (look.color or look.size or look.italic or look.underline) else None)
        found = self.fonts.get(key)
        if found is not None:
            return found
        base = self._first_font()
        head = tag(self.p + "font").match(base)
        assert head is not None
        b = tag(self.p + "b").search(base)
        bold_already = b is not None and attrs(b.group(1)).get("val", "1").lower() in ("1", "true")
        if key[1] is None and (not bold or bold_already):
            self.fonts[key] = 0
            return 0
        p = self.p
        set_here = [f"<{p}b/>" if bold else ""]
        set_here.append(f"<{p}i/>" if look.italic else "")
        set_here.append(f"<{p}u/>" if look.underline else "")
        set_here.append(f'<{p}sz val="{look.size:g}"/>' if look.size else "")
        set_here.append(f'<{p}color rgb="FF{look.color[1:].upper()}"/>' if look.color else "")
        replaced = {"b"} if bold else set()
        replaced |= {name for name, on in (("i", look.italic), ("u", look.underline)) if on}
        replaced |= {name for name, on in (("sz", look.size), ("color", look.color)) if on}
        rest = base[head.end() :]
        for name in replaced:
            rest = re.sub(r"<" + re.escape(p + name) + r"(?=[\s/>])[^>]*?/>", "", rest)
        font = base[: head.end()] + "".join(set_here) + rest
        index = self._reuse_or_append("fonts", font.replace("{", "{{").replace("}", "}}"))
        self.fonts[key] = index
        return index

    def _first_font(self) -> str:
        """The workbook's default font (entry 0) as plain ``<font>`` XML.

        An ``mc:AlternateContent`` entry gives its ``Fallback`` font, the one
        every reader understands; without one, the stock Calibri 11.
        """
        _, stop = self._open("fonts")
        entries = self._children("fonts")
        end = entries[1] if len(entries) > 1 else stop
        at = entries[0]
        font_tag = tag(self.p + "font")
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
        m = tag(self.p + section).search(self.text)
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
        m = tag(self.p + section).search(self.text)
        if m is None:
            later = [s for s in _SECTIONS[_SECTIONS.index(section) + 1 :] if self._span(s) is not None]
            found = [tag(self.p + s).search(self.text) for s in later]
            starts = [f.start() for f in found if f is not None]
            at = min(starts) if starts else close_tag(self.text, self.p + "styleSheet")
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
        m = tag(self.p + section).search(self.text)
        assert m is not None
        count = re.search(r"\scount\s*=\s*[\"'](\d+)[\"']", m.group(0))
        if count is not None:
            self.text = self.text[: m.start() + count.start(1)] + str(index + 1) + self.text[m.start() + count.end(1) :]
        self.changed = True
        return index
