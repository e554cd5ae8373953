"""The text scans of the Excel reader and writer (issue 11): fast paths agree with plain ones; no input is slow.

A workbook is untrusted input, and the reader and the package writer look
into its XML with regular expressions and hand-written scans rather than a
parser.  Hypothesis checks each fast path against the plain path (or a real
XML parser) on adversarial input; a hang guard feeds every scan a megabyte
built to make a backtracking pattern take hours (the patterns before issue 11
took 140 s on 64 KB of one of these).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.model.values import CellError, col_letter
from sheetsync.sources.excel import _holds_markers, _may_hold_errors, _ref, _scan_errors, _scan_errors_fast
from sheetsync.sources.ooxml import xmltext
from sheetsync.sources.ooxml.styles import Styles
from sheetsync.sources.ooxml.xmltext import bodies, top_level_elements

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"

# ------------------------------------------------------------------------------------------------
# excel.py: the streamed marker scan and the error-cell scan


MARKER_PIECES = [b"<", b"f", b":", b"t", b"=", b'"', b"e", b"x", b" ", b't="e"', b"<f", b":f", b't="', b'e"']


@given(st.lists(st.sampled_from(MARKER_PIECES), max_size=60), st.integers(min_value=1, max_value=9))
def test_streamed_marker_scan_equals_the_plain_search(pieces: list[bytes], chunk_size: int) -> None:
    """_may_hold_errors reading any chunk size answers exactly as searching the whole text (markers split anywhere)."""
    data = b"".join(pieces)
    assert _may_hold_errors(io.BytesIO(data), chunk_size) == _holds_markers(data)


SPACE = st.sampled_from([" ", "  ", "\n", "\t", " \r\n "])
CELL = st.fixed_dictionaries(
    {
        "column": st.integers(min_value=1, max_value=800),
        "kind": st.sampled_from([None, "e", "s", "n", "str", "b"]),
        "style": st.sampled_from([None, "0", "3"]),
        "extra": st.sampled_from([None, 'cm="1"', "vm='2'", 'ph="1"']),
        "space": SPACE,
        "formula": st.sampled_from([None, "<f>SUM(A1:A3)</f>", '<f t="shared" si="0"/>', "<f/>", "<f>A1&amp;B1</f>"]),
        "value": st.sampled_from([None, "<v/>", "<v></v>", "<v>#N/A</v>", "<v>#DIV/0!</v>", "<v>12.5</v>"]),
    }
)


def _cell_xml(row: int, cell: dict[str, object], prefix: str) -> str:
    attrs = [f'r="{col_letter(int(cell["column"]) - 1)}{row}"']
    for name, key in (("s", "style"), ("t", "kind")):
        if cell[key] is not None:
            attrs.append(f'{name}="{cell[key]}"')
    if cell["extra"] is not None:
        attrs.append(str(cell["extra"]))
    body = "".join(str(cell[k]) for k in ("formula", "value") if cell[k] is not None)
    body = re.sub(r"<(/?)([fv])\b", rf"<\1{prefix}\2", body)
    return f"<{prefix}c " + str(cell["space"]).join(attrs) + (f">{body}</{prefix}c>" if body else "/>")


def _sheet_xml(rows: list[list[dict[str, object]]], prefix: str) -> bytes:
    """A worksheet part holding these rows of cells, its elements under ``prefix``."""
    declaration = f'xmlns:x="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    body = "".join(
        f'<{prefix}row r="{r}">' + "".join(_cell_xml(r, cell, prefix) for cell in cells) + f"</{prefix}row>"
        for r, cells in enumerate(rows, 1)
    )
    xml = f"<{prefix}worksheet {declaration}><{prefix}sheetData>{body}</{prefix}sheetData></{prefix}worksheet>"
    return xml.encode()


def _reference(xml: bytes) -> dict[int, dict[int, CellError]]:
    """What the scan must find, read with a real XML parser: error cells and formulas with no saved value."""
    found: dict[int, dict[int, CellError]] = {}
    ns = f"{{{MAIN}}}"
    for c in ET.fromstring(xml).iter(ns + "c"):
        ref = re.fullmatch(r"([A-Z]+)(\d+)", c.get("r", ""))
        assert ref is not None
        r, col = _ref(ref[1].encode(), ref[2].encode())
        v = c.find(ns + "v")
        saved = v.text if v is not None else None
        if c.get("t") == "e" and saved:
            found.setdefault(r, {})[col] = CellError(saved)
        elif c.find(ns + "f") is not None and not saved and c.get("t") != "str":
            found.setdefault(r, {})[col] = CellError("")
    return found


def _plain(cell: dict[str, object]) -> bool:
    """Not an error cell whose saved value is ``<v></v>`` (the scan reports it as an empty error, as it shows)."""
    return not (cell["kind"] == "e" and cell["value"] == "<v></v>" and cell["formula"] is None)


@settings(max_examples=300)
@given(
    st.lists(st.lists(CELL.filter(_plain), max_size=6, unique_by=lambda c: c["column"]), max_size=8),
    st.sampled_from(["", "x:"]),
)
def test_error_cell_scan_equals_an_xml_parser(rows: list[list[dict[str, object]]], prefix: str) -> None:
    """The byte-level scan finds exactly the error cells and uncached formulas ElementTree sees, any prefix."""
    data = _sheet_xml(rows, prefix)
    assert _scan_errors(data) == _reference(data)


@settings(max_examples=300)
@given(
    st.lists(st.lists(CELL, max_size=6, unique_by=lambda c: c["column"]), max_size=8),
    st.sampled_from(["", "x:"]),
)
def test_fast_error_cell_scan_equals_the_plain_scan_on_sheets(rows: list[list[dict[str, object]]], prefix: str) -> None:
    """Issue 12: the marker-driven scan finds what the two whole-text searches find, on any mix of cells."""
    data = _sheet_xml(rows, prefix)
    assert _scan_errors_fast(data) == _scan_errors(data)


SCAN_PIECES = [
    "<",
    ">",
    "/",
    " ",
    '"',
    "=",
    ":",
    "x:",
    "c",
    "f",
    "v",
    "e",
    "t",
    "1",
    "A",
    '<c r="A1"',
    '<x:c r="B2"',
    ' t="e"',
    't="e"',
    ' t="str"',
    "<f>",
    "<f/>",
    "<x:f>",
    "</f>",
    "</x:f>",
    "<v>",
    "</v>",
    "<v/>",
    "<x:v>",
    "</x:v>",
    "#N/A",
    "</c>",
    "</x:c>",
    '<f t="shared"/>',
    '<c r="A1" t="e">',
]


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(SCAN_PIECES), max_size=40))
def test_fast_error_cell_scan_equals_the_plain_scan_on_any_text(pieces: list[str]) -> None:
    """Issue 12: on arbitrary text built of the scan's own markers (broken tags, markers in text), the same cells."""
    data = "".join(pieces).encode()
    assert _scan_errors_fast(data) == _scan_errors(data)


