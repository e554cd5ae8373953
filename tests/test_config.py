"""sheetsync.toml → Config (reference 3): defaults, every section, and errors that name the key."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from sheetsync.config import (
    DEFAULT_SEVERITY,
    DEFAULT_STAGES,
    Config,
    find_config,
    load_config,
    parse_config,
)
from sheetsync.errors import ConfigError


def parse(text: str, path: Path = Path("/proj/sheetsync.toml")) -> Config:
    return parse_config(tomllib.loads(text), path)


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.exit_code == 2
    return info.value.message


FULL = """
source = "books/pipeline.xlsx"

[tabs]
pipeline = "Deals"
quotas   = "Targets"
summary  = "Overview"
checks   = "Problems"
history  = "Log"

[pipeline]
currency = "USD"
timezone = "Asia/Bangkok"
period = "month"
fiscal_year_start_month = 4
date_order = "MDY"
buddhist_era = "no"

[columns]
budget = "Budget (THB)"
prospect = "Client"

[quota]
amount = 3000000

[rules]
decision-maker = "warning"
duplicate = "off"
[rules.options]
decision_maker_from_stage = "Demo"
qualified_from_stage = "Appointment"

[diagnosis]
coverage_target = 2.5
closing_rate_floor = 0.1
min_appointments = 8
big_deal_share = 0.5

[drafts]
out = "out/drafts"
format = "mbox"
from = "Somchai <somchai@example.com>"
templates = "my-templates"
reminder_days = 2
post_meeting_days = 5

[google]
credentials = "sa.json"
endpoint = "http://127.0.0.1:8080"
"""


def test_no_config_means_every_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a config file (and no templates/ folder here) every default of the spec applies."""
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config == Config()
    assert config.path is None and config.source is None
    assert (config.tabs.pipeline, config.tabs.quotas, config.tabs.summary) == ("Pipeline", "Quotas", "Summary")
    assert (config.tabs.checks, config.tabs.history) == ("Checks", "History")
    assert (config.currency, config.period, config.fiscal_year_start_month) == ("THB", "quarter", 1)
    assert (config.date_order, config.buddhist_era) == ("DMY", "auto")
    (tmp_path / "templates").mkdir()
    assert load_config(None).drafts.templates == Path("templates")
    assert config.stages == DEFAULT_STAGES
    assert dict(config.severity) == DEFAULT_SEVERITY
    assert (config.decision_maker_from_stage, config.qualified_from_stage) == ("Appointment", "Qualified")
    assert config.quota_amount is None
    assert (config.drafts.format, config.drafts.reminder_days, config.drafts.post_meeting_days) == ("eml", 1, 3)


def test_default_stages_match_the_spec_table() -> None:
    """The default stage list: names, probabilities (as fractions), stale days and groups of reference 4.2."""
    assert [(s.name, s.probability, s.stale_after_days, s.group) for s in DEFAULT_STAGES] == [
        ("Lead", Decimal("0.1"), 14, "early"),
        ("Qualified", Decimal("0.2"), 14, "early"),
        ("Appointment", Decimal("0.4"), 7, "middle"),
        ("Demo", Decimal("0.6"), 10, "middle"),
        ("Proposal", Decimal("0.75"), 10, "late"),
        ("Negotiation", Decimal("0.9"), 7, "late"),
        ("Won", Decimal("1"), None, "won"),
        ("Lost", Decimal("0"), None, "lost"),
        ("On Hold", Decimal("0"), None, "paused"),
    ]


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    """An empty sheetsync.toml is valid and changes nothing but the recorded path."""
    path = tmp_path / "sheetsync.toml"
    path.write_text("")
    config = load_config(path)
    assert config.path == path
    assert config.tabs == Config().tabs and config.stages == DEFAULT_STAGES


