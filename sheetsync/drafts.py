"""Due rows → rendered messages → ``.eml`` files or one mbox, plus a manifest (SPEC 8).

Three steps, each usable alone: :func:`due` picks one reason per row,
:func:`load_templates` compiles every template before anything is written (so
a syntax error stops the run with exit 2 and no output), and
:func:`make_drafts` renders, builds and writes.

Why messages are serialised here rather than by ``email.message.EmailMessage``:
a 100,000-row sync writes about 4,900 drafts and must stay near 3 s, while
``EmailMessage`` under ``policy.default`` costs ~2.8 ms per Thai message and
even the ``compat32`` generator ~0.3 ms.  The format we emit is small and
fixed — header *names* are constants in this module, header values are
validated printable ASCII or RFC 2047 encoded-words, bodies are UTF-8 (8bit,
or base64 when 8bit can't carry them) — so a few lines write it in a few
microseconds.  Header injection is impossible by construction: every value is
refused when it holds a line break or control character *before* encoding,
encoded-words use only letters, digits and ``!*+-/=_?`` or base64, and the
tests read the messages back with Python's own parser (``policy.default``).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import difflib
import functools
import hashlib
import io
import operator
import os
import re
import signal
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime, parseaddr
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import meta, nodes

from . import parallel, stopping
from .config import Config, Stage
from .errors import ConfigError, Stopped, TemplateError, UsageError
from .fsutil import sweep_temp_files, write_atomic
from .model.fields import FIELDS
from .model.reader import Row
from .model.values import EXCEL_TEXT_LIMIT

REASONS = ("appointment-reminder", "info-request", "post-meeting", "trial-offer", "follow-up")
FORMATS = ("eml", "mbox")
MANIFEST = "drafts.csv"
MBOX = "drafts.mbox"
MANIFEST_HEADER = ("row", "prospect", "email", "reason", "status", "file", "subject", "detail")

#: Statuses an entry can have.  ``would-write`` replaces ``written`` on a dry run;
#: ``limited`` marks due drafts left out by ``--limit``.
STATUSES = ("written", "would-write", "skipped", "failed", "limited")
#: The manifest's status for due drafts a run stopped by SIGINT/SIGTERM did not reach.  Such a
#: run ends with ``Stopped``, never with a result, so this is not one of STATUSES.
INTERRUPTED = "interrupted"

#: Headers a template may set, by their lower-case spelling.
TEMPLATE_HEADERS = {"subject": "Subject", "cc": "Cc", "reply-to": "Reply-To"}

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- who is due


def due(rows: Iterable[Row], stale_rows: Collection[int], config: Config, as_of: dt.date) -> list[tuple[Row, str]]:
    """Each eligible row with the first reason of SPEC 8.1 that holds, in row order.

    The caller has already removed excluded rows; stages that don't exist in
    the config can't be open, so such rows are never due.
    """
    reminder_until = as_of + dt.timedelta(days=config.drafts.reminder_days)
    held_from = as_of - dt.timedelta(days=config.drafts.post_meeting_days)
    out: list[tuple[Row, str]] = []
    stage_of = _StageMemo(config)
    for row in rows:
        if row.do_not_contact or not row.stage:
            continue
        stage = stage_of[row.stage]
        if stage is None or not stage.is_open:
            continue
        appointment = row.appointment_date
        if appointment is not None and as_of <= appointment <= reminder_until:
            reason = "appointment-reminder"
        elif row.info_requested:
            reason = "info-request"
        elif (
            appointment is not None
            and held_from <= appointment < as_of
            and (row.last_contact is None or row.last_contact <= appointment)
        ):
            reason = "post-meeting"
        elif row.row in stale_rows and stage.group in ("middle", "late"):
            reason = "trial-offer"
        elif row.next_follow_up is not None and row.next_follow_up <= as_of:
            reason = "follow-up"
        else:
            continue
        out.append((row, reason))
    return out


class _StageMemo(dict[str, "Stage | None"]):
    """``config.stage`` by the stage as typed: a big sheet spells a handful of stages 100,000 times."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config

    def __missing__(self, name: str) -> Stage | None:
        stage = self[name] = self.config.stage(name)
        return stage


# ---------------------------------------------------------------- filters

_SYMBOLS = {
    "THB": "฿",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "KRW": "₩",
    "INR": "₹",
    "VND": "₫",
    "PHP": "₱",
}
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_EN_DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_TH_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
_TH_MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
_TH_DAYS = (
    "จันทร์",
    "อังคาร",
    "พุธ",
    "พฤหัสบดี",
    "ศุกร์",
    "เสาร์",
    "อาทิตย์",
)
_DATE_STYLES = ("long", "day", "short", "month", "iso")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "khun", "k"})
_THAI_TITLES = ("คุณ", "นาย", "นางสาว", "นาง", "ดร.")


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    # Text such as "1e999999999" or "sNaN" is kept as text: written out in full it would be a
    # billion digits, and a signalling NaN can't even be compared.
    return amount if amount.is_finite() and amount.adjusted() <= EXCEL_TEXT_LIMIT else None


@jinja2.pass_context
def money_filter(ctx: jinja2.runtime.Context, value: Any, currency: str | None = None) -> str:
    """``฿1,250,000`` (``฿1,250.50`` when there are satang); Thai templates write ``1,250,000 บาท``.

    Whole amounts drop the decimals because that is how a rep writes a deal
    size in a sentence; codes without a well-known symbol are written in
    front (``SGD 45,000``).  An empty cell renders empty, text is kept as is.
    """
    amount = _amount(value)
    if amount is None:
        return "" if value is None else str(value)
    code = (currency or ctx.get("currency") or "").strip()
    number = f"{abs(amount):,.0f}" if amount == amount.to_integral_value() else f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    if code.upper() == "THB" and ctx.get("language") == "th":
        return f"{sign}{number} บาท"
    symbol = _SYMBOLS.get(code.upper())
    if symbol:
        return f"{sign}{symbol}{number}"
    if len(code) == 3 and code.isalpha():
        return f"{sign}{code.upper()} {number}"
    return f"{sign}{code}{number}"


def _has_time(value: dt.date) -> bool:
    return isinstance(value, dt.datetime) and (value.hour, value.minute) != (0, 0)


def _format_date(value: dt.date, style: str, language: str) -> str:
    if "%" in style:
        return value.strftime(style)
    if style == "iso":
        return value.isoformat() if not _has_time(value) else value.strftime("%Y-%m-%d %H:%M")
    day = value.date() if isinstance(value, dt.datetime) else value
    time = f"{value:%H:%M}" if _has_time(value) and style in ("long", "short") else ""
    if language == "th":
        year = day.year + 543  # Thai readers expect the Buddhist Era year
        if style == "month":
            return f"{_TH_MONTHS[day.month - 1]} {year}"
        if style == "short":
            text = f"{day.day} {_TH_MONTHS_SHORT[day.month - 1]} {year}"
            return f"{text} {time} น." if time else text
        text = f"วัน{_TH_DAYS[day.weekday()]}ที่ {day.day} {_TH_MONTHS[day.month - 1]}"
        if style == "day":
            return text
        text += f" {year}"
        return f"{text} เวลา {time} น." if time else text
    if style == "month":
        return f"{_EN_MONTHS[day.month - 1]} {day.year}"
    if style == "short":
        text = f"{day.day} {_EN_MONTHS[day.month - 1][:3]} {day.year}"
        return f"{text}, {time}" if time else text
    text = f"{_EN_DAYS[day.weekday()]}, {day.day} {_EN_MONTHS[day.month - 1]}"
    if style == "day":
        return text
    text += f" {day.year}"
    return f"{text} at {time}" if time else text