def test_fast_error_cell_scan_keeps_the_last_of_a_repeated_cell() -> None:
    """Issue 12: a cell written three times (a damaged sheet) ends as the plain scan leaves it.

    Error cells first, the later one winning, then uncached formulas over them.
    """
    data = b'<c r="A1" t="e"><v>#N/A</v></c><c r="A1"><f>B1</f></c><c r="A1" t="e"><v>#REF!</v></c>'
    assert _scan_errors_fast(data) == _scan_errors(data) == {0: {0: CellError("")}}
    data = b'<c r="A1" t="e"><v>#N/A</v></c><c r="A1" t="e"><v>#REF!</v></c>'
    assert _scan_errors_fast(data) == _scan_errors(data) == {0: {0: CellError("#REF!")}}


# ------------------------------------------------------------------------------------------------
# ooxml: counting style entries, attribute lists, attribute-less elements

ENTRY = st.sampled_from(
    [
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
        '<xf numFmtId="14" fontId="1" applyNumberFormat="1"/>',
        '<xf numFmtId="0"><alignment horizontal="center"/></xf>',
        '<xf numFmtId="0" applyProtection="1"><alignment wrapText="1"/><protection locked="0"/></xf>',
        '<xf quoted=">" other="a/b"/>',
    ]
)
FILLER = st.sampled_from(["", " ", "\n  ", "<!-- an <xf/> in a comment -->", "<?pi <xf/> ?>"])