def test_every_section_is_read(tmp_path: Path) -> None:
    """Each key of reference 3 lands in the Config; relative paths are relative to the config's folder."""
    path = tmp_path / "sub" / "sheetsync.toml"
    path.parent.mkdir()
    path.write_text(FULL, encoding="utf-8")
    c = load_config(path)
    base = path.parent
    assert c.source == str(base / "books" / "pipeline.xlsx")
    assert (c.tabs.pipeline, c.tabs.quotas, c.tabs.summary, c.tabs.checks, c.tabs.history) == (
        "Deals",
        "Targets",
        "Overview",
        "Problems",
        "Log",
    )
    assert (c.currency, c.timezone, c.period, c.fiscal_year_start_month) == ("USD", "Asia/Bangkok", "month", 4)
    assert (c.date_order, c.buddhist_era) == ("MDY", "no")
    assert dict(c.columns) == {"budget": "Budget (THB)", "prospect": "Client"}
    assert c.quota_amount == Decimal(3_000_000)
    assert c.severity["decision-maker"] == "warning" and c.severity["duplicate"] == "off"
    assert c.severity["stale"] == "warning"  # untouched rules keep their default
    assert (c.decision_maker_from_stage, c.qualified_from_stage) == ("Demo", "Appointment")
    assert (c.diagnosis.coverage_target, c.diagnosis.closing_rate_floor) == (2.5, 0.1)
    assert (c.diagnosis.min_appointments, c.diagnosis.big_deal_share) == (8, 0.5)
    assert c.drafts.out == base / "out" / "drafts"
    assert c.drafts.templates == base / "my-templates" and c.drafts.templates_configured
    assert (c.drafts.format, c.drafts.sender) == ("mbox", "Somchai <somchai@example.com>")
    assert (c.drafts.reminder_days, c.drafts.post_meeting_days) == (2, 5)
    assert c.google.credentials == base / "sa.json"
    assert c.google.endpoint == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    "source",
    ["https://docs.google.com/spreadsheets/d/KEY123/edit#gid=0", "gsheet:KEY123"],
)
def test_google_source_is_not_made_a_path(source: str) -> None:
    """A Sheets URL or gsheet:KEY source is kept as written."""
    assert parse(f'source = "{source}"').source == source


def test_absolute_source_stays_absolute(tmp_path: Path) -> None:
    """An absolute path is not re-rooted at the config folder."""
    target = tmp_path / "p.xlsx"
    assert parse(f"source = '{target}'").source == str(target)


def test_templates_folder_beside_config_is_found(tmp_path: Path) -> None:
    """A templates/ folder beside the config is used without being configured."""
    (tmp_path / "templates").mkdir()
    config = parse("", tmp_path / "sheetsync.toml")
    assert config.drafts.templates == tmp_path / "templates"
    assert not config.drafts.templates_configured


@pytest.mark.parametrize(("value", "expected"), [("true", "yes"), ("false", "no"), ('"auto"', "auto")])
def test_buddhist_era_accepts_booleans(value: str, expected: str) -> None:
    """`buddhist_era = true/false` means yes/no."""
    assert parse(f"[pipeline]\nbuddhist_era = {value}").buddhist_era == expected


def test_custom_stages_replace_the_defaults() -> None:
    """`[[stages]]` replaces the list; percents become fractions; won/lost default to 100/0."""
    config = parse(
        """
        [[stages]]
        name = "New"
        probability = 5
        stale_after_days = 30
        group = "early"
        [[stages]]
        name = "Pitch"
        probability = 50
        group = "middle"
        [[stages]]
        name = "Signed"
        group = "won"
        [[stages]]
        name = "Dropped"
        group = "lost"
        [rules.options]
        decision_maker_from_stage = "Pitch"
        qualified_from_stage = "pitch"
        """
    )
    assert [(s.name, s.probability, s.stale_after_days, s.group) for s in config.stages] == [
        ("New", Decimal("0.05"), 30, "early"),
        ("Pitch", Decimal("0.5"), 14, "middle"),  # an open stage with no stale_after_days: 14 (issue 13)
        ("Signed", Decimal("1"), None, "won"),
        ("Dropped", Decimal("0"), None, "lost"),
    ]
    assert config.stage("SIGNED") is config.stages[2]
    assert config.stage_index("pitch") == 1


def test_custom_stages_without_the_default_option_stages_are_usable_or_refused_by_name() -> None:
    """A [[stages]] list without Appointment/Qualified either fails naming rules.options or checks rows fine."""
    from sheetsync.model.reader import read_rows
    from sheetsync.rules import check

    text = """
    [[stages]]
    name = "New"
    probability = 10
    group = "early"
    [[stages]]
    name = "Signed"
    group = "won"
    """
    try:
        config = parse(text)
    except ConfigError as exc:
        assert "decision_maker_from_stage" in exc.message or "qualified_from_stage" in exc.message
        return
    layout, rows = read_rows("Pipeline", [(1, ["Prospect", "Stage"]), (2, ["Acme", "New"])], config)
    check(rows, layout, config, dt.date(2026, 11, 27))


