"""The speed benchmark (bench/run.py, reference 9) runs end to end and prints its table; its workbook is what it says.

The run is a smoke test only: 1,000 rows, one repetition, no openpyxl, and no
assertion on any time (the targets are for 100,000 rows on a quiet machine;
see docs/benchmarks.md).  The workbook's planned mix is checked against the
generator's own independent recount and against sheetsync.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import REPO, SHEETSYNC


def test_benchmark_runs_end_to_end_and_prints_its_table(tmp_path: Path) -> None:
    """bench/run.py on 1,000 rows: every measurement and target line, the JSON, no Google module, no leftovers."""
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--rows",
            "1000",
            "--small-rows",
            "200",
            "--reps",
            "1",
            "--skip-openpyxl",
            "--out-dir",
            str(tmp_path / "workbooks"),
            "--work-dir",
            ".",  # relative to the benchmark's working folder (the syncs run in folders of their own)
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for label in ("(a) read", "(b) sheetsync sync", "(c) openpyxl", "(d) sheetsync sync", "| target |"):
        assert label in out, out
    assert "(b)/(a) = " in out and "peak RSS of (b) = " in out
    assert "(b)/(a) of each repetition" in out and "machine noise: (a), the same work each time, took" in out
    assert "Google modules imported by an Excel sync: none" in out
    data = json.loads(results.read_text())
    assert len(data["series"]["b"]["seconds"]) == 1 and data["series"]["c"]["seconds"] == []
    assert not [m for m in data["modules_imported_by_sync"] if m in ("gspread", "google", "requests")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "workbooks"]  # its work folder is gone


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_make_workbook", REPO / "bench" / "make_workbook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_messy_benchmark_workbook_is_what_its_plan_and_sheetsync_say(tmp_path: Path) -> None:
    """The generator's mix (issue 11): its independent recount (--check) and sheetsync both find exactly the plan.

    2,000 rows: 100 due, 120 with one finding each (60 bad values of five
    kinds, 12 each of decision-maker, budget-known, timeline-known, duplicate
    and closed-date), Owner cells merged over runs; and the same file twice.
    """
    gen = _generator()
    path = tmp_path / "mess.xlsx"
    plan = gen.make_workbook(2000, path)
    gen.make_workbook(2000, tmp_path / "again.xlsx")
    assert path.read_bytes() == (tmp_path / "again.xlsx").read_bytes()
    found = gen.check(path)
    assert gen.report_plan(plan, found)
    assert plan["due_rows"] == 100 and plan["finding_rows"] == 120 and plan["merged_runs"] > 100
    done = subprocess.run(
        [SHEETSYNC, "sync", str(path), "--as-of", "2026-11-27", "--dry-run", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    result = json.loads(done.stdout)
    by_rule = Counter(f["rule"] for f in result["findings"])
    assert by_rule == found["findings"]
    assert len({f["row"] for f in result["findings"]}) == plan["finding_rows"]
    assert Counter(d["reason"] for d in result["drafts"]) == found["reasons"]
    assert {d["status"] for d in result["drafts"]} == {"would-write"}
    bad = [f["message"] for f in result["findings"] if f["rule"] == "bad-value"]
    for what in ("is not an email address", "is not a number", "holds the Excel error #N/A", "control characters"):
        assert any(what in message for message in bad), what
    assert any("date" in message for message in bad)