@jinja2.pass_context
def date_filter(ctx: jinja2.runtime.Context, value: Any, style: str = "long") -> str:
    """A date the way a person writes it in the template's language.

    Styles: ``long`` (``Friday, 27 November 2026 at 14:30``; the time only when
    the cell has one), ``day`` (``Friday, 27 November``), ``short``
    (``27 Nov 2026, 14:30``), ``month`` (``November 2026``), ``iso``, or any
    ``strftime`` pattern.  Thai
    templates get Thai day and month names and the Buddhist Era year.
    """
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.date):
        return str(value)
    if style not in _DATE_STYLES and "%" not in style:
        raise ValueError(f"unknown date style {style!r} (use {', '.join(_DATE_STYLES)} or a strftime pattern)")
    return _format_date(value, style, str(ctx.get("language") or "en"))


@jinja2.pass_context
def time_filter(ctx: jinja2.runtime.Context, value: Any) -> str:
    """``14:30`` (Thai ``14:30 น.``), or nothing when the cell has no time of day."""
    if not isinstance(value, dt.datetime) or not _has_time(value):
        return ""
    return f"{value:%H:%M} น." if ctx.get("language") == "th" else f"{value:%H:%M}"


def first_name_filter(value: Any) -> str:
    """``Ms. Jane Porter`` → ``Jane``, ``คุณวิภา ศรีสุข`` → ``วิภา``: the name a greeting uses."""
    words = str(value or "").split()
    if not words:
        return ""
    i = 0
    while i < len(words) - 1 and words[i].rstrip(".").casefold() in _HONORIFICS:
        i += 1
    first = words[i]
    for title in _THAI_TITLES:
        if first.startswith(title) and len(first) > len(title):
            return first[len(title) :]
    return first


def khun_filter(value: Any) -> str:
    """Prefix ``คุณ`` unless the name already carries a title (Thai salutation)."""
    name = " ".join(str(value or "").split())
    if not name:
        return ""
    if name.startswith(_THAI_TITLES) or name.split()[0].rstrip(".").casefold() in _HONORIFICS:
        return name
    return f"คุณ{name}" if not name[0].isascii() else f"คุณ {name}"


class _Environment(jinja2.Environment):
    """Jinja's environment, with a quicker ``prospect.name`` on the dicts a draft is rendered from."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        """What Jinja's ``getattr`` returns, without its failed attribute look-up on a plain dict's key.

        Jinja tries ``getattr(obj, name)`` first and ``obj[name]`` after the
        AttributeError; a draft reads ~15 keys of plain dicts (``prospect``,
        ``owner``, ``stage``) and those exceptions were a tenth of rendering
        it.  A key that is also a dict attribute (``items``, ``keys``, …) still
        goes Jinja's way, so the result is the same for every name.
        """
        if type(obj) is dict and attribute in obj and attribute not in _DICT_ATTRIBUTES:
            return obj[attribute]
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir(dict))


def _blank_none(value: Any) -> Any:
    """An empty cell prints as nothing, never as ``None``."""
    return "" if value is None else value


#: Jinja's text filters turn None into the text "None" (``{{ cell | upper }}`` → ``NONE``).
_TEXT_FILTERS = (
    "capitalize", "center", "indent", "lower", "replace", "string", "striptags", "title", "trim",
    "truncate", "upper", "urlencode", "wordwrap",
)  # fmt: skip


def _empty_for_none(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The same filter, reading an empty cell as empty text."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Context- and environment-passing filters get that first; the value follows it.
        index = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0
        if len(args) > index and args[index] is None:
            args = (*args[:index], "", *args[index + 1 :])
        return fn(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class _Source:
    text: str
    display: str  # how messages name the file
    user: bool  # from the user's folder (else built in)


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """What one (language, reason) renders with, compiled."""

    file: str
    headers: tuple[tuple[str, jinja2.Template], ...]
    body: jinja2.Template
    html: jinja2.Template | None
    html_file: str | None


@dataclass(frozen=True, slots=True)
class Templates:
    """Every template a run may use, compiled once, plus the validated default sender."""

    env: jinja2.Environment
    sets: Mapping[tuple[str, str], TemplateSet]  # (language folder or "", reason)
    sender: tuple[str, str]  # (display name, address) of [drafts] from
    folder: Path | None  # the user's templates folder in use, if any
    files: frozenset[str] = field(default_factory=frozenset)  # display names, to find error lines

    def pick(self, language: str | None, reason: str) -> tuple[str, TemplateSet]:
        """The row's language folder when it has this reason, else the root (English) set."""
        lang = _language(language)
        chosen = self.sets.get((lang, reason)) if lang else None
        if chosen is not None:
            return lang, chosen
        return "", self.sets[("", reason)]


_LANGUAGE_NAMES = {"thai": "th", "ไทย": "th", "ภาษาไทย": "th", "english": "en", "อังกฤษ": "en"}


def _language(value: str | None) -> str:
    """``th``, ``TH``, ``th-TH``, ``th_TH``, ``Thai``, ``ไทย`` → ``th``."""
    if not value:
        return ""
    key = value.strip().casefold()
    key = _LANGUAGE_NAMES.get(key, key)
    return re.split(r"[-_\s]", key, maxsplit=1)[0]


class _Loader(jinja2.BaseLoader):
    """Serves raw files by relative name and pre-split parts as ``<name>#<part>``."""

    def __init__(self, sources: Mapping[str, tuple[str, str]]) -> None:
        self.sources = sources
        self.parsed: dict[str, nodes.Template] = {}  # trees load_templates has parsed already

    def load(
        self, environment: jinja2.Environment, name: str, globals: MutableMapping[str, Any] | None = None
    ) -> jinja2.Template:
        """``BaseLoader.load`` (no bytecode cache here), compiling the tree already parsed when there is one.

        load_templates parses every template to check what it includes and
        Jinja parsed it again to compile it: a fifth of the start-up of a
        small run, which compiles some forty templates and parts.
        """
        tree = self.parsed.pop(name, None)
        if tree is None:
            return super().load(environment, name, globals)
        _text, filename = self.sources[name]
        code = environment.compile(tree, name, filename)
        return environment.template_class.from_code(environment, code, {} if globals is None else globals, lambda: True)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        try:
            text, filename = self.sources[template]
        except KeyError:
            raise jinja2.TemplateNotFound(template) from None
        return text, filename, lambda: True


def _builtin_root() -> Traversable:
    """The templates shipped in the wheel (``sheetsync.templates``).

    A source checkout that was never ``pip install``-ed has no such package
    (setuptools maps the top-level ``templates/`` folder only when
    installing), so fall back to that folder beside the package.
    """
    try:
        return resources.files("sheetsync.templates")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "templates"


def _walk(root: Traversable) -> Iterable[tuple[str, Traversable]]:
    """``*.j2`` files at the top and one folder down (language folders)."""
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(".j2"):
            yield entry.name, entry
        elif entry.is_dir() and not entry.name.startswith((".", "_")):
            for sub in sorted(entry.iterdir(), key=lambda e: e.name):
                if sub.is_file() and sub.name.endswith(".j2"):
                    yield f"{entry.name}/{sub.name}", sub


def _read(entry: Traversable, display: str) -> str:
    try:
        return entry.read_text(encoding="utf-8-sig")  # Notepad saves UTF-8 with a byte-order mark
    except UnicodeDecodeError:
        raise TemplateError(f"template {display} is not UTF-8 text — save it as UTF-8") from None
    except OSError as exc:
        raise TemplateError(f"template {display} can't be read ({exc.strerror or exc})") from None


_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]?(.*)$")
_COMMENT_LINE = re.compile(r"^\{#.*#\}\s*$")


