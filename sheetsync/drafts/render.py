"""The Jinja environment drafts compile with, the context a row renders from, and rendering one template.

Holds :func:`make_environment` (strict undefined, autoescape for HTML only,
an empty cell printed as nothing, our filters), the context of one draft
(:func:`base_context`, :func:`draft_context`), and :func:`render`, which
renders one compiled template and turns any failure into a
:class:`RenderError` naming the row, the template file and line.

The one place sheetsync reaches into Jinja's internals is
:func:`_render_fast`, beside its plain path ``Template.render``; see its
docstring for the pin and the test that guards it.  This module never
loads templates from disk, builds a message or writes a file.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Collection
from typing import Any

import jinja2

from .. import speed
from ..config import PLACEHOLDER_ADDRESS, Config, Stage
from ..model.fields import FIELDS
from ..model.reader import Row
from . import filters

#: The Jinja release series :func:`_render_fast` was written for, as pyproject pins it (``jinja2>=3.1,<3.2``).
JINJA_SERIES = "3.1."

Renderer = Callable[[jinja2.Template, dict[str, Any]], str]


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


def _autoescape(name: str | None) -> bool:
    """HTML templates (and their parts) escape cell values; plain text must not."""
    return name is not None and name.split("#")[0].endswith(".html.j2")


def make_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """The environment every draft template is compiled in and rendered with."""
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
    filters.install(env)
    return env


# ---------------------------------------------------------------- the context of one draft


def base_context(env: jinja2.Environment, config: Config, as_of: dt.date) -> dict[str, Any]:
    """What every draft of a run renders with: the environment's globals (see :func:`_render_fast`) and the run's.

    ``offer`` and ``attachment_note`` are empty here; :func:`draft_context`
    sets the text of the draft's language (:func:`language_texts`).
    """
    return {
        **env.globals,
        "sender": config.drafts.sender,
        "as_of": as_of,
        "currency": config.currency,
        "offer": None,
        "attachment_note": None,
    }


def language_texts(config: Config, language: str) -> dict[str, str | None]:
    """``[drafts] offer`` and ``attachment_note`` for a draft in ``language``: its own text, else the one for all."""
    drafts = config.drafts
    return {
        key: texts.get(language, texts.get(""))
        for key, texts in (("offer", drafts.offer), ("attachment_note", drafts.attachment_note))
    }


def draft_context(
    base: dict[str, Any],
    row: Row,
    stage: Stage | None,
    reason: str,
    language: str,
    sender: tuple[str, str],
    texts: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The variables one row's draft renders from: ``prospect``, ``owner``, ``stage``, ``close_month``, ….

    ``owner.email`` is empty rather than the built-in placeholder address, so
    a signature never shows ``sales@example.com`` (the run warns about such
    drafts instead).  ``close_month`` is the expected close date while its
    month has not passed, else empty: a draft written on 3 December never
    proposes "your plans for November" (issue 16).
    """
    sender_name, sender_addr = sender
    if sender_addr.casefold() == PLACEHOLDER_ADDRESS:
        sender_addr = ""
    as_of: dt.date = base["as_of"]
    close = row.expected_close
    ctx = dict(base)
    ctx.update(
        prospect=_prospect(row),
        owner={"name": row.owner or sender_name, "email": row.owner_email or sender_addr or None},
        stage={"name": stage.name if stage else row.stage, "group": stage.group if stage else None},
        reason=reason,
        language=language or "en",
        close_month=close if close is not None and (close.year, close.month) >= (as_of.year, as_of.month) else None,
    )
    if texts:
        ctx.update(texts)
    return ctx


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


# ---------------------------------------------------------------- rendering


class RenderError(Exception):
    """A template failed for one row; ``detail`` names the row, the file and line, and the cause."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def renderer() -> Renderer:
    """How this run renders: :func:`_render_fast`, unless switched off or on a Jinja it was not written for."""
    if jinja2.__version__.startswith(JINJA_SERIES) and not speed.plain("jinja"):
        return _render_fast
    return _render_plain


def render(
    tmpl: jinja2.Template, ctx: dict[str, Any], how: Renderer, *, file: str, files: Collection[str], row: int
) -> str:
    """``tmpl`` rendered from ``ctx`` (made by :func:`draft_context`); a :class:`RenderError` on any failure.

    ``files`` are the display names of every template, to find the line the
    failure happened on (the deepest template frame, an included one too);
    ``file`` names the template when no line is known.
    """
    try:
        return how(tmpl, ctx)
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
            if tb.tb_frame.f_code.co_filename in files:
                file, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
        where = f"{file}, line {line}" if line else file
        cause = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
        raise RenderError(f"row {row}: {where}: {cause}") from None


def _render_plain(tmpl: jinja2.Template, ctx: dict[str, Any]) -> str:
    """The plain path: Jinja's public ``Template.render``."""
    return tmpl.render(ctx)


def _render_fast(tmpl: jinja2.Template, ctx: dict[str, Any]) -> str:
    """``tmpl.render(ctx)`` for a ``ctx`` that already holds the environment's globals, without copying it.

    The one place sheetsync uses Jinja's internals: the Context is made by
    hand (``context_class``, ``globals_keys``) and the template's
    ``root_render_func`` called on it, as ``Template.render`` does after
    copying its argument and merging the globals in.  A draft renders two or
    three templates from one context, and those copies were a fifth of the
    rendering time; ``new_context`` (Jinja's documented low-level way) also
    turns the template's globals, a ChainMap slow to walk, into a set on every
    render, which is done here once per template.  Sharing ``ctx`` is safe
    because Jinja never writes to a context's parent mapping.

    Measured (bench/render_drafts.py): 51 µs per draft, rendered and built,
    against 55 µs with ``new_context`` and 70 µs with ``Template.render``.
    Written for Jinja 3.1: pyproject pins ``jinja2>=3.1,<3.2``, another
    version takes the plain path (:func:`renderer`), and
    tests/test_drafts_render.py fails on another version and checks that this
    gives what ``Template.render`` gives for every built-in template.
    """
    env = tmpl.environment
    try:
        context = env.context_class(env, ctx, tmpl.name, tmpl.blocks)
        context.globals_keys = _globals_keys(tmpl)
        return env.concat(tmpl.root_render_func(context))
    except Exception:
        env.handle_exception()


@functools.lru_cache(maxsize=128)
def _globals_keys(tmpl: jinja2.Template) -> set[str]:
    """The names of a template's globals, for :func:`_render_fast` (made once per template, only ever read)."""
    return set(tmpl.globals)