@given(st.lists(st.tuples(ENTRY, FILLER, st.booleans()), max_size=12), st.sampled_from(["", "x:"]))
def test_style_entries_are_counted_as_an_xml_parser_counts_them(
    entries: list[tuple[str, str, bool]], prefix: str
) -> None:
    """cellXfs entries: the regex pass (plain sections) and the nesting-aware scan both count as ElementTree does."""
    children = []
    for entry, filler, wrapped in entries:
        xml = re.sub(r"<(/?)(\w+)", rf"<\1{prefix}\2", entry)
        if wrapped:
            xml = (
                f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="x14ac">{xml}</mc:Choice>'
                f"<mc:Fallback>{xml}</mc:Fallback></mc:AlternateContent>"
            )
        children.append(xml + filler)
    declaration = f'xmlns:x="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    text = (
        f'<{prefix}styleSheet {declaration}><{prefix}cellXfs count="{len(children)}">{"".join(children)}'
        f"</{prefix}cellXfs></{prefix}styleSheet>"
    )
    expected = len(ET.fromstring(text).find(f"{{{MAIN}}}cellXfs") or [])
    styles = Styles(text, MAIN)
    starts = styles._children("cellXfs")
    assert len(starts) == expected
    span = styles._span("cellXfs")
    assert span is not None
    assert top_level_elements(text, *span) == starts


ATTR_VALUE = st.text(alphabet=st.sampled_from(list("ab =>/'\"&;#x3c")), max_size=8)


@given(st.lists(st.tuples(st.sampled_from(["a", "r:id", "x.y", "b-c"]), ATTR_VALUE, SPACE), max_size=6))
def test_attribute_lists_parse_as_an_xml_parser_reads_them(attrs: list[tuple[str, str, str]]) -> None:
    """attrs() of a start tag's attribute text gives ElementTree's values, entities and quotes included."""
    unique = {name: (value, space) for name, value, space in attrs}
    raw = ""
    for name, (value, space) in unique.items():
        escaped = value.replace("&", "&amp;").replace("<", "&lt;")
        quote = "'" if '"' in escaped else '"'
        escaped = escaped.replace("'", "&apos;") if quote == "'" else escaped
        raw += f"{space}{name}={quote}{escaped}{quote}"
    parsed = ET.fromstring(f'<e xmlns:r="urn:r"{raw}/>').attrib
    expected = {(f"r:{k[len('{urn:r}') :]}" if k.startswith("{urn:r}") else k): v for k, v in parsed.items()}
    assert {k: v for k, v in xmltext.attrs(raw).items() if not k.startswith("xmlns")} == expected


BODY_PIECES = st.sampled_from(
    ["<vt:lpstr>", "</vt:lpstr>", "<vt:lpstr/>", "<lpstr>", "</lpstr>", "Sheet1", " ", "<x/>"]
)
_OLD_LPSTR = re.compile(r"<((?:[\w.-]+:)?)lpstr\s*>(.*?)</\1lpstr\s*>|<((?:[\w.-]+:)?)lpstr\s*/>", re.S)


@given(st.lists(BODY_PIECES, max_size=30))
def test_element_bodies_are_found_as_the_lazy_pattern_found_them(pieces: list[str]) -> None:
    """bodies() (one pass) finds the elements the old backtracking pattern found, in well-formed docProps text."""
    text = "".join(pieces)
    old = []
    for m in _OLD_LPSTR.finditer(text):
        if m.group(3) is not None:
            old.append((m.group(3), ""))
        else:
            old.append((m.group(1), m.group(2)))
    new = [(b.prefix, text[b.start : b.stop]) for b in bodies(text, "lpstr")]
    # Same prefix open and close (a well-formed part) is where the two must agree; the old
    # pattern skipped an element left open and went on, bodies() stops there.
    assert new == old[: len(new)]
    if len(new) < len(old):
        assert any(p.startswith("<") and "lpstr>" in p and not p.startswith("</") for p in pieces)


# ------------------------------------------------------------------------------------------------
# Hang guard