def _pad(line: int, text: str) -> str:
    """Put ``text`` on ``line`` of its file for Jinja's line numbers, without rendering anything extra."""
    return ("{#" + "\n" * (line - 1) + "#}" + text) if line > 1 else text


def _split(text: str, display: str, *, html: bool) -> tuple[list[tuple[str, str, int]], str, int]:
    """Header lines (name, source, line) and the body source with the line it starts on.

    A template's header block ends at the first blank line.  HTML templates
    are bodies; a header block copied into one is skipped, not rendered.
    """
    lines = text.split("\n")
    first = _HEADER_LINE.match(lines[0]) if lines else None
    if html and not (first and first[1].casefold() in TEMPLATE_HEADERS):
        return [], text, 1
    headers: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    i = 0
    while i < len(lines) and lines[i].strip():
        line = lines[i]
        if _COMMENT_LINE.match(line):
            i += 1
            continue
        m = _HEADER_LINE.match(line)
        if not m:
            where = "first line" if not headers else "header block"
            raise TemplateError(
                f"template {display}, line {i + 1}: expected a header line like 'Subject: …' in the {where}, "
                f"got {line.strip()[:60]!r} — start the template with 'Subject: …', then a blank line, then the body"
            )
        key = m[1].casefold()
        if key not in TEMPLATE_HEADERS:
            allowed = ", ".join(TEMPLATE_HEADERS.values())
            raise TemplateError(
                f"template {display}, line {i + 1}: a template can't set the {m[1]!r} header "
                f"(allowed: {allowed}) — remove the line"
            )
        if key in seen:
            raise TemplateError(f"template {display}, line {i + 1}: {m[1]} is set twice — keep one line")
        seen.add(key)
        headers.append((TEMPLATE_HEADERS[key], m[2], i + 1))
        i += 1
    if not html and "subject" not in seen:
        raise TemplateError(
            f"template {display}, line 1: no 'Subject:' line — start the template with 'Subject: …', "
            "then a blank line, then the body"
        )
    body_line = i + 2  # the line after the blank separator
    return headers, "\n".join(lines[i + 1 :]), body_line


def load_templates(config: Config) -> Templates:
    """Compile every template a run may use, before anything is read or written.

    Built-ins come from the package; the configured (or auto-found)
    ``templates/`` folder overrides them file by file.  Any problem — a
    missing configured folder, a syntax error, an include of a file that isn't
    there, an unknown header line — is a :class:`TemplateError` (exit 2)
    naming the file and line, so no half-run ever happens.
    """
    sender = _parse_sender(config)
    folder = config.drafts.templates
    if folder is not None and not folder.is_dir():
        if config.drafts.templates_configured:
            where = f" in {config.path}" if config.path else ""
            what = "is not a folder" if folder.exists() else "doesn't exist"
            raise TemplateError(
                f"templates folder {folder} (drafts.templates{where}) {what} — create it "
                "(`sheetsync init` writes one) or remove the setting to use the built-in templates"
            )
        folder = None

    sources: dict[str, _Source] = {}
    for rel, entry in _walk(_builtin_root()):
        display = f"built-in template {rel}"
        sources[rel] = _Source(_read(entry, display), display, user=False)
    if folder is not None:
        for rel, entry in _walk(folder):
            display = str(folder / rel)
            sources[rel] = _Source(_read(entry, display), display, user=True)
    missing = [r for r in REASONS if f"{r}.txt.j2" not in sources]
    if missing:
        raise TemplateError(f"the built-in templates are missing ({', '.join(missing)}) — reinstall sheetsync")

    loader_map: dict[str, tuple[str, str]] = {rel: (s.text, s.display) for rel, s in sources.items()}
    plans: dict[tuple[str, str], tuple[str, list[tuple[str, str, int]], str, str | None]] = {}
    for rel, src in sources.items():
        folder_name, _, base = rel.rpartition("/")
        reason, kind = _template_kind(base)
        if reason is None:
            _check_name(base, src)
            continue
        if kind != "txt":
            continue
        lang = folder_name.casefold()
        headers, body, body_line = _split(src.text, src.display, html=False)
        for name, value, line in headers:
            loader_map[f"{rel}#{name}"] = (_pad(line, value), src.display)
        loader_map[f"{rel}#body"] = (_pad(body_line, body), src.display)
        html_rel = f"{folder_name}/{reason}.html.j2" if folder_name else f"{reason}.html.j2"
        html_src = sources.get(html_rel)
        # An HTML alternative pairs with its plain version: a user's own .txt.j2
        # never gets the built-in HTML, which would say something else.
        if html_src is not None and src.user and not html_src.user:
            html_src = None
        html_key: str | None = None
        if html_src is not None:
            _, html_body, html_line = _split(html_src.text, html_src.display, html=True)
            html_key = f"{html_rel}#body"
            loader_map[html_key] = (_pad(html_line, html_body), html_src.display)
        plans[(lang, reason)] = (rel, headers, src.display, html_key)

    loader = _Loader(loader_map)
    env = _Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_blank_none,
        auto_reload=False,
        cache_size=-1,
    )
    for name in _TEXT_FILTERS:
        env.filters[name] = _empty_for_none(env.filters[name])
    env.filters.update(
        money=money_filter, date=date_filter, time=time_filter, first_name=first_name_filter, khun=khun_filter
    )

    def compile_(name: str) -> jinja2.Template:
        text, display = loader_map[name]
        try:
            tree = env.parse(text, name, display)
            for ref in meta.find_referenced_templates(tree):
                if ref is not None and ref not in sources:
                    raise TemplateError(
                        f"template {display} includes {ref!r}, which doesn't exist — "
                        "check the name (paths are relative to the templates folder)"
                    )
            loader.parsed[name] = tree
            try:
                return env.get_template(name)
            finally:
                loader.parsed.pop(name, None)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error in {display}, line {exc.lineno}: {exc.message} — "
                "fix the template; nothing was written"
            ) from None

    sets: dict[tuple[str, str], TemplateSet] = {}
    for key, (rel, headers, display, html_key) in plans.items():
        html = compile_(html_key) if html_key else None
        sets[key] = TemplateSet(
            file=display,
            headers=tuple((name, compile_(f"{rel}#{name}")) for name, _v, _l in headers),
            body=compile_(f"{rel}#body"),
            html=html,
            html_file=loader_map[html_key][1] if html_key else None,
        )
    for rel in sources:
        compile_(rel)  # partials and unused files too: a broken include must fail now, not mid-run
    files = frozenset(s.display for s in sources.values())
    return Templates(env, sets, sender, folder, files)


def _autoescape(name: str | None) -> bool:
    """HTML templates (and their parts) escape cell values; plain text must not."""
    return name is not None and name.split("#")[0].endswith(".html.j2")


def _template_kind(base: str) -> tuple[str | None, str]:
    for reason in REASONS:
        for kind in ("txt", "html"):
            if base == f"{reason}.{kind}.j2":
                return reason, kind
    return None, ""


def _check_name(base: str, src: _Source) -> None:
    """A misspelt reason (``followup.txt.j2``) would be silently ignored; say so instead."""
    if not src.user:
        return
    stem = base.split(".", 1)[0]
    close = difflib.get_close_matches(stem, REASONS, n=1, cutoff=0.8)
    if close:
        raise TemplateError(
            f"template {src.display} is not used: {stem!r} is not a draft reason — "
            f"did you mean {close[0]!r}? (reasons: {', '.join(REASONS)})"
        )


