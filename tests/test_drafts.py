"""Email drafts (reference 8): who is due, templates, message safety, files, manifest, mbox, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import email
import itertools
import json
import mailbox
import os
import shutil
import subprocess
import sys
import types
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync import drafts as D
from sheetsync.config import Config, Drafts
from sheetsync.errors import ConfigError, TemplateError, UsageError
from sheetsync.model.reader import BadValue, Row, read_rows

AS_OF = dt.date(2026, 11, 27)
REPO = Path(__file__).resolve().parent.parent


def day(offset: int) -> dt.date:
    return AS_OF + dt.timedelta(days=offset)


def make_row(row: int = 2, **fields: Any) -> Row:
    """An open Proposal deal that is not due for anything until a test says so."""
    base: dict[str, Any] = {
        "prospect": "Acme Co., Ltd.",
        "contact": "Ann Lee",
        "email": "ann@acme.example",
        "owner": "Somchai",
        "owner_email": "somchai@sales.example",
        "stage": "Proposal",
        "last_contact": day(-2),
    }
    base.update(fields)
    return Row(row=row, **base)


def due_row(row: int = 2, **fields: Any) -> Row:
    """A row due for a follow-up today."""
    return make_row(row, next_follow_up=AS_OF, **fields)


def config(folder: Path | None = None, *, configured: bool = True, **drafts: Any) -> Config:
    kw: dict[str, Any] = dict(drafts)
    if folder is not None:
        kw.update(templates=folder, templates_configured=configured)
    return Config(drafts=Drafts(**kw))


def reasons(rows: list[Row], cfg: Config | None = None, stale: set[int] | None = None) -> list[tuple[int, str]]:
    return [(r.row, why) for r, why in D.due(rows, stale or set(), cfg or config(), AS_OF)]


_BUILT_IN: dict[str, D.Templates] = {}


def run(
    rows: list[Row], out: Path, cfg: Config | None = None, stale: set[int] | None = None, **kw: Any
) -> D.DraftsResult:
    """make_drafts as run.py calls it; the built-in templates are compiled once per session."""
    if cfg is None or cfg.drafts.templates is None:
        key = f"{cfg.drafts.sender if cfg else ''}"
        if key not in _BUILT_IN:
            _BUILT_IN[key] = D.load_templates(cfg or config())
        kw.setdefault("templates", _BUILT_IN[key])
    cfg = cfg or config()
    if "templates" not in kw:
        kw["templates"] = D.load_templates(cfg)
    return D.make_drafts(rows, stale or set(), cfg, AS_OF, out=out, **kw)


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def plain(msg: EmailMessage) -> str:
    """The plain-text body as the user wrote it (files carry RFC 5322's CRLF line ends)."""
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def only_file(result: D.DraftsResult) -> EmailMessage:
    files = [e.file for e in result.entries if e.status == "written"]
    assert len(files) == 1 and files[0] is not None
    return parse(files[0].read_bytes())


def write_templates(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def manifest(out: Path) -> list[dict[str, str]]:
    with open(out / D.MANIFEST, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- who is due (8.1)


@pytest.mark.parametrize(
    ("reminder_days", "offset", "expected"),
    [(1, 0, True), (1, 1, True), (1, 2, False), (3, 3, True), (3, 4, False), (0, 0, True), (0, 1, False)],
)
def test_appointment_reminder_window(reminder_days: int, offset: int, expected: bool) -> None:
    """The reminder covers as-of .. as-of + reminder_days inclusive, and not one day further."""
    rows = [make_row(stage="Appointment", appointment=day(offset))]
    got = reasons(rows, config(reminder_days=reminder_days))
    assert got == ([(2, "appointment-reminder")] if expected else [])


def test_appointment_with_a_time_counts_by_its_date() -> None:
    """A late-evening meeting tomorrow is still tomorrow."""
    rows = [make_row(stage="Appointment", appointment=dt.datetime(2026, 11, 28, 23, 30))]
    assert reasons(rows) == [(2, "appointment-reminder")]


@pytest.mark.parametrize(
    ("post_meeting_days", "offset", "expected"),
    [(3, -1, True), (3, -3, True), (3, -4, False), (1, -1, True), (1, -2, False), (0, -1, False)],
)
def test_post_meeting_window(post_meeting_days: int, offset: int, expected: bool) -> None:
    """Post-meeting runs from day −1 back to −post_meeting_days, never −post_meeting_days−1."""
    rows = [make_row(stage="Demo", appointment=day(offset), last_contact=day(-20))]
    got = reasons(rows, config(post_meeting_days=post_meeting_days))
    assert got == ([(2, "post-meeting")] if expected else [])


@pytest.mark.parametrize(("contact_offset", "expected"), [(None, True), (-5, True), (-2, True), (-1, False)])
def test_post_meeting_only_until_someone_followed_up(contact_offset: int | None, expected: bool) -> None:
    """A last contact after the meeting means the rep already wrote: no post-meeting draft."""
    last = None if contact_offset is None else day(contact_offset)
    rows = [make_row(stage="Demo", appointment=day(-2), last_contact=last)]
    assert reasons(rows) == ([(2, "post-meeting")] if expected else [])


@pytest.mark.parametrize(("offset", "expected"), [(-30, True), (-1, True), (0, True), (1, False)])
def test_follow_up_due_today_not_tomorrow(offset: int, expected: bool) -> None:
    """A follow-up date today or earlier is due; tomorrow's is not."""
    assert reasons([make_row(next_follow_up=day(offset))]) == ([(2, "follow-up")] if expected else [])


@pytest.mark.parametrize(
    ("stage", "stale", "expected"),
    [
        ("Demo", True, [(2, "trial-offer")]),
        ("Negotiation", True, [(2, "trial-offer")]),
        ("Lead", True, []),  # early group: no trial offer
        ("Demo", False, []),
    ],
)
def test_trial_offer_needs_a_stale_middle_or_late_deal(stage: str, stale: bool, expected: list[Any]) -> None:
    """Only stalled deals that have seen a presentation get the free-trial offer."""
    assert reasons([make_row(stage=stage)], stale={2} if stale else set()) == expected


@pytest.mark.parametrize(
    ("fields", "stale", "expected"),
    [
        ({"appointment": day(1), "info_requested": True, "next_follow_up": day(-1)}, True, "appointment-reminder"),
        ({"info_requested": True, "appointment": day(-1), "next_follow_up": day(-1)}, True, "info-request"),
        ({"appointment": day(-1), "last_contact": day(-9), "next_follow_up": day(-1)}, True, "post-meeting"),
        ({"next_follow_up": day(-1)}, True, "trial-offer"),
        ({"next_follow_up": day(-1)}, False, "follow-up"),
    ],
)
def test_first_reason_wins(fields: dict[str, Any], stale: bool, expected: str) -> None:
    """With several reasons true, reference 8.1's order decides, and there is one draft per row."""
    rows = [make_row(stage="Demo", **fields)]
    assert reasons(rows, stale={2} if stale else set()) == [(2, expected)]


@pytest.mark.parametrize(
    "fields",
    [
        {"stage": "Won"},
        {"stage": "Lost"},
        {"do_not_contact": True},
        {"stage": "Negociation"},  # not a configured stage
        {"stage": None},
    ],
)
def test_closed_unknown_and_do_not_contact_rows_are_never_due(fields: dict[str, Any]) -> None:
    """Won, lost, do-not-contact and unknown-stage rows get no draft whatever their dates say."""
    rows = [make_row(next_follow_up=day(-1), info_requested=True, appointment=day(0), **fields)]
    assert reasons(rows, stale={2}) == []


ON_HOLD_TOML = """
[[stages]]
name = "Lead"
probability = 10
group = "early"
[[stages]]
name = "On Hold"
probability = 20
group = "middle"
[[stages]]
name = "Closed Won"
probability = 100
group = "won"
"""


@pytest.mark.parametrize(
    ("typed", "closed"),
    [
        ("On Hold", "Closed Won"),
        ("On  Hold", "Closed  Won"),
        ("on hold", "closed won"),
        ("  ON   HOLD ", "  CLOSED   WON "),
        ("On\u00a0Hold", "Closed\u00a0Won"),
        ("On\tHold", "Closed\tWon"),
    ],
)
def test_issue_12_a_stage_typed_with_extra_spaces_is_due(typed: str, closed: str) -> None:
    """Issue 12: `On  Hold` typed with two spaces is the configured `On Hold` for drafts too (case and runs of
    spaces ignored), as it already was for the rules and the figures; `Closed  Won` is still closed."""
    import tomllib

    from sheetsync.config import parse_config

    cfg = parse_config(tomllib.loads(ON_HOLD_TOML), REPO / "sheetsync.toml")
    assert reasons([make_row(stage=typed, next_follow_up=day(-1))], cfg) == [(2, "follow-up")]
    assert reasons([make_row(stage=closed, next_follow_up=day(-1))], cfg) == []


def test_issue_12_the_figures_and_the_drafts_count_the_same_rows(workbook: Path) -> None:
    """Issue 12: a row whose stage has a double space was counted in the figures but never drafted; now
    `sync --json` drafts exactly the open rows the figures count."""
    (workbook.parent / "sheetsync.toml").write_text(ON_HOLD_TOML, encoding="utf-8")
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Pipeline"]
    for row, typed in zip(range(2, 5), ["On  Hold", "on hold", "Closed  Won"], strict=True):
        ws.cell(row=row, column=6, value=typed)
    ws.cell(row=4, column=3, value="bo@example.com")
    wb.save(workbook)
    result = invoke("sync", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--json", "--dry-run")
    data = json.loads(result.stdout)
    counted = {s["stage"]: s["count"] for s in data["stages"]}
    assert counted["On Hold"] == 2 and counted["Closed Won"] == 1
    assert [(d["row"], d["status"]) for d in data["drafts"]] == [(2, "would-write"), (3, "would-write")]


# ---------------------------------------------------------------- templates (8.2)


def test_builtin_templates_cover_every_reason_in_english_and_thai() -> None:
    """The project ships en (root) and th plain templates for all reasons, HTML for follow-up and trial-offer."""
    t = D.load_templates(config())
    for reason in D.REASONS:
        assert ("", reason) in t.sets and ("th", reason) in t.sets
    for lang in ("", "th"):
        assert t.sets[(lang, "follow-up")].html is not None
        assert t.sets[(lang, "trial-offer")].html is not None


@pytest.mark.parametrize("language", ["en", "th"])
@pytest.mark.parametrize("stage", ["Demo", "Proposal"])
@pytest.mark.parametrize("known", [True, False])
def test_every_built_in_draft_reads_as_paragraphs(tmp_path: Path, language: str, stage: str, known: bool) -> None:
    """Every reason, with and without optional cells: one blank line between paragraphs, nothing leaked.

    With trim_blocks a tag that ends a text line swallows its line break; this
    catches a built-in template that runs two paragraphs together.
    """
    optional: dict[str, Any] = {"last_contact": day(-12), "expected_close": day(20), "contact": "Ann Lee"}
    if not known:
        optional = {"last_contact": None, "expected_close": None, "contact": None}
    rows = [
        make_row(2, appointment=dt.datetime(2026, 11, 28, 10, 0)),
        make_row(3, info_requested=True),
        make_row(4, appointment=day(-2), next_follow_up=day(5) if known else None),
        make_row(5),
        make_row(6, next_follow_up=AS_OF),
    ]
    for r in rows:
        r.language, r.stage = language, stage
        for key, value in optional.items():
            setattr(r, key, value)
        if r.row == 4 and known:
            r.last_contact = day(-3)
    result = run(rows, tmp_path / "out", stale={5})
    assert [e.reason for e in result.entries] == list(D.REASONS)
    for entry in result.entries:
        text = plain(parse(entry.file.read_bytes()))
        assert "None" not in text and "{" not in text and "  " not in text
        lines = text.rstrip("\n").split("\n")
        sign_off = next(
            i for i, line in enumerate(lines) if line in ("Best regards,", "Looking forward to it,", "ขอแสดงความนับถือ")
        )
        body = lines[:sign_off]
        assert body[1] == "" and body[-1] == "", entry.reason
        assert all(not (a and b) for a, b in itertools.pairwise(body)), (entry.reason, body)
        assert lines[sign_off + 1 :] == ["Somchai", "somchai@sales.example"]


@pytest.mark.parametrize(
    ("language", "subject_start", "greeting"),
    [
        ("th", "ติดตามผล", "เรียน คุณแอน ลี"),
        ("TH-th", "ติดตามผล", "เรียน คุณแอน ลี"),
        ("Thai", "ติดตามผล", "เรียน คุณแอน ลี"),
        ("fr", "Following up", "Hi แอน,"),
        (None, "Following up", "Hi แอน,"),
    ],
)
def test_language_picks_the_folder_and_falls_back_to_english(
    tmp_path: Path, language: str | None, subject_start: str, greeting: str
) -> None:
    """Row language th uses templates/th/; a language with no folder (fr) or none at all gets English."""
    result = run([due_row(contact="แอน ลี", language=language)], tmp_path / "out")
    msg = only_file(result)
    assert str(msg["Subject"]).startswith(subject_start)
    assert plain(msg).startswith(greeting)


def test_thai_dates_use_thai_names_and_the_buddhist_era(tmp_path: Path) -> None:
    """Thai drafts say วันเสาร์ที่ 28 พฤศจิกายน 2569 เวลา 10:00 น.; English ones Saturday, 28 November 2026 at 10:00."""
    meeting = dt.datetime(2026, 11, 28, 10, 0)
    rows = [
        make_row(2, stage="Appointment", appointment=meeting, language="th"),
        make_row(3, stage="Appointment", appointment=meeting, language="en"),
    ]
    result = run(rows, tmp_path / "out")
    th, en = (plain(parse(e.file.read_bytes())) for e in result.entries if e.file)
    assert "วันเสาร์ที่ 28 พฤศจิกายน 2569 เวลา 10:00 น." in th
    assert "Saturday, 28 November 2026 at 10:00" in en


def test_a_folder_overrides_built_ins_file_by_file(tmp_path: Path) -> None:
    """Only the files the user wrote change; every other reason and language keeps the built-in."""
    folder = write_templates(
        tmp_path / "tpl",
        {"follow-up.txt.j2": "Subject: Ours {{ prospect.prospect }}\n\nCustom body {{ owner.name }}\n"},
    )
    rows = [due_row(2), make_row(3, info_requested=True), due_row(4, language="th")]
    result = run(rows, tmp_path / "out", config(folder))
    mine, info, thai = (parse(e.file.read_bytes()) for e in result.entries if e.file)
    assert str(mine["Subject"]) == "Ours Acme Co., Ltd."
    assert plain(mine) == "Custom body Somchai\n"
    # The user's own plain version is the whole message: the built-in HTML (other words) is not attached.
    assert not mine.is_multipart()
    assert str(info["Subject"]).startswith("Your request for information")
    assert str(thai["Subject"]).startswith("ติดตามผล")


def test_a_user_html_alternative_is_autoescaped(tmp_path: Path) -> None:
    """Cell text lands escaped in the HTML part and verbatim in the plain part."""
    folder = write_templates(
        tmp_path / "tpl",
        {
            "follow-up.txt.j2": "Subject: Hi\n\nPlain {{ prospect.prospect }}\n",
            "follow-up.html.j2": "<p>{{ prospect.prospect }}</p>\n",
        },
    )
    msg = only_file(run([due_row(prospect="<b>Tom & Jerry</b>")], tmp_path / "out", config(folder)))
    assert plain(msg) == "Plain <b>Tom & Jerry</b>\n"
    assert html(msg) == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>\n"


def test_context_variables_extras_and_empty_cells(tmp_path: Path) -> None:
    """Every field, every extra column (by header and snake_case), row, owner, sender, as_of, currency, reason."""
    folder = write_templates(
        tmp_path / "tpl",
        {
            "follow-up.txt.j2": (
                "Subject: {{ reason }} {{ prospect.row }}\n\n"
                "{{ prospect['Product Interest'] }}|{{ prospect.product_interest }}|{{ prospect.budget | money }}|"
                "{{ prospect.notes }}|{{ owner.name }}|{{ owner.email }}|{{ sender }}|{{ as_of }}|{{ currency }}|"
                "{{ stage.group }}|{{ prospect.get('Missing') }}\n"
            )
        },
    )
    row = due_row(7, budget=Decimal("1250000"), extra={"Product Interest": "POS", "Seats": 12.0})
    msg = only_file(run([row], tmp_path / "out", config(folder)))
    assert str(msg["Subject"]) == "follow-up 7"
    assert plain(msg) == (
        "POS|POS|฿1,250,000||Somchai|somchai@sales.example|Sales Team <sales@example.com>|2026-11-27|THB|late|\n"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ p.name }}", "Acme"),  # a key
        ("{{ p['name'] }}", "Acme"),
        ("{{ p.items is callable }}", "True"),  # a key that is also a dict method: the method, as in Jinja
        ("{{ p['items'] }}", "a column called Items"),
        ("{{ p.get('name') }}", "Acme"),
        ("{{ p.row + 1 }}", "8"),
        ("{{ o.name }}", "an object's attribute"),
    ],
)
def test_dotted_names_read_keys_and_attributes_as_jinja_does(source: str, expected: str) -> None:
    """The quicker ``prospect.name`` on plain dicts (drafts.render._Environment.getattr) answers what Jinja answers."""
    env = D.load_templates(config()).env
    ctx = {
        "p": {"name": "Acme", "items": "a column called Items", "row": 7},
        "o": types.SimpleNamespace(name="an object's attribute"),
    }
    assert env.from_string(source).render(ctx) == expected
    assert jinja2.Environment().from_string(source).render(ctx) == expected


def test_a_missing_key_is_still_an_undefined_error() -> None:
    env = D.load_templates(config()).env
    with pytest.raises(jinja2.UndefinedError, match="'dict object' has no attribute 'nope'"):
        env.from_string("{{ p.nope }}").render({"p": {"name": "Acme"}})


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        ("{{ x | money }}", {"x": Decimal("1250000")}, "฿1,250,000"),
        ("{{ x | money }}", {"x": Decimal("1250.5")}, "฿1,250.50"),
        ("{{ x | money }}", {"x": Decimal("1250000"), "language": "th"}, "1,250,000 บาท"),
        ("{{ x | money('SGD') }}", {"x": 45000}, "SGD 45,000"),
        ("{{ x | money('USD') }}", {"x": 45000.0}, "$45,000"),
        ("{{ x | money }}", {"x": None}, ""),
        ("{{ x | money }}", {"x": "1e999999999"}, "1e999999999"),  # issue 11: kept as text, not a billion digits
        ("{{ x | money }}", {"x": "sNaN"}, "sNaN"),
        ("{{ d | date }}", {"d": dt.datetime(2026, 11, 27, 14, 30)}, "Friday, 27 November 2026 at 14:30"),
        ("{{ d | date }}", {"d": dt.date(2026, 11, 27)}, "Friday, 27 November 2026"),
        ("{{ d | date }}", {"d": dt.datetime(2026, 11, 27)}, "Friday, 27 November 2026"),
        ("{{ d | date('short') }}", {"d": dt.datetime(2026, 11, 27, 14, 30)}, "27 Nov 2026, 14:30"),
        ("{{ d | date('day') }}", {"d": dt.date(2026, 11, 27)}, "Friday, 27 November"),
        ("{{ d | date('month') }}", {"d": dt.date(2026, 11, 27)}, "November 2026"),
        ("{{ d | date('%d/%m/%Y') }}", {"d": dt.date(2026, 11, 27)}, "27/11/2026"),
        (
            "{{ d | date }}",
            {"d": dt.datetime(2026, 11, 27, 14, 30), "language": "th"},
            "วันศุกร์ที่ 27 พฤศจิกายน 2569 เวลา 14:30 น.",
        ),
        ("{{ d | date('short') }}", {"d": dt.date(2026, 11, 27), "language": "th"}, "27 พ.ย. 2569"),
        ("{{ d | time }}", {"d": dt.datetime(2026, 11, 27, 14, 30)}, "14:30"),
        ("{{ d | time }}", {"d": dt.date(2026, 11, 27)}, ""),
        ("{{ n | first_name }}", {"n": "Ms. Jane Porter"}, "Jane"),
        ("{{ n | first_name }}", {"n": "คุณวิภา ศรีสุข"}, "วิภา"),
        ("{{ n | khun }}", {"n": "วิภา ศรีสุข"}, "คุณวิภา ศรีสุข"),
        ("{{ n | khun }}", {"n": "Khun Somsak"}, "Khun Somsak"),
        ("{{ n }}", {"n": None}, ""),
        ("{{ n | upper }}", {"n": None}, ""),
        ("{{ n | title | trim }}", {"n": None}, ""),
        ("{{ n | replace('a', 'b') }}", {"n": None}, ""),
    ],
)
def test_filters(source: str, context: dict[str, Any], expected: str) -> None:
    """money, date, time, first_name and khun format as documented; an empty cell never prints as 'None'."""
    env = D.load_templates(config()).env
    ctx = {"currency": "THB", "language": "en", **context}
    assert env.from_string(source).render(ctx) == expected


