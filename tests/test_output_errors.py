"""Output to a full disk or a closed pipe (reference 9, issue 11): one line on stderr and exit 2, never a traceback.

Real processes (the console script) with stdout on ``/dev/full`` (every write
fails with ENOSPC) or on a pipe whose reading end is already closed (EPIPE,
what ``| head -1`` gives once head has gone), for every command, with and
without ``--json``; and stderr on ``/dev/full``, where the message itself
can't be printed and the exit code is all that is left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import AS_OF, SAMPLE
from test_sync import SHEETSYNC, subprocess_env

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")

COMMANDS = {
    "validate": ["validate", "pipeline.xlsx", "--as-of", AS_OF],
    "validate --json": ["validate", "pipeline.xlsx", "--as-of", AS_OF, "--json"],
    "summary": ["summary", "pipeline.xlsx", "--as-of", AS_OF, "--dry-run"],
    "summary --json": ["summary", "pipeline.xlsx", "--as-of", AS_OF, "--json"],
    "drafts": ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--dry-run"],
    "drafts --json": ["drafts", "pipeline.xlsx", "--as-of", AS_OF, "--json"],
    "sync --verbose": ["sync", "pipeline.xlsx", "--as-of", AS_OF, "--verbose", "--dry-run"],
    "sync --json": ["sync", "pipeline.xlsx", "--as-of", AS_OF, "--json"],
    "init": ["init", "new-project"],
    "--help": ["--help"],
    "--version": ["--version"],
}
FULL = "Error: can't write stdout: No space left on device — free some disk space, or send the output elsewhere\n"
CLOSED = "Error: stdout was closed before sheetsync finished writing (the program reading it stopped)\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copyfile(SAMPLE, tmp_path / "pipeline.xlsx")
    return tmp_path


def run(folder: Path, argv: list[str], **streams: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHEETSYNC, *argv],
        cwd=folder,
        env=subprocess_env(),
        text=True,
        timeout=60,
        **streams,  # type: ignore[call-overload]
    )


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_stdout_on_a_full_disk(folder: Path, argv: list[str]) -> None:
    """ENOSPC on stdout: exit 2 and one line naming the cause, for every command."""
    with open("/dev/full", "w") as full:
        done = run(folder, argv, stdout=full, stderr=subprocess.PIPE)
    assert (done.returncode, done.stderr) == (2, FULL)


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_stdout_on_a_closed_pipe(folder: Path, argv: list[str]) -> None:
    """EPIPE on stdout (the reader has gone): exit 2 and one line, not click's silent exit 1 or a traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = run(folder, argv, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (2, CLOSED)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["validate", "missing.xlsx"], 2),  # the error itself can't be printed: its exit code stays
        (["sync", "pipeline.xlsx", "--as-of", AS_OF], 2),  # cron mode's warnings go to stderr, which is full
        (["validate", "pipeline.xlsx", "--as-of", AS_OF], 1),  # nothing for stderr: the run's own code
    ],
    ids=["error", "warnings", "quiet"],
)
def test_stderr_on_a_full_disk(folder: Path, argv: list[str], code: int) -> None:
    """Where not even the message can be written, the exit code still tells, and nothing hangs or crashes."""
    with open("/dev/full", "w") as full:
        done = run(folder, argv, stdout=subprocess.PIPE, stderr=full)
    assert done.returncode == code