def _parse_sender(config: Config) -> tuple[str, str]:
    raw = config.drafts.sender
    name, addr = parseaddr(raw)
    if _BREAKS.search(raw) or not _ADDR.match(_ascii_addr(addr) or ""):
        where = f" in {config.path}" if config.path else ""
        raise ConfigError(
            f"drafts.from: {raw!r}{where} is not an address — write it like 'Sales Team <sales@example.com>'"
        )
    return " ".join(name.split()), addr


# ---------------------------------------------------------------- messages

_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_ADDR = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$"
)
_ATEXT_PHRASE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$")
_MAX_NAME = 100
_WORD_BYTES = 42  # base64 of 42 bytes is 56 characters: an encoded-word of 68, inside RFC 2047's 75
_WORD_CHARS = 56  # the same budget for Q text


class HeaderInjection(ValueError):
    """A rendered header value tried to start a new header line."""


def _ascii_addr(addr: str) -> str | None:
    """The address with its domain in IDNA form, or None when the mailbox itself isn't ASCII."""
    local, at, domain = addr.strip().rpartition("@")
    if not at or not local.isascii():
        return None
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return None
    return f"{local}@{domain}"


_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# Each byte's "Q" spelling, using only the characters RFC 2047 allows everywhere (phrases too).
_Q_TABLE = tuple(chr(b) if b in _Q_SAFE else "_" if b == 32 else f"={b:02X}" for b in range(256))


_Q_PLAIN = bytes(_Q_SAFE) + b" "


def _use_q(data: bytes) -> bool:
    """Q (readable: ``Following_up_=E2=80=94_Acme``) when it is no longer than base64, like Python's SHORTEST."""
    q_len = len(data) + 2 * len(data.translate(None, _Q_PLAIN))
    return q_len <= (len(data) + 2) // 3 * 4


def _word(data: bytes, q: bool) -> str:
    if q:
        return "=?utf-8?q?" + "".join([_Q_TABLE[b] for b in data]) + "?="
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 encoded-words, each of whole characters and at most 68 characters long."""
    data = text.encode("utf-8")
    if not _use_q(data):
        words = []
        start = 0
        while len(data) - start > _WORD_BYTES:
            end = start + _WORD_BYTES
            while data[end] & 0xC0 == 0x80:  # never cut inside a character
                end -= 1
            words.append(_word(data[start:end], False))
            start = end
        words.append(_word(data[start:], False))
        return words
    words = []
    start = size = 0
    for i, b in enumerate(data):
        cost = len(_Q_TABLE[b])
        if size + cost > _WORD_CHARS and b & 0xC0 != 0x80:
            words.append(_word(data[start:i], True))
            start, size = i, 0
        size += cost
    words.append(_word(data[start:], True))
    return words


def _fold(name: str, parts: Sequence[str], sep: str = " ") -> str:
    """Join ``parts`` into one header, breaking lines before a part when a line would pass 78."""
    line = f"{name}: {parts[0]}"
    lines: list[str] = []
    for part in parts[1:]:
        piece = sep + part
        if len(line) + len(piece) > 78:
            lines.append(line + sep.rstrip())
            line = " " + part
        else:
            line += piece
    lines.append(line)
    return "\r\n".join(lines)


def _check_value(name: str, value: str) -> None:
    if _BREAKS.search(value):
        raise HeaderInjection(
            f"header injection refused: the {name} would contain a line break or control character "
            "(check the cells the template puts in it)"
        )


def unstructured_header(name: str, value: str) -> str:
    """A ``Subject``-like header line, folded; refuses line breaks."""
    _check_value(name, value)
    if value.isascii() and "=?" not in value and all(len(w) < 900 for w in value.split(" ")):
        # Fold only before a space that follows text, so unfolding gives back the value exactly.
        chunks = re.split(r"(?<=[^ ]) (?=[^ ])", value)
        return _fold(name, chunks) if len(chunks) > 1 else f"{name}: {value}"
    return _fold(name, _encoded_words(value))


def _mailbox(display: str, addr: str) -> str:
    display = " ".join(display.split())[:_MAX_NAME]
    if not display:
        return addr
    if not display.isascii() or "=?" in display:
        # One encoded-word for the whole name, even past 75 characters: Python's
        # parser decodes a display name split over several words with stray spaces.
        data = display.encode("utf-8")
        return f"{_word(data, _use_q(data))} <{addr}>"
    if _ATEXT_PHRASE.match(display):
        return f"{display} <{addr}>"
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{addr}>'


def address_header(name: str, mailboxes: Sequence[tuple[str, str]]) -> str:
    """``To``/``From``-like header from (display name, address) pairs; addresses must be checked."""
    for display, addr in mailboxes:
        _check_value(name, display)
        _check_value(name, addr)
    return _fold(name, [_mailbox(d, a) for d, a in mailboxes], sep=", ")


@functools.lru_cache(maxsize=256)
def _from_header(display: str, addr: str) -> str:
    """The From line, built once per owner: the same few owners sign thousands of drafts."""
    return address_header("From", [(display, addr)])


def _address_list(name: str, value: str) -> list[tuple[str, str]]:
    """A rendered ``Cc``/``Reply-To`` value → checked (name, address) pairs."""
    _check_value(name, value)
    pairs: list[tuple[str, str]] = []
    for part in _split_addresses(value):
        try:
            display, addr = parseaddr(part)
        except RecursionError:  # thousands of nested comments: "((((…"
            display, addr = "", ""
        ascii_addr = _ascii_addr(addr) if addr else None
        if ascii_addr is None or not _ADDR.match(ascii_addr):
            raise ValueError(f"the {name} header has {part.strip()!r}, which is not an email address")
        pairs.append((display, ascii_addr))
    return pairs


def _split_addresses(value: str) -> list[str]:
    """Split on commas outside quotes and angle brackets (names like "Doe, Jane")."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    depth = 0
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            depth += 1
        elif ch == ">" and not quoted:
            depth = max(0, depth - 1)
        if ch in ",;" and not quoted and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def _body_part(text: str, subtype: str, boundary: str | None = None) -> tuple[list[str], bytes]:
    """MIME headers and body bytes with CRLF line ends.

    UTF-8 text goes out as ``8bit``: every mail client reads it, the ``.eml``
    stays legible in a text editor, and there is nothing to encode.  Base64
    is kept for what 8bit can't carry: lines over RFC 5322's 998 bytes, bare
    control characters, a line that would look like our MIME boundary, and a
    line starting ``From `` (which mbox readers would split at or mangle).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    data = text.encode("utf-8")
    headers = [f'Content-Type: text/{subtype}; charset="utf-8"']
    # Plain byte operations rather than regex searches: on a Thai body the two
    # searches cost 10-25 µs, a tenth of all the work on one draft.
    if (
        max(map(len, data.split(b"\n"))) <= 998
        and len(data.translate(None, _BODY_CONTROL)) == len(data)
        and not (data.startswith(b"From ") or b"\nFrom " in data)
        and (boundary is None or boundary.encode("ascii") not in data)
    ):
        headers.append("Content-Transfer-Encoding: " + ("7bit" if data.isascii() else "8bit"))
        return headers, data.replace(b"\n", b"\r\n")
    headers.append("Content-Transfer-Encoding: base64")
    return headers, base64.encodebytes(data).replace(b"\n", b"\r\n")


#: Control bytes a body can't carry as 8bit text (tab, LF and CR can).
_BODY_CONTROL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# An mbox reader would split a message at a body line starting "From " (or show it as ">From "),
# hence the check for "From " at the start of the body or of any line.


@functools.lru_cache(maxsize=16)
def _date_header(date: dt.datetime) -> str:
    """Every draft of a run has the same Date (09:00 on the as-of day): format it once."""
    return format_datetime(date)


@dataclass(frozen=True, slots=True)
class Draft:
    """One built message: RFC 5322 bytes with CRLF line ends, and its Date (for the mbox separator)."""

    data: bytes
    date: dt.datetime


def build_message(
    *,
    sender: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    text: str,
    html: str | None,
    date: dt.datetime,
    message_id: str,
    cc: Sequence[tuple[str, str]] = (),
    reply_to: Sequence[tuple[str, str]] = (),
) -> bytes:
    """RFC 5322 bytes of an unsent draft; raises :class:`HeaderInjection` for a line break in any value."""
    lines = [
        "X-Unsent: 1",
        _from_header(*sender),
        address_header("To", [to]),
    ]
    if cc:
        lines.append(address_header("Cc", cc))
    if reply_to:
        lines.append(address_header("Reply-To", reply_to))
    lines += [
        unstructured_header("Subject", subject),
        f"Date: {_date_header(date)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    if html is None:
        part_headers, body = _body_part(text, "plain")
        lines += part_headers
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
    boundary = "=_sheetsync_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    out = io.BytesIO()
    out.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    for content, subtype in ((text, "plain"), (html, "html")):
        part_headers, body = _body_part(content, subtype, boundary)
        out.write(f"--{boundary}\r\n".encode("ascii"))
        out.write(("\r\n".join(part_headers) + "\r\n\r\n").encode("ascii"))
        out.write(body)
        out.write(b"\r\n")  # the line break before a boundary belongs to the boundary, not the text
    out.write(f"--{boundary}--\r\n".encode("ascii"))
    return out.getvalue()


# ---------------------------------------------------------------- file names

_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})
SLUG_MAX_BYTES = 120


class _SlugChars(dict[int, str]):
    """Character → itself (lower-cased) when it is a letter, digit or mark of any script, else ``-``.

    Filled lazily and kept, so ``str.translate`` does the per-character work in C.
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        value = ch.lower() if unicodedata.category(ch)[0] in "LNM" else "-"
        self[code] = value
        return value


