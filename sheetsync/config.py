"""``sheetsync.toml`` → a frozen :class:`Config`, checked key by key.

Every key is optional; an unknown key or a value of the wrong type is a
:class:`~sheetsync.errors.ConfigError` (exit 2) that names the key and, for
unknown keys, the closest known one.  Relative paths are relative to the
config file's own folder.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .model.fields import FIELDS, QUOTA_COLUMNS
from .model.values import tab_name_problem

GROUPS = ("early", "middle", "late", "won", "lost", "paused")
OPEN_GROUPS = frozenset({"early", "middle", "late"})
SEVERITIES = ("error", "warning", "off")
RULES = (
    "required",
    "unknown-stage",
    "bad-value",
    "decision-maker",
    "budget-known",
    "timeline-known",
    "next-step",
    "stale",
    "close-date-passed",
    "appointment-passed",
    "closed-date",
    "duplicate",
)
DEFAULT_SEVERITY = {
    "required": "error",
    "unknown-stage": "error",
    "bad-value": "error",
    "decision-maker": "error",
    "budget-known": "error",
    "timeline-known": "error",
    "next-step": "warning",
    "stale": "warning",
    "close-date-passed": "warning",
    "appointment-passed": "warning",
    "closed-date": "error",
    "duplicate": "warning",
}


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    probability: Decimal  # a fraction: 0.4 for 40 %
    stale_after_days: int | None  # None: never stale (closed and paused stages, or stale_after_days = 0)
    group: str

    @property
    def is_open(self) -> bool:
        return self.group in OPEN_GROUPS


_LANGUAGE_NAMES = {"thai": "th", "ไทย": "th", "ภาษาไทย": "th", "english": "en", "อังกฤษ": "en"}


def language_code(value: str | None) -> str:
    """``th``, ``TH``, ``th-TH``, ``th_TH``, ``Thai``, ``ไทย`` → ``th``; ``""`` for an empty cell.

    How a row's Language picks a template folder, and how a ``[drafts]``
    table names the language of its text.
    """
    if not value:
        return ""
    key = value.strip().casefold()
    key = _LANGUAGE_NAMES.get(key, key)
    return re.split(r"[-_\s]", key, maxsplit=1)[0]


def stage_key(name: str) -> str:
    """How a sheet's stage text is matched to a configured stage: case and runs of spaces ignored.

    ``Closed  Won`` typed with two spaces, or ``on hold``, is the configured
    stage; the rules and the figures read stages the same way.
    """
    return " ".join(name.split()).casefold()


class StageLookup(dict[str, "Stage | None"]):
    """:meth:`Config.stage` by the stage as typed, memoized: a big sheet spells a handful of stages 100,000 times."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config

    def __missing__(self, name: str) -> Stage | None:
        stage = self[name] = self.config.stage(name)
        return stage


DEFAULT_STAGES = (
    Stage("Lead", Decimal("0.1"), 14, "early"),
    Stage("Qualified", Decimal("0.2"), 14, "early"),
    Stage("Appointment", Decimal("0.4"), 7, "middle"),
    Stage("Demo", Decimal("0.6"), 10, "middle"),
    Stage("Proposal", Decimal("0.75"), 10, "late"),
    Stage("Negotiation", Decimal("0.9"), 7, "late"),
    Stage("Won", Decimal("1"), None, "won"),
    Stage("Lost", Decimal("0"), None, "lost"),
    Stage("On Hold", Decimal("0"), None, "paused"),
)
#: An open stage of a custom list without ``stale_after_days`` goes stale after this many days.
DEFAULT_STALE_DAYS = 14


@dataclass(frozen=True, slots=True)
class Tabs:
    pipeline: str = "Pipeline"
    quotas: str = "Quotas"
    summary: str = "Summary"
    checks: str = "Checks"
    history: str = "History"
    header_row: int | None = None  # the pipeline tab's header row, when it is not to be found (reference 4.1)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    coverage_target: float = 3.0
    closing_rate_floor: float = 0.2
    min_appointments: int = 5
    big_deal_share: float = 0.4


