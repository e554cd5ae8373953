"""Render the sample's Summary tab to ``docs/img/summary.png``, as LibreOffice prints it (``make screenshot``).

The picture in the README is this script's output, so it always shows what
sheetsync writes today.  Steps: copy the sample workbook into a temporary
folder; give it the History of three earlier weekly runs (figures made up for
the picture: the sample has only one as-of date of its own, and a trend of
one point shows nothing); run ``sheetsync sync --as-of 2026-11-27`` as a user
would; print the workbook to PDF with LibreOffice headless; check that the
Summary fills exactly one page; render that page with ``pdftoppm``, cropped
to what is printed on it.  It needs ``soffice`` and ``pdftoppm``/``pdftotext``
(poppler-utils) and fails, saying which, without them.

It never touches ``sample_workbooks/pipeline.xlsx`` itself.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sheetsync.grid import Grid
from sheetsync.sources.ooxml.write import fingerprint, write_tabs
from sheetsync.tabs import HISTORY_HEADER

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_workbooks" / "pipeline.xlsx"
OUT = REPO / "docs" / "img" / "summary.png"
AS_OF = "2026-11-27"
DPI = 130
#: Three earlier Fridays of the quarter: as of, open deals, open pipeline, weighted, won, to generate, expected.
EARLIER = [
    (dt.date(2026, 11, 6), 33, 3_950_000, 2_380_000, 380_000, 640_000, 1_980_000),
    (dt.date(2026, 11, 13), 32, 3_880_000, 2_400_000, 450_000, 500_000, 2_050_000),
    (dt.date(2026, 11, 20), 30, 3_790_000, 2_410_000, 520_000, 300_000, 2_180_000),
]
QUOTA = 3_000_000


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        sys.exit(f"make screenshot needs {tool}: install LibreOffice (soffice) and poppler-utils (pdftoppm, pdftotext)")
    return found


def run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    if done.returncode not in (0, 1):  # sync exits 1 on the sample's deliberate rule errors
        sys.exit(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def page_texts(pdf: Path) -> list[str]:
    pages = int(re.search(r"Pages:\s+(\d+)", run(need("pdfinfo"), pdf)).group(1))  # type: ignore[union-attr]
    return [run(need("pdftotext"), "-layout", "-f", n, "-l", n, pdf, "-") for n in map(str, range(1, pages + 1))]


def main() -> None:
    office, pdftoppm = need("soffice"), need("pdftoppm")
    with tempfile.TemporaryDirectory(prefix="sheetsync-screenshot-") as tmp:
        folder = Path(tmp)
        book = Path(shutil.copy(SAMPLE, folder / "pipeline.xlsx"))
        rows: list[list[object]] = [list(HISTORY_HEADER)]
        for day, deals, pipeline, weighted, won, to_generate, expected in EARLIER:
            rows.append([day, dt.date(2026, 10, 1), deals, pipeline, weighted, won, QUOTA, to_generate, expected])
        write_tabs(book, [Grid("History", rows)], expected=fingerprint(book))
        run(Path(sys.executable).with_name("sheetsync"), "sync", book, "--as-of", AS_OF, "--out", folder / "drafts")
        run(office, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
            "--convert-to", "pdf", "--outdir", folder, book)  # fmt: skip
        pdf = folder / "pipeline.pdf"
        texts = page_texts(pdf)
        first = next(i for i, text in enumerate(texts, 1) if "Key figures" in text)
        checks = next(i for i, text in enumerate(texts, 1) if "Severity" in text)
        if checks - first != 1:
            sys.exit(f"the Summary tab prints on {checks - first} pages, not one: the layout needs work")
        box = bounding_box(pdf, first)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        x, y, width, height = (round(v * DPI / 72) for v in box)
        run(pdftoppm, "-png", "-singlefile", "-r", DPI, "-f", first, "-l", first,
            "-x", x, "-y", y, "-W", width, "-H", height, pdf, OUT.with_suffix(""))  # fmt: skip
    print(f"wrote {OUT.relative_to(REPO)} (page {first} of the printed workbook)")


def bounding_box(pdf: Path, page: int) -> tuple[float, float, float, float]:
    """(x, y, width, height) in points of what is printed on ``page``: the margins' width, down to its last word.

    Fitted to one page wide, the tab spans the page between the side margins
    sheetsync sets (0.4 inch); the last word is the lowest thing printed.
    """
    size = re.search(r"Page +\d+ size:\s+([\d.]+) x ([\d.]+)", run(need("pdfinfo"), "-f", page, "-l", page, pdf))
    assert size is not None
    words = run(need("pdftotext"), "-bbox", "-f", page, "-l", page, pdf, "-")
    bottom = max(float(y) for y in re.findall(r'yMax="([\d.]+)"', words))
    margin = 0.4 * 72
    return margin - 6, 0.5 * 72 - 6, float(size.group(1)) - 2 * margin + 12, bottom - 0.5 * 72 + 20


if __name__ == "__main__":
    main()
