"""The speed benchmark of reference 9, in one command.

    python bench/run.py [--rows 100000] [--small-rows 500] [--reps 7] [--reps-openpyxl 2]
                        [--skip-openpyxl] [--out-dir bench/out] [--work-dir DIR] [--keep]
                        [--compare-with DIR] [--json FILE] [--strict]

Makes the benchmark workbooks once with ``bench/make_workbook.py`` (seed 7; cached in
``--out-dir``, keyed by row count and a hash of the generator) and then measures, in one
run and interleaved (every repetition runs a, b, d, then c while ``--reps-openpyxl``
lasts), the median of several repetitions of:

(a) **read**: a fresh ``python`` that opens the big workbook with python-calamine and
    iterates every row of the Pipeline sheet (``get_sheet_by_name`` + ``iter_rows``):
    "the time it takes just to read that sheet's cells with python-calamine";
(b) **sync**: the installed ``sheetsync`` console script, ``sync <copy> --as-of
    2026-11-27 --out <new folder>`` on a fresh copy of the big workbook: read, check,
    figures, Summary/Checks/History written into the .xlsx, one ``.eml`` per due row
    plus the manifest (the defaults);
(c) **openpyxl**: a fresh ``python`` that loads the big workbook with
    ``openpyxl.load_workbook`` and saves it to another file (slow:
    ``--reps-openpyxl`` is 2 by default);
(d) **small sync**: (b) on a ``--small-rows`` workbook.

Every measurement is a separate process started the same way, so each includes
interpreter start-up and imports; the time is the wall time from spawn to exit, and
the peak memory is ``ru_maxrss`` from ``os.wait4`` (for (b), the larger of the sync's
and its drafts helper's).  Copying the workbook and ``os.sync()`` happen before the
clock starts, so one step's disk write-back doesn't land on the next step's clock;
each step writes into a new folder under ``--work-dir`` (default: ``/dev/shm`` when it
is a tmpfs, else ``OUT_DIR/work``: see ``default_work_dir``), all deleted at the end
(``--keep`` leaves them).

Untimed warm-ups come first: (b) and (d) under ``python -X importtime``, which fills
the page cache and shows which modules a sync of an Excel source imports (no Google
client libraries), and (b) once more while sampling the summed PSS of the sync and
its drafts helper.  Each sync's result is checked (exit code 1 for the generated
findings, the three tabs in the workbook, one ``.eml`` per due row and the manifest).
``--compare-with DIR`` also times (b) and (d) with the ``sheetsync`` package in DIR
(say, an older checkout), interleaved with the rest: before/after in one run.

Targets (reference 9, for ``--rows 100000``): (b)/(a) <= 3, (c)/(b) >= 10, peak memory of
(b) < 300 MB, (d) < 0.6 s.  The exit code is 0, or 1 with ``--strict`` when a target
is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_workbook import DUE_SHARE  # noqa: E402

AS_OF = "2026-11-27"
SEED = 7
TARGET_READ_RATIO = 3.0
TARGET_OPENPYXL_RATIO = 10.0
TARGET_RSS_MB = 300.0
TARGET_SMALL_S = 0.6
#: Spread of (a) (slowest / quickest) above which the run is called noisy.
NOISY = 1.25
#: Top-level modules that would mean a Google client was imported for an Excel source.
GOOGLE_MODULES = ("gspread", "google", "googleapiclient", "google_auth_oauthlib", "httplib2", "requests")

READ_SCRIPT = """
import sys, time
t = time.perf_counter()
from python_calamine import CalamineWorkbook
sheet = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name("Pipeline")
rows = cells = 0
for row in sheet.iter_rows():
    rows += 1
    cells += len(row)