#: The built-in ``[drafts] from`` address: no one's mailbox (reference 8.3, "The placeholder sender").
PLACEHOLDER_ADDRESS = "sales@example.com"
#: Where ``[drafts] to`` can put drafts: files in ``out``, or each sender's Gmail Drafts.
DESTINATIONS = ("files", "gmail")


@dataclass(frozen=True, slots=True)
class Forecast:
    """``[forecast]``: the months of the feast-or-famine strip and where famine and feast begin (reference 6.1)."""

    months: int = 6
    famine_share: float = 0.5  # a month under this share of the monthly target is famine
    feast_share: float = 2.0  # a month over this share of it is feast


@dataclass(frozen=True, slots=True)
class Drafts:
    out: Path = Path("drafts")
    format: str = "eml"
    sender: str = f"Sales Team <{PLACEHOLDER_ADDRESS}>"
    to: str = "files"
    #: None: a ``templates/`` folder beside the config (or in the working folder) when present, else built-ins.
    templates: Path | None = None
    templates_configured: bool = False
    reminder_days: int = 1
    post_meeting_days: int = 3
    #: Text the built-in templates may use, by language (``""``: every language); empty when not set.
    attachment_note: Mapping[str, str] = field(default_factory=dict)
    offer: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Google:
    credentials: Path | None = None
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    source: str | None = None
    path: Path | None = None  # the file it came from, None for all defaults
    tabs: Tabs = field(default_factory=Tabs)
    currency: str = "THB"
    timezone: str | None = None
    period: str = "quarter"
    fiscal_year_start_month: int = 1
    date_order: str = "DMY"
    buddhist_era: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    quota_amount: Decimal | None = None
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    severity: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    decision_maker_from_stage: str = "Appointment"
    qualified_from_stage: str = "Qualified"
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    forecast: Forecast = field(default_factory=Forecast)
    drafts: Drafts = field(default_factory=Drafts)
    google: Google = field(default_factory=Google)

    @property
    def header_row(self) -> int | None:
        return self.tabs.header_row

    def stage(self, name: str) -> Stage | None:
        """The configured stage the text names (see :func:`stage_key`), or None."""
        key = stage_key(name)
        for stage in self.stages:
            if stage_key(stage.name) == key:
                return stage
        return None

    def stage_index(self, name: str) -> int:
        key = name.casefold()
        for i, stage in enumerate(self.stages):
            if stage.name.casefold() == key:
                return i
        raise KeyError(name)


# ---------------------------------------------------------------- loading


