"""The Gmail drafts client against a fake Gmail API over real HTTP (issue 16).

Each test seeds the fake (tests/fake_gmail.py: mailboxes, domain-wide
delegation, faults), puts drafts built exactly as ``sheetsync drafts`` builds
its .eml files, and asserts what a user would see: the drafts in each
mailbox, the requests it took, and the error message and exit code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_gmail import CLIENT_ID, MALEE, NIRAN, SA_EMAIL, SCOPE, FakeGmail, quota_body
from fake_google import ServiceAccount, closed_port, make_authorized_user, make_service_account

from sheetsync.drafts import build_message
from sheetsync.drafts.gmail import ENDPOINT_ENV, QUOTA_UNITS, Gmail, MailboxError, open_gmail
from sheetsync.errors import RemoteError, SheetsyncError, UsageError
from sheetsync.google.http import TIMEOUT_ENV

BODY = "Khun Somchai, thank you for the call on Tuesday about the 480,000 THB proposal."
SUBJECT = "Following up on our proposal"


@pytest.fixture
def account(gmail_account: ServiceAccount) -> ServiceAccount:
    return gmail_account


@pytest.fixture
def fake(gmail_fake: FakeGmail) -> FakeGmail:
    """Malee's and Niran's mailboxes at acme.example, which has delegated gmail.compose (conftest.py)."""
    return gmail_fake


@pytest.fixture
def gmail(fake: FakeGmail, account: ServiceAccount) -> Iterator[Gmail]:
    with open_gmail(account.path, None) as client:
        yield client


def eml(sender: str, row: int = 2, as_of: str = "2026-11-27", text: str = BODY) -> tuple[bytes, str]:
    """A draft's .eml bytes as ``sheetsync drafts`` writes them, and its Message-ID."""
    digest = hashlib.sha256(f"{as_of}|{row}".encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2]
    message_id = f"<sheetsync.{as_of.replace('-', '')}.follow-up.row{row}.{digest}@{domain}>"
    raw = build_message(
        sender=("Malee Sales", sender),
        to=("Somchai Prasert", f"somchai{row}@customer.example"),
        subject=SUBJECT,
        text=text,
        html=None,
        date=dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC),
        message_id=message_id,
    )
    return raw, message_id


def api_calls(fake: FakeGmail) -> dict[str, int]:
    return {kind: n for kind, n in fake.counts.items() if kind != "token"}


def secrets_in(text: str, fake: FakeGmail, account: ServiceAccount) -> list[str]:
    """Anything secret or private that leaked into ``text``: tokens, key lines, the message itself."""
    leaks = [token for token in fake.tokens if token in text]
    leaks += [line for line in account.key_lines if line in text]
    leaks += [marker for marker in ("PRIVATE KEY", "ya29.", "assertion", BODY, SUBJECT) if marker in text]
    raw, _ = eml(MALEE)
    leaks += [chunk for chunk in (base64.urlsafe_b64encode(raw)[:40].decode(),) if chunk in text]
    return leaks


# --- creating and updating -------------------------------------------------------------


