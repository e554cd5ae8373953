"""What the built-in templates say (reference 8.2, issue 16): nothing sheetsync can't know, the deal amount
where it reads naturally, never a month that has passed, never the placeholder in a signature.

Drafts are made with the real maker into tmp_path and read back with Python's own email parser.
"""

from __future__ import annotations

import datetime as dt
import email
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from sheetsync import drafts as D
from sheetsync.config import Config, Drafts, parse_config
from sheetsync.errors import ConfigError
from sheetsync.model.reader import Row

AS_OF = dt.date(2026, 11, 27)

#: Words (and their Thai) that promise an attachment, a free trial, its length or a set-up service.
PROMISES = {
    "en": ("attach", "free", "trial", "two-week", "set it up", "set up"),
    "th": ("แนบ", "ฟรี", "ทดลองใช้", "สองสัปดาห์", "ติดตั้ง"),
}


def row(number: int, **fields: Any) -> Row:
    """An open deal of Malee's, due for nothing until a test says so."""
    base: dict[str, Any] = {
        "prospect": "Acme Co., Ltd.",
        "contact": "Ann Lee",
        "email": "ann@client.example",
        "owner": "Malee",
        "owner_email": "malee@acme.example",
        "stage": "Proposal",
        "budget": Decimal("450000"),
        "expected_close": dt.date(2026, 12, 20),
        "last_contact": AS_OF - dt.timedelta(days=2),
    }
    base.update(fields)
    return Row(row=number, **base)


def one_of_each(language: str, stage: str, **fields: Any) -> list[Row]:
    """One row per reason, in reference 8.1's order (trial-offer needs row 5 to be stale)."""
    rows = [
        row(2, appointment=dt.datetime(2026, 11, 28, 10, 0), **fields),
        row(3, info_requested=True, **fields),
        row(4, appointment=AS_OF - dt.timedelta(days=2), **fields),
        row(5, **fields),
        row(6, next_follow_up=AS_OF, **fields),
    ]
    for r in rows:
        r.language, r.stage = language, stage
    return rows


