"""Shared fixtures: real workbooks written to tmp_path, the real CLI through CliRunner, the fake Google API."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import fake_gmail
import pytest
from click.testing import CliRunner, Result
from fake_gmail import FakeGmail
from fake_sheets import FakeSheets, ServiceAccount, make_service_account, use_fake

from sheetsync.cli import cli

AS_OF = "2026-11-27"
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_workbooks" / "pipeline.xlsx"
SA_EMAIL = "sheetsync-bot@sales-ops-123.iam.gserviceaccount.com"
# Real Excel-saved workbooks beside the project (../shared/realworld), never copied into it.
REALWORLD = REPO.parent / "shared" / "realworld"
_BESIDE = Path(sys.executable).with_name("sheetsync")
#: The installed console script, for tests where a real process is the point.
SHEETSYNC = str(_BESIDE) if _BESIDE.exists() else (shutil.which("sheetsync") or "sheetsync")

HEADERS = [
    "Prospect",
    "Contact",
    "Email",
    "Owner",
    "Stage",
    "Decision Maker",
    "Budget",
    "Expected Close",
    "Last Contact",
    "Next Follow-up",
    "Appointment",
    "Closed On",
    "Created",
]


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (Decimal('1') vs Decimal('1.0') differ, so do 0.0 and -0.0)."""
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and (a == b or repr(a) == repr(b)) and repr(a) == repr(b)


def write_xlsx(
    path: Path, sheets: dict[str, Sequence[Sequence[Any]]], merges: dict[str, list[str]] | None = None
) -> Path:
    """A workbook with one tab per entry; dates become real date cells."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, values in enumerate(rows, 1):
            for c, value in enumerate(values, 1):
                if value is None:
                    continue
                cell = ws.cell(r, c, value)
                if isinstance(value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        for rng in (merges or {}).get(title, []):
            ws.merge_cells(rng)
    wb.save(path)
    return path


@pytest.fixture
def make_workbook(tmp_path: Path) -> Callable[..., Path]:
    """Write a pipeline workbook: rows under HEADERS (or your own header row) into tmp_path."""

    def make(
        rows: Sequence[Sequence[Any]],
        headers: Sequence[str] | None = None,
        name: str = "pipeline.xlsx",
        extra: dict[str, Sequence[Sequence[Any]]] | None = None,
        merges: list[str] | None = None,
    ) -> Path:
        sheets: dict[str, Sequence[Sequence[Any]]] = {"Pipeline": [list(headers or HEADERS), *rows]}
        sheets.update(extra or {})
        return write_xlsx(tmp_path / name, sheets, {"Pipeline": merges or []})

    return make


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke the real CLI; stdout and stderr kept apart."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeSheets]:
    """The fake Sheets API and token endpoint, serving over real HTTP for the whole session."""
    with FakeSheets() as server:
        yield server


@pytest.fixture(scope="session")
def account(fake: FakeSheets, tmp_path_factory: pytest.TempPathFactory) -> ServiceAccount:
    return make_service_account(fake, tmp_path_factory.mktemp("sa"), SA_EMAIL)


@pytest.fixture
def sheets(fake: FakeSheets, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSheets:
    """A clean fake, the client pointed at it, retries fast, no stray credentials from this machine."""
    use_fake(fake, monkeypatch, tmp_path)
    return fake


@pytest.fixture(scope="session")
def gmail_server() -> Iterator[FakeGmail]:
    """The fake Gmail API and its token endpoint, over real HTTP for the whole session."""
    with FakeGmail() as server:
        yield server


@pytest.fixture(scope="session")
def gmail_account(gmail_server: FakeGmail, tmp_path_factory: pytest.TempPathFactory) -> ServiceAccount:
    """A service-account key the fake Gmail knows, with the client id domains delegate to."""
    folder = tmp_path_factory.mktemp("gmail-sa")
    return make_service_account(gmail_server, folder, fake_gmail.SA_EMAIL, client_id=fake_gmail.CLIENT_ID)


@pytest.fixture
def gmail_fake(
    gmail_server: FakeGmail, gmail_account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> FakeGmail:
    """A clean fake Gmail (the client pointed at it, retries fast) with the mailboxes of Malee and Niran at
    acme.example, which has delegated gmail.compose to ``gmail_account``."""
    fake_gmail.use_fake(gmail_server, monkeypatch, tmp_path)
    gmail_server.add_mailbox(fake_gmail.MALEE)
    gmail_server.add_mailbox(fake_gmail.NIRAN)
    gmail_server.delegate("acme.example", fake_gmail.CLIENT_ID)
    return gmail_server