_ADVERSARIAL = textwrap.dedent(
    """
    import time
    from sheetsync.sources import excel
    from sheetsync.sources.ooxml import opc, styles, workbook, xmltext

    MB = 1_000_000
    jobs = {
        "error cells, t=e repeated": lambda: excel._scan_errors(b'<c r="A1" t="e" ' * (MB // 16)),
        "error cell, one start": lambda: excel._scan_errors(b'<c r="A1"' + b' t="e"' * (MB // 6)),
        "formulas left open": lambda: excel._scan_errors(b'<c r="A1"><f>' * (MB // 13)),
        "sheet list": lambda: list(xmltext.elements("<sheet " * (MB // 7), "sheet")),
        "one long name": lambda: xmltext.attrs("a" * MB),
        "relationships": lambda: opc.relationships(
            xmltext.XmlText("<Relationships>" + '<Relationship Id="' * (MB // 18), "utf-8", b""), ""
        ),
        "attributes": lambda: xmltext.attrs("a" * MB),
        "tags": lambda: list(xmltext.elements('<x a="1"' * (MB // 8), "x")),
        "quoted tags": lambda: list(xmltext.elements('<x a="<x a="' * (MB // 12), "x")),
        "root": lambda: xmltext.root('<workbook a="1" ' * (MB // 16) + "<workbook>", "workbook"),
        "variants": lambda: list(xmltext.bodies("<vt:variant>" * (MB // 12), "variant")),
        "app titles": lambda: workbook.app_titles(
            "<HeadingPairs>" + "<vt:variant><vt:i4>" * (MB // 19) + "</HeadingPairs><TitlesOfParts></TitlesOfParts>",
            ["Pipeline"],
            ["Summary"],
        ),
        "nesting": lambda: xmltext.top_level_elements("<a>" * (MB // 3), 0, MB),
        "calc chain": lambda: workbook.calc_chain_sheets('<c r="A1" i="1"' * (MB // 15)),
        "drawings": lambda: workbook.drawing_refs("<drawing r:id=" * (MB // 14)),
        "declaration": lambda: xmltext.XmlText.decode(b"<?xml " + b" encoding" * (MB // 9), "book", "part"),
        "styles": lambda: styles.Styles(
            '<styleSheet xmlns="m"><cellXfs>' + "<mc:AlternateContent><xf/>" * (MB // 26) + "</cellXfs></styleSheet>",
            "m",
        )._children("cellXfs"),
    }
    for name, job in jobs.items():
        started = time.perf_counter()
        try:
            job()
        except (ValueError, KeyError):
            pass  # refusing the input is fine; taking forever is not
        print(f"{name}: {time.perf_counter() - started:.3f} s", flush=True)
    """
)


def test_no_scan_is_slow_on_adversarial_xml() -> None:
    """Issue 11: every scan finishes a megabyte of input built against backtracking (hang guard: 120 s for all)."""
    done = subprocess.run([sys.executable, "-c", _ADVERSARIAL], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" s\n") == 17, done.stdout


_ADVERSARIAL_FAST = textwrap.dedent(
    """
    import time
    from sheetsync.sources.excel import _scan_errors_fast

    MB = 1_000_000
    jobs = {
        "t=e after one start": b'<c r="A1"' + b' t="e"' * (MB // 6),
        "t=e repeated": b'<c r="A1" t="e" ' * (MB // 16),
        "prefixed formula tags after one start": b'<x:c r="A1">' + b"x:f" * (MB // 3),
        "formula tags without cells": b"<f" * (MB // 2),
        "formulas left open": b'<c r="A1"><f>' * (MB // 13),
        "markers in one text": b"<v>" + b':f t="e"' * (MB // 8),
    }
    for name, xml in jobs.items():
        started = time.perf_counter()
        _scan_errors_fast(xml)
        print(f"{name}: {time.perf_counter() - started:.3f} s", flush=True)
    """
)


def test_fast_error_cell_scan_is_linear_on_adversarial_xml() -> None:
    """Issue 12: the marker-driven scan looks back only to the previous marker: no input makes it quadratic.

    A hang guard (60 s for all; each takes well under a second): a megabyte
    of markers with no ``<`` between them would cost 10^11 steps if each
    marker searched back to the start of the text.
    """
    done = subprocess.run([sys.executable, "-c", _ADVERSARIAL_FAST], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" s\n") == 6, done.stdout