def test_syntax_error_names_file_and_line_before_anything_is_written(tmp_path: Path) -> None:
    """A broken template stops the run at load time with the file and line (exit 2)."""
    folder = write_templates(tmp_path / "tpl", {"th/post-meeting.txt.j2": "Subject: x\n\nline 3\nline 4 {% if %}\n"})
    with pytest.raises(TemplateError) as exc:
        D.load_templates(config(folder))
    assert exc.value.exit_code == 2
    assert str(folder / "th" / "post-meeting.txt.j2") in exc.value.message
    assert "line 4" in exc.value.message


def test_syntax_error_in_a_header_line_names_that_line(tmp_path: Path) -> None:
    """Header lines are compiled on their own but keep their file line numbers."""
    folder = write_templates(tmp_path / "tpl", {"follow-up.txt.j2": "{# note #}\nSubject: {{ oops\n\nbody\n"})
    with pytest.raises(TemplateError, match=r"follow-up\.txt\.j2, line 2"):
        D.load_templates(config(folder))


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ({"follow-up.txt.j2": "Hello {{ prospect.contact }}\n"}, "expected a header line"),
        ({"follow-up.txt.j2": "Subject: x\nBcc: spy@example.com\n\nbody\n"}, "can't set the 'Bcc' header"),
        ({"follow-up.txt.j2": "Cc: a@example.com\n\nbody\n"}, "no 'Subject:' line"),
        ({"followup.txt.j2": "Subject: x\n\nbody\n"}, "did you mean 'follow-up'"),
        ({"follow-up.txt.j2": "Subject: x\n\n{% include 'sig.txt.j2' %}\n"}, "includes 'sig.txt.j2'"),
        ({"partial.txt.j2": "{% for %}\n"}, r"partial\.txt\.j2, line 1"),
    ],
)
def test_template_mistakes_are_caught_at_load_time(tmp_path: Path, files: dict[str, str], match: str) -> None:
    """Missing headers, forbidden headers, misspelt names, missing includes and broken partials: exit 2 up front."""
    folder = write_templates(tmp_path / "tpl", files)
    with pytest.raises(TemplateError, match=match):
        D.load_templates(config(folder))


