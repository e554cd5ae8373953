"""Native Excel charts (issue 15): the chart model of grid.py and the DrawingML parts of ooxml/charts.py.

The parts are put into a bare package made member by member (tests/chart_workbooks.py)
and read back by LibreOffice, which must find the four charts and their ranges.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter  # type: ignore[import-untyped]
from chart_workbooks import AXIS, OWNERS, STAGES, TITLE, TREND, TREND_ROW, bare_xlsx, summary_grid
from libreoffice import convert

from sheetsync.grid import (
    CHART_MARK,
    PALETTE,
    CellRange,
    ChartAnchor,
    ChartSeries,
    ChartSpec,
    Grid,
    covered_cells,
    unwrap,
)
from sheetsync.model.values import col_letter
from sheetsync.sources.ooxml import charts as ooxml_charts
from sheetsync.sources.ooxml.charts import (
    CHART_CONTENT_TYPE,
    DRAWING_CONTENT_TYPE,
    ChartParts,
    ChartWriterError,
    drawing_parts,
    is_sheetsync_drawing,
)

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
SHEET = "xl/worksheets/sheet1.xml"
DRAWING = "xl/drawings/drawing3.xml"
CHART_NAMES = [f"xl/charts/chart{n}.xml" for n in range(7, 11)]


def parts_of(grid: Grid, **options: Any) -> ChartParts:
    return drawing_parts(grid, sheet_part=SHEET, drawing_part=DRAWING, chart_names=CHART_NAMES, **options)


def formula(title: str, cells: CellRange) -> str:
    """How a range of the tab is written in a chart: absolute, the title quoted (' doubled) unless a plain word."""
    first = f"${col_letter(cells.col)}${cells.row + 1}"
    last = f"${col_letter(cells.col + cells.width - 1)}${cells.row + cells.height}"
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title)
    quoted = title if plain else "'" + title.replace("'", "''") + "'"
    return f"{quoted}!{first}" if first == last else f"{quoted}!{first}:{last}"


def body(cells: CellRange) -> CellRange:
    return CellRange(cells.row + 1, cells.col, cells.height - 1, 1)


def expected_formulas(grid: Grid, spec: ChartSpec) -> list[str]:
    """Per series: its name (header cell), the categories, its values."""
    out = []
    for series in spec.series:
        head = CellRange(series.cells.row, series.cells.col)
        out += [
            formula(grid.title, head),
            formula(grid.title, body(spec.categories)),
            formula(grid.title, body(series.cells)),
        ]
    return out


def chart_summary(xml: bytes) -> dict[str, Any]:
    """What a chart part says: plot kind, direction, grouping, title, formulas, cached values."""
    root = ET.fromstring(xml)
    plot = root.find(f"{C}chart/{C}plotArea")
    assert plot is not None
    kinds = [el for el in plot if el.tag in (f"{C}barChart", f"{C}lineChart")]
    assert len(kinds) == 1, [el.tag for el in plot]
    kind = kinds[0]
    bar_dir = kind.find(f"{C}barDir")
    grouping = kind.find(f"{C}grouping")
    heading = root.find(f"{C}chart/{C}title")
    title = "" if heading is None else "".join(t.text or "" for t in heading.iter(f"{A}t"))
    caches = []
    for ser in kind.findall(f"{C}ser"):
        values = ser.find(f"{C}val")
        assert values is not None
        caches.append([float(v.text or "nan") for v in values.iter(f"{C}v")])
    return {
        "kind": kind.tag.removeprefix(C),
        "direction": None if bar_dir is None else bar_dir.get("val"),
        "grouping": None if grouping is None else grouping.get("val"),
        "title": title,
        "formulas": [f.text for f in kind.iter(f"{C}f")],
        "values": caches,
    }


def package_charts(path: Path) -> list[tuple[str, bytes]]:
    """(chart part, XML) of the first sheet's drawing, in anchor order, found through relationships."""
    with zipfile.ZipFile(path) as z:

        def rels(part: str) -> dict[str, str]:
            folder, name = posixpath.split(part)
            root = ET.fromstring(z.read(posixpath.join(folder, "_rels", name + ".rels")))
            return {
                rel.get("Id", ""): posixpath.normpath(posixpath.join(folder, rel.get("Target", "")))
                for rel in root.iter(f"{PKG}Relationship")
            }

        sheet = next(t for t in rels("xl/workbook.xml").values() if "worksheets/" in t)
        (drawing,) = [t for t in rels(sheet).values() if "drawings/" in t]
        chart_rels = rels(drawing)
        order = re.findall(rb'<c:chart\b[^>]*?r:id="([^"]+)"', z.read(drawing))
        return [(chart_rels[rid.decode()], z.read(chart_rels[rid.decode()])) for rid in order]