def find_config(explicit: str | None) -> Path | None:
    """``--config``, else ``$SHEETSYNC_CONFIG``, else ``./sheetsync.toml`` when present."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SHEETSYNC_CONFIG")
    if env:
        return Path(env)
    here = Path("sheetsync.toml")
    return here if here.is_file() else None


def load_config(path: Path | None) -> Config:
    if path is None:
        # No config: every default, and a templates/ folder here overrides the built-ins (reference 8.2).
        here = Path("templates")
        return Config(drafts=Drafts(templates=here)) if here.is_dir() else Config()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found — check --config or SHEETSYNC_CONFIG") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder — point --config at sheetsync.toml") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} can't be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text — save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_config(data, path)


_TOP = (
    "source",
    "tabs",
    "pipeline",
    "columns",
    "quota",
    "stages",
    "rules",
    "diagnosis",
    "forecast",
    "drafts",
    "google",
)


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Check every key of the parsed TOML and build the Config."""
    c = _Checker(path)
    c.known("", data, _TOP)
    base = path.parent
    kw: dict[str, Any] = {"path": path}

    if "source" in data:
        src = c.string("source", data["source"])
        kw["source"] = src if "://" in src or src.startswith("gsheet:") else str(_rel(base, src))

    tabs = c.table("tabs", data.get("tabs", {}))
    c.known("tabs", tabs, Tabs.__dataclass_fields__)
    tab_kw: dict[str, Any] = {
        k: c.integer("tabs.header_row", v, 1, None) if k == "header_row" else c.tab_name(f"tabs.{k}", v)
        for k, v in tabs.items()
    }
    kw["tabs"] = Tabs(**tab_kw)
    written = {"summary": kw["tabs"].summary, "checks": kw["tabs"].checks, "history": kw["tabs"].history}
    read = {"pipeline": kw["tabs"].pipeline, "quotas": kw["tabs"].quotas}
    names: dict[str, str] = {}
    for key, name in {**read, **written}.items():
        other = names.get(name.casefold())
        if other is not None and (key in written or other in written):
            raise ConfigError(
                f"tabs.{key}: {name!r} is also tabs.{other} in {path} — sheetsync writes the Summary, Checks "
                "and History tabs, so each needs a name of its own"
            )
        names[name.casefold()] = key

    pipe = c.table("pipeline", data.get("pipeline", {}))
    c.known(
        "pipeline",
        pipe,
        ("currency", "timezone", "period", "fiscal_year_start_month", "date_order", "buddhist_era"),
    )
    if "currency" in pipe:
        kw["currency"] = c.string("pipeline.currency", pipe["currency"])
    if "timezone" in pipe:
        tz = c.string("pipeline.timezone", pipe["timezone"])
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"pipeline.timezone: unknown time zone {tz!r} in {path} — use a name like 'Asia/Bangkok'"
            ) from None
        kw["timezone"] = tz
    if "period" in pipe:
        kw["period"] = c.choice("pipeline.period", pipe["period"], ("month", "quarter", "year"))
    if "fiscal_year_start_month" in pipe:
        kw["fiscal_year_start_month"] = c.integer(
            "pipeline.fiscal_year_start_month", pipe["fiscal_year_start_month"], 1, 12
        )
    if "date_order" in pipe:
        kw["date_order"] = c.choice("pipeline.date_order", pipe["date_order"], ("DMY", "MDY", "YMD"))
    if "buddhist_era" in pipe:
        value = pipe["buddhist_era"]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        kw["buddhist_era"] = c.choice("pipeline.buddhist_era", value, ("auto", "yes", "no"))

    cols = c.table("columns", data.get("columns", {}))
    c.known("columns", cols, (*FIELDS, *QUOTA_COLUMNS))
    kw["columns"] = {k: c.string(f"columns.{k}", v) for k, v in cols.items()}

    quota = c.table("quota", data.get("quota", {}))
    c.known("quota", quota, ("amount",))
    if "amount" in quota:
        kw["quota_amount"] = Decimal(str(c.number("quota.amount", quota["amount"], minimum=0)))

    if "stages" in data:
        kw["stages"] = c.stages(data["stages"])
        kw.update(_option_fallbacks(kw["stages"]))
    stage_names = {s.name.casefold() for s in kw.get("stages", DEFAULT_STAGES)}

    rules = c.table("rules", data.get("rules", {}))
    c.known("rules", rules, (*RULES, "options"))
    severity = dict(DEFAULT_SEVERITY)
    for key, value in rules.items():
        if key != "options":
            severity[key] = c.choice(f"rules.{key}", value, SEVERITIES)
    kw["severity"] = severity
    options = c.table("rules.options", rules.get("options", {}))
    c.known("rules.options", options, ("decision_maker_from_stage", "qualified_from_stage"))
    for key, value in options.items():
        name = c.string(f"rules.options.{key}", value)
        if name.casefold() not in stage_names:
            raise ConfigError(
                f"rules.options.{key}: {name!r} is not a configured stage in {path}"
                + _hint(name, [s.name for s in kw.get("stages", DEFAULT_STAGES)])
            )
        kw[key] = name

    diag = c.table("diagnosis", data.get("diagnosis", {}))
    c.known("diagnosis", diag, Diagnosis.__dataclass_fields__)
    dkw: dict[str, Any] = {}
    for key, value in diag.items():
        if key == "min_appointments":
            dkw[key] = c.integer(f"diagnosis.{key}", value, 0, None)
        else:
            dkw[key] = c.number(f"diagnosis.{key}", value, minimum=0)
    kw["diagnosis"] = Diagnosis(**dkw)
    kw["forecast"] = c.forecast(c.table("forecast", data.get("forecast", {})))

    drafts = c.table("drafts", data.get("drafts", {}))
    c.known(
        "drafts",
        drafts,
        (
            "out",
            "format",
            "to",
            "from",
            "templates",
            "reminder_days",
            "post_meeting_days",
            "attachment_note",
            "offer",
        ),
    )
    rkw: dict[str, Any] = {}
    if "out" in drafts:
        rkw["out"] = _rel(base, c.string("drafts.out", drafts["out"]))
    if "format" in drafts:
        rkw["format"] = c.choice("drafts.format", drafts["format"], ("eml", "mbox"))
    if "to" in drafts:
        rkw["to"] = c.choice("drafts.to", drafts["to"], DESTINATIONS)
    for key in ("attachment_note", "offer"):
        if key in drafts:
            rkw[key] = c.by_language(f"drafts.{key}", drafts[key])
    if "from" in drafts:
        rkw["sender"] = c.string("drafts.from", drafts["from"])
    if "templates" in drafts:
        rkw["templates"] = _rel(base, c.string("drafts.templates", drafts["templates"]))
        rkw["templates_configured"] = True
    elif (base / "templates").is_dir():
        rkw["templates"] = base / "templates"
    for key in ("reminder_days", "post_meeting_days"):
        if key in drafts:
            rkw[key] = c.integer(f"drafts.{key}", drafts[key], 0, 365)
    kw["drafts"] = Drafts(**rkw)

    google = c.table("google", data.get("google", {}))
    c.known("google", google, ("credentials", "endpoint"))
    gkw: dict[str, Any] = {}
    if "credentials" in google:
        gkw["credentials"] = _rel(base, c.string("google.credentials", google["credentials"]))
    if "endpoint" in google:
        endpoint = c.string("google.endpoint", google["endpoint"])
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"google.endpoint: {endpoint!r} in {path} must start with https:// or http://")
        gkw["endpoint"] = endpoint
    kw["google"] = Google(**gkw)
    return Config(**kw)