def test_a_draft_lands_in_the_senders_drafts_as_the_eml_bytes(fake: FakeGmail, gmail: Gmail) -> None:
    """One search (nothing of ours yet) and one create; the stored message is byte for byte the .eml."""
    raw, message_id = eml(MALEE)
    result = gmail.put(MALEE, raw, message_id, None)

    assert result.outcome == "created"
    (draft,) = fake.drafts(MALEE)
    assert draft.id == result.draft_id and draft.raw == raw
    assert draft.rfc822_id == message_id
    assert fake.drafts(NIRAN) == []
    assert api_calls(fake) == {"drafts.list": 1, "drafts.create": 1}
    assert {entry.email for entry in fake.log if entry.kind != "token"} == {MALEE}
    assert fake.scopes == [SCOPE]  # gmail.compose and nothing else
    assert gmail.usage.requests == {"drafts.list": 1, "drafts.create": 1}
    assert gmail.usage.units == QUOTA_UNITS["drafts.list"] + QUOTA_UNITS["drafts.create"] == 15

    # what Gmail hands back for that draft (drafts.get, format=raw) is the .eml again
    token = next(token for token, grant in fake.tokens.items() if grant.subject == MALEE)
    answer = requests.get(
        f"{fake.url}/gmail/v1/users/me/drafts/{result.draft_id}",
        params={"format": "raw"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()
    assert answer["id"] == result.draft_id and answer["message"]["labelIds"] == ["DRAFT"]
    assert base64.urlsafe_b64decode(answer["message"]["raw"]) == raw


def test_a_rerun_updates_the_draft_it_made_and_touches_no_other(fake: FakeGmail, account: ServiceAccount) -> None:
    """Same as-of again: the recorded id is updated in place (one request, 15 units); the user's own draft stays."""
    own = fake.add_draft(MALEE, b"From: malee@acme.example\r\nSubject: my own note\r\n\r\nkeep me\r\n")
    raw, message_id = eml(MALEE)
    with open_gmail(account.path, None) as first:
        created = first.put(MALEE, raw, message_id, None)

    changed, _ = eml(MALEE, text="Khun Somchai, a corrected amount: 490,000 THB.")
    with open_gmail(account.path, None) as second:
        updated = second.put(MALEE, changed, message_id, created.draft_id)
        assert second.usage.requests == {"drafts.update": 1} and second.usage.units == 15

    assert (updated.outcome, updated.draft_id) == ("updated", created.draft_id)
    drafts = {draft.id: draft for draft in fake.drafts(MALEE)}
    assert set(drafts) == {own.id, created.draft_id}
    assert drafts[created.draft_id].raw == changed
    assert drafts[own.id].raw.endswith(b"keep me\r\n")
    assert fake.count("drafts.create") == 1


def test_a_rerun_that_lost_its_manifest_finds_its_draft_by_message_id(fake: FakeGmail, gmail: Gmail) -> None:
    """No recorded id (the first run died before writing the manifest): the search finds it, no duplicate."""
    raw, message_id = eml(MALEE)
    created = gmail.put(MALEE, raw, message_id, None)
    again = gmail.put(MALEE, raw, message_id, None)
    assert (again.outcome, again.draft_id) == ("updated", created.draft_id)
    assert len(fake.drafts(MALEE)) == 1
    assert fake.count("drafts.create") == 1
    (search, _) = fake.requests("drafts.list")
    assert search.params["q"] == [f"rfc822msgid:{message_id}"]


def test_two_mailboxes_through_domain_wide_delegation(fake: FakeGmail, gmail: Gmail) -> None:
    """Each sender's draft goes to that sender's mailbox, with a token minted for that mailbox."""
    for sender, row in ((MALEE, 2), (NIRAN, 3), (MALEE, 4)):
        raw, message_id = eml(sender, row)
        assert gmail.put(sender, raw, message_id, None, look_first=False).outcome == "created"

    assert [d.rfc822_id for d in fake.drafts(MALEE)] == [eml(MALEE, 2)[1], eml(MALEE, 4)[1]]
    assert [d.rfc822_id for d in fake.drafts(NIRAN)] == [eml(NIRAN, 3)[1]]
    assert fake.count("token") == 2  # one token per mailbox, reused for its second draft
    assert sorted(grant.subject for grant in fake.tokens.values()) == [MALEE, NIRAN]
    creates = fake.requests("drafts.create")
    assert [c.email for c in creates] == [MALEE, NIRAN, MALEE]
    assert [c.path for c in creates] == [f"/gmail/v1/users/{c.email}/drafts" for c in creates]


@pytest.mark.parametrize("user_action", ["deleted", "sent"])
def test_a_draft_the_user_deleted_or_sent_is_gone_and_not_recreated(
    fake: FakeGmail, gmail: Gmail, user_action: str
) -> None:
    """Update answers 404: reported ``gone``, and nothing new appears in the mailbox on the same as-of."""
    raw, message_id = eml(MALEE)
    created = gmail.put(MALEE, raw, message_id, None)
    if user_action == "deleted":
        fake.delete_draft(MALEE, created.draft_id)
    else:
        fake.send_draft(MALEE, created.draft_id)

    result = gmail.put(MALEE, raw, message_id, created.draft_id)
    assert (result.outcome, result.draft_id) == ("gone", created.draft_id)
    assert fake.drafts(MALEE) == []
    assert fake.count("drafts.create") == 1
    assert len(fake.mailboxes[MALEE].sent) == (user_action == "sent")

    later_raw, later_id = eml(MALEE, as_of="2026-11-28")  # a later as-of has new Message-IDs
    assert gmail.put(MALEE, later_raw, later_id, None).outcome == "created"
    assert [d.rfc822_id for d in fake.drafts(MALEE)] == [later_id]


def test_delete_undoes_a_draft_and_tells_when_it_was_already_gone(fake: FakeGmail, gmail: Gmail) -> None:
    raw, message_id = eml(MALEE)
    created = gmail.put(MALEE, raw, message_id, None)
    assert gmail.delete(MALEE, created.draft_id) is True
    assert fake.drafts(MALEE) == []
    assert gmail.delete(MALEE, created.draft_id) is False
    assert gmail.find(MALEE, message_id) is None


def test_the_message_id_must_be_the_messages_own(gmail: Gmail) -> None:
    """The lost-answer search relies on the header, so a mismatch is refused before any request."""
    raw, _ = eml(MALEE)
    with pytest.raises(ValueError, match="not the Message-ID"):
        gmail.put(MALEE, raw, "<someone-else@acme.example>", None)
    assert gmail.usage.total == 0


# --- lost answers and retries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "creates", "searches"),
    [
        pytest.param({"apply_first": True, "drop": True}, 1, 1, id="stored, then the connection dropped"),
        pytest.param({"apply_first": True, "hang": 3}, 1, 1, id="stored, the answer too late"),
        pytest.param({"drop": True}, 2, 1, id="dropped before Gmail stored it"),
        pytest.param({"status": 500}, 2, 1, id="500"),
    ],
)
def test_a_create_whose_answer_was_lost_makes_no_duplicate(
    fake: FakeGmail,
    account: ServiceAccount,
    monkeypatch: pytest.MonkeyPatch,
    fault: dict[str, object],
    creates: int,
    searches: int,
) -> None:
    """After a try that may have been stored, the draft is searched for by Message-ID before creating again."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    fake.fail("drafts.create", **fault)
    raw, message_id = eml(MALEE)
    with open_gmail(account.path, None) as gmail:
        result = gmail.put(MALEE, raw, message_id, None, look_first=False)
    (draft,) = fake.drafts(MALEE)
    assert (result.outcome, result.draft_id) == ("created", draft.id)
    assert draft.raw == raw
    assert (fake.count("drafts.create"), fake.count("drafts.list")) == (creates, searches)


def test_an_update_that_timed_out_is_simply_repeated(
    fake: FakeGmail, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replacing a draft's content twice is harmless: no search, no second draft."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    raw, message_id = eml(MALEE)
    with open_gmail(account.path, None) as gmail:
        created = gmail.put(MALEE, raw, message_id, None)
        fake.fail("drafts.update", hang=3, apply_first=True)
        assert gmail.put(MALEE, raw, message_id, created.draft_id).outcome == "updated"
    assert [r.status for r in fake.requests("drafts.update")] == [200, 200]
    assert len(fake.drafts(MALEE)) == 1 and fake.count("drafts.list") == 1


def test_429_bursts_are_retried_then_succeed(fake: FakeGmail, gmail: Gmail) -> None:
    """Gmail's 429 has no Retry-After (the body names the quota metric): our own backoff, then success."""
    fake.fail("drafts.create", 429, times=2)
    raw, message_id = eml(MALEE)
    started = time.monotonic()
    assert gmail.put(MALEE, raw, message_id, None, look_first=False).outcome == "created"
    assert time.monotonic() - started < 5
    assert [r.status for r in fake.requests("drafts.create")] == [429, 429, 200]
    assert fake.count("drafts.list") == 0  # a 429 was never stored: nothing to look for
    assert len(fake.drafts(MALEE)) == 1
    assert gmail.usage.requests == {"drafts.create": 3}


def test_a_403_that_is_really_a_rate_limit_is_retried(fake: FakeGmail, gmail: Gmail) -> None:
    """Gmail sometimes refuses bursts with 403 rateLimitExceeded: that is waiting, not a missing delegation."""
    fake.fail("drafts.create", 403, body=quota_body(403))
    raw, message_id = eml(MALEE)
    assert gmail.put(MALEE, raw, message_id, None, look_first=False).outcome == "created"
    assert [r.status for r in fake.requests("drafts.create")] == [403, 200]


@pytest.mark.parametrize(
    ("status", "says", "kinds"),
    [
        (429, "Gmail quota exhausted for mailbox malee@acme.example", ["drafts.create"] * 5),
        (
            503,
            "Gmail kept failing for mailbox malee@acme.example",
            ["drafts.create"] + ["drafts.list"] * 4,  # the search for a maybe-stored draft, retried
        ),
    ],
)
def test_failing_for_ever_is_exit_3_after_five_tries(
    fake: FakeGmail, gmail: Gmail, status: int, says: str, kinds: list[str]
) -> None:
    """The whole put, searches included, stays within 5 tries; then a clear error, not a mailbox error."""
    fake.fail("api", status, times=99)
    raw, message_id = eml(MALEE)
    with pytest.raises(RemoteError) as error:
        gmail.put(MALEE, raw, message_id, None, look_first=False)
    assert not isinstance(error.value, MailboxError)
    assert error.value.exit_code == 3
    assert says in error.value.message and "after 5 tries" in error.value.message
    assert [entry.kind for entry in fake.log if entry.kind != "token"] == kinds
    assert ("may have stored the draft" in error.value.message) == (status == 503)
    assert fake.drafts(MALEE) == []


def test_retry_after_is_honoured_when_present(fake: FakeGmail, gmail: Gmail) -> None:
    fake.fail("drafts.list", 503, retry_after="1")
    raw, message_id = eml(MALEE)
    started = time.monotonic()
    gmail.put(MALEE, raw, message_id, None)
    assert time.monotonic() - started >= 1.0  # the backoff base is 0.01 s: only Retry-After explains this


# --- errors a person can act on --------------------------------------------------------------


def test_missing_delegation_names_the_mailbox_the_client_id_and_the_one_scope(
    fake: FakeGmail, gmail: Gmail, tmp_path: Path
) -> None:
    """The token endpoint's unauthorized_client for one domain: that mailbox fails, the others go on."""
    other = "ploy@branch.example"  # a second Workspace domain whose admin hasn't granted delegation
    fake.add_mailbox(other)
    raw, message_id = eml(other)
    with pytest.raises(MailboxError) as error:
        gmail.put(other, raw, message_id, None)
    message = error.value.message
    assert error.value.mailbox == other and error.value.exit_code == 3
    assert other in message and CLIENT_ID in message and SCOPE in message and SA_EMAIL in message
    assert "Security → Access and data control → API controls → Domain-wide delegation" in message
    assert "unauthorized_client" in message and "mail.google.com" not in message
    assert fake.count("drafts.list", "drafts.create") == 0

    tokens = fake.count("token")
    with pytest.raises(MailboxError):  # refused once: not asked again in this run
        gmail.put(other, *eml(other, 3), None)
    assert fake.count("token") == tokens

    ok_raw, ok_id = eml(MALEE)
    assert gmail.put(MALEE, ok_raw, ok_id, None).outcome == "created"


def test_a_403_from_gmail_names_the_mailbox_and_the_delegation(fake: FakeGmail, gmail: Gmail) -> None:
    fake.fail("drafts.create", 403)
    raw, message_id = eml(MALEE)
    with pytest.raises(MailboxError) as error:
        gmail.put(MALEE, raw, message_id, None, look_first=False)
    assert MALEE in error.value.message and "403 PERMISSION_DENIED" in error.value.message
    assert CLIENT_ID in error.value.message and "Domain-wide delegation" in error.value.message
    assert fake.count("drafts.create") == 1  # waiting can't grant a delegation


@pytest.mark.parametrize("how", ["token endpoint", "404 from Gmail"])
def test_an_address_that_is_no_workspace_mailbox_says_so(fake: FakeGmail, gmail: Gmail, how: str) -> None:
    sender = "ghost@acme.example" if how == "token endpoint" else MALEE
    if how == "404 from Gmail":
        fake.fail("drafts.create", 404)
    raw, message_id = eml(sender)
    with pytest.raises(MailboxError) as error:
        gmail.put(sender, raw, message_id, None, look_first=False)
    assert f"{sender} is not a Google Workspace mailbox" in error.value.message
    assert "authorized-user credentials" in error.value.message


def test_gmail_api_not_enabled_is_a_total_failure(fake: FakeGmail, gmail: Gmail) -> None:
    """Not one mailbox's problem: a plain RemoteError, so the caller stops."""
    body = {
        "error": {
            "code": 403,
            "message": "Gmail API has not been used in project 123 before or it is disabled.",
            "errors": [{"message": "…", "domain": "usageLimits", "reason": "accessNotConfigured"}],
            "status": "PERMISSION_DENIED",
        }
    }
    fake.fail("api", 403, body=body)
    raw, message_id = eml(MALEE)
    with pytest.raises(RemoteError) as error:
        gmail.put(MALEE, raw, message_id, None)
    assert not isinstance(error.value, MailboxError)
    assert "Gmail API is not enabled" in error.value.message and "APIs & Services" in error.value.message


def test_a_broken_key_is_a_total_failure(fake: FakeGmail, tmp_path: Path) -> None:
    stranger = make_service_account(fake, tmp_path, "stranger@x.iam.gserviceaccount.com", register=False)
    raw, message_id = eml(MALEE)
    with open_gmail(stranger.path, None) as gmail, pytest.raises(RemoteError) as error:
        gmail.put(MALEE, raw, message_id, None)
    assert not isinstance(error.value, MailboxError)
    assert "invalid_grant" in error.value.message and "--credentials" in error.value.message
    assert fake.count("drafts.list") == 0


# --- one person's own mailbox --------------------------------------------------------------------


def test_authorized_user_puts_drafts_into_its_own_mailbox_only(fake: FakeGmail, tmp_path: Path) -> None:
    """A personal login reaches one mailbox: checked once (getProfile), and another sender is refused by name."""
    rep = "somsak@gmail.example"
    fake.add_mailbox(rep)
    path = make_authorized_user(fake, tmp_path, rep, scopes=[SCOPE, "https://www.googleapis.com/auth/cloud-platform"])
    with open_gmail(path, None) as gmail:
        assert not gmail.delegated
        for row in (2, 3):
            raw, message_id = eml(rep, row)
            assert gmail.put(rep.upper(), raw, message_id, None).outcome == "created"
        calls = api_calls(fake)
        with pytest.raises(MailboxError) as error:
            gmail.put(MALEE, *eml(MALEE), None)
    assert calls == {"getProfile": 1, "drafts.list": 2, "drafts.create": 2}
    assert api_calls(fake) == calls  # the other sender cost no request
    assert [d.rfc822_id for d in fake.drafts(rep)] == [eml(rep, 2)[1], eml(rep, 3)[1]]
    assert all(entry.path.startswith("/gmail/v1/users/me/") for entry in fake.log if entry.kind != "token")
    assert fake.scopes == [SCOPE]
    assert f"reaches only the mailbox {rep}" in error.value.message and MALEE in error.value.message
    assert "domain-wide delegation" in error.value.message


def test_authorized_user_without_the_compose_scope_is_told_how_to_log_in_again(fake: FakeGmail, tmp_path: Path) -> None:
    rep = "somsak@gmail.example"
    fake.add_mailbox(rep)
    path = make_authorized_user(fake, tmp_path, rep, scopes=["https://www.googleapis.com/auth/spreadsheets"])
    with open_gmail(path, None) as gmail, pytest.raises(RemoteError) as error:
        gmail.put(rep, *eml(rep), None)
    assert not isinstance(error.value, MailboxError)
    assert "invalid_scope" in error.value.message and SCOPE in error.value.message
    assert "--client-id-file" in error.value.message


# --- settings and secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [(ENDPOINT_ENV, "gmail.local:8080"), (TIMEOUT_ENV, "soon")])
def test_bad_settings_are_usage_errors(
    fake: FakeGmail, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=name):
        open_gmail(account.path, None)


def test_the_configured_endpoint_is_used_unless_the_environment_says_otherwise(
    fake: FakeGmail, account: ServiceAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENDPOINT_ENV)
    with open_gmail(account.path, fake.url + "/") as gmail:
        assert gmail.put(MALEE, *eml(MALEE), None).outcome == "created"


def test_no_token_key_or_message_text_reaches_messages_or_logs(
    fake: FakeGmail, account: ServiceAccount, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every failure path, with debug logging on: no token, no key line, no line of the draft."""
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []

    def attempt(*faults: tuple[str, int], sender: str = MALEE) -> None:
        for kind, status in faults:
            fake.fail(kind, status, times=99)
        try:
            with open_gmail(account.path, None) as gmail:
                gmail.put(sender, *eml(sender), None)
        except SheetsyncError as exc:
            messages.append(exc.message)
        fake.faults.clear()

    attempt(("drafts.create", 403))
    attempt(("drafts.list", 404))
    attempt(("drafts.create", 500))
    attempt(("drafts.create", 429))
    attempt(("api", 401))
    attempt(("token", 400))
    attempt(sender="ghost@acme.example")
    fake.delegations.clear()
    attempt()
    monkeypatch.setenv(ENDPOINT_ENV, f"http://127.0.0.1:{closed_port()}")
    attempt()
    assert len(messages) == 9
    assert len(fake.tokens) >= 5  # tokens were issued: there was something to leak
    assert fake.count("drafts.create") > 0  # and message bodies were sent
    text = "\n".join(messages) + "\n" + caplog.text
    assert "retrying" in caplog.text
    assert not secrets_in(text, fake, account)