# --------------------------------------------------------------------------------------------------
# Read back by LibreOffice


def test_libreoffice_reads_the_four_charts_back(tmp_path: Path) -> None:
    """Issue 15: LibreOffice loads the parts as four native charts over the right ranges, and saves them again."""
    grid = summary_grid()
    source = bare_xlsx(tmp_path / "charts.xlsx", grid)
    assert source is not None
    (converted,) = convert([tmp_path / "charts.xlsx"], tmp_path / "out", tmp_path / "lo-profile")
    found = [chart_summary(xml) for _, xml in package_charts(converted)]
    assert [(c["kind"], c["direction"], c["grouping"]) for c in found] == [
        ("barChart", "bar", "clustered"),
        ("barChart", "col", "stacked"),
        ("barChart", "col", "clustered"),
        ("lineChart", None, "standard"),
    ]
    assert [c["title"] for c in found] == [spec.title for spec in grid.charts]
    for chart, spec in zip(found, grid.charts, strict=True):
        assert chart["formulas"] == expected_formulas(grid, spec), spec.key
    assert found[0]["values"][0] == [float(amount) for _, _, amount, _ in STAGES]
    with zipfile.ZipFile(converted) as z:
        drawing = next(name for name in z.namelist() if name.startswith("xl/drawings/drawing"))
        # LibreOffice drops the alt text but keeps the names: the next run still knows the charts.
        assert is_sheetsync_drawing(z.read(drawing))


# --------------------------------------------------------------------------------------------------
# The parts


def test_parts_carry_the_names_the_caller_chose() -> None:
    """The writer picks free part names; the drawing links the charts by relative targets in order."""
    made = parts_of(summary_grid())
    names = [name for name, _ in made.parts]
    assert names == [DRAWING, "xl/drawings/_rels/drawing3.xml.rels", *CHART_NAMES]
    assert made.content_types == (
        (DRAWING, DRAWING_CONTENT_TYPE),
        *((name, CHART_CONTENT_TYPE) for name in CHART_NAMES),
    )
    assert made.target == "../drawings/drawing3.xml"
    assert made.drawing_element("rId5") == '<drawing r:id="rId5"/>'
    rel = ET.fromstring(made.sheet_relationship("rId5"))
    assert rel.attrib == {
        "Id": "rId5",
        "Type": "http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing",
        "Target": "../drawings/drawing3.xml",
    }
    rels = ET.fromstring(dict(made.parts)["xl/drawings/_rels/drawing3.xml.rels"])
    targets = {r.get("Id"): r.get("Target") for r in rels}
    drawing = dict(made.parts)[DRAWING]
    order = [rid.decode() for rid in re.findall(rb'<c:chart\b[^>]*?r:id="([^"]+)"', drawing)]
    assert [targets[rid] for rid in order] == [f"../charts/chart{n}.xml" for n in range(7, 11)]


@pytest.mark.parametrize("title", ["Summary", "My Summary", "O'Brien's tab", "สรุป 2026", "A&B <x>"])
def test_charts_name_the_tabs_ranges_by_formula(title: str) -> None:
    """Every series names its header, the categories and its values by absolute reference, the title quoted."""
    grid = summary_grid(title)
    made = dict(parts_of(grid).parts)
    for name, spec in zip(CHART_NAMES, grid.charts, strict=True):
        assert chart_summary(made[name])["formulas"] == expected_formulas(grid, spec)


def test_charts_cache_the_grids_values() -> None:
    """Viewers that don't recalculate still show the figures: each series caches the grid's values."""
    grid = summary_grid()
    made = dict(parts_of(grid).parts)
    for name, spec in zip(CHART_NAMES, grid.charts, strict=True):
        expected = [
            [float(unwrap(grid.cell(r, c))[0]) for r, c in body(series.cells).cells()]  # type: ignore[arg-type]
            for series in spec.series
        ]
        assert chart_summary(made[name])["values"] == expected, spec.key
    owners = chart_summary(made[CHART_NAMES[1]])
    assert owners["values"][0] == [float(won) for _, won, *_ in OWNERS]