def test_includes_between_user_templates_work(tmp_path: Path) -> None:
    """A shared signature partial can be included by name."""
    folder = write_templates(
        tmp_path / "tpl",
        {"sig.txt.j2": "-- {{ owner.name }}", "follow-up.txt.j2": "Subject: x\n\nHello\n{% include 'sig.txt.j2' %}\n"},
    )
    assert plain(only_file(run([due_row()], tmp_path / "out", config(folder)))) == "Hello\n-- Somchai\n"


def test_a_template_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """A template saved in a legacy Thai code page (TIS-620) is refused by name, not garbled."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "follow-up.txt.j2").write_bytes("Subject: ติดตามผล\n\nbody\n".encode("tis-620"))
    with pytest.raises(TemplateError, match=r"follow-up\.txt\.j2 is not UTF-8"):
        D.load_templates(config(folder))


def test_a_template_saved_with_a_byte_order_mark_works(tmp_path: Path) -> None:
    """Windows Notepad writes UTF-8 with a BOM and CRLF line ends; the template must still start with Subject."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "follow-up.txt.j2").write_bytes("Subject: สวัสดี\r\n\r\nbody\r\n".encode("utf-8-sig"))
    msg = only_file(run([due_row()], tmp_path / "out", config(folder)))
    assert str(msg["Subject"]) == "สวัสดี" and plain(msg) == "body\n"


