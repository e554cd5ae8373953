"""Templates: found (built in, then the user's folder), split into header and body parts, compiled once.

:func:`load_templates` compiles every template a run may use before
anything is read or written, so a syntax error, an include of a missing
file or a header line a template may not set stops the run (exit 2) with
the file and line, and no half-run ever happens.  :class:`Templates` holds
the result and picks the set a row renders with.  This module never renders
a template; the environment it compiles with is render.py's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2
from jinja2 import meta

from ..config import Config, language_code
from ..errors import ConfigError, TemplateError
from .due import REASONS
from .mime import has_break, usable_address
from .render import make_environment

#: Headers a template may set, by their lower-case spelling.
TEMPLATE_HEADERS = {"subject": "Subject", "cc": "Cc", "reply-to": "Reply-To"}


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
        lang = language_code(language)
        chosen = self.sets.get((lang, reason)) if lang else None
        if chosen is not None:
            return lang, chosen
        return "", self.sets[("", reason)]


class _Loader(jinja2.BaseLoader):
    """Serves raw files by relative name and pre-split parts as ``<name>#<part>``."""

    def __init__(self, sources: Mapping[str, tuple[str, str]]) -> None:
        self.sources = sources

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
        return Path(__file__).resolve().parents[2] / "templates"


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

    env = make_environment(_Loader(loader_map))

    def compile_(name: str) -> jinja2.Template:
        text, display = loader_map[name]
        try:
            # Only a template that can name another (include, import, extends: each a keyword in
            # its text) is parsed first to check the names; the rest are parsed once, by Jinja.
            if any(word in text for word in _REFERRING):
                for ref in meta.find_referenced_templates(env.parse(text, name, display)):
                    if ref is not None and ref not in sources:
                        raise TemplateError(
                            f"template {display} includes {ref!r}, which doesn't exist — "
                            "check the name (paths are relative to the templates folder)"
                        )
            return env.get_template(name)
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


#: The keywords of Jinja's statements that name another template ({% from … import %} has "import").
_REFERRING = ("include", "import", "extends")


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
    """``[drafts] from`` as (display name, address); a ConfigError unless it is one address on one line."""
    raw = config.drafts.sender
    name, addr = parseaddr(raw)
    if has_break(raw) or usable_address(addr) is None:
        where = f" in {config.path}" if config.path else ""
        raise ConfigError(
            f"drafts.from: {raw!r}{where} is not an address — write it like 'Sales Team <sales@example.com>'"
        )
    return " ".join(name.split()), addr