_SLUG_CHARS = _SlugChars()
_DASHES = re.compile(r"-{2,}")


@functools.lru_cache(maxsize=4096)  # a big sheet repeats company names (branches, several contacts)
def slugify(text: str | None, max_bytes: int = SLUG_MAX_BYTES) -> str:
    """A file-name-safe, never empty piece of the prospect's name.

    Letters of any script (Thai included, with its vowel and tone marks) and
    digits are kept, everything else becomes one ``-``, so the result can't
    hold a path separator, a dot, or a character Windows refuses; it is
    bounded in UTF-8 bytes so the whole name (about 170 bytes at most) stays
    below the 255-byte limit of common file systems.
    """
    slug = _DASHES.sub("-", unicodedata.normalize("NFC", text or "").translate(_SLUG_CHARS)).strip("-")
    if len(slug.encode("utf-8")) > max_bytes:
        # The longest prefix of whole characters within max_bytes: decoding drops a cut character.
        slug = slug.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        cut = slug.rfind("-")
        slug = slug[:cut] if cut > len(slug) // 2 else slug  # end on a whole word when one is near
        slug = slug.rstrip("-")
    if not slug:
        return "prospect"
    if slug in _RESERVED:
        return f"{slug}-1"
    return slug


def draft_name(as_of: dt.date, reason: str, row: int, prospect: str | None) -> str:
    """``<as-of>_<reason>_row<row>_<slug>.eml`` — one name per row and day, so reruns replace."""
    return f"{as_of.isoformat()}_{reason}_row{row}_{slugify(prospect)}.eml"


def _check_file_name(name: str) -> None:
    """Refuse a file name that could leave the drafts folder (defence in depth)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"unsafe file name {name!r}")


# ---------------------------------------------------------------- output


@dataclass(frozen=True, slots=True)
class DraftEntry:
    """One due row's outcome, as the manifest and ``--json`` report it."""

    row: int
    prospect: str | None
    email: str | None
    reason: str
    status: str  # one of STATUSES
    name: str | None  # the .eml's (or drafts.mbox's) name in ``folder``; the would-be file's on a dry run
    subject: str | None
    detail: str
    folder: Path | None = None

    @property
    def file(self) -> Path | None:
        """The file in the drafts folder (made on demand: a big run has 5,000 entries, and pathlib is slow)."""
        return None if self.name is None or self.folder is None else self.folder / self.name

    def as_json(self) -> dict[str, object]:
        return {
            "row": self.row,
            "prospect": self.prospect,
            "email": self.email,
            "reason": self.reason,
            "file": str(self.file) if self.file is not None else None,
            "status": self.status,
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass(slots=True)
class DraftsResult:
    """Every due row accounted for, in row order."""

    entries: list[DraftEntry]
    out: Path
    fmt: str
    dry_run: bool
    manifest: Path | None  # None on a dry run
    removed: list[Path] = field(default_factory=list)  # earlier drafts of the same as-of replaced away

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def written(self) -> int:
        return self.count("written")

    @property
    def would_write(self) -> int:
        return self.count("would-write")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def limited(self) -> int:
        return self.count("limited")

    def counts(self) -> dict[str, int]:
        """Every status with how many entries have it, plus ``due``: for logs and monitoring."""
        out = {"due": len(self.entries)}
        out.update((status.replace("-", "_"), self.count(status)) for status in STATUSES)
        return out

    def entries_json(self) -> list[dict[str, object]]:
        return [e.as_json() for e in self.entries]

    def summary_text(self, shown: int = 20) -> str:
        """The terminal lines: what was written where, then every failure and the first skips."""
        where = self.out / MBOX if self.fmt == "mbox" else self.out
        if not self.entries:
            head = "Drafts: no prospect is due."
        elif self.dry_run:
            head = f"Dry run: {self.would_write} draft(s) would be written to {where} (nothing was written)"
        else:
            head = f"Drafts: {self.written} written to {where}"
        extra = [
            f"{n} {label}"
            for n, label in (
                (self.skipped, "skipped (no usable email)"),
                (self.failed, "failed"),
                (self.limited, "left out by --limit"),
            )
            if n
        ]
        if extra:
            head += "; " + ", ".join(extra)
        if self.manifest is not None and self.entries:
            head += f"; manifest {self.manifest}"
        lines = [head]
        for e in self.entries:
            if e.status == "failed":
                lines.append(f"  failed  row {e.row} {e.prospect or ''}: {e.detail}")
        listed = [e for e in self.entries if e.status == ("would-write" if self.dry_run else "skipped")]
        for e in listed[:shown]:
            what = e.name if e.status == "would-write" and e.name is not None else e.detail
            lines.append(f"  {e.status:<7} row {e.row} {e.prospect or ''}: {what}")
        if len(listed) > shown:
            lines.append(f"  … and {len(listed) - shown} more (--json lists them all)")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    """Cell values as a template writer expects them: 45000 not 45000.0, dates without 00:00, empty is None."""
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and not (value.hour or value.minute or value.second):
        return value.date()
    return value


@functools.lru_cache(maxsize=256)
def _alias(header: str) -> str:
    """``Product Interest`` → ``product_interest``, so templates can write ``prospect.product_interest``."""
    return re.sub(r"\W+", "_", header.strip()).strip("_").casefold()


def _prospect(row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if row.extra:  # most sheets have no extra columns: skip walking the shared empty mapping twice
        for header, value in row.extra.items():
            data[header] = _plain(value)
        for header, value in row.extra.items():
            alias = _alias(header)
            if alias and alias not in data:
                data[alias] = _plain(value)
    # None and the yes/no booleans, most of a row, are already plain.
    data.update(
        zip(FIELDS, [v if v is None or v is True or v is False else _plain(v) for v in _FIELD_VALUES(row)], strict=True)
    )
    data["row"] = row.row
    return data


_FIELD_VALUES = operator.attrgetter(*FIELDS)


class _RenderError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@functools.lru_cache(maxsize=128)
def _globals_keys(tmpl: jinja2.Template) -> set[str]:
    return set(tmpl.globals)


def _render(tmpl: jinja2.Template, *, ctx: dict[str, Any], file: str, templates: Templates, row: int) -> str:
    """``tmpl.render``, with ``ctx`` already holding the environment's globals.

    ``render`` copies its context and merges in the globals on every call;
    a draft renders two or three templates from one context, and those
    copies were a fifth of the rendering time.  Sharing is safe because
    Jinja never writes to a context's parent mapping.  The Context is made
    here rather than by ``new_context``, which turned the template's globals
    (a ChainMap, slow to walk) into a set on every render; the set is made
    once per template and only ever read.
    """
    try:
        try:
            context = tmpl.environment.context_class(tmpl.environment, ctx, tmpl.name, tmpl.blocks)
            context.globals_keys = _globals_keys(tmpl)
            return tmpl.environment.concat(tmpl.root_render_func(context))
        except Exception:
            tmpl.environment.handle_exception()
    except (
        jinja2.TemplateError,
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        AttributeError,
    ) as exc:
        line = None
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in templates.files:
                file, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
        where = f"{file}, line {line}" if line else file
        cause = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
        raise _RenderError(f"row {row}: {where}: {cause}") from None


def make_out_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"can't create the drafts folder {out} ({exc.strerror or exc}) — pass another --out") from None


def check_out_folder(out: Path) -> None:
    """Refuse an ``--out`` that can't be made, without making it: a run checks before it writes anything."""
    probe = out.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"can't create the drafts folder {out} ({probe} is not a folder) — pass another --out")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"can't create the drafts folder {out} ({probe} is not writable) — pass another --out")


