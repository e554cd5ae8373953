"""What a general library's load and save does to a workbook, next to sheetsync's write (docs/decisions.md).

    python bench/fidelity.py BOOK.xlsx [BOOK.xlsx ...]

For each workbook: openpyxl ``load_workbook`` + ``save`` to a copy, and
sheetsync's ``write_tabs`` of a one-cell ``Summary`` tab to another copy;
then, part by part against the original, which parts each dropped, added or
changed, and how many of a few features (chart parts, images, sparklines,
2010 data bars, tables, comments, defined names) are left.  It also times
reading every sheet's cells (python-calamine against openpyxl's load) and
writing (sheetsync's ``write_tabs`` of a 6,000-row Checks-sized tab, what a
100,000-row sync writes, against openpyxl's save).  Nothing is written
beside the originals: the copies go to a temporary folder.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# feature -> (a pattern for part names, or None; a pattern counted in the parts' bytes, or None)
FEATURES: dict[str, tuple[str | None, bytes | None]] = {
    "chart parts": (r"xl/charts/chart\d+\.xml$", None),
    "chart style and colour parts": (r"xl/charts/(?:style|colors)\d+\.xml$", None),
    "images": (r"xl/media/", None),
    "sparkline groups": (None, rb"<(?:\w+:)?sparklineGroup\b"),
    "2010 conditional formats (data bars)": (None, rb"<x14:cfRule\b"),
    "tables": (r"xl/tables/table\d+\.xml$", None),
    "comments": (None, rb"<(?:\w+:)?comment\b"),
    "defined names": (None, rb"<(?:\w+:)?definedName\b"),
}


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def features(members: dict[str, bytes]) -> dict[str, int]:
    found = {}
    for feature, (name, content) in FEATURES.items():
        if name is not None:
            found[feature] = sum(1 for n in members if re.match(name, n))
        else:
            assert content is not None
            found[feature] = sum(len(re.findall(content, data)) for data in members.values())
    return found


def compare(label: str, before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    dropped = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    lines = [f"  {label}: {len(dropped)} parts dropped, {len(added)} added, {len(changed)} changed"]
    lines += [f"    dropped {n}" for n in dropped] + [f"    added   {n}" for n in added]
    lines += [f"    changed {n}" for n in changed]
    had, has = features(before), features(after)
    lost = [f"{name} {had[name]} -> {has[name]}" for name in FEATURES if had[name] != has[name]]
    lines.append("    features: " + ("; ".join(lost) if lost else "all kept"))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("books", nargs="+", type=Path)
    args = parser.parse_args()

    import openpyxl
    from python_calamine import CalamineWorkbook

    from sheetsync.grid import MARKER, Grid
    from sheetsync.sources.ooxml.write import write_tabs

    with tempfile.TemporaryDirectory() as tmp:
        for book in args.books:
            original = parts(book)
            print(f"{book} ({book.stat().st_size:,} bytes, {len(original)} parts): {features(original)}")
            copy = Path(tmp) / f"openpyxl-{book.name}"
            started = time.perf_counter()
            wb = openpyxl.load_workbook(book)
            loaded = time.perf_counter()
            wb.save(copy)
            saved = time.perf_counter()
            print(f"  openpyxl: load {loaded - started:.2f} s, save {saved - loaded:.2f} s")
            started = time.perf_counter()
            calamine = CalamineWorkbook.from_path(str(book))
            cells = sum(len(calamine.get_sheet_by_name(name).to_python()) for name in calamine.sheet_names)
            print(f"  python-calamine: read {time.perf_counter() - started:.2f} s ({cells:,} rows)")
            for line in compare("openpyxl load + save", original, parts(copy)):
                print(line)
            ours = Path(tmp) / f"sheetsync-{book.name}"
            shutil.copyfile(book, ours)
            started = time.perf_counter()
            write_tabs(ours, [Grid("Summary", [[MARKER]])], expected=None)
            print(f"  sheetsync: write_tabs {time.perf_counter() - started:.2f} s")
            timed = Path(tmp) / f"timed-{book.name}"
            shutil.copyfile(book, timed)
            checks = [[f"Pipeline!C{i}", i, f"Prospect {i}", "bad-value", "error", "not a date"] for i in range(6000)]
            started = time.perf_counter()
            write_tabs(timed, [Grid("Checks", [[MARKER], *checks])], expected=None)
            print(f"  sheetsync: write_tabs of a 6,000-row Checks tab {time.perf_counter() - started:.2f} s")
            for line in compare("sheetsync write_tabs (one new Summary tab)", original, parts(ours)):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