# ---------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("text", "key", "closest"),
    [
        ('[pipline]\ncurrency = "THB"', "'pipline'", "'pipeline'"),
        ('sorce = "p.xlsx"', "'sorce'", "'source'"),
        ('[tabs]\npipline = "P"', "'tabs.pipline'", "'pipeline'"),
        ('[pipeline]\ncurency = "THB"', "'pipeline.curency'", "'currency'"),
        ('[pipeline]\ndate_ordr = "DMY"', "'pipeline.date_ordr'", "'date_order'"),
        ('[columns]\nbudgt = "Budget (THB)"', "'columns.budgt'", "'budget'"),
        ('[rules]\ndecisionmaker = "off"', "'rules.decisionmaker'", "'decision-maker'"),
        ('[rules.options]\nqualified_from = "Lead"', "'rules.options.qualified_from'", "'qualified_from_stage'"),
        ("[quota]\namout = 5", "'quota.amout'", "'amount'"),
        ("[diagnosis]\ncoverage_targt = 2", "'diagnosis.coverage_targt'", "'coverage_target'"),
        ('[drafts]\nfromm = "a@b.c"', "'drafts.fromm'", "'from'"),
        ('[google]\ncredential = "sa.json"', "'google.credential'", "'credentials'"),
        ('[[stages]]\nname = "A"\nprobabilty = 5\ngroup = "early"', "probabilty", "'probability'"),
    ],
)
def test_unknown_key_names_key_and_closest(text: str, key: str, closest: str) -> None:
    """An unknown key is an error naming the key and the closest known key."""
    message = config_error(text)
    assert key in message
    assert closest in message
    assert "sheetsync.toml" in message


def test_unknown_key_with_nothing_close_lists_known_keys() -> None:
    """With no close match the message lists the known keys of that table."""
    message = config_error('[tabs]\nzzzzzz = "x"')
    assert "'tabs.zzzzzz'" in message and "pipeline" in message and "history" in message


# ---------------------------------------------------------------- wrong values


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("source = 5", "source"),
        ('source = ""', "source"),
        ('tabs = "x"', "tabs"),
        ('[tabs]\nsummary = "a/b"', "tabs.summary"),
        ('[tabs]\nchecks = "' + "x" * 32 + '"', "tabs.checks"),
        ('[tabs]\nsummary = "\'Overview"', "tabs.summary"),
        ('[tabs]\nhistory = "Log\\u0001"', "tabs.history"),
        ('[tabs]\nchecks = "' + "📈" * 16 + '"', "tabs.checks"),
        ("[pipeline]\ncurrency = 5", "pipeline.currency"),
        ('[pipeline]\ntimezone = "Mars/Olympus"', "pipeline.timezone"),
        ('[pipeline]\nperiod = "week"', "pipeline.period"),
        ("[pipeline]\nfiscal_year_start_month = 13", "pipeline.fiscal_year_start_month"),
        ('[pipeline]\nfiscal_year_start_month = "1"', "pipeline.fiscal_year_start_month"),
        ('[pipeline]\ndate_order = "DDMMYY"', "pipeline.date_order"),
        ('[pipeline]\nbuddhist_era = "maybe"', "pipeline.buddhist_era"),
        ("[columns]\nbudget = 5", "columns.budget"),
        ("[quota]\namount = -1", "quota.amount"),
        ('[quota]\namount = "3M"', "quota.amount"),
        ("[quota]\namount = true", "quota.amount"),
        ('[rules]\ndecision-maker = "fatal"', "rules.decision-maker"),
        ("[rules]\nstale = false", "rules.stale"),
        ('[rules.options]\ndecision_maker_from_stage = "Apointment"', "rules.options.decision_maker_from_stage"),
        ("[diagnosis]\nmin_appointments = 2.5", "diagnosis.min_appointments"),
        ("[diagnosis]\ncoverage_target = -1", "diagnosis.coverage_target"),
        ('[diagnosis]\nbig_deal_share = "half"', "diagnosis.big_deal_share"),
        ('[drafts]\nformat = "pdf"', "drafts.format"),
        ("[drafts]\nreminder_days = 400", "drafts.reminder_days"),
        ('[drafts]\nfrom = ""', "drafts.from"),
        ('[google]\nendpoint = "ftp://example.com"', "google.endpoint"),
        ("stages = []", "stages"),
        ('[[stages]]\nname = "Lead"\ngroup = "early"', "stages[1].probability"),
        ('[[stages]]\nname = "Lead"\nprobability = 150\ngroup = "early"', "stages[1].probability"),
        ('[[stages]]\nname = "Lead"\nprobability = 10\ngroup = "beginning"', "stages[1].group"),
        ('[[stages]]\nname = "Lead"\nprobability = 10\ngroup = "early"\nstale_after_days = -1', "stages[1]"),
        ('[[stages]]\nprobability = 10\ngroup = "early"', "stages[1]"),
        (
            '[[stages]]\nname = "Lead"\nprobability = 10\ngroup = "early"\n'
            '[[stages]]\nname = "LEAD"\nprobability = 20\ngroup = "early"',
            "stages[2].name",
        ),
    ],
)
def test_wrong_value_names_the_key(text: str, key: str) -> None:
    """A value of the wrong type or out of range is an error whose message names the key and the file."""
    message = config_error(text)
    assert message.startswith(key) or key in message
    assert "sheetsync.toml" in message


def test_unknown_option_stage_suggests_the_closest() -> None:
    """`decision_maker_from_stage = "Apointment"` suggests Appointment."""
    assert "'Appointment'" in config_error('[rules.options]\ndecision_maker_from_stage = "Apointment"')


