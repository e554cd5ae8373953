"""The wheel carries the templates and the sample; `sheetsync init` makes a folder that syncs at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
from conftest import REPO


def test_wheel_ships_every_template_and_the_sample(tmp_path: Path) -> None:
    """A real wheel built from the repository holds every module, every template under templates/ and the sample."""
    # From a clean copy: setuptools' build/ folder in the repository keeps modules of earlier builds.
    source = tmp_path / "source"
    for name in ("sheetsync", "templates", "sample_workbooks"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (wheel,) = tmp_path.glob("sheetsync-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"sheetsync/templates/{p.relative_to(REPO / 'templates')}" for p in (REPO / "templates").rglob("*.j2")}
    assert len(templates) >= 14  # five reasons in English and Thai, HTML for two of them in each
    assert templates <= names, sorted(templates - names)
    assert "sheetsync/sample_workbooks/pipeline.xlsx" in names
    assert "sheetsync/py.typed" in names
    modules = {f"sheetsync/{p.relative_to(REPO / 'sheetsync').as_posix()}" for p in (REPO / "sheetsync").rglob("*.py")}
    assert modules <= names, sorted(modules - names)  # a subpackage missing from pyproject's list


def test_init_writes_a_folder_that_syncs_at_once(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """init writes config, sample and templates; `sheetsync sync` inside the folder then works with no arguments."""
    target = tmp_path / "team"
    result = run_cli("init", str(target))
    assert result.exit_code == 0, result.stderr
    assert (target / "sheetsync.toml").is_file()
    assert (target / "pipeline.xlsx").read_bytes() == (REPO / "sample_workbooks" / "pipeline.xlsx").read_bytes()
    assert (target / "templates" / "follow-up.txt.j2").is_file()
    assert (target / "templates" / "th" / "follow-up.txt.j2").is_file()
    cwd = Path.cwd()
    os.chdir(target)
    try:
        synced = run_cli("sync", "--as-of", "2026-11-27")
    finally:
        os.chdir(cwd)
    assert synced.exit_code == 1, synced.stderr  # the sample's deliberate rule violations
    assert "Traceback" not in synced.stderr
    wb = openpyxl.load_workbook(target / "pipeline.xlsx", read_only=True)
    assert {"Summary", "Checks", "History"} <= set(wb.sheetnames)
    assert len(list((target / "drafts").glob("*.eml"))) == 12


def test_init_never_overwrites(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """A second init keeps every existing file, byte for byte, and says so."""
    (tmp_path / "sheetsync.toml").write_text('source = "mine.xlsx"\n', encoding="utf-8")
    result = run_cli("init", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "sheetsync.toml").read_text(encoding="utf-8") == 'source = "mine.xlsx"\n'
    assert "kept" in result.stdout and "sheetsync.toml (already there)" in result.stdout
    again = run_cli("init", str(tmp_path))
    assert "wrote" not in again.stdout
