"""Templates compile in a thread while the workbook is read (run._execute): errors still come out as before.

Before the overlap, templates were compiled first, so a template error was the
error whatever else was wrong.  These runs have a broken template *and*
something else wrong, and must still report the template (exit 2) and write
nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import HEADERS, write_xlsx

AS_OF = "2026-11-27"


def broken_templates(folder: Path) -> None:
    (folder / "templates").mkdir()
    (folder / "templates" / "follow-up.txt.j2").write_text(
        "Subject: Hi {{ prospect.contact\n\nbody\n", encoding="utf-8"
    )


def book(folder: Path, extra: dict[str, list[list[object]]] | None = None) -> Path:
    row = ["Acme", "Ann", "ann@acme.example", "Somchai", "Lead", "no", 45000, dt.date(2027, 1, 5)]
    row += [dt.date(2026, 11, 26), dt.date(2026, 11, 27), None, None, dt.date(2026, 11, 1)]
    return write_xlsx(folder / "pipeline.xlsx", {"Pipeline": [HEADERS, row], **(extra or {})})


def sync(run_cli: Callable[..., Result], path: Path, **kw: dict[str, str]) -> Result:
    return run_cli("sync", str(path), "--as-of", AS_OF, "--out", "drafts", **kw)


def assert_template_error(result: Result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stderr.startswith("Error: ") and "follow-up.txt.j2" in result.stderr, result.stderr
    assert not Path("drafts").exists()


def test_template_error_beats_a_missing_workbook(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    broken_templates(tmp_path)
    assert_template_error(sync(run_cli, tmp_path / "nowhere.xlsx"))


def test_template_error_beats_a_tab_sheetsync_did_not_make(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    broken_templates(tmp_path)
    path = book(tmp_path, {"Summary": [["my own notes"]]})
    before = path.read_bytes()
    assert_template_error(sync(run_cli, path))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["pipeline.xlsx", "templates"]  # no lock file left behind


def test_template_error_beats_a_run_holding_the_lock(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetsync.locking import run_lock

    monkeypatch.chdir(tmp_path)
    broken_templates(tmp_path)
    path = book(tmp_path)
    with run_lock(path, wait=1):
        result = sync(run_cli, path, env={"SHEETSYNC_LOCK_WAIT": "0.2"})
    assert_template_error(result)


def test_good_templates_and_a_good_workbook_still_sync(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = book(tmp_path)
    result = sync(run_cli, path)
    assert result.exit_code in (0, 1), result.stderr
    assert len(list(Path("drafts").glob("*.eml"))) == 1