print(rows, cells, time.perf_counter() - t)
"""

OPENPYXL_SCRIPT = """
import sys, openpyxl
openpyxl.load_workbook(sys.argv[1]).save(sys.argv[2])
"""


@dataclass
class Run:
    seconds: float
    rss_mb: float
    code: int
    stdout: str
    stderr: str
    user: float = 0.0  # CPU seconds in user mode
    system: float = 0.0  # CPU seconds in the kernel (file creation shows up here)
    pss_mb: float = 0.0  # peak summed PSS of the process and its children, when sampled


@dataclass
class Series:
    key: str
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def rss_max(self) -> float:
        return max(r.rss_mb for r in self.runs)


def spawn(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, *, sample_pss: bool = False) -> Run:
    """Run ``argv`` to completion; wall time from spawn to exit and the child's own peak RSS.

    ``ru_maxrss`` is the larger of the child's peak and that of any process it
    waited for (the sync's drafts helper), not their sum.  ``sample_pss``
    also samples, every 20 ms, the summed PSS (proportional set size: shared
    pages counted once) of the child and its children; reading it costs CPU,
    so only an untimed run does it.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        pss = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if sample_pss else 0)
            if pid:
                break
            pss = max(pss, tree_pss_mb(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            usage.ru_maxrss / 1024,  # KiB on Linux
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_utime,
            usage.ru_stime,
            pss,
        )


def tree_pss_mb(pid: int) -> float:
    """Summed PSS of ``pid`` and its direct children, in MB (0 where /proc can't tell)."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for each in (pid, *map(int, children)):
        try:
            for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total / 1024


def workbook(n: int, out_dir: Path) -> Path:
    """The cached N-row workbook, made on first use (same N, seed and generator: same file)."""
    digest = hashlib.sha256((HERE / "make_workbook.py").read_bytes()).hexdigest()[:8]
    path = out_dir / f"pipeline-{n}-seed{SEED}-{digest}.xlsx"
    if not path.exists():
        print(f"making {path.name} ({n:,} rows) …", flush=True)
        start = time.perf_counter()
        tmp = path.with_suffix(".tmp.xlsx")
        # In a child process: XlsxWriter peaks near 200 MB for 100,000 rows, and a
        # child started later from a big parent would report the parent's peak RSS.
        subprocess.run(
            [sys.executable, str(HERE / "make_workbook.py"), str(n), str(tmp), "--seed", str(SEED)], check=True
        )
        tmp.replace(path)
        print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return path


def sheetsync_script() -> Path:
    """The installed console script beside this interpreter (what a user runs)."""
    script = Path(sys.executable).parent / "sheetsync"
    if not script.exists():
        found = shutil.which("sheetsync")
        if found is None:
            sys.exit("the sheetsync console script is not installed — run `pip install -e .` first")
        script = Path(found)
    return script


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.py = sys.executable
        self.script = sheetsync_script()
        work_dir = args.work_dir
        work_dir.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="run-", dir=work_dir))
        # No sheetsync.toml, no templates/ folder, no SHEETSYNC_* settings: the defaults.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETSYNC_")}
        # Byte-code caching on, as after a normal install (this sandbox sets PYTHONDONTWRITEBYTECODE).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.count = 0

    def fresh(self, name: str) -> Path:
        """A new, empty folder for one step.

        Earlier steps' output is kept until the end: ext4 skips recently
        deleted inodes when it allocates new ones, so deleting 5,000 drafts
        right before a sync makes that sync's file creation measurably slower.
        """
        self.count += 1
        path = self.work / f"{self.count:03d}-{name}"
        path.mkdir()
        return path

    def settle(self) -> None:
        """Flush earlier steps' dirty pages so their write-back isn't timed in the next step."""
        os.sync()

    def read(self, big: Path) -> Run:
        self.settle()
        run = spawn([self.py, "-c", READ_SCRIPT, str(big)], self.work, self.env)
        if run.code != 0:
            sys.exit(f"(a) failed:\n{run.stderr}")
        return run

    def sync(
        self, source: Path, rows: int, *, importtime: bool = False, baseline: bool = False, sample_pss: bool = False
    ) -> Run:
        folder = self.fresh("sync")
        copy = folder / "pipeline.xlsx"
        shutil.copyfile(source, copy)
        drafts = folder / "drafts"
        argv = [str(self.script), "sync", str(copy), "--as-of", AS_OF, "--out", str(drafts)]
        if importtime:
            argv = [self.py, "-X", "importtime", *argv]
        env = self.env
        if baseline:  # the same console script, importing the other checkout's sheetsync package
            env = {**self.env, "PYTHONPATH": str(self.args.compare_with)}
        self.settle()
        run = spawn(argv, folder, env, sample_pss=sample_pss)
        self.verify(run, copy, drafts, rows)
        return run

    def verify(self, run: Run, copy: Path, drafts: Path, rows: int) -> None:
        """The sync did the whole job: exit 1 (the generated findings), three tabs, every draft."""
        if run.code != 1:
            sys.exit(f"sync exited {run.code}, expected 1:\n{run.stderr[-2000:]}")
        with zipfile.ZipFile(copy) as zf:
            workbook_xml = zf.read("xl/workbook.xml").decode("utf-8")
        titles = re.findall(r'<sheet [^>]*name="([^"]+)"', workbook_xml)
        missing = {"Pipeline", "Chart", "Summary", "Checks", "History"} - set(titles)
        if missing:
            sys.exit(f"sync left the workbook without {sorted(missing)} (tabs: {titles})")
        emls = sum(1 for name in os.listdir(drafts) if name.endswith(".eml"))
        expected = round(DUE_SHARE * rows)
        if emls != expected or not (drafts / "drafts.csv").exists():
            sys.exit(f"sync wrote {emls} .eml files (expected {expected}) in {drafts}")

    def openpyxl(self, big: Path) -> Run:
        folder = self.fresh("openpyxl")
        self.settle()
        run = spawn([self.py, "-c", OPENPYXL_SCRIPT, str(big), str(folder / "saved.xlsx")], folder, self.env)
        if run.code != 0:
            sys.exit(f"(c) failed:\n{run.stderr[-2000:]}")
        return run


def imported(stderr: str) -> list[str]:
    """Top-level module names from ``-X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name.split(".")[0])
    return sorted(names)


