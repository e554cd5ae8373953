"""Jinja's internals are used in one fenced function (drafts.render._render_fast, issue 12), and it renders
exactly what Jinja's public ``Template.render`` renders.

The version test fails loudly on a Jinja upgrade: read ``_render_fast`` against
the new release, then move the pin in pyproject.toml and ``JINJA_SERIES``
together.  The others compare the fast path with ``Template.render`` on every
built-in template part and on adversarial rows, failures included.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from test_drafts_parallel import ADVERSARIAL_ROWS, FRAGILE_TEMPLATE

from sheetsync import drafts as D
from sheetsync.config import Config, Drafts
from sheetsync.drafts import render
from sheetsync.drafts.maker import Maker
from sheetsync.model.reader import Row
from sheetsync.speed import PLAIN_ENV

AS_OF = dt.date(2026, 11, 27)


def test_jinja_is_the_release_series_the_fast_path_was_written_for() -> None:
    """On another Jinja, _render_fast may read a Context Jinja no longer makes: this fails until it is checked.

    The pin in pyproject.toml and render.JINJA_SERIES name the same series, so the
    installed Jinja is the one the fast path was read against.
    """
    assert jinja2.__version__.startswith(render.JINJA_SERIES), (
        f"Jinja {jinja2.__version__} is installed; sheetsync.drafts.render._render_fast was written for "
        f"{render.JINJA_SERIES}x — check it against this release, then move JINJA_SERIES and the pin together"
    )
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (pin,) = [d for d in deps if re.match(r"jinja2\b", d, re.I)]
    major, minor = render.JINJA_SERIES.rstrip(".").split(".")
    assert pin.replace(" ", "") == f"jinja2>={major}.{minor},<{major}.{int(minor) + 1}"


def test_another_jinja_or_the_switch_takes_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Jinja outside the pin (a distribution's package, say) renders with Template.render, as does SHEETSYNC_PLAIN."""
    assert render.renderer() is render._render_fast
    monkeypatch.setenv(PLAIN_ENV, "jinja")
    assert render.renderer() is render._render_plain
    monkeypatch.delenv(PLAIN_ENV)
    monkeypatch.setattr(jinja2, "__version__", "3.2.0")
    assert render.renderer() is render._render_plain


def rows() -> list[Row]:
    """Rows that reach every part of the built-in templates: both languages, with and without a meeting time."""
    out = []
    for i, (language, stage) in enumerate(
        [("en", "Proposal"), ("th", "Proposal"), ("en", "Demo"), ("th", "Appointment"), (None, "Lead")]
    ):
        out.append(
            Row(
                row=i + 2,
                prospect="บริษัท สยาม ฟู้ดส์ จำกัด" if language == "th" else "Acme Co., Ltd.",
                contact="คุณวิภา ศรีสุข" if language == "th" else "Ms. Jane Porter",
                email=f"p{i}@example.com",
                owner="Somchai" if i % 2 else None,
                owner_email="somchai@example.com" if i % 2 else None,
                stage=stage,
                budget=Decimal("1250000.50") if i % 2 else None,
                language=language,
                appointment=dt.datetime(2026, 11, 28, 14, 30) if i % 2 else dt.datetime(2026, 11, 28),
                expected_close=dt.date(2026, 12, 20),
                notes="<b>bold</b> & more",
            )
        )
    return out


@pytest.mark.parametrize("reason", D.REASONS)
def test_every_built_in_template_renders_as_template_render_does(reason: str) -> None:
    """Every part (headers, body, html) of every built-in set, for rows of both languages: the same text."""
    config = Config()
    templates = D.load_templates(config)
    maker = Maker(config, AS_OF, templates, Path("unused"), "eml", dry_run=True)
    checked = 0
    for (language, set_reason), tset in templates.sets.items():
        if set_reason != reason:
            continue
        parts = [t for _name, t in tset.headers] + [tset.body] + ([tset.html] if tset.html else [])
        for row in rows():
            ctx = render.draft_context(
                maker.base_ctx, row, config.stage(row.stage or ""), reason, language, templates.sender
            )
            for tmpl in parts:
                assert render._render_fast(tmpl, ctx) == tmpl.render(ctx)
                checked += 1
    assert checked >= 2 * 5 * 2  # two languages, five rows, a subject and a body at least


@pytest.mark.parametrize(
    "source",
    [
        "{{ prospect.nope }}",  # undefined
        "{{ 1 / prospect.budget }}",  # division by zero
        "{{ as_of | date('bogus') }}",  # a filter's ValueError
        "{% for x in prospect.row %}{% endfor %}",  # TypeError: an int is not iterable
    ],
)
def test_a_failing_template_fails_the_same_way_on_both_paths(source: str) -> None:
    """The fast path raises what Template.render raises, so a failed draft's detail names the same cause and line."""
    env = D.load_templates(Config()).env
    tmpl = env.from_string("line one\n" + source)
    ctx = render.draft_context(
        render.base_context(env, Config(), AS_OF),
        Row(row=7, prospect="Acme", contact="Ann", budget=Decimal(0), stage="Lead"),
        None,
        "follow-up",
        "en",
        ("Sales", "sales@example.com"),
    )
    details = []
    for how in (render._render_fast, render._render_plain):
        with pytest.raises(render.RenderError) as info:
            render.render(tmpl, ctx, how, file="t.txt.j2", files={"<template>"}, row=7)
        details.append(info.value.detail)
    assert details[0] == details[1]
    assert details[0].startswith("row 7: <template>, line 2: ")


@pytest.fixture(scope="module")
def fragile_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("fragile-templates")
    (folder / "follow-up.txt.j2").write_text(FRAGILE_TEMPLATE, encoding="utf-8")
    return Config(drafts=Drafts(templates=folder, templates_configured=True))


def made(config: Config, rows: list[Row], out: Path, plain: bool) -> list[Any]:
    """Every row's outcome (entry and message bytes) with the fast or the plain Jinja path."""
    with pytest.MonkeyPatch.context() as mp:
        if plain:
            mp.setenv(PLAIN_ENV, "jinja")
        maker = Maker(config, AS_OF, D.load_templates(config), out, "mbox", dry_run=False)
    assert (maker.render_with is render._render_plain) is plain
    outcomes = [maker.make(row, "follow-up") for row in rows]
    return [(entry, None if draft is None else draft.data) for entry, draft in outcomes]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=ADVERSARIAL_ROWS)
def test_property_the_fast_path_changes_nothing(fragile_config: Config, rows: list[Row]) -> None:
    """Issue 12: on adversarial rows (Thai and RTL text, control characters, 5,000-character cells, header
    injection in cells, a template failing for some rows) both paths give the same entries and message bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        assert made(fragile_config, rows, out, plain=False) == made(fragile_config, rows, out, plain=True)