def test_a_configured_templates_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    """[drafts] templates pointing nowhere: exit 2 naming the folder; an auto-found folder is simply optional."""
    missing = tmp_path / "nope"
    with pytest.raises(TemplateError, match="nope") as exc:
        D.load_templates(config(missing))
    assert exc.value.exit_code == 2
    assert D.load_templates(config(missing, configured=False)).folder is None


def test_a_bad_from_address_is_a_config_error() -> None:
    """[drafts] from must be an address, and can't smuggle a header in."""
    for bad in ("Sales Team", "Sales <sales@example.com>\nBcc: x@example.com"):
        with pytest.raises(ConfigError, match=r"drafts\.from"):
            D.load_templates(Config(drafts=Drafts(sender=bad)))


def test_built_in_templates_load_from_the_installed_package(tmp_path: Path) -> None:
    """Installed as the wheel lays it out (templates/ inside the package), built-ins come from sheetsync.templates."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "sheetsync", site / "sheetsync", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", site / "sheetsync" / "templates", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "from sheetsync import drafts as D; from sheetsync.config import Config\n"
        "t = D.load_templates(Config())\n"
        "from sheetsync.drafts import templates\n"
        "print(templates._builtin_root()); print(len(t.sets)); print(t.sets[('th', 'follow-up')].file)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    root, count, th_file = done.stdout.splitlines()
    assert Path(root) == site / "sheetsync" / "templates"
    assert int(count) == 2 * len(D.REASONS)
    assert th_file == "built-in template th/follow-up.txt.j2"


# ---------------------------------------------------------------- messages (8.2, 8.3)


def test_message_headers(tmp_path: Path) -> None:
    """X-Unsent, From (owner), To, Subject, Date at 09:00 as-of in the configured zone, deterministic Message-ID."""
    cfg = Config(timezone="Asia/Bangkok")
    msg = only_file(run([due_row(5)], tmp_path / "out", cfg))
    assert msg["X-Unsent"] == "1"
    assert msg["From"].addresses[0].display_name == "Somchai"
    assert msg["From"].addresses[0].addr_spec == "somchai@sales.example"
    assert msg["To"].addresses[0].addr_spec == "ann@acme.example"
    assert msg["Date"].datetime == dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert msg["Message-ID"].startswith("<sheetsync.20261127.follow-up.row5.")
    assert msg["Message-ID"].endswith("@sales.example>")
    assert msg.defects == []


def test_from_falls_back_to_the_configured_sender(tmp_path: Path) -> None:
    """Without an owner email the draft comes from [drafts] from, signed by the owner's name."""
    cfg = Config(drafts=Drafts(sender="ทีมขาย <sales@example.co.th>"))
    msg = only_file(run([due_row(owner_email=None)], tmp_path / "out", cfg))
    assert msg["From"].addresses[0].display_name == "ทีมขาย"
    assert msg["From"].addresses[0].addr_spec == "sales@example.co.th"
    assert plain(msg).rstrip().endswith("Somchai\nsales@example.co.th")