# ---------------------------------------------------------------- files


def test_missing_config_file(tmp_path: Path) -> None:
    """A --config that doesn't exist is an error naming the path."""
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_path_is_a_folder(tmp_path: Path) -> None:
    """A folder given as config says so."""
    with pytest.raises(ConfigError, match="folder"):
        load_config(tmp_path)


def test_config_not_utf8(tmp_path: Path) -> None:
    """A config saved in another encoding asks for UTF-8."""
    path = tmp_path / "sheetsync.toml"
    path.write_bytes('[pipeline]\ncurrency = "฿"\n'.encode("cp874"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


def test_config_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file and where the problem is."""
    path = tmp_path / "sheetsync.toml"
    path.write_text('[pipeline]\ncurrency = "THB\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message and "line 2" in info.value.message


def test_find_config_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config wins, then $SHEETSYNC_CONFIG, then ./sheetsync.toml when present, else none."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    assert find_config(None) is None
    (tmp_path / "sheetsync.toml").write_text("")
    assert find_config(None) == Path("sheetsync.toml")
    monkeypatch.setenv("SHEETSYNC_CONFIG", str(tmp_path / "env.toml"))
    assert find_config(None) == tmp_path / "env.toml"
    assert find_config("explicit.toml") == Path("explicit.toml")


def test_find_config_ignores_a_folder_named_sheetsync_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder called sheetsync.toml in the working folder is not a config file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    (tmp_path / "sheetsync.toml").mkdir()
    assert find_config(None) is None


def test_config_is_frozen() -> None:
    """A Config can't be changed after loading."""
    config = Config()
    with pytest.raises(AttributeError):
        config.currency = "USD"  # type: ignore[misc]


def test_tab_name_only_the_writer_refused_stops_the_run_before_reading(tmp_path: Path) -> None:
    """Issue 12: a tab name Excel can't hold (a leading apostrophe) is exit 2 naming the key, before any work.

    The config check used to let it through and the writer refused it after
    the sheet was read and checked; the workbook stays as it was.
    """
    from click.testing import CliRunner

    from sheetsync.cli import cli

    sample = Path(__file__).resolve().parent.parent / "sample_workbooks" / "pipeline.xlsx"
    book = tmp_path / "pipeline.xlsx"
    book.write_bytes(sample.read_bytes())
    (tmp_path / "sheetsync.toml").write_text("[tabs]\nsummary = \"'Overview'\"\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "sheetsync.toml"), "sync", str(book), "--as-of", "2026-11-27"]
    )
    assert result.exit_code == 2, result.output
    assert "tabs.summary" in result.output and "apostrophe" in result.output
    assert book.read_bytes() == sample.read_bytes()


# ---------------------------------------------------------------- issue 13


def test_paused_group_and_stale_defaults_of_a_custom_stage_list() -> None:
    """Issue 13: an open stage without stale_after_days gets 14, `= 0` turns stale off; `paused` is a group."""
    config = parse(
        """
        [[stages]]
        name = "New"
        probability = 5
        group = "early"
        [[stages]]
        name = "Quiet"
        probability = 30
        stale_after_days = 0
        group = "middle"
        [[stages]]
        name = "Parked"
        group = "paused"
        [[stages]]
        name = "Closed Won"
        group = "won"
        [[stages]]
        name = "Closed Lost"
        stale_after_days = 3
        group = "lost"
        """
    )
    assert [(s.name, s.probability, s.stale_after_days, s.group, s.is_open) for s in config.stages] == [
        ("New", Decimal("0.05"), 14, "early", True),
        ("Quiet", Decimal("0.3"), None, "middle", True),
        ("Parked", Decimal("0"), None, "paused", False),
        ("Closed Won", Decimal("1"), None, "won", False),
        ("Closed Lost", Decimal("0"), 3, "lost", False),  # kept as written; no rule reads it on a closed stage
    ]


def test_header_row_and_quota_columns_are_read() -> None:
    """`[tabs] header_row` is a row number; `[columns] quota_owner` and `quota` name the Quotas tab's headers."""
    config = parse('[tabs]\nheader_row = 3\n[columns]\nquota_owner = "Sales Rep"\nquota = "Q4 Target"\n')
    assert config.header_row == 3 and config.tabs.pipeline == "Pipeline"
    assert dict(config.columns) == {"quota_owner": "Sales Rep", "quota": "Q4 Target"}
    assert Config().header_row is None


@pytest.mark.parametrize("value", ["0", '"2"', "-1", "1.5", "true"])
def test_header_row_must_be_a_row_number(value: str) -> None:
    """A header_row that isn't a whole number ≥ 1 is exit 2 naming tabs.header_row."""
    assert config_error(f"[tabs]\nheader_row = {value}\n").startswith("tabs.header_row:")
