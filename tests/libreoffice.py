"""LibreOffice for the tests: the real ``soffice``, headless, with a user profile of the test's own.

``make test`` installs LibreOffice when it is missing (see the Makefile), so a
test that needs it fails, never skips, without it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

# LibreOffice ignores calcPr fullCalcOnLoad: whether it recalculates an .xlsx on load is its
# own setting (Tools → Options → Calc → Formula → "Recalculation on file load", Excel 2007
# and newer), 0 = always, 1 = never, 2 = prompt.
_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    """The LibreOffice binary; the test fails (never skips) when there is none."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.fail(
            "LibreOffice (soffice) is not installed: run the tests with `make test`, which installs "
            "libreoffice-calc-nogui, or install it yourself"
        )
    return office


def convert(
    files: Sequence[Path], out: Path, profile: Path, *, recalculate: bool = False, fmt: str = "xlsx"
) -> list[Path]:
    """Open each workbook in LibreOffice and save it as ``fmt`` (.xlsx) into ``out``; return the new files.

    ``recalculate``: the profile tells LibreOffice to recalculate every
    formula on load, as Excel does for a workbook with ``fullCalcOnLoad``.
    """
    if recalculate:
        (profile / "user").mkdir(parents=True, exist_ok=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_ALWAYS, encoding="utf-8")
    done = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            *map(str, files),
        ],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    converted = [out / f"{f.stem}.{fmt}" for f in files]
    missing = [c.name for c in converted if not c.is_file()]
    assert not missing, f"LibreOffice could not open {missing}: {done.stdout.decode(errors='replace')}"
    return converted