def make(rows: list[Row], out: Path, cfg: Config | None = None, as_of: dt.date = AS_OF) -> list[EmailMessage]:
    cfg = cfg or Config()
    result = D.make_drafts(rows, {5}, cfg, as_of, out=out, templates=D.load_templates(cfg))
    assert result.failed == 0, result.summary_text()
    messages = []
    for entry in result.entries:
        assert entry.file is not None
        msg = email.message_from_bytes(entry.file.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        messages.append(msg)
    return messages


def texts(msg: EmailMessage) -> list[str]:
    """The subject and every body part, as a reader sees them."""
    parts = [str(msg["Subject"])]
    for kind in ("plain", "html"):
        part = msg.get_body((kind,))
        if part is not None:
            parts.append(str(part.get_content()))
    return parts


def plain(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def config(**drafts: Any) -> Config:
    return Config(drafts=Drafts(**drafts))


@pytest.mark.parametrize("language", ["en", "th"])
@pytest.mark.parametrize("stage", ["Demo", "Negotiation"])
@pytest.mark.parametrize("known", [True, False], ids=["cells filled", "cells empty"])
def test_issue_16_no_built_in_draft_promises_what_sheetsync_cant_know(
    tmp_path: Path, language: str, stage: str, known: bool
) -> None:
    """Without [drafts] attachment_note and offer, no reason in either language, plain or HTML, mentions an
    attachment, a free trial, its length or a set-up service (the product may not be software at all)."""
    fields = {} if known else {"budget": None, "expected_close": None, "last_contact": None, "contact": None}
    messages = make(one_of_each(language, stage, **fields), tmp_path)
    assert len(messages) == len(D.REASONS)
    for msg in messages:
        for text in texts(msg):
            found = [word for word in PROMISES[language] if word in text.casefold()]
            assert not found, (str(msg["Subject"]), found, text)


def test_issue_16_without_the_keys_the_drafts_ask_instead_of_promising(tmp_path: Path) -> None:
    """The information request asks what matters most; the stalled deal, whether the need is still there."""
    info, trial = make([row(3, info_requested=True), row(5)], tmp_path)
    assert str(info["Subject"]) == "Your request for information — Acme Co., Ltd."
    assert "Could you tell me which questions matter most to you right now?" in plain(info)
    assert str(trial["Subject"]) == "Checking in — Acme Co., Ltd."
    body = plain(trial)
    assert "Is this still something Acme Co., Ltd. needs?" in body and "a short call" in body
    assert "I know a ฿450,000 decision takes time." in body


def test_issue_16_attachment_note_and_offer_are_the_users_words(tmp_path: Path) -> None:
    """The note is used as written, in every language; the offer by language from a table, in text and HTML."""
    cfg = config(
        attachment_note={"": "I attach our price list for three branches."},
        offer={"en": "a 30-day free trial of our POS", "th": "ทดลองใช้ระบบ POS ฟรี 30 วัน"},
    )
    info, trial_en = make([row(3, info_requested=True), row(5)], tmp_path / "en", cfg)
    assert str(info["Subject"]) == "The information you asked for — Acme Co., Ltd."
    assert "As promised, here is the information you asked for. I attach our price list for three branches." in (
        plain(info)
    )
    assert str(trial_en["Subject"]) == "An offer for Acme Co., Ltd."
    assert "I'd like to offer Acme Co., Ltd. a 30-day free trial of our POS. Would that help?" in plain(trial_en)
    html = trial_en.get_body(("html",))
    assert html is not None and "<strong>a 30-day free trial of our POS</strong>" in str(html.get_content())

    (trial_th,) = make([row(5, language="th")], tmp_path / "th", cfg)
    assert "ขอเสนอทดลองใช้ระบบ POS ฟรี 30 วัน สำหรับ Acme Co., Ltd." in plain(trial_th)
    assert str(trial_th["Subject"]) == "ข้อเสนอพิเศษสำหรับ Acme Co., Ltd."

    only_en = config(offer={"en": "a 30-day free trial"})
    (trial_th,) = make([row(5, language="th")], tmp_path / "th-only-en", only_en)
    assert "30-day" not in plain(trial_th) and "ยังต้องการเรื่องนี้อยู่หรือไม่" in plain(trial_th)


@pytest.mark.parametrize(
    ("language", "passed", "coming"),
    [("th", "พฤศจิกายน 2569", "ในเดือนธันวาคม 2569"), ("en", "November 2026", "for December 2026")],
)
def test_issue_16_a_month_that_has_passed_is_never_proposed(
    tmp_path: Path, language: str, passed: str, coming: str
) -> None:
    """The issue's case: a late-stage follow-up written on 3 December for a deal expected to close on
    20 November proposed to fit "your plans in November 2569".  Now the month is left out; a close date
    in December (or later) is still named."""
    december_3 = dt.date(2026, 12, 3)
    late = row(2, language=language, expected_close=dt.date(2026, 11, 20), next_follow_up=december_3)
    (msg,) = make([late], tmp_path / "late", as_of=december_3)
    for text in texts(msg):
        assert passed not in text
    assert ("ในเดือน" if language == "th" else "your plans for") not in plain(msg)

    ahead = row(2, language=language, expected_close=dt.date(2026, 12, 20), next_follow_up=december_3)
    (msg,) = make([ahead], tmp_path / "ahead", as_of=december_3)
    assert coming in plain(msg)


def test_issue_16_close_month_for_your_own_templates(tmp_path: Path) -> None:
    """``close_month`` is the expected close while its month lasts (a date), else empty."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "follow-up.txt.j2").write_text(
        "Subject: x\n\n[{{ close_month }}|{{ close_month | date('month') }}]\n", encoding="utf-8"
    )
    cfg = Config(drafts=Drafts(templates=folder, templates_configured=True))
    cases = [dt.date(2026, 11, 1), dt.date(2026, 10, 31), dt.date(2027, 1, 5), None]
    rows = [row(n, expected_close=close, next_follow_up=AS_OF) for n, close in enumerate(cases, 6)]
    bodies = [plain(m) for m in make(rows, tmp_path / "out", cfg)]
    assert bodies == ["[2026-11-01|November 2026]\n", "[|]\n", "[2027-01-05|January 2027]\n", "[|]\n"]


@pytest.mark.parametrize(
    ("language", "currency", "expected"),
    [
        ("en", "THB", "Have you had a chance to look at our proposal for ฿450,000?"),
        ("en", "USD", "Have you had a chance to look at our proposal for $450,000?"),
        ("th", "THB", "ไม่ทราบว่าได้มีโอกาสพิจารณาข้อเสนอของเรามูลค่า 450,000 บาท แล้วหรือยัง"),
    ],
)
def test_issue_16_the_deal_amount_is_named_where_it_reads_naturally(
    tmp_path: Path, language: str, currency: str, expected: str
) -> None:
    """A late-stage follow-up names the proposal's amount (money filter; Thai baht as บาท); without a budget,
    the sentence reads whole without it."""
    cfg = Config(currency=currency)
    (msg,) = make([row(2, language=language, next_follow_up=AS_OF)], tmp_path / "with", cfg)
    assert expected in plain(msg)
    (msg,) = make([row(2, language=language, next_follow_up=AS_OF, budget=None)], tmp_path / "without", cfg)
    assert ("proposal?" if language == "en" else "ข้อเสนอของเราแล้วหรือยัง") in plain(msg)


@pytest.mark.parametrize("language", ["en", "th"])
def test_issue_16_the_placeholder_never_signs_a_draft(tmp_path: Path, language: str) -> None:
    """An owner with no Owner Email: the draft is still written, From the placeholder, but signed with the
    owner's name alone — never "Nok / sales@example.com"."""
    for msg in make(one_of_each(language, "Demo", owner="Nok", owner_email=None), tmp_path):
        assert str(msg["From"]) == "Sales Team <sales@example.com>"
        for text in texts(msg):
            assert "sales@example.com" not in text
        assert plain(msg).rstrip("\n").endswith("\nNok")


def test_a_real_sender_still_signs_with_its_address(tmp_path: Path) -> None:
    """``[drafts] from`` of your own is no placeholder: it is the signature's address."""
    cfg = config(sender="Sales Desk <desk@acme.example>")
    (msg,) = make([row(2, owner=None, owner_email=None, next_follow_up=AS_OF)], tmp_path, cfg)
    assert plain(msg).rstrip("\n").endswith("\nSales Desk\ndesk@acme.example")


@pytest.mark.parametrize(
    ("drafts", "message"),
    [
        ({"to": "outlook"}, "drafts.to: expected one of files, gmail, got 'outlook'"),
        ({"offer": ""}, "drafts.offer: expected a non-empty string"),
        ({"offer": 30}, "drafts.offer: expected a text, or a table of language = text"),
        ({"offer": {"th": ""}}, "drafts.offer.th: expected a non-empty string"),
        ({"attachment_note": {"": "x"}}, "drafts.attachment_note.: expected a language code"),
        ({"attachement_note": "x"}, "did you mean 'attachment_note'"),
    ],
)
def test_the_new_drafts_keys_are_checked(tmp_path: Path, drafts: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"drafts": drafts}, tmp_path / "sheetsync.toml")
    assert message in error.value.message and error.value.exit_code == 2


def test_the_new_drafts_keys_are_read(tmp_path: Path) -> None:
    cfg = parse_config(
        {
            "drafts": {
                "to": "gmail",
                "attachment_note": "I attach it.",
                "offer": {"Thai": "ส่วนลด 10%", "EN": "a 10% discount"},
            }
        },
        tmp_path / "sheetsync.toml",
    )
    assert cfg.drafts.to == "gmail"
    assert cfg.drafts.attachment_note == {"": "I attach it."}
    assert cfg.drafts.offer == {"th": "ส่วนลด 10%", "en": "a 10% discount"}