def test_thai_survives_a_round_trip_through_pythons_parser(tmp_path: Path) -> None:
    """Subject, To name, plain and HTML bodies read back exactly (RFC 2047 headers, UTF-8 bodies)."""
    name = "คุณวิภา ศรีสุข และทีมจัดซื้อของบริษัทเชียงใหม่คอฟฟี่"  # long enough to need several encoded-words
    row = due_row(prospect="บริษัท เชียงใหม่ คอฟฟี่ จำกัด", contact=name, language="th", owner="สมชาย")
    result = run([row], tmp_path / "out")
    entry = result.entries[0]
    data = entry.file.read_bytes()
    assert data.isascii() is False  # 8bit UTF-8 body…
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # …but headers are pure ASCII, Thai only inside encoded-words
    assert max(len(line) for line in head.split(b"\r\n") if line.startswith((b"Subject", b" "))) <= 78
    msg = parse(data)
    assert str(msg["Subject"]) == entry.subject == "ติดตามผล — บริษัท เชียงใหม่ คอฟฟี่ จำกัด"
    assert msg["To"].addresses[0].display_name == name
    assert msg["From"].addresses[0].display_name == "สมชาย"
    text = plain(msg)
    assert text.startswith(f"เรียน {name}\n")
    assert text.rstrip().endswith("ขอแสดงความนับถือ\nสมชาย\nsomchai@sales.example")
    assert "ขอติดตามผลจากที่ได้พูดคุยกันเมื่อวันพุธที่ 25 พฤศจิกายน" in text
    assert f"<p>เรียน {name}</p>" in html(msg)


@pytest.mark.parametrize(
    "contact",
    ['Doe, Jane "JD"', "O'Brien, Pat", "Jane (Sales) Doe", "Back\\slash", "=?utf-8?q?fake?=", "Ann\nLee"],
)
def test_contact_names_with_specials_stay_one_address(tmp_path: Path, contact: str) -> None:
    """Quotes, commas, parentheses and encoded-word look-alikes stay in the display name of one To address."""
    msg = only_file(run([due_row(contact=contact)], tmp_path / "out"))
    (address,) = msg["To"].addresses
    assert address.addr_spec == "ann@acme.example"
    assert address.display_name == " ".join(contact.split())


@pytest.mark.parametrize(
    "prospect", ["Acme\r\nBcc: evil@example.com", "Acme\nBcc: evil@example.com", "Acme\rBcc: evil@example.com"]
)
def test_header_injection_through_a_cell_is_refused(tmp_path: Path, prospect: str) -> None:
    """A line break reaching the Subject fails that draft only; no Bcc is written anywhere."""
    out = tmp_path / "out"
    result = run([due_row(2, prospect=prospect), due_row(3)], out)
    bad, good = result.entries
    assert bad.status == "failed" and "header injection refused" in bad.detail and "row 2" in bad.detail
    assert bad.file is None
    assert good.status == "written"
    assert result.failed == 1
    assert [p.name for p in out.iterdir() if p.suffix == ".eml"] == [good.file.name]
    assert all(b"evil@example.com" not in p.read_bytes() for p in out.iterdir() if p.suffix == ".eml")
    assert manifest(out)[0]["status"] == "failed"


def test_header_injection_through_a_template_header_is_refused(tmp_path: Path) -> None:
    """A Cc built from an extra column can't add headers either; a good Cc is encoded and kept."""
    folder = write_templates(
        tmp_path / "tpl", {"follow-up.txt.j2": "Subject: x\nCc: {{ prospect.Assistant }}\n\nbody\n"}
    )
    rows = [
        due_row(2, extra={"Assistant": "pa@acme.example\nBcc: evil@example.com"}),
        due_row(3, extra={"Assistant": '"ผู้ช่วย, ฝ่ายขาย" <pa@acme.example>, boss@acme.example'}),
    ]
    result = run(rows, tmp_path / "out", config(folder))
    assert result.entries[0].status == "failed" and "header injection refused" in result.entries[0].detail
    msg = parse(result.entries[1].file.read_bytes())
    assert [(a.display_name, a.addr_spec) for a in msg["Cc"].addresses] == [
        ("ผู้ช่วย, ฝ่ายขาย", "pa@acme.example"),
        ("", "boss@acme.example"),
    ]
    assert msg["Bcc"] is None


def test_a_cc_of_thousands_of_nested_comments_fails_that_draft_only(tmp_path: Path) -> None:
    """Issue 11: "((((…" in a Cc made Python's address parser recurse too deep: a failed draft, not a traceback."""
    folder = write_templates(
        tmp_path / "tpl", {"follow-up.txt.j2": "Subject: x\nCc: {{ prospect.Assistant }}\n\nbody\n"}
    )
    rows = [due_row(2, extra={"Assistant": "(" * 5000}), due_row(3, extra={"Assistant": "pa@acme.example"})]
    result = run(rows, tmp_path / "out", config(folder))
    assert [e.status for e in result.entries] == ["failed", "written"]
    assert "which is not an email address" in result.entries[0].detail