def _csv_cell(value: object) -> object:
    """Text starting like a formula opens as text in Excel (no CSV formula injection)."""
    if isinstance(value, str) and value[:1] in _FORMULA_START:
        return "'" + value
    return value


_FORMULA_START = frozenset("=+-@\t\r")


def _manifest_bytes(entries: Sequence[DraftEntry]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADER)
    # One writerows over a comprehension: a big run has 5,000 entries.  _csv_cell is
    # only called for text that could start like a formula.
    writer.writerows(
        [
            e.row,
            _csv_cell(e.prospect) if e.prospect and e.prospect[0] in _FORMULA_START else e.prospect or "",
            _csv_cell(e.email) if e.email and e.email[0] in _FORMULA_START else e.email or "",
            e.reason,
            e.status,
            e.name or "",
            _csv_cell(e.subject) if e.subject and e.subject[0] in _FORMULA_START else e.subject or "",
            _csv_cell(e.detail) if e.detail and e.detail[0] in _FORMULA_START else e.detail,
        ]
        for e in entries
    )
    # A byte-order mark so Excel opens the Thai text as UTF-8.
    return buf.getvalue().encode("utf-8-sig")


def _mbox_bytes(drafts: Sequence[Draft]) -> bytes:
    """mboxrd: a ``From`` separator line per message, LF line ends, ``>From`` quoting."""
    out = io.BytesIO()
    for d in drafts:
        stamp = d.date.astimezone(dt.UTC).strftime("%a %b %d %H:%M:%S %Y")
        out.write(f"From sheetsync@localhost {stamp}\n".encode("ascii"))
        body = d.data.replace(b"\r\n", b"\n")
        out.write(re.sub(rb"(?m)^(>*From )", rb">\1", body))
        if not body.endswith(b"\n"):
            out.write(b"\n")
        out.write(b"\n")
    return out.getvalue()


def _draft_date(config: Config, as_of: dt.date) -> dt.datetime:
    """09:00 on the as-of day in the configured time zone: reruns give identical files."""
    nine = dt.datetime.combine(as_of, dt.time(9))
    return nine.replace(tzinfo=ZoneInfo(config.timezone)) if config.timezone else nine.astimezone()


def _message_id(as_of: dt.date, reason: str, row: Row, from_addr: str) -> str:
    domain = from_addr.rpartition("@")[2] or "sheetsync.invalid"
    digest = hashlib.sha256(f"{as_of}|{reason}|{row.row}|{row.prospect}".encode()).hexdigest()[:16]
    return f"<sheetsync.{_compact_date(as_of)}.{reason}.row{row.row}.{digest}@{domain}>"


@functools.lru_cache(maxsize=16)
def _compact_date(day: dt.date) -> str:
    return f"{day:%Y%m%d}"  # strftime costs more than the rest of a Message-ID; a run has one as-of day


def _skip_reason(row: Row) -> str | None:
    if row.email is None:
        if row.is_bad("email"):
            return "the email cell is not a valid address (see the Checks tab) — fix it to get a draft"
        return "no email address — add the contact's email to get a draft"
    ascii_addr = _ascii_addr(row.email)
    if ascii_addr is None or not _ADDR.match(ascii_addr):
        return f"{row.email!r} can't be used as a draft address (non-ASCII or unusual mailbox name)"
    return None


def make_drafts(
    rows: Iterable[Row],
    stale_rows: Collection[int],
    config: Config,
    as_of: dt.date,
    *,
    out: Path | None = None,
    fmt: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    templates: Templates | None = None,
    progress: Progress | None = None,
) -> DraftsResult:
    """Render a draft for every due row and write them (SPEC 8.3).

    A row that can't be rendered is a ``failed`` entry naming the row, the
    template file and line, and the cause; the others are still written and
    the caller exits 1 on ``result.failed``.  A dry run renders everything (so
    it finds the same failures) and touches nothing on disk.
    """
    pending = start_drafts(
        rows, stale_rows, config, as_of, out=out, fmt=fmt, limit=limit, dry_run=dry_run, templates=templates
    )
    return pending.finish(progress)


def start_drafts(
    rows: Iterable[Row],
    stale_rows: Collection[int],
    config: Config,
    as_of: dt.date,
    *,
    out: Path | None = None,
    fmt: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    templates: Templates | None = None,
) -> PendingDrafts:
    """:func:`make_drafts` in two steps, so a big run's helper process can start rendering early.

    run.py starts the drafts before it writes the tabs, and the helper
    renders its part meanwhile.  Nothing is written and
    no error is raised before ``finish()``, which checks and writes exactly
    what make_drafts did, in the same order; ``cancel()`` stops the helper
    when the run fails in between.
    """
    return PendingDrafts(rows, stale_rows, config, as_of, out, fmt, limit, dry_run, templates)