def test_each_chart_sits_where_its_anchor_says_and_covers_no_table() -> None:
    """The drawing's cell anchors match covered_cells, and in the Summary layout no chart lies over a value."""
    grid = summary_grid()
    drawing = ET.fromstring(dict(parts_of(grid).parts)[DRAWING])
    anchors = list(drawing)
    assert len(anchors) == len(grid.charts)
    for anchor, spec in zip(anchors, grid.charts, strict=True):
        assert anchor.tag == f"{XDR}twoCellAnchor" and anchor.get("editAs") == "oneCell"
        start, end = (
            tuple(int(anchor.findtext(f"{XDR}{side}/{XDR}{what}") or -1) for what in ("row", "col"))
            for side in ("from", "to")
        )
        area = covered_cells(spec.anchor, grid.widths)
        assert start == (spec.anchor.row, spec.anchor.col)
        assert end == (area.row + area.height - 1, area.col + area.width - 1), spec.key
        frame = anchor.find(f"{XDR}graphicFrame/{XDR}nvGraphicFramePr/{XDR}cNvPr")
        assert frame is not None
        assert frame.get("descr") == CHART_MARK + spec.key
        assert frame.get("name") == f"sheetsync chart {spec.key}"
        taken = [(r, c) for r, c in area.cells() if r < len(grid.rows) and unwrap(grid.cell(r, c))[0] is not None]
        assert taken == [], spec.key


def test_bar_chart_reads_top_down_with_values_along_the_bottom() -> None:
    """The funnel lists stages as the table does (first on top); its amount axis stays at the bottom."""
    made = dict(parts_of(summary_grid()).parts)
    plot = ET.fromstring(made[CHART_NAMES[0]]).find(f"{C}chart/{C}plotArea")
    assert plot is not None
    category, value = plot.find(f"{C}catAx"), plot.find(f"{C}valAx")
    assert category is not None and value is not None
    assert category.find(f"{C}scaling/{C}orientation").get("val") == "maxMin"  # type: ignore[union-attr]
    assert value.find(f"{C}crosses").get("val") == "max"  # type: ignore[union-attr]
    assert value.find(f"{C}numFmt").attrib == {"formatCode": AXIS, "sourceLinked": "0"}  # type: ignore[union-attr]
    fills = [s.find(f"{C}spPr/{A}solidFill/{A}srgbClr").get("val") for s in plot.iter(f"{C}ser")]  # type: ignore[union-attr]
    assert fills == [spec.color.lstrip("#").upper() for spec in summary_grid().charts[0].series]  # type: ignore[union-attr]


@pytest.mark.parametrize(("date1904", "shift"), [(False, 0), (True, 1462)])
def test_date_categories_are_labelled_dates_in_the_workbooks_date_system(date1904: bool, shift: int) -> None:
    """The trend's as-of dates: one point each, labelled yyyy-mm-dd, cached as serials of the book's system."""
    made = dict(parts_of(summary_grid(), date1904=date1904).parts)
    root = ET.fromstring(made[CHART_NAMES[3]])
    category_axis = root.find(f"{C}chart/{C}plotArea/{C}catAx")
    assert category_axis is not None
    assert category_axis.find(f"{C}numFmt").get("formatCode") == "yyyy-mm-dd"  # type: ignore[union-attr]
    assert category_axis.find(f"{C}auto") is None  # a text axis, not a time scale (XlsxWriter's text_axis)
    cats = root.find(f"{C}chart/{C}plotArea/{C}lineChart/{C}ser/{C}cat")
    assert cats is not None
    serials = [float(v.text or "") for v in cats.iter(f"{C}v")]
    assert serials == [float((day - dt.date(1899, 12, 30)).days - shift) for day, *_ in TREND]


def test_the_same_grid_makes_the_same_bytes() -> None:
    """A rerun over unchanged figures writes identical chart parts (no timestamps, no random ids)."""
    assert parts_of(summary_grid()) == parts_of(summary_grid())


