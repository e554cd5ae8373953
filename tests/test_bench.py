"""The speed benchmark (bench/run.py, SPEC 9) runs end to end and prints its table.

A smoke test only: 1,000 rows, one repetition, no openpyxl, and no assertion
on any time (the targets are for 100,000 rows on a quiet machine; see
docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_benchmark_runs_end_to_end_and_prints_its_table(tmp_path: Path) -> None:
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