class PendingDrafts:
    """Drafts started by :func:`start_drafts`: ``finish()`` makes them, ``cancel()`` drops them."""

    def __init__(
        self,
        rows: Iterable[Row],
        stale_rows: Collection[int],
        config: Config,
        as_of: dt.date,
        out: Path | None,
        fmt: str | None,
        limit: int | None,
        dry_run: bool,
        templates: Templates | None,
    ) -> None:
        self.config = config
        self.as_of = as_of
        self.out = Path(out if out is not None else config.drafts.out)
        self.fmt = fmt or config.drafts.format
        self.limit = limit
        self.dry_run = dry_run
        self.templates = templates
        self.todo = due(rows, stale_rows, config, as_of)
        self.maker: _Maker | None = None
        self.helper: _Helper | None = None
        if self.fmt in FORMATS and templates is not None:
            self.helper = self._helper(templates)

    def _helper(self, templates: Templates) -> _Helper | None:
        """A forked helper rendering the last drafts, when that is worth it and safe (see parallel.py)."""
        if self.limit is not None or len(self.todo) < PARALLEL_MIN or not parallel.possible():
            return None  # with --limit a draft depends on the ones before it
        maker = self.maker = _Maker(self.config, self.as_of, templates, self.out, self.fmt, self.dry_run)
        fmt = self.fmt
        return parallel.Helper(
            self.todo[len(self.todo) - int(len(self.todo) * HELPER_SHARE) :],
            prepare=lambda item: maker.prepare(*item),
            complete=maker.complete,
            pack=lambda outcome: _fields(*outcome, fmt),
        )

    def cancel(self) -> None:
        if self.helper is not None:
            self.helper.kill()
            self.helper = None

    def finish(self, progress: Progress | None = None) -> DraftsResult:
        try:
            return self._finish(progress)
        finally:
            self.cancel()  # a helper not waited for by now (an error on the way) is killed

    def _finish(self, progress: Progress | None) -> DraftsResult:
        out, fmt, limit, dry_run, as_of = self.out, self.fmt, self.limit, self.dry_run, self.as_of
        if fmt not in FORMATS:
            raise UsageError(f"unknown drafts format {fmt!r} — use eml or mbox")
        if limit is not None and limit < 0:
            raise UsageError(f"--limit must be 0 or more, got {limit}")
        templates = self.templates if self.templates is not None else load_templates(self.config)
        todo = self.todo
        if not dry_run:
            make_out_folder(out)

        if self.maker is None:  # not started early (no templates given): a helper may still pay
            self.helper = self._helper(templates)
        if self.maker is None:
            self.maker = _Maker(self.config, as_of, templates, out, fmt, dry_run)
        if not dry_run:
            self.maker.list_folder()
            sweep_temp_files(out, self.maker.present)  # what runs killed mid-write left (SPEC 10.5)
        # A SIGINT or SIGTERM from here on stops the drafts between two of them, so the
        # manifest written below lists exactly the drafts that were written.
        with stopping.deferred():
            if self.helper is not None:
                helper, self.helper = self.helper, None
                outcomes = _with_helper(self.maker, todo, helper, progress)
            else:
                outcomes = _one_process(self.maker, todo, limit, progress)
            entries = [entry for entry, _draft in outcomes]
            mbox = [draft for _entry, draft in outcomes if draft is not None] if fmt == "mbox" else []
            signum = stopping.requested()
            result = DraftsResult(entries, out, fmt, dry_run, None if dry_run else out / MANIFEST)
            if not dry_run:
                if signum:
                    sweep_temp_files(out)  # a helper that had to be killed mid-write left its temp file
                self._write(result, mbox, removing=not signum)
            if signum:
                raise Stopped(signum, _stopped_message(result, signum))
        return result

    def _write(self, result: DraftsResult, mbox: list[Draft], *, removing: bool) -> None:
        """The mbox or the clean-up of replaced ``.eml`` files, then the manifest (the end of every run that writes)."""
        out = result.out
        if result.fmt == "mbox":
            try:
                write_atomic(out / MBOX, _mbox_bytes(mbox))
            except OSError as exc:
                raise UsageError(f"can't write {out / MBOX} ({exc.strerror or exc}) — check the folder") from None
        elif removing:  # a stopped run leaves the drafts it did not reach as they were
            kept = {e.name for e in result.entries if e.status == "written" and e.name is not None}
            result.removed = _remove_replaced(out, self.as_of, kept)
        try:
            write_atomic(out / MANIFEST, _manifest_bytes(result.entries))
        except OSError as exc:
            raise UsageError(f"can't write {out / MANIFEST} ({exc.strerror or exc}) — check the folder") from None


def _stopped_message(result: DraftsResult, signum: int) -> str:
    name = signal.Signals(signum).name
    if result.dry_run:
        return f"stopped by {name} while rendering drafts (a dry run: nothing was written) — run again"
    where = f"to {result.out / MBOX}" if result.fmt == "mbox" else f"in {result.out}"
    return (
        f"stopped by {name} while writing drafts — {result.written} of {len(result.entries)} written {where}, "
        f"listed in {result.manifest} (the rest marked {INTERRUPTED}); run again to write them"
    )


Outcome = tuple[DraftEntry, "Draft | None"]


def _interrupted(maker: _Maker, row: Row, reason: str) -> Outcome:
    """A due row the run was stopped before reaching (SIGINT/SIGTERM): in the manifest, never written."""
    name = signal.Signals(stopping.requested()).name
    detail = f"not written: the run was stopped by {name} before this draft — run again to write it"
    return maker.entry(row, reason, INTERRUPTED, detail=detail), None