def test_a_chart_without_colours_takes_the_palette() -> None:
    """Series without a colour of their own get the palette's colours in turn."""
    grid = summary_grid()
    plain = dataclasses.replace(
        grid.charts[2], series=tuple(dataclasses.replace(s, color=None) for s in grid.charts[2].series)
    )
    grid.charts = [plain]
    made = dict(drawing_parts(grid, sheet_part=SHEET, drawing_part=DRAWING, chart_names=CHART_NAMES[:1]).parts)
    series = ET.fromstring(made[CHART_NAMES[0]]).iter(f"{C}ser")
    fills = [s.find(f"{C}spPr/{A}solidFill/{A}srgbClr").get("val") for s in series]  # type: ignore[union-attr]
    assert fills == [c.lstrip("#") for c in PALETTE[:2]]


# --------------------------------------------------------------------------------------------------
# Telling our drawing from a user's


def _anchor(name: str, descr: str | None = None, kind: str = "pic") -> str:
    described = f' descr="{descr}"' if descr else ""
    return (
        f"<xdr:oneCellAnchor><xdr:from><xdr:col>0</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>0</xdr:row>"
        f'<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="9525" cy="9525"/><xdr:{kind}><xdr:nvPicPr>'
        f'<xdr:cNvPr id="9" name="{name}"{described}/></xdr:nvPicPr></xdr:{kind}><xdr:clientData/></xdr:oneCellAnchor>'
    )


def test_a_drawing_is_ours_only_when_every_object_in_it_is_ours() -> None:
    """A user's picture or chart added to our drawing makes it theirs: the next run must not drop it."""
    ours = dict(parts_of(summary_grid()).parts)[DRAWING]
    assert is_sheetsync_drawing(ours)
    with_picture = ours.replace(b"</xdr:wsDr>", _anchor("Picture 1").encode() + b"</xdr:wsDr>")
    assert not is_sheetsync_drawing(with_picture)
    alt_only = ours.replace(b"</xdr:wsDr>", _anchor("Chart 5", CHART_MARK + "x").encode() + b"</xdr:wsDr>")
    assert is_sheetsync_drawing(alt_only)
    head = b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">'
    assert not is_sheetsync_drawing(head + b"</xdr:wsDr>")
    assert not is_sheetsync_drawing(head + _anchor("Chart 1", "Pipeline by stage").encode() + b"</xdr:wsDr>")


# --------------------------------------------------------------------------------------------------
# What can't be charted


def _spec(**changes: Any) -> ChartSpec:
    base: dict[str, Any] = {
        "key": "owners",
        "kind": "column",
        "title": "Owners",
        "categories": CellRange(0, 0, 4, 1),
        "series": (ChartSeries(CellRange(0, 1, 4, 1)),),
        "anchor": ChartAnchor(0, 5),
    }
    return ChartSpec(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "Owners"}, "lower-case letters"),
        ({"kind": "pie"}, "is not one of column, bar, line"),
        ({"series": ()}, "no series"),
        ({"kind": "line", "stacked": True}, "only column and bar charts stack"),
        ({"categories": CellRange(0, 0, 4, 2)}, "single rows or columns"),
        ({"series": (ChartSeries(CellRange(0, 1, 3, 1)),)}, "same length"),
        ({"categories": CellRange(0, 0, 1, 1), "series": (ChartSeries(CellRange(0, 1, 1, 1)),)}, "one value or more"),
        ({"series": (ChartSeries(CellRange(0, 1, 1, 4)),)}, "run the same way"),
        ({"title": "=HYPERLINK(1)"}, "starts with '='"),
        ({"value_title": "  "}, "is empty"),
        ({"series": (ChartSeries(CellRange(0, 1, 4, 1), "red"),)}, "is not #RRGGBB"),
    ],
)
def test_a_chart_spec_refuses_what_no_backend_can_draw(changes: dict[str, Any], message: str) -> None:
    """tabs.py gets a ValueError naming the chart, never a chart Excel or Google would reject or misdraw."""
    with pytest.raises(ValueError, match=re.escape(message)):
        _spec(**changes)


