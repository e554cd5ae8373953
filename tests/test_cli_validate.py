"""`sheetsync validate` end to end (reference 2, 3, 5, 6.4, 9 "Bad input"): exit codes, output, config, bad files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from click.testing import Result
from conftest import REALWORLD

from sheetsync import __version__
from sheetsync.cli import cli

AS_OF = "2026-11-27"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_workbooks" / "pipeline.xlsx"
REAL_ENCRYPTED = REALWORLD / "encryptAES.xlsx"
FINDING_KEYS = {"rule", "severity", "row", "cell", "prospect", "message"}

# conftest HEADERS: Prospect A, Contact B, Email C, Owner D, Stage E, Decision Maker F, Budget G,
# Expected Close H, Last Contact I, Next Follow-up J, Appointment K, Closed On L, Created M
CLEAN = ["Acme", "Ann", "ann@acme.example", "Somchai", "Proposal", "yes", 100_000,
         dt.date(2026, 12, 20), dt.date(2026, 11, 25), dt.date(2026, 12, 1)]  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in an empty folder with no SHEETSYNC_CONFIG, so no stray config is picked up."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)


def clean(**changes: Any) -> list[Any]:
    """The clean row with some cells changed (by conftest HEADERS index name)."""
    from conftest import HEADERS

    row = list(CLEAN) + [None] * (len(HEADERS) - len(CLEAN))
    for header, value in changes.items():
        row[HEADERS.index(header.replace("_", " ").replace("Next Follow up", "Next Follow-up"))] = value
    return row


def findings(result: Result) -> list[dict[str, Any]]:
    data = json.loads(result.stdout)
    return list(data["findings"])


def validate_json(run_cli: Callable[..., Result], path: Path, *extra: str) -> Result:
    return run_cli("validate", str(path), "--as-of", AS_OF, "--json", *extra)


# ---------------------------------------------------------------- exit codes


def test_clean_workbook_exits_0(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """A workbook where every row passes: exit 0, a short report, nothing on stderr."""
    path = make_workbook([clean(), clean(Prospect="Beta", Email="b@beta.example")])
    result = run_cli("validate", str(path), "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "2 rows" in result.stdout and "0 errors" in result.stdout
    assert "Every row passes" in result.stdout
    assert result.stderr == ""


def test_error_finding_exits_1(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """One error finding (budget TBD): exit 1."""
    path = make_workbook([clean(Budget="TBD")])
    result = run_cli("validate", str(path), "--as-of", AS_OF)
    assert result.exit_code == 1
    assert "Pipeline!G2" in result.stdout and "TBD" in result.stdout


@pytest.mark.parametrize(("strict", "code"), [((), 0), (("--strict",), 1)])
def test_warnings_only_exit_0_unless_strict(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result], strict: tuple[str, ...], code: int
) -> None:
    """Only warnings (a passed close date): exit 0, or 1 with --strict."""
    path = make_workbook([clean(Expected_Close=dt.date(2026, 11, 1))])
    result = run_cli("validate", str(path), "--as-of", AS_OF, *strict)
    assert result.exit_code == code
    assert "close-date-passed" in result.stdout and "warning" in result.stdout


def test_strict_with_no_findings_exits_0(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """--strict on a clean workbook still exits 0."""
    result = run_cli("validate", str(make_workbook([clean()])), "--as-of", AS_OF, "--strict")
    assert result.exit_code == 0


def test_as_of_decides_the_findings(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """--as-of fixes today: the same sheet has a passed close date later, not earlier."""
    path = make_workbook([clean()])
    assert run_cli("validate", str(path), "--as-of", "2026-12-01", "--strict").exit_code == 0
    assert run_cli("validate", str(path), "--as-of", "2027-01-15", "--strict").exit_code == 1


@pytest.mark.parametrize("value", ["27/11/2026", "tomorrow", "2026-13-01"])
def test_bad_as_of_is_a_usage_error(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result], value: str
) -> None:
    """An --as-of that isn't YYYY-MM-DD is a usage error: exit 2 naming the option."""
    result = run_cli("validate", str(make_workbook([clean()])), "--as-of", value)
    assert result.exit_code == 2
    assert "--as-of" in result.stderr and "Traceback" not in result.stderr