def _one_process(
    maker: _Maker, todo: Sequence[tuple[Row, str]], limit: int | None, progress: Progress | None
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    made = 0
    for done, (row, reason) in enumerate(todo, 1):
        if stopping.requested():
            outcomes.extend(_interrupted(maker, row, reason) for row, reason in todo[done - 1 :])
            break
        if (skip := _skip_reason(row)) is not None:
            entry, draft = maker.entry(row, reason, "skipped", detail=skip), None
        elif limit is not None and made >= limit:
            entry, draft = maker.entry(row, reason, "limited", detail=f"not written: --limit {limit} reached"), None
        else:
            entry, draft = maker.make(row, reason)
        if entry.status in ("written", "would-write"):
            made += 1
        outcomes.append((entry, draft))
        if progress is not None:
            progress(done, len(todo))
    return outcomes


def _until_stopped(maker: _Maker, todo: Sequence[tuple[Row, str]], report: Callable[[int], None]) -> list[Outcome]:
    """Each due row's outcome as :meth:`_Maker.outcome` makes it, until the run is asked to stop."""
    outcomes: list[Outcome] = []
    for done, (row, reason) in enumerate(todo, 1):
        if stopping.requested():
            outcomes.extend(_interrupted(maker, row, reason) for row, reason in todo[done - 1 :])
            break
        outcomes.append(maker.outcome(row, reason))
        report(done)
    return outcomes


def _with_helper(
    maker: _Maker, todo: Sequence[tuple[Row, str]], helper: _Helper, progress: Progress | None
) -> list[Outcome]:
    """This process makes the first drafts while the helper writes the rest it has rendered.

    Each draft is made exactly as :func:`_one_process` makes it (no
    ``--limit``, so drafts don't depend on each other).  Whatever the helper
    did not complete (it failed, or was stopped on its own), this process
    makes itself, so the result, and any error, is what one process would
    have produced.  One difference remains: when making a draft raises here
    (a bug, not a template or write error, which are outcomes), the helper
    may already have written later drafts that one process would not have
    reached.  When the run is asked to stop, both stop between two drafts and
    the drafts neither reached are marked interrupted.
    """
    mine = len(todo) - len(helper.items)
    shown = 0

    def report(done: int) -> None:
        nonlocal shown
        if progress is not None and done > shown:
            shown = done
            progress(done, len(todo))

    helper.go()
    try:
        outcomes = _until_stopped(
            maker,
            todo[:mine],
            lambda done: report(min(len(todo) - 1, done * len(todo) // max(1, mine))),  # both halves at one pace
        )
        packed = helper.results()
    finally:
        helper.kill()
    theirs = [] if packed is None else _unpack(packed, maker)
    theirs += _until_stopped(maker, todo[mine + len(theirs) :], lambda _done: None)
    report(len(todo))
    return outcomes + theirs


#: Fewest due rows worth a helper process: forking a big run costs some 20-50 ms.
PARALLEL_MIN = 500
#: The helper's share of the drafts.  It starts first (while this process writes the
#: tabs, ~0.15 s at 100,000 rows) but is slower per draft: it copies each memory page
#: it writes to, and the two CPUs of the machines measured share a core's resources
#: (two busy processes each run ~45 % slower than one alone).  Measured at 100,000
#: rows: given half, the helper's outcomes reached this process 30-180 ms after it
#: finished its own drafts; given 46 %, 20-27 ms, about what sending them takes.
HELPER_SHARE = 0.46

_Helper = parallel.Helper[tuple[Row, str], "Outcome | _Built", Outcome]


def _fields(e: DraftEntry, draft: Draft | None, fmt: str) -> tuple[tuple[Any, ...], bytes | None]:
    """An outcome as plain values for the pipe.

    Both sides know the run's drafts folder and Date, so a file travels as
    its name (unpickling a whole path costs more than joining the name).  The
    message itself travels only for an mbox, which the parent writes; an
    ``.eml`` is on disk already.
    """
    return (e.row, e.prospect, e.email, e.reason, e.status, e.name, e.subject, e.detail), (
        draft.data if draft is not None and fmt == "mbox" else None
    )


def _unpack(packed: list[Any], maker: _Maker) -> list[Outcome]:
    """The helper's outcomes, as :func:`_fields` packed them."""
    out, date = maker.out, maker.date
    return [
        (
            DraftEntry(row, prospect, email, reason, state, name, subject, detail, out),
            None if data is None else Draft(data, date),
        )
        for (row, prospect, email, reason, state, name, subject, detail), data in packed
    ]


class _Maker:
    """What stays the same for every draft of one run, and turning one due row into its entry."""

    def __init__(self, config: Config, as_of: dt.date, templates: Templates, out: Path, fmt: str, dry_run: bool):
        self.config = config
        self.as_of = as_of
        self.templates = templates
        self.out = out
        self.out_text = os.fspath(out)
        self.fmt = fmt
        self.dry_run = dry_run
        self.date = _draft_date(config, as_of)
        # What Template.render would merge in on every call (see _render).
        self.base_ctx = {
            **templates.env.globals,
            "sender": config.drafts.sender,
            "as_of": as_of,
            "currency": config.currency,
        }
        self.stage_of = _StageMemo(config)
        self.present: frozenset[str] | None = None  # the drafts folder's files before we wrote
        self.listed = False
        self.picked: dict[tuple[str | None, str], tuple[str, TemplateSet]] = {}

    def list_folder(self) -> None:
        """Take the drafts folder's listing, once it exists: a draft not in it needn't be compared before writing."""
        self.listed = True
        self.present = None
        with contextlib.suppress(OSError):  # unlisted: every write checks for itself
            self.present = frozenset(os.listdir(self.out))

    def entry(
        self, row: Row, reason: str, status: str, name: str | None = None, subject: str | None = None, detail: str = ""
    ) -> DraftEntry:
        return DraftEntry(row.row, row.prospect, row.email, reason, status, name, subject, detail, self.out)

    def outcome(self, row: Row, reason: str) -> Outcome:
        """One due row's entry and draft, as _one_process makes it when there is no --limit."""
        return self.complete(self.prepare(row, reason))

    def prepare(self, row: Row, reason: str) -> Outcome | _Built:
        """Everything up to writing: the final outcome, or a built draft for ``complete`` to write."""
        if (skip := _skip_reason(row)) is not None:
            return self.entry(row, reason, "skipped", detail=skip), None
        return self.build(row, reason)

    def make(self, row: Row, reason: str) -> tuple[DraftEntry, Draft | None]:
        """Render, build and (unless a dry run, or an mbox the caller writes) write one draft."""
        return self.complete(self.build(row, reason))

    def complete(self, built: Outcome | _Built) -> Outcome:
        """Write a built draft (one .eml; an mbox is written by the caller)."""
        if not isinstance(built, _Built):
            return built
        row, reason, name, subject, data = built
        if self.fmt == "eml":
            if not self.listed:  # a helper lists the folder once it writes; this process has listed it
                self.list_folder()
            absent = self.present is not None and name not in self.present
            target = f"{self.out_text}{os.sep}{name}"
            try:
                write_atomic(target, data, absent=absent)
            except OSError as exc:
                detail = f"row {row.row}: can't write {target} ({exc.strerror or exc})"
                return self.entry(row, reason, "failed", subject=subject, detail=detail), None
        return self.entry(row, reason, "written", name, subject), Draft(data, self.date)

    def build(self, row: Row, reason: str) -> Outcome | _Built:
        """Render and build one draft: a failed or would-write outcome, or what to write."""
        key = (row.language, reason)
        picked = self.picked.get(key)
        if picked is None:
            picked = self.picked[key] = self.templates.pick(row.language, reason)
        language, tset = picked
        stage = self.stage_of[row.stage or ""]
        sender_name, sender_addr = self.templates.sender
        from_name, from_addr = (row.owner or "", row.owner_email) if row.owner_email else self.templates.sender
        ctx = dict(self.base_ctx)
        ctx.update(
            prospect=_prospect(row),
            owner={"name": row.owner or sender_name, "email": row.owner_email or sender_addr},
            stage={"name": stage.name if stage else row.stage, "group": stage.group if stage else None},
            reason=reason,
            language=language or "en",
        )
        render = functools.partial(_render, ctx=ctx, templates=self.templates, row=row.row)
        try:
            rendered = {name: render(t, file=tset.file).strip() for name, t in tset.headers}
            text = render(tset.body, file=tset.file).strip("\n")
            html = render(tset.html, file=tset.html_file or tset.file).strip("\n") if tset.html else None
        except _RenderError as exc:
            return self.entry(row, reason, "failed", detail=exc.detail), None
        subject = rendered.get("Subject", "")

        from_addr = _ascii_addr(from_addr) or from_addr
        try:
            data = build_message(
                # Names from cells may span lines (Alt+Enter); in an address they are one line of words.
                sender=(" ".join(from_name.split()), from_addr),
                to=(" ".join((row.contact or "").split()), _ascii_addr(row.email or "") or ""),
                subject=subject,
                text=text,
                html=html,
                date=self.date,
                message_id=_message_id(self.as_of, reason, row, from_addr),
                cc=_address_list("Cc", rendered["Cc"]) if rendered.get("Cc") else (),
                reply_to=_address_list("Reply-To", rendered["Reply-To"]) if rendered.get("Reply-To") else (),
            )
        except ValueError as exc:  # HeaderInjection included
            shown = subject.replace("\r", "\\r").replace("\n", "\\n")  # one line, and what really came out
            return self.entry(row, reason, "failed", subject=shown, detail=f"row {row.row}: {tset.file}: {exc}"), None

        name = MBOX if self.fmt == "mbox" else draft_name(self.as_of, reason, row.row, row.prospect)
        _check_file_name(name)
        if self.dry_run:
            return self.entry(row, reason, "would-write", name, subject), None
        return _Built(row, reason, name, subject, data)


class _Built(NamedTuple):
    """A rendered and built draft, not yet written."""

    row: Row
    reason: str
    name: str  # in the drafts folder
    subject: str
    data: bytes


def _remove_replaced(out: Path, as_of: dt.date, keep: set[str]) -> list[Path]:
    """Drop our own ``.eml`` files of the same as-of that this run did not write again.

    Without this a renamed prospect or a row that is no longer due would
    leave a second, stale draft beside the new one; only names this module
    makes (``<as-of>_<reason>_row<n>_…``) are ever touched.
    """
    pattern = re.compile(rf"^{re.escape(as_of.isoformat())}_(?:{'|'.join(REASONS)})_row\d+_[^/\\]+\.eml$")
    removed: list[Path] = []
    try:
        names = os.listdir(out)
    except OSError:
        return removed
    for name in names:
        if name not in keep and pattern.match(name):
            path = out / name
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
    return removed