def _option_fallbacks(stages: tuple[Stage, ...]) -> dict[str, str]:
    """Rule thresholds for a custom stage list that lacks Appointment or Qualified.

    The decision-maker rule starts at the first middle-group stage (where
    meetings begin), else the first late one; the budget and timeline rules
    at the second stage, as Qualified is in the default list.
    """
    names = {s.name.casefold() for s in stages}
    out: dict[str, str] = {}
    if "appointment" not in names:
        start = next((s for g in ("middle", "late", "won") for s in stages if s.group == g), stages[-1])
        out["decision_maker_from_stage"] = start.name
    if "qualified" not in names:
        out["qualified_from_stage"] = stages[min(1, len(stages) - 1)].name
    return out


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string, for a line to paste into (or write to) sheetsync.toml."""
    return json.dumps(text, ensure_ascii=False)


def _rel(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _hint(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" — did you mean {close[0]!r}?" if close else ""


class _Checker:
    """Small helpers that raise ConfigError naming the key and the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{key}: {what} in {self.path}")

    def known(self, section: str, table: Mapping[str, Any], keys: Any) -> None:
        keys = list(keys)
        for key in table:
            if key not in keys:
                full = f"{section}.{key}" if section else key
                hint = _hint(key, keys)
                raise ConfigError(f"unknown key {full!r} in {self.path}{hint or ' — known keys: ' + ', '.join(keys)}")

    def table(self, key: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table ([{key}]), got {_kind(value)}")
        return value

    def string(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def by_language(self, key: str, value: Any) -> Mapping[str, str]:
        """One text for every language (``{"": text}``), or a table of language code → text."""
        if isinstance(value, str):
            return {"": self.string(key, value)}
        if not isinstance(value, dict) or not value:
            raise self.fail(key, f"expected a text, or a table of language = text (en = …, th = …), got {_kind(value)}")
        out: dict[str, str] = {}
        for lang, text in value.items():
            code = language_code(lang)
            if not code:
                raise self.fail(f"{key}.{lang}", "expected a language code such as en or th")
            out[code] = self.string(f"{key}.{lang}", text)
        return out

    def tab_name(self, key: str, value: Any) -> str:
        name = self.string(key, value)
        problem = tab_name_problem(name)
        if problem is not None:
            raise self.fail(key, f"{name!r} is not a valid tab name ({problem}) — choose another")
        return name

    def choice(self, key: str, value: Any, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(self, key: str, value: Any, low: int, high: int | None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {_kind(value)}")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(key, f"expected a number {bounds}, got {value}")
        return value

    def number(self, key: str, value: Any, *, minimum: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {_kind(value)}")
        if value < minimum:
            raise self.fail(key, f"expected a number ≥ {minimum:g}, got {value}")
        return float(value)

    def forecast(self, table: Mapping[str, Any]) -> Forecast:
        self.known("forecast", table, Forecast.__dataclass_fields__)
        default = Forecast()
        months = self.integer("forecast.months", table.get("months", default.months), 1, 24)
        famine = self.number("forecast.famine_share", table.get("famine_share", default.famine_share), minimum=0)
        feast = self.number("forecast.feast_share", table.get("feast_share", default.feast_share), minimum=0)
        if famine >= feast:
            key = "forecast.famine_share" if "famine_share" in table else "forecast.feast_share"
            raise self.fail(
                key, f"famine_share ({famine:g}) must be below feast_share ({feast:g}) — a month can't be both"
            )
        return Forecast(months, famine, feast)

    def stages(self, value: Any) -> tuple[Stage, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.fail("stages", "expected one or more [[stages]] tables")
        out: list[Stage] = []
        seen: set[str] = set()
        for i, raw in enumerate(value, 1):
            key = f"stages[{i}]"
            self.known(key, raw, ("name", "probability", "stale_after_days", "group"))
            if "name" not in raw or "group" not in raw:
                raise self.fail(key, "each stage needs a name and a group")
            name = self.string(f"{key}.name", raw["name"])
            if name.casefold() in seen:
                raise self.fail(f"{key}.name", f"stage {name!r} is listed twice")
            seen.add(name.casefold())
            group = self.choice(f"{key}.group", raw["group"], GROUPS)
            default_prob = {"won": 100, "lost": 0, "paused": 0}.get(group)
            if "probability" in raw:
                prob = self.number(f"{key}.probability", raw["probability"], minimum=0)
                if prob > 100:
                    raise self.fail(f"{key}.probability", f"expected a percent 0–100, got {prob:g}")
            elif default_prob is not None:
                prob = default_prob
            else:
                raise self.fail(f"{key}.probability", f"stage {name!r} needs a probability (percent)")
            stale = raw.get("stale_after_days")
            if stale is None:
                stale_days = DEFAULT_STALE_DAYS if group in OPEN_GROUPS else None
            else:
                stale_days = self.integer(f"{key}.stale_after_days", stale, 0, None) or None  # 0: never stale
            out.append(Stage(name, Decimal(str(prob)) / 100, stale_days, group))
        return tuple(out)


def _kind(value: Any) -> str:
    names: dict[type, str] = {str: "a string", int: "a number", float: "a number", bool: "true/false"}
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return names.get(type(value), type(value).__name__) + (f" ({value!r})" if not isinstance(value, dict) else "")