def test_build_message_refuses_any_line_break_in_any_header() -> None:
    """The serializer itself refuses CR, LF and other line separators in every value it writes."""
    date = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
    kw: dict[str, Any] = {
        "sender": ("S", "s@example.com"),
        "to": ("T", "t@example.com"),
        "subject": "ok",
        "text": "body",
        "html": None,
        "date": date,
        "message_id": "<x@example.com>",
    }
    for breaker in ("\r", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\x00"):
        for key, value in (("subject", f"a{breaker}b"), ("to", (f"T{breaker}X: y", "t@example.com"))):
            with pytest.raises(D.HeaderInjection):
                D.build_message(**{**kw, key: value})


def test_rows_without_a_usable_email_are_skipped_and_reported(tmp_path: Path) -> None:
    """No email, or one the Checks tab flagged: status skipped, in the result and the manifest, never dropped."""
    out = tmp_path / "out"
    rows = [
        due_row(2, email=None),
        due_row(3, email=None, bad=[BadValue("email", 2, "not an email")]),
        due_row(4),
    ]
    result = run(rows, out)
    assert [e.status for e in result.entries] == ["skipped", "skipped", "written"]
    assert "no email address" in result.entries[0].detail
    assert "Checks" in result.entries[1].detail
    assert [(m["row"], m["status"]) for m in manifest(out)] == [("2", "skipped"), ("3", "skipped"), ("4", "written")]


def test_strict_undefined_fails_one_row_and_the_others_are_written(tmp_path: Path) -> None:
    """A variable missing for one row: that draft fails naming row, file and line; the rest go out; failed=1."""
    folder = write_templates(
        tmp_path / "tpl", {"follow-up.txt.j2": "Subject: Hello\n\nRegion:\n{{ prospect.Region }}\n"}
    )
    out = tmp_path / "out"
    result = run(
        [due_row(2, extra={"Region": "North"}), due_row(3), due_row(4, extra={"Region": "South"})], out, config(folder)
    )
    assert [e.status for e in result.entries] == ["written", "failed", "written"]
    detail = result.entries[1].detail
    assert "row 3" in detail and str(folder / "follow-up.txt.j2") in detail and "line 4" in detail
    assert "Region" in detail
    assert result.failed == 1 and result.written == 2
    assert len(list(out.glob("*.eml"))) == 2
    assert manifest(out)[1]["detail"] == detail


# ---------------------------------------------------------------- files (8.3)


@pytest.mark.parametrize(
    "prospect",
    ["../../etc/passwd", "/abs/path", "C:\\Windows\\win.ini", "CON", "nul", "a" * 500, "...", ".", "",
     None, "บริษัท เชียงใหม่ คอฟฟี่ จำกัด", "ก" * 300, "💥🔥", "ｆｕｌｌ／ｗｉｄｔｈ"],
)  # fmt: skip
def test_file_names_never_leave_the_out_folder(tmp_path: Path, prospect: str | None) -> None:
    """Whatever the prospect is called, the draft lands directly inside --out with a sane name."""
    out = tmp_path / "out"
    result = run([due_row(9, prospect=prospect)], out)
    (entry,) = result.entries
    assert entry.status == "written"
    assert entry.file is not None and entry.file.resolve().parent == out.resolve()
    assert entry.file.name.startswith("2026-11-27_follow-up_row9_") and entry.file.name.endswith(".eml")
    assert len(entry.file.name.encode()) < 200
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted([entry.file.name, D.MANIFEST])


def test_thai_only_names_keep_a_readable_slug() -> None:
    """Thai letters with their vowel and tone marks survive; nothing usable gives a fallback."""
    assert D.slugify("บริษัท เชียงใหม่ คอฟฟี่ จำกัด") == "บริษัท-เชียงใหม่-คอฟฟี่-จำกัด"
    assert D.slugify("Acme Co., Ltd.") == "acme-co-ltd"
    assert D.slugify("!!!") == "prospect"
    assert D.slugify("CON") == "con-1"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(), st.text(alphabet='./\\:*?"<>|\x00 กาดั่้CONul', max_size=300)))
def test_slug_is_safe_for_any_name(text: str | None) -> None:
    """Never empty, bounded, no separators or dots, no reserved device names; the path stays in out."""
    slug = D.slugify(text)
    assert slug and len(slug.encode("utf-8")) <= D.SLUG_MAX_BYTES
    assert not set(slug) & set('/\\.:*?"<>|\x00 ')
    assert slug.casefold() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}
    out = Path("/srv/out")
    name = D.draft_name(AS_OF, "follow-up", 12, text)
    assert os.path.normpath(out / name).startswith("/srv/out/") and os.path.dirname(out / name) == "/srv/out"