SHM_WORK = Path("/dev/shm/sheetsync-bench")


def default_work_dir(out_dir: Path) -> Path:
    """Memory (tmpfs) when the machine has it, so the disk's state isn't what gets measured.

    (a) reads a workbook the page cache already holds; with the syncs also
    writing to memory, (b)/(a) compares the work of the two programs.  On a
    disk, creating 5,000 draft files costs more, and on ext4 much more for a
    few minutes after many files were deleted (the previous run's clean-up):
    see docs/benchmarks.md, which gives both.  ``--work-dir`` picks the disk.
    """
    shm = SHM_WORK.parent
    if shm.is_dir() and os.access(shm, os.W_OK) and filesystem(shm).startswith("tmpfs "):
        return SHM_WORK
    return out_dir / "work"


def filesystem(path: Path) -> str:
    """The file system type holding ``path`` (from /proc/mounts), e.g. ``ext4 (/)``."""
    best = ("", "unknown")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, kind, *_ = line.split()
            where = str(path.resolve()).rstrip("/") + "/"
            if where.startswith(mount.rstrip("/") + "/") and len(mount) >= len(best[0]):
                best = (mount, kind)
    except OSError:
        pass
    return f"{best[1]} ({best[0] or '?'})"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])  # type: ignore[index]
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, TypeError):
        pass
    versions = {}
    for dist in ("sheetsync", "python-calamine", "openpyxl", "xlsxwriter", "jinja2", "click"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        **versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reference 9 speed benchmark (see the module docstring).")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the big workbook (default 100000)")
    parser.add_argument("--small-rows", type=int, default=500, help="rows of the small workbook (default 500)")
    parser.add_argument("--reps", type=int, default=7, help="repetitions of (a), (b) and (d) (default 7)")
    parser.add_argument("--reps-openpyxl", type=int, default=2, help="repetitions of (c) (default 2: ~35 s each)")
    parser.add_argument("--skip-openpyxl", action="store_true", help="don't run (c)")
    parser.add_argument("--out-dir", type=Path, default=HERE / "out", help="where the workbooks are cached")
    parser.add_argument(
        "--work-dir",
        type=Path,
        help=(
            f"where the syncs run and write (default: {SHM_WORK} when /dev/shm is a tmpfs, else OUT_DIR/work); "
            "see docs/benchmarks.md"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="leave the outputs in place (they are deleted by default)")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="DIR",
        help="also time (b) and (d) with the sheetsync package found in DIR (e.g. an older checkout), interleaved",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.small_rows < 1 or args.reps < 1:
        parser.error("--rows, --small-rows and --reps must be at least 1")
    reps_openpyxl = 0 if args.skip_openpyxl else max(0, min(args.reps_openpyxl, args.reps))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    args.work_dir = (args.work_dir or default_work_dir(args.out_dir)).absolute()  # the syncs run in their own folders
    big = workbook(args.rows, args.out_dir)
    small = workbook(args.small_rows, args.out_dir)
    bench = Bench(args)
    try:
        print("warm-up: one untimed sync of each workbook under -X importtime …", flush=True)
        warm_big = bench.sync(big, args.rows, importtime=True)
        pss = bench.sync(big, args.rows, sample_pss=True).pss_mb  # untimed too: sampling costs CPU
        warm_small = bench.sync(small, args.small_rows, importtime=True)
        if args.compare_with:  # its byte-code gets compiled and cached here, not in a timed run
            bench.sync(small, args.small_rows, baseline=True)
        modules_big = imported(warm_big.stderr)
        google = sorted(set(modules_big) & set(GOOGLE_MODULES) | set(imported(warm_small.stderr)) & set(GOOGLE_MODULES))

        floor = spawn([bench.py, "-c", "pass"], bench.work, bench.env).rss_mb
        series = {
            "a": Series("a", f"(a) read the {args.rows:,}-row Pipeline sheet with python-calamine"),
            "b": Series("b", f"(b) sheetsync sync, {args.rows:,} rows (tabs + drafts)"),
            "c": Series("c", f"(c) openpyxl load_workbook + save, {args.rows:,} rows"),
            "d": Series("d", f"(d) sheetsync sync, {args.small_rows:,} rows"),
        }
        if args.compare_with:
            series["b0"] = Series("b0", f"(b) with {args.compare_with}")
            series["d0"] = Series("d0", f"(d) with {args.compare_with}")
        for rep in range(args.reps):
            steps = (
                ["a", "b", "d"] + (["b0", "d0"] if args.compare_with else []) + (["c"] if rep < reps_openpyxl else [])
            )
            for key in steps:
                if key == "a":
                    run = bench.read(big)
                elif key in ("b", "b0"):
                    run = bench.sync(big, args.rows, baseline=key == "b0")
                elif key in ("d", "d0"):
                    run = bench.sync(small, args.small_rows, baseline=key == "d0")
                else:
                    run = bench.openpyxl(big)
                series[key].runs.append(run)
            shown = "  ".join(f"{k} {series[k].runs[-1].seconds:6.2f} s" for k in steps)
            print(f"rep {rep + 1}/{args.reps}: {shown}", flush=True)
    finally:
        if args.keep:
            print(f"outputs kept in {bench.work}")
        else:
            shutil.rmtree(bench.work, ignore_errors=True)

    args.work_fs = filesystem(bench.work.parent)
    report = summarize(args, series, reps_openpyxl, google, modules_big, floor, pss)
    print()
    print(report["text"])
    if args.json:
        args.json.write_text(json.dumps(report["json"], indent=2) + "\n", encoding="utf-8")
    return 1 if args.strict and not report["json"]["all_pass"] else 0


def summarize(
    args: argparse.Namespace,
    series: dict[str, Series],
    reps_openpyxl: int,
    google: list[str],
    modules: list[str],
    floor: float,
    pss: float,
) -> dict:  # type: ignore[type-arg]
    a, b, c, d = (series[k] for k in "abcd")
    inner = [float(r.stdout.split()[2]) for r in a.runs]
    cells = int(a.runs[0].stdout.split()[1])
    lines = [
        f"sheetsync benchmark: {args.rows:,}-row workbook ({cells:,} cells read by (a)), "
        f"{args.small_rows:,}-row workbook, as of {AS_OF}",
        "",
        "| measurement | reps | median s | min s | max s | user s | sys s | peak RSS MB (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in (a, b, c, d, *(series[k] for k in ("b0", "d0") if k in series)):
        if not s.runs:
            lines.append(f"| {s.label} | 0 | skipped | | | | | |")
            continue
        secs = [r.seconds for r in s.runs]
        lines.append(
            f"| {s.label} | {len(secs)} | {statistics.median(secs):.2f} | {min(secs):.2f} | {max(secs):.2f} "
            f"| {statistics.median(r.user for r in s.runs):.2f} | {statistics.median(r.system for r in s.runs):.2f} "
            f"| {s.rss_max:.0f} |"
        )
    lines.append("")
    lines.append(f"(a) inside its process, without interpreter start-up: median {statistics.median(inner):.2f} s")
    lines.append(f"peak RSS of a bare `python -c pass` started the same way: {floor:.0f} MB")
    pairs = [f"{rb.seconds / ra.seconds:.2f}" for ra, rb in zip(a.runs, b.runs, strict=True)]
    lines.append(f"(b)/(a) of each repetition (run seconds apart): {', '.join(pairs)}")
    # (a) is the same fixed work every time: its spread is how much the machine's load moved.
    spread = max(r.seconds for r in a.runs) / min(r.seconds for r in a.runs)
    lines.append(
        f"machine noise: (a), the same work each time, took {min(r.seconds for r in a.runs):.2f}-"
        f"{max(r.seconds for r in a.runs):.2f} s (x{spread:.2f})"
        + ("; a noisy run: see Noise in docs/benchmarks.md" if spread > NOISY else "")
    )
    if "b0" in series:
        b0, d0 = series["b0"], series["d0"]
        lines.append(
            f"with {args.compare_with}: (b) {b0.median:.2f} s (this checkout {b.median / b0.median:.2f}x of that), "
            f"(b)/(a) {b0.median / a.median:.2f}, peak RSS {b0.rss_max:.0f} MB; (d) {d0.median:.2f} s"
        )
    checks: list[tuple[str, str, bool | None]] = []
    read_ratio = b.median / a.median
    checks.append((f"(b)/(a) = {read_ratio:.2f}", f"<= {TARGET_READ_RATIO:g}", read_ratio <= TARGET_READ_RATIO))
    if c.runs:
        op_ratio = c.median / b.median
        checks.append((f"(c)/(b) = {op_ratio:.1f}", f">= {TARGET_OPENPYXL_RATIO:g}", op_ratio >= TARGET_OPENPYXL_RATIO))
    else:
        checks.append(("(c)/(b) = not measured", f">= {TARGET_OPENPYXL_RATIO:g}", None))
    checks.append((f"peak RSS of (b) = {b.rss_max:.0f} MB", f"< {TARGET_RSS_MB:g} MB", b.rss_max < TARGET_RSS_MB))
    checks.append(
        (f"peak PSS of (b) with its drafts helper = {pss:.0f} MB", f"< {TARGET_RSS_MB:g} MB", pss < TARGET_RSS_MB)
    )
    checks.append((f"(d) = {d.median:.2f} s", f"< {TARGET_SMALL_S:g} s", d.median < TARGET_SMALL_S))
    checks.append(
        (
            f"Google modules imported by an Excel sync: {', '.join(google) or 'none'}",
            "none",
            not google,
        )
    )
    lines += ["", "| target | wanted | result |", "|---|---|---|"]
    for what, wanted, ok in checks:
        lines.append(f"| {what} | {wanted} | {'PASS' if ok else 'FAIL' if ok is False else 'n/a'} |")
    if args.rows != 100_000:
        lines.append("")
        lines.append(f"(reference 9's targets are for 100,000 rows; this run used {args.rows:,}.)")
    if reps_openpyxl and reps_openpyxl < args.reps:
        lines.append(f"(c) ran {reps_openpyxl} time(s), the others {args.reps} times each.")
    info = machine()
    info["work dir"] = f"{args.work_dir} on {args.work_fs}"
    lines += ["", "machine: " + ", ".join(f"{k} {v}" for k, v in info.items())]
    all_pass = all(ok is not False for _w, _t, ok in checks)
    return {
        "text": "\n".join(lines),
        "json": {
            "rows": args.rows,
            "small_rows": args.small_rows,
            "machine": info,
            "series": {
                k: {
                    "label": s.label,
                    "seconds": [r.seconds for r in s.runs],
                    "user": [r.user for r in s.runs],
                    "system": [r.system for r in s.runs],
                    "rss_mb": [r.rss_mb for r in s.runs],
                }
                for k, s in series.items()
            },
            "read_inner_seconds": inner,
            "bare_python_rss_mb": floor,
            "sync_pss_mb": pss,
            "checks": [{"what": w, "wanted": t, "pass": ok} for w, t, ok in checks],
            "modules_imported_by_sync": modules,
            "all_pass": all_pass,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