@pytest.mark.parametrize(
    ("cells", "anchor"),
    [
        ({"row": -1, "col": 0}, None),
        ({"row": 0, "col": 0, "height": 0}, None),
        (None, {"row": 0, "col": 0, "width": 10}),
    ],
)
def test_ranges_and_anchors_must_be_real(cells: dict[str, int] | None, anchor: dict[str, int] | None) -> None:
    """Negative positions, empty ranges and charts too small to read are refused where they are made."""
    with pytest.raises(ValueError, match="not a"):
        CellRange(**cells) if cells else ChartAnchor(**anchor or {})


def _small_grid(*specs: ChartSpec) -> Grid:
    rows: list[list[Any]] = [["Owner", "Won"], ["Nok", 1.0], ["Ploy", 2.0], ["Som", 3.0], [None, None]]
    return Grid("Summary", rows, charts=list(specs))


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ((_spec(categories=CellRange(2, 0, 4, 1), series=(ChartSeries(CellRange(2, 1, 4, 1)),)),), "lies outside tab"),
        ((_spec(categories=CellRange(1, 0, 3, 1), series=(ChartSeries(CellRange(1, 1, 3, 1)),)),), "no header text"),
        ((_spec(), _spec(title="Again")), "two charts share the key 'owners'"),
    ],
)
def test_a_grid_refuses_charts_its_cells_cant_back(specs: tuple[ChartSpec, ...], message: str) -> None:
    """Ranges past the grid, a series whose first cell isn't a name, two charts under one key."""
    grid = _small_grid(*specs)
    with pytest.raises(ValueError, match=re.escape(message)):
        grid.check_charts()
    with pytest.raises(ValueError, match=re.escape(message)):
        drawing_parts(grid, sheet_part=SHEET, drawing_part=DRAWING, chart_names=CHART_NAMES[: len(specs)])


@pytest.mark.parametrize(
    ("drawing", "names", "message"),
    [
        (DRAWING, CHART_NAMES[:2], "need as many part names"),
        (DRAWING, ["/xl/charts/chart1.xml"], "without a leading slash"),
        (DRAWING, ["xl/charts/chart1.bin"], "ending in .xml"),
        ("xl/charts/chart1.xml", ["xl/charts/Chart1.xml"], "must differ"),
    ],
)
def test_part_names_must_be_usable(drawing: str, names: list[str], message: str) -> None:
    """The writer's part names: one per chart, package paths, all different (case-insensitively, as in zip)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        drawing_parts(_small_grid(_spec()), sheet_part=SHEET, drawing_part=drawing, chart_names=names)


def test_a_grid_without_charts_has_no_parts() -> None:
    """Nothing to draw is a caller's mistake, not an empty drawing part."""
    with pytest.raises(ValueError, match="has no charts"):
        drawing_parts(_small_grid(), sheet_part=SHEET, drawing_part=DRAWING, chart_names=[])


def test_an_xlsxwriter_that_lays_out_its_package_otherwise_is_refused_loudly() -> None:
    """The one assumption about XlsxWriter's output (sheet → drawing → charts by relationship) is checked.

    An upgrade that changed it would make every chart run fail here first,
    with a message naming the version, instead of writing broken parts.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet(TITLE).write(TREND_ROW, 0, "no chart here")
    book.close()
    with pytest.raises(ChartWriterError, match=rf"XlsxWriter {re.escape(xlsxwriter.__version__)} .*0 drawing parts"):
        ooxml_charts._read_back(buffer.getvalue(), 1)


@pytest.mark.parametrize(
    ("anchor", "widths", "covered"),
    [
        (ChartAnchor(0, 0, 128, 60), [], CellRange(0, 0, 3, 2)),
        (ChartAnchor(0, 0, 129, 61), [], CellRange(0, 0, 4, 3)),
        (ChartAnchor(2, 1, 200, 100), [10, 20, 0], CellRange(2, 1, 5, 2)),
    ],
)
def test_covered_cells_counts_pixels_as_excel_draws_them(
    anchor: ChartAnchor, widths: list[float], covered: CellRange
) -> None:
    """64 px default columns, 7 px per character of a set width, 20 px rows: what a chart lies over."""
    assert covered_cells(anchor, widths) == covered


def test_a_title_xlsxwriter_refuses_is_a_clear_error() -> None:
    """Excel counts a tab name in UTF-16 units: 16 emoji are 32, and the run says so instead of a traceback."""
    with pytest.raises(ChartWriterError, match=r"can't draw the charts of tab .*<= 31 chars"):
        parts_of(summary_grid("📈" * 16))