def test_rerun_with_the_same_as_of_replaces_the_same_files(tmp_path: Path) -> None:
    """Same input, same as-of: the same names and the same bytes; a renamed prospect leaves no stale twin."""
    out = tmp_path / "out"
    rows = [due_row(2), due_row(3, language="th", prospect="บริษัท ทดสอบ จำกัด")]
    first = run(rows, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    run(rows, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    other_day = D.make_drafts(rows, set(), config(), day(1), out=out, templates=D.load_templates(config()))
    assert other_day.written == 2 and len(list(out.glob("*.eml"))) == 4  # other days' drafts are kept
    rows[0].prospect = "Acme Renamed"
    again = run(rows, out)
    names = sorted(p.name for p in out.glob("2026-11-27_*.eml"))
    assert names == sorted(e.file.name for e in again.entries if e.file)
    assert first.entries[0].file.name not in names
    assert again.removed == [first.entries[0].file]


def test_limit_writes_at_most_n_and_reports_the_rest(tmp_path: Path) -> None:
    """--limit 2 of 4 due: two files, the rest 'limited' in result and manifest; skips are still skips."""
    out = tmp_path / "out"
    rows = [due_row(2), due_row(3, email=None), due_row(4), due_row(5), due_row(6)]
    result = run(rows, out, limit=2)
    assert [e.status for e in result.entries] == ["written", "skipped", "written", "limited", "limited"]
    assert len(list(out.glob("*.eml"))) == 2
    assert [m["status"] for m in manifest(out)] == ["written", "skipped", "written", "limited", "limited"]
    assert run(rows, tmp_path / "none", limit=0).written == 0


@pytest.mark.parametrize(
    ("limit", "kept"),
    [
        (1, [7]),
        (3, [7, 6, 5]),
        (4, [7, 6, 5, 4]),  # the follow-up overdue 10 days before the one overdue 1 day
        (6, [7, 6, 5, 4, 2, 8]),  # two follow-ups overdue alike: row order
        (7, [7, 6, 5, 4, 2, 8, 3]),  # the stalled deal's nudge last
    ],
)
def test_issue_16_limit_keeps_the_most_urgent(tmp_path: Path, limit: int, kept: list[int]) -> None:
    """--limit keeps reminders, info requests, post-meeting thanks, follow-ups (most overdue first), then
    trial offers; the entries and the manifest stay in row order (the limit used to keep the first rows)."""
    rows = [
        make_row(2, next_follow_up=day(-1)),
        make_row(3, stage="Demo"),  # stale: trial-offer
        make_row(4, next_follow_up=day(-10)),
        make_row(5, stage="Demo", appointment=day(-1), last_contact=day(-5)),
        make_row(6, info_requested=True),
        make_row(7, stage="Appointment", appointment=day(1)),
        make_row(8, next_follow_up=day(-1)),
        make_row(9, email=None, next_follow_up=day(-30)),  # skipped: never counts against the limit
    ]
    out = tmp_path / "out"
    result = run(rows, out, stale={3}, limit=limit)
    assert [e.row for e in result.entries] == list(range(2, 10))
    assert sorted(e.row for e in result.entries if e.status == "written") == sorted(kept)
    assert [m["row"] for m in manifest(out)] == [str(n) for n in range(2, 10)]
    assert {e.row: e.status for e in result.entries}[9] == "skipped"
    assert all(e.status == "limited" for e in result.entries if e.row not in kept and e.row != 9)


def test_issue_16_a_limit_of_one_writes_tomorrows_reminder_not_the_first_row(workbook: Path) -> None:
    """The issue's case through the CLI: row 2 is a routine follow-up, a reminder for tomorrow further down."""
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Pipeline"]
    ws.append(["Tomorrow Co.", "Tom", "tom@example.com", "David", "david@example.com", "Appointment", "yes", 5000,
               dt.datetime(2026, 12, 20), dt.datetime(2026, 11, 25), None, "en", None])  # fmt: skip
    ws.cell(ws.max_row, 14, dt.datetime(2026, 11, 28, 9, 30)).number_format = "yyyy-mm-dd hh:mm"
    ws.cell(1, 14, "Appointment")
    wb.save(workbook)
    result = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--limit", "1", "--json")
    assert result.exit_code == 0, result.output
    statuses = {d["row"]: (d["reason"], d["status"]) for d in json.loads(result.stdout)["drafts"]}
    assert statuses[5] == ("appointment-reminder", "written")
    assert statuses[2] == ("follow-up", "limited") and statuses[3] == ("follow-up", "limited")
    assert [p.name for p in Path("out").glob("*.eml")] == ["2026-11-27_appointment-reminder_row5_tomorrow-co.eml"]


def test_dry_run_writes_nothing_at_all(tmp_path: Path) -> None:
    """No folder, no files, no manifest; entries say would-write with the would-be file and a subject."""
    out = tmp_path / "out"
    result = run([due_row(2), due_row(3, prospect="X\nBcc: y@example.com")], out, dry_run=True)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert [e.status for e in result.entries] == ["would-write", "failed"]
    assert result.entries[0].file == out / "2026-11-27_follow-up_row2_acme-co-ltd.eml"
    assert result.manifest is None and result.would_write == 1 and result.failed == 1
    assert "would be written" in result.summary_text()


def test_mbox_holds_every_draft_and_is_rewritten_whole(tmp_path: Path) -> None:
    """One drafts.mbox with every written draft, readable by mailbox.mbox; 'From ' body lines are quoted."""
    folder = write_templates(
        tmp_path / "tpl",
        {"follow-up.txt.j2": "Subject: {{ prospect.prospect }}\n\nFrom the desk of {{ owner.name }}\n"},
    )
    out = tmp_path / "out"
    cfg = config(folder)
    rows = [due_row(2), due_row(3, email=None), due_row(4, prospect="บริษัท ทดสอบ"), due_row(5)]
    result = run(rows, out, cfg, fmt="mbox")
    assert result.written == 3 and result.skipped == 1
    assert sorted(p.name for p in out.iterdir()) == [D.MANIFEST, D.MBOX]
    box = mailbox.mbox(out / D.MBOX)
    messages = [parse(m.as_bytes()) for m in box]
    box.close()
    assert [str(m["Subject"]) for m in messages] == ["Acme Co., Ltd.", "บริษัท ทดสอบ", "Acme Co., Ltd."]
    assert all(plain(m) == "From the desk of Somchai\n" for m in messages)
    run(rows[:1], out, cfg, fmt="mbox")
    box = mailbox.mbox(out / D.MBOX)
    assert len(box) == 1  # rewritten, not appended
    box.close()


def test_manifest_columns_bom_and_formula_safety(tmp_path: Path) -> None:
    """drafts.csv: the reference 8.3 columns (issue 16 added as_of, mailbox, gmail_id after them), UTF-8 with BOM
    for Excel, and no cell Excel would run as a formula."""
    out = tmp_path / "out"
    run([due_row(2, prospect='=HYPERLINK("http://x")'), due_row(3, language="th")], out)
    raw = (out / D.MANIFEST).read_bytes()
    assert raw.startswith(
        b"\xef\xbb\xbfrow,prospect,email,reason,status,file,subject,detail,as_of,mailbox,gmail_id\r\n"
    )
    rows = manifest(out)
    assert rows[0]["prospect"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["subject"] == "ติดตามผล — Acme Co., Ltd."
    assert rows[1]["file"] == "2026-11-27_follow-up_row3_acme-co-ltd.eml"
    assert (rows[1]["as_of"], rows[1]["mailbox"], rows[1]["gmail_id"]) == ("2026-11-27", "", "")


def test_rows_read_from_a_real_workbook(tmp_path: Path) -> None:
    """Rows read by schema.read_rows (date-time cells, yes/no text, an extra column) draft correctly."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pipeline"
    ws.append(["Prospect", "Contact", "Email", "Owner", "Owner Email", "Stage", "Appointment", "Info Requested",
               "Next Follow-up", "Language", "Do Not Contact", "Industry"])  # fmt: skip
    ws.append(["Chiang Mai Coffee", "คุณวิภา", "wipa@example.co.th", "Nattaya", "nattaya@example.com",
               "Appointment", dt.datetime(2026, 11, 28, 10, 0), None, None, "th", None, "F&B"])  # fmt: skip
    ws.append(["Riverside Dental", "Dr. Anan Wong", "anan@example.com", "Nattaya", "nattaya@example.com",
               "Lead", None, "yes", None, "en", "no", "Health"])  # fmt: skip
    ws.append(["Silom Fitness", "Ploy", "ploy@example.com", "David", None, "Lead", None, None,
               dt.datetime(2026, 11, 20), "en", "ใช่", "Fitness"])  # fmt: skip
    path = tmp_path / "p.xlsx"
    wb.save(path)
    sheet = openpyxl.load_workbook(path)["Pipeline"]
    _layout, rows = read_rows("Pipeline", enumerate(map(list, sheet.iter_rows(values_only=True)), 1), config())
    result = run(rows, tmp_path / "out")
    assert [(e.row, e.reason, e.status) for e in result.entries] == [
        (2, "appointment-reminder", "written"),
        (3, "info-request", "written"),
    ]
    body = plain(parse(result.entries[0].file.read_bytes()))
    assert "วันเสาร์ที่ 28 พฤศจิกายน 2569 เวลา 10:00 น." in body
    hi = plain(parse(result.entries[1].file.read_bytes()))
    assert hi.startswith("Hi Anan,")


def test_progress_is_reported_per_due_row(tmp_path: Path) -> None:
    """The CLI's progress bar gets (done, total) for every due row, skipped ones included."""
    seen: list[tuple[int, int]] = []
    run([due_row(2), due_row(3, email=None), make_row(4)], tmp_path / "out", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


def test_an_out_path_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    """--out naming an existing file: exit 2 with the path, nothing else touched."""
    target = tmp_path / "drafts"
    target.write_text("not a folder")
    with pytest.raises(UsageError, match="drafts folder") as exc:
        run([due_row()], target)
    assert exc.value.exit_code == 2 and target.read_text() == "not a folder"


def test_summary_text_and_json_entries(tmp_path: Path) -> None:
    """The terminal lines name the folder and every failure; JSON entries carry the reference 6.4 keys."""
    result = run([due_row(2), due_row(3, email=None), due_row(4, prospect="a\nb")], tmp_path / "out")
    text = result.summary_text()
    assert text.startswith(f"Drafts: 1 written to {tmp_path / 'out'}; 1 skipped")
    assert "failed  row 4" in text and "header injection refused" in text
    (first, *_rest) = result.entries_json()
    assert {"row", "prospect", "email", "reason", "file", "status"} <= set(first)
    counts = {"due": 3, "written": 1, "would_write": 0, "skipped": 1, "failed": 1, "limited": 0, "gone": 0}
    assert result.counts() == counts


# ---------------------------------------------------------------- CLI


@pytest.fixture
def workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small pipeline in an empty working folder: two drafts due (en, th), one without email."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETSYNC_CONFIG", raising=False)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pipeline"
    ws.append(["Prospect", "Contact", "Email", "Owner", "Owner Email", "Stage", "Decision Maker", "Budget",
               "Expected Close", "Last Contact", "Next Follow-up", "Language", "Region"])  # fmt: skip
    common = [
        "Proposal",
        "yes",
        100000,
        dt.datetime(2026, 12, 20),
        dt.datetime(2026, 11, 25),
        dt.datetime(2026, 11, 27),
    ]
    ws.append(["Acme Co., Ltd.", "Ann Lee", "ann@acme.example", "David", "david@example.com", *common, "en", "North"])
    ws.append(["บริษัท ทดสอบ จำกัด", "คุณวิภา", "wipa@example.co.th", "Nattaya", "n@example.com", *common, "th", None])
    ws.append(["No Mail Ltd.", "Bo", None, "David", "david@example.com", *common, "en", "East"])
    wb.save(tmp_path / "pipeline.xlsx")
    return tmp_path / "pipeline.xlsx"


def invoke(*args: str) -> Any:
    from click.testing import CliRunner

    from sheetsync.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_drafts_writes_files_manifest_and_json(workbook: Path) -> None:
    """`sheetsync drafts --json`: files in --out, the manifest, JSON drafts entries, exit 0."""
    result = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(d["row"], d["reason"], d["status"]) for d in data["drafts"]] == [
        (2, "follow-up", "written"),
        (3, "follow-up", "written"),
        (4, "follow-up", "skipped"),
    ]
    files = sorted(p.name for p in Path("out").glob("*.eml"))
    assert files == ["2026-11-27_follow-up_row2_acme-co-ltd.eml", "2026-11-27_follow-up_row3_บริษัท-ทดสอบ-จำกัด.eml"]
    assert [Path(d["file"]).name for d in data["drafts"][:2]] == files
    assert [m["status"] for m in manifest(Path("out"))] == ["written", "written", "skipped"]


def test_cli_a_failed_draft_exits_1_and_the_rest_are_written(workbook: Path) -> None:
    """A template that needs a cell one row lacks: exit 1, that row failed, the others written."""
    text = "Subject: Hi\n\n{{ prospect.Region.upper() }}\n"  # row 3's Region cell is empty
    write_templates(Path("tpl"), {"follow-up.txt.j2": text, "th/follow-up.txt.j2": text})
    Path("sheetsync.toml").write_text('[drafts]\ntemplates = "tpl"\n', encoding="utf-8")
    result = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--json")
    assert result.exit_code == 1, result.output
    statuses = [(d["row"], d["status"]) for d in json.loads(result.stdout)["drafts"]]
    assert statuses == [(2, "written"), (3, "failed"), (4, "skipped")]
    assert len(list(Path("out").glob("*.eml"))) == 1


def test_cli_syntax_error_exits_2_and_writes_nothing(workbook: Path) -> None:
    """A template syntax error: exit 2, the file and line on stderr, no drafts folder at all."""
    write_templates(Path("tpl"), {"th/follow-up.txt.j2": "Subject: x\n\n{{ broken\n"})
    Path("sheetsync.toml").write_text('[drafts]\ntemplates = "tpl"\n', encoding="utf-8")
    result = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out")
    assert result.exit_code == 2
    assert "follow-up.txt.j2, line 3" in result.stderr
    assert not Path("out").exists()


def test_cli_dry_run_and_limit(workbook: Path) -> None:
    """--dry-run lists what it would write and writes nothing; --limit 1 writes one file."""
    dry = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--dry-run", "--json")
    assert dry.exit_code == 0
    assert [d["status"] for d in json.loads(dry.stdout)["drafts"]] == ["would-write", "would-write", "skipped"]
    assert not Path("out").exists()
    limited = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--limit", "1")
    assert limited.exit_code == 0
    assert len(list(Path("out").glob("*.eml"))) == 1
    assert "1 left out by --limit" in limited.stdout


def test_cli_mbox_format(workbook: Path) -> None:
    """--format mbox writes one drafts.mbox with both drafts."""
    result = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--format", "mbox")
    assert result.exit_code == 0
    box = mailbox.mbox(Path("out") / D.MBOX)
    assert len(box) == 2
    box.close()


def test_issue_16_drafts_prints_the_findings_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`drafts` on the sample: one line counting the findings and naming `validate`, not the 20-line list."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / "sample_workbooks" / "pipeline.xlsx", "pipeline.xlsx")
    findings = json.loads(invoke("validate", "pipeline.xlsx", "--as-of", "2026-11-27", "--json").stdout)["findings"]
    errors = sum(f["severity"] == "error" for f in findings)
    warnings = len(findings) - errors
    assert errors > 1 and warnings > 1  # the sample's deliberate problems
    result = invoke("drafts", "pipeline.xlsx", "--as-of", "2026-11-27", "--out", "out")
    assert result.exit_code == 1
    first, *rest = result.stdout.splitlines()
    assert first == f"Pipeline: {errors} errors, {warnings} warnings — run `sheetsync validate` for the list"
    assert "Findings by row" not in result.stdout and not any(line.startswith("  Pipeline!") for line in rest)
    assert any(line.startswith("Drafts: ") for line in rest)


def test_issue_16_the_placeholder_sender_is_written_with_one_warning_per_owner(
    workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two of Nok's rows and one owner-less row without Owner Email: the drafts are written From the placeholder,
    with one warning for Nok and one for the rows with no owner, on stderr in cron mode and in --json."""
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Pipeline"]
    for r in (2, 3):
        ws.cell(r, 4).value = "Nok"
        ws.cell(r, 5).value = None
    dates = [dt.datetime(2026, 12, 20), dt.datetime(2026, 11, 25), dt.datetime(2026, 11, 27)]
    ws.append(["Ownerless Ltd.", "Oz", "oz@example.com", None, None, "Proposal", "yes", 100000, *dates, "en", None])
    wb.save(workbook)
    cron = invoke("sync", str(workbook), "--as-of", "2026-11-27", "--out", "out")
    assert cron.exit_code == 0, cron.output
    warnings = [line for line in cron.stderr.splitlines() if "placeholder" in line]
    assert warnings == [
        "Warning: 2 draft(s) for Nok (row 2, 3) are from the placeholder sales@example.com — put Nok's address in "
        "an Owner Email column, or set [drafts] from in sheetsync.toml",
        "Warning: 1 draft(s) for rows with no owner (row 5) are from the placeholder sales@example.com — fill in "
        "Owner and Owner Email, or set [drafts] from in sheetsync.toml",
    ]
    assert len(list(Path("out").glob("*.eml"))) == 3
    data = json.loads(invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out", "--json").stdout)
    assert [w for w in data["warnings"] if "placeholder" in w] == [w.removeprefix("Warning: ") for w in warnings]
    Path("sheetsync.toml").write_text('[drafts]\nfrom = "Desk <desk@example.com>"\n', encoding="utf-8")
    fixed = invoke("drafts", str(workbook), "--as-of", "2026-11-27", "--out", "out")
    assert "placeholder" not in fixed.stderr