def test_validate_never_changes_the_workbook(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """validate only reads: the workbook's bytes and its folder are unchanged, with findings or without."""
    path = make_workbook([clean(Budget="TBD", Stage="Negociation")])
    before = path.read_bytes()
    listing = sorted(p.name for p in path.parent.iterdir())
    result = run_cli("validate", str(path), "--as-of", AS_OF)
    assert result.exit_code == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == listing


# ---------------------------------------------------------------- --json


def test_json_shape(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """--json prints {as_of, rows, findings} and nothing else on stdout; each finding has the reference 5 keys."""
    path = make_workbook(
        [clean(Budget="TBD"), clean(Prospect="Beta", Stage="Won", Email="b@beta.example"), [None] * 5, clean()]
    )
    result = validate_json(run_cli, path)
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # stdout is exactly one JSON document
    assert {"as_of", "rows", "findings"} <= set(data)
    assert data["as_of"] == AS_OF
    assert data["rows"] == 3  # the blank row is not a row
    assert data["findings"], data
    for finding in data["findings"]:
        assert set(finding) >= FINDING_KEYS
        assert finding["severity"] in ("error", "warning")
        assert isinstance(finding["row"], int)
        assert finding["cell"].startswith("Pipeline!")
        assert isinstance(finding["message"], str) and finding["message"]
    got = [(f["rule"], f["severity"], f["row"], f["cell"], f["prospect"]) for f in data["findings"]]
    assert got == [
        ("bad-value", "error", 2, "Pipeline!G2", "Acme"),
        ("closed-date", "error", 3, "Pipeline!L3", "Beta"),
        ("duplicate", "warning", 5, "Pipeline!A5", "Acme"),
    ]
    assert "row 2" in data["findings"][2]["message"]


def test_json_clean_has_empty_findings(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """A clean sheet in JSON: findings is an empty list, exit 0."""
    result = validate_json(run_cli, make_workbook([clean()]))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"] == []


def test_json_keeps_thai_text_readable(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """Thai prospect names come out in JSON as text (UTF-8), intact."""
    name = "บริษัท ภูเก็ต รีสอร์ท จำกัด"
    result = validate_json(run_cli, make_workbook([clean(Prospect=name, Budget=None)]))
    assert [f["prospect"] for f in findings(result)] == [name]


# ---------------------------------------------------------------- human report


def test_human_report_counts_per_rule_then_findings_by_row(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """The terminal report lists counts per rule, then each finding by row with its cell name."""
    path = make_workbook(
        [
            clean(Budget="TBD"),
            clean(Prospect="Beta", Email="b@x.example", Decision_Maker="no"),
            clean(Prospect="Gamma", Email="g@x.example", Expected_Close=dt.date(2026, 11, 1)),
            clean(Prospect="Delta", Email="d@x.example", Decision_Maker=None),
        ]
    )
    out = run_cli("validate", str(path), "--as-of", AS_OF).stdout
    assert "4 rows" in out and "3 errors" in out and "1 warning" in out
    by_rule = out.index("By rule:")
    by_row = out.index("Findings by row:")
    assert by_rule < by_row
    counts = out[by_rule:by_row]
    assert any(line.split()[:2] == ["2", "decision-maker"] for line in counts.splitlines())
    assert any(line.split()[:2] == ["1", "bad-value"] for line in counts.splitlines())
    assert any(line.split()[:2] == ["1", "close-date-passed"] for line in counts.splitlines())
    cells = [line.split()[0] for line in out[by_row:].splitlines()[1:] if line.strip()]
    assert cells == ["Pipeline!G2", "Pipeline!F3", "Pipeline!H4", "Pipeline!F5"]


def test_sample_workbook_findings(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """The shipped sample has exactly its documented deliberate violations (make_sample.py), exit 1."""
    path = tmp_path / "pipeline.xlsx"
    shutil.copy(SAMPLE, path)
    result = validate_json(run_cli, path)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["rows"] == 40
    assert [(f["row"], f["rule"], f["severity"]) for f in data["findings"]] == [
        (8, "stale", "warning"),
        (11, "decision-maker", "error"),
        (13, "budget-known", "error"),
        (14, "timeline-known", "error"),
        (15, "unknown-stage", "error"),
        (16, "bad-value", "error"),
        (17, "closed-date", "error"),
        (18, "close-date-passed", "warning"),
        (28, "duplicate", "warning"),
    ]
    assert "'Negotiation'" in data["findings"][4]["message"]


# ---------------------------------------------------------------- help and version


@pytest.mark.parametrize("command", [[], ["validate"], ["summary"], ["drafts"], ["sync"], ["init"]])
def test_every_help_has_an_example(run_cli: Callable[..., Result], command: list[str]) -> None:
    """`--help` of the tool and of every command shows an Example."""
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout


def test_every_command_is_covered_by_the_help_test() -> None:
    """The help test above lists every command the CLI has."""
    assert set(cli.commands) == {"validate", "summary", "drafts", "sync", "init"}


def test_version(run_cli: Callable[..., Result]) -> None:
    """`--version` prints the program name and version."""
    result = run_cli("--version")
    assert result.exit_code == 0
    assert "sheetsync" in result.stdout and __version__ in result.stdout


# ---------------------------------------------------------------- configuration


def test_no_config_uses_defaults(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """With no sheetsync.toml anywhere the default headers and rules apply."""
    result = validate_json(run_cli, make_workbook([clean(Decision_Maker=None)]))
    assert [f["rule"] for f in findings(result)] == ["decision-maker"]


def test_config_in_working_folder_is_used(
    tmp_path: Path, make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """./sheetsync.toml is read when present (here it turns decision-maker off)."""
    (tmp_path / "sheetsync.toml").write_text('[rules]\ndecision-maker = "off"\n')
    result = validate_json(run_cli, make_workbook([clean(Decision_Maker=None)]))
    assert result.exit_code == 0 and findings(result) == []


def test_sheetsync_config_env(
    tmp_path: Path, make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """$SHEETSYNC_CONFIG names the config file; --config wins over it."""
    env_cfg = tmp_path / "env.toml"
    env_cfg.write_text('[rules]\ndecision-maker = "warning"\n')
    flag_cfg = tmp_path / "flag.toml"
    flag_cfg.write_text('[rules]\ndecision-maker = "off"\n')
    path = make_workbook([clean(Decision_Maker=None)])
    env = {"SHEETSYNC_CONFIG": str(env_cfg)}
    by_env = run_cli("validate", str(path), "--as-of", AS_OF, "--json", env=env)
    assert [f["severity"] for f in findings(by_env)] == ["warning"]
    by_flag = run_cli("--config", str(flag_cfg), "validate", str(path), "--as-of", AS_OF, "--json", env=env)
    assert findings(by_flag) == []


def test_config_source_is_relative_to_config_folder(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """`source` in the config, relative to the config's folder, is used when SOURCE is omitted."""
    from conftest import HEADERS, write_xlsx

    project = tmp_path / "project"
    (project / "books").mkdir(parents=True)
    write_xlsx(project / "books" / "p.xlsx", {"Deals": [HEADERS, clean()]})
    cfg = project / "sheetsync.toml"
    cfg.write_text('source = "books/p.xlsx"\n[tabs]\npipeline = "Deals"\n')
    result = run_cli("--config", str(cfg), "validate", "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 1


def test_columns_config_maps_custom_headers(
    tmp_path: Path, make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """`[columns]` lets a sheet with its own headers validate, and findings name the right cells."""
    (tmp_path / "sheetsync.toml").write_text('[columns]\nprospect = "Client"\nbudget = "Budget (THB)"\n')
    path = make_workbook([["Acme", "Qualified", "TBD"]], headers=["Client", "Stage", "Budget  (THB)"])
    result = validate_json(run_cli, path)
    assert [(f["rule"], f["cell"]) for f in findings(result) if f["rule"] == "bad-value"] == [
        ("bad-value", "Pipeline!C2")
    ]


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[pipline]\ncurrency = "THB"\n', ["'pipline'", "'pipeline'"]),
        ('sorce = "p.xlsx"\n', ["'sorce'", "'source'"]),
        ('[rules]\ndecision_maker = "off"\n', ["'rules.decision_maker'", "'decision-maker'"]),
        ('[pipeline]\nperiod = "week"\n', ["pipeline.period", "week"]),
        ('[quota]\namount = "3M"\n', ["quota.amount"]),
        ("[pipeline]\nfiscal_year_start_month = 0\n", ["pipeline.fiscal_year_start_month"]),
        ('[pipeline]\ncurrency = "THB\n', ["not valid TOML"]),
    ],
)
def test_config_errors_exit_2_naming_the_key(
    tmp_path: Path,
    make_workbook: Callable[..., Path],
    run_cli: Callable[..., Result],
    toml: str,
    words: list[str],
) -> None:
    """A bad sheetsync.toml: exit 2, `Error:` on stderr naming the key (and the closest key), the file untouched."""
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text(toml)
    path = make_workbook([clean()])
    before = path.read_bytes()
    result = run_cli("validate", str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    for word in words:
        assert word in result.stderr
    assert "sheetsync.toml" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert path.read_bytes() == before


def test_missing_config_flag_file(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """--config pointing at nothing: exit 2 naming that path."""
    result = run_cli("--config", "nope.toml", "validate", str(make_workbook([clean()])))
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr and result.stderr.startswith("Error: ")


def test_custom_stage_list_without_appointment_does_not_crash(
    tmp_path: Path, make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """A [[stages]] list with no 'Appointment' stage gives a config error naming the option, or a normal run."""
    (tmp_path / "sheetsync.toml").write_text(
        '[[stages]]\nname = "Open"\nprobability = 50\ngroup = "early"\n[[stages]]\nname = "Won"\ngroup = "won"\n'
    )
    result = run_cli("validate", str(make_workbook([clean(Stage="Open")])), "--as-of", AS_OF)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert "decision_maker_from_stage" in result.stderr or "qualified_from_stage" in result.stderr
    else:
        assert result.exit_code in (0, 1)


def test_no_source_anywhere(run_cli: Callable[..., Result]) -> None:
    """No SOURCE and no `source` in a config: exit 2 saying how to give one."""
    result = run_cli("validate", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "source" in result.stderr


def test_pipeline_tab_matches_case_insensitively(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A tab named `pipeline` is the Pipeline tab."""
    from conftest import HEADERS, write_xlsx

    path = write_xlsx(tmp_path / "p.xlsx", {"Other": [["x"]], "pipeline": [HEADERS, clean()]})
    result = validate_json(run_cli, path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 1


# ---------------------------------------------------------------- bad input files (reference 9)


def _xlsx_bytes(tmp_path: Path) -> bytes:
    from conftest import HEADERS, write_xlsx

    return write_xlsx(tmp_path / "real.xlsx", {"Pipeline": [HEADERS, clean()]}).read_bytes()


def _fake_encrypted() -> bytes:
    """The start of an OLE compound file, which is how Excel stores a password-protected .xlsx."""
    header = bytearray(512)
    header[:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    header[0x18:0x1C] = bytes.fromhex("3E000300")  # minor/major version
    header[0x1C:0x1E] = bytes.fromhex("FEFF")  # byte order
    body = "EncryptionInfo EncryptedPackage".encode("utf-16-le")
    return bytes(header) + body + b"\0" * (1024 - len(body))


def _workbook(tmp_path: Path, name: str, sheets: dict[str, list[list[Any]]]) -> bytes:
    from conftest import write_xlsx

    return write_xlsx(tmp_path / name, sheets).read_bytes()


def _bad_input(kind: str, tmp_path: Path) -> tuple[str, bytes | None, list[str]]:
    """(file name, content or None for no file, words the error must contain)."""
    from conftest import HEADERS

    if kind == "text-named-xlsx":
        return "pipeline.xlsx", b"This is not a workbook.\n", ["pipeline.xlsx", "not a .xlsx workbook"]
    if kind == "csv-named-xlsx":
        return "pipeline.xlsx", b"Prospect,Stage\nAcme,Lead\n", ["pipeline.xlsx", "not a .xlsx workbook"]
    if kind == "csv-file":
        return "pipeline.csv", b"Prospect,Stage\nAcme,Lead\n", ["pipeline.csv", ".csv"]
    if kind == "truncated":
        data = _xlsx_bytes(tmp_path)
        return "pipeline.xlsx", data[: len(data) // 2], ["pipeline.xlsx", "truncated"]
    if kind == "encrypted":
        return "pipeline.xlsx", _fake_encrypted(), ["pipeline.xlsx", "password"]
    if kind == "empty-file":
        return "pipeline.xlsx", b"", ["pipeline.xlsx"]
    if kind == "no-pipeline-tab":
        data = _workbook(tmp_path, "x.xlsx", {"Deals": [HEADERS], "Quotas": [["Owner", "Quota"]]})
        return "pipeline.xlsx", data, ["pipeline.xlsx", "'Pipeline'", "Deals", "Quotas"]
    if kind == "empty-pipeline-tab":
        data = _workbook(tmp_path, "x.xlsx", {"Pipeline": []})
        return "pipeline.xlsx", data, ["Pipeline", "empty"]
    if kind == "missing-prospect":
        data = _workbook(tmp_path, "x.xlsx", {"Pipeline": [["Kunde", "Stage", "Budget"], ["Acme", "Lead", 5]]})
        return "pipeline.xlsx", data, ["Pipeline", "'Prospect'", "'Kunde'", "'Stage'", "'Budget'"]
    if kind == "missing-stage":
        data = _workbook(tmp_path, "x.xlsx", {"Pipeline": [["Prospect", "Etappe", "Budget"], ["Acme", "Lead", 5]]})
        return "pipeline.xlsx", data, ["Pipeline", "'Stage'", "'Prospect'", "'Etappe'"]
    if kind == "duplicate-header":
        data = _workbook(tmp_path, "x.xlsx", {"Pipeline": [["Prospect", "Stage", "Budget", "budget"]]})
        return "pipeline.xlsx", data, ["Pipeline!C1", "Pipeline!D1", "budget"]
    raise AssertionError(kind)


BAD_INPUTS = [
    "text-named-xlsx",
    "csv-named-xlsx",
    "csv-file",
    "truncated",
    "encrypted",
    "empty-file",
    "no-pipeline-tab",
    "empty-pipeline-tab",
    "missing-prospect",
    "missing-stage",
    "duplicate-header",
]


def _assert_clean_exit_2(result: Result, words: list[str]) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ")
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") <= 2  # one clear message, not a dump


@pytest.mark.parametrize("command", ["validate", "sync"])
@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_file(tmp_path: Path, run_cli: Callable[..., Result], kind: str, command: str) -> None:
    """Every malformed source: exit 2, one `Error:` naming the file/tab/header, no traceback, nothing changed."""
    name, content, words = _bad_input(kind, tmp_path)
    folder = tmp_path / "book"
    folder.mkdir()
    path = folder / name
    assert content is not None
    path.write_bytes(content)
    out = tmp_path / "drafts"
    result = _run_on(run_cli, command, path, out)
    _assert_clean_exit_2(result, words)
    assert result.stdout == ""
    assert path.read_bytes() == content
    assert [p.name for p in folder.iterdir()] == [name]
    assert not out.exists()


def _run_on(run_cli: Callable[..., Result], command: str, source: Path, out: Path) -> Result:
    """Run validate, or sync with its drafts folder in `out` (so nothing lands in the working folder)."""
    extra = ["--out", str(out)] if command == "sync" else []
    return run_cli(command, str(source), "--as-of", AS_OF, *extra)


@pytest.mark.parametrize("command", ["validate", "sync"])
def test_source_is_a_folder(tmp_path: Path, run_cli: Callable[..., Result], command: str) -> None:
    """A folder as SOURCE: exit 2 naming it, the folder left as it was."""
    folder = tmp_path / "pipeline.xlsx"
    folder.mkdir()
    result = _run_on(run_cli, command, folder, tmp_path / "drafts")
    _assert_clean_exit_2(result, [str(folder), "folder"])
    assert list(folder.iterdir()) == []
    assert not (tmp_path / "drafts").exists()


@pytest.mark.parametrize("command", ["validate", "sync"])
def test_source_is_missing(tmp_path: Path, run_cli: Callable[..., Result], command: str) -> None:
    """A path that doesn't exist: exit 2 naming it, and nothing is created there."""
    path = tmp_path / "nope" / "pipeline.xlsx"
    result = _run_on(run_cli, command, path, tmp_path / "drafts")
    _assert_clean_exit_2(result, [str(path), "does not exist"])
    assert not path.parent.exists()
    assert not (tmp_path / "drafts").exists()


def test_real_encrypted_workbook(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A workbook really encrypted by Excel (AES) is reported as password-protected, untouched."""
    assert REAL_ENCRYPTED.is_file(), f"{REAL_ENCRYPTED} is missing: the project expects ../shared/realworld beside it"
    path = tmp_path / "locked.xlsx"
    shutil.copy(REAL_ENCRYPTED, path)
    before = path.read_bytes()
    result = run_cli("validate", str(path), "--as-of", AS_OF)
    _assert_clean_exit_2(result, ["locked.xlsx", "password"])
    assert path.read_bytes() == before


# ---------------------------------------------------------------- wrong values inside cells


def test_excel_errors_and_text_in_number_columns_are_findings(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """#N/A, #REF!, text in number/date columns: bad-value findings on their cells, exit 1, no crash."""
    path = make_workbook(
        [
            clean(Budget="#N/A"),
            clean(Prospect="Beta", Email="b@x.example", Expected_Close="#REF!"),
            clean(Prospect="Gamma", Email="g@x.example", Budget="about 50k"),
            clean(Prospect="Delta", Email="d@x.example", Decision_Maker="#DIV/0!", Next_Follow_up="next week"),
        ]
    )
    result = validate_json(run_cli, path)
    assert result.exit_code == 1
    got = [(f["rule"], f["cell"]) for f in findings(result)]
    assert got == [
        ("bad-value", "Pipeline!G2"),
        ("bad-value", "Pipeline!H3"),
        ("bad-value", "Pipeline!G4"),
        ("bad-value", "Pipeline!F5"),
        ("bad-value", "Pipeline!J5"),
    ]
    messages = [f["message"] for f in findings(result)]
    assert "#N/A" in messages[0] and "#REF!" in messages[1] and "about 50k" in messages[2]


def test_formula_without_cached_value_is_a_finding(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """Formula cells saved with no result (openpyxl): bad-value findings saying to save in Excel, exit 1."""
    path = make_workbook([clean(Budget="=50000*2", Expected_Close="=TODAY()+30")])
    result = validate_json(run_cli, path)
    assert result.exit_code == 1
    got = findings(result)
    assert [(f["rule"], f["cell"]) for f in got] == [("bad-value", "Pipeline!G2"), ("bad-value", "Pipeline!H2")]
    assert all("formula" in f["message"] for f in got)


def test_huge_cell_and_control_characters_are_findings(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A 40,000-character cell and control characters are bad-value findings, exit 1, no crash."""
    path = tmp_path / "odd.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Stage", "Contact", "Notes"])
    ws.write_row(1, 0, ["Acme", "Lead", "HUGE", "fine"])
    ws.write_row(2, 0, ["Beta\x01", "Lead", "Ann", "bell\x07"])
    wb.close()
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == "xl/sharedStrings.xml":
                data = data.replace(b"<t>HUGE</t>", b"<t>" + b"h" * 40_000 + b"</t>")
            zout.writestr(info, data)
    result = validate_json(run_cli, path)
    assert result.exit_code == 1
    got = [(f["rule"], f["cell"]) for f in findings(result)]
    assert ("bad-value", "Pipeline!C2") in got
    assert ("bad-value", "Pipeline!A3") in got and ("bad-value", "Pipeline!D3") in got
    assert "40,000" in next(f["message"] for f in findings(result) if f["cell"] == "Pipeline!C2")


def test_merged_and_blank_rows_validate(make_workbook: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    """A merged Owner cell and blank rows in the middle: blanks aren't rows, findings keep the sheet's rows."""
    rows = [clean(), clean(Prospect="Beta", Email="b@x.example", Owner=None, Budget="TBD"), [None] * 3, clean()]
    path = make_workbook(rows, merges=["D2:D3"])
    result = validate_json(run_cli, path)
    data = json.loads(result.stdout)
    assert data["rows"] == 3
    assert [(f["rule"], f["row"], f["cell"]) for f in data["findings"]] == [
        ("bad-value", 3, "Pipeline!G3"),
        ("duplicate", 5, "Pipeline!A5"),
    ]


def test_blank_row_under_a_merged_owner_is_still_blank(
    make_workbook: Callable[..., Path], run_cli: Callable[..., Result]
) -> None:
    """A spacer row whose only content is an Owner cell merged from above is a blank row, not a `required` error."""
    rows = [clean(), [None] * 3, clean(Prospect="Beta", Email="b@x.example", Owner=None)]
    path = make_workbook(rows, merges=["D2:D4"])
    result = validate_json(run_cli, path)
    data = json.loads(result.stdout)
    assert (data["rows"], data["findings"]) == (2, [])


def test_header_below_blank_rows_keeps_sheet_row_numbers(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    """A pipeline whose header sits on row 3 (blank rows above) reports findings on the sheet's own rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pipeline"
    ws["A3"], ws["B3"], ws["C3"] = "Prospect", "Stage", "Budget"
    ws["A4"], ws["B4"], ws["C4"] = "Acme", "Lead", "TBD"
    wb.save(tmp_path / "low.xlsx")
    result = validate_json(run_cli, tmp_path / "low.xlsx")
    assert [(f["rule"], f["row"], f["cell"]) for f in findings(result) if f["row"] is not None] == [
        ("bad-value", 4, "Pipeline!C4"),
    ]
