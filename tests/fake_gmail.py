"""A fake Gmail API (``users.drafts``, ``users.getProfile``) served over real HTTP for tests.

Built on fake_google's token endpoint, with Gmail's rules where they bite:

- A service account gets a token only for a mailbox (``sub``) that exists
  (else ``invalid_grant: Invalid email or User ID``) and only for scopes
  delegated to its client id in that mailbox's domain (else 401
  ``unauthorized_client``, as Google answers when domain-wide delegation is
  missing); the fake delegates ``gmail.compose`` alone, so any other scope
  is refused.  A token is bound to (mailbox, scope).
- Every API call checks the bearer token, the scope, and that
  ``users/{userId}`` is ``me`` or the token's own mailbox ("Delegation
  denied" otherwise).
- Drafts live per mailbox; ``raw`` must be base64url (``+``/``/`` are refused
  like Google does) and must parse as an RFC 822 message without defects —
  stricter than Gmail, so tests can trust that what is stored is the .eml.
  An update gives the draft a new message id, as Gmail does.
- ``drafts.list`` understands only ``q=rfc822msgid:…`` (the one search
  sheetsync makes); anything else is a 400 naming the fake's limit.
- Faults answer in Gmail's shapes: 429 without ``Retry-After`` and a body
  naming the quota metric (reason ``rateLimitExceeded``), 5xx
  ``backendError``, 403 ``forbidden``; a dropped connection after a create
  stores the draft and loses the answer.

Tests play the user with :meth:`FakeGmail.send_draft`,
:meth:`FakeGmail.delete_draft` and :meth:`FakeGmail.add_draft`.  ``latency``
makes every API call take that long (Gmail's own take 0.1-0.5 s), and
``peak`` records how many calls each mailbox (and all of them, ``peak_total``)
had in progress at once.
"""

from __future__ import annotations

import binascii
import email
import email.message
import email.parser
import email.policy
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fake_google
from fake_google import ApiError, FakeGoogle, Grant, TokenError, b64decode, strict_json

SCOPE = "https://www.googleapis.com/auth/gmail.compose"
#: The service account the Gmail tests delegate to (conftest's ``gmail_account``).
SA_EMAIL = "sheetsync-drafts@sales-ops-123.iam.gserviceaccount.com"
CLIENT_ID = "118230498712345678901"
#: Two mailboxes of acme.example, which delegates gmail.compose to that account (conftest's ``gmail_fake``).
MALEE = "malee@acme.example"
NIRAN = "niran@acme.example"
#: Scopes that include composing drafts.
_COMPOSE = {SCOPE, "https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"}
UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of "
    "the scopes requested."
)
QUOTA_MESSAGE = (
    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service "
    "'gmail.googleapis.com' for consumer 'project_number:1234567890'."
)
_USER = "/gmail/v1/users/([^/]+)"


def quota_body(code: int = 429) -> dict[str, Any]:
    """Gmail's quota refusal; it comes as 429, and sometimes as 403 with the same reason."""
    return ApiError(code, QUOTA_MESSAGE, reason="rateLimitExceeded", domain="usageLimits").body()


@dataclass
class Draft:
    id: str
    #: Gmail's id of the draft's current message (a new one after each update).
    message_id: str
    thread_id: str
    raw: bytes
    _id: str = field(default="", repr=False, compare=False)
    _id_of: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def message(self) -> email.message.EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed

    @property
    def rfc822_id(self) -> str:
        """The Message-ID header, read once per content: a search reads every draft of the mailbox."""
        if self._id_of is not self.raw:
            headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(self.raw)
            self._id, self._id_of = str(headers["Message-ID"] or "").strip(), self.raw
        return self._id

    def resource(self, *, fmt: str = "minimal") -> dict[str, Any]:
        message: dict[str, Any] = {"id": self.message_id, "threadId": self.thread_id}
        if fmt != "list":
            message["labelIds"] = ["DRAFT"]
        if fmt == "raw":
            message["raw"] = fake_google.b64encode(self.raw)
        elif fmt in ("full", "metadata"):
            message["payload"] = {"headers": [{"name": k, "value": str(v)} for k, v in self.message.items()]}
        return {"id": self.id, "message": message}


@dataclass
class Mailbox:
    address: str
    drafts: dict[str, Draft] = field(default_factory=dict)
    #: Drafts the user sent (no longer drafts).
    sent: list[Draft] = field(default_factory=list)


class FakeGmail(FakeGoogle):
    """Start with ``with FakeGmail() as fake:``; seed with :meth:`add_mailbox` and :meth:`delegate`."""

    routes = (
        ("GET", re.compile(f"^{_USER}/profile$"), "getProfile"),
        ("POST", re.compile(f"^{_USER}/drafts$"), "drafts.create"),
        ("GET", re.compile(f"^{_USER}/drafts$"), "drafts.list"),
        ("GET", re.compile(f"^{_USER}/drafts/([^/]+)$"), "drafts.get"),
        ("PUT", re.compile(f"^{_USER}/drafts/([^/]+)$"), "drafts.update"),
        ("DELETE", re.compile(f"^{_USER}/drafts/([^/]+)$"), "drafts.delete"),
    )

    def reset_data(self) -> None:
        self.mailboxes: dict[str, Mailbox] = {}
        self.delegations: dict[tuple[str, str], set[str]] = {}  # (domain, client id) → scopes
        self.latency = 0.0
        self.busy: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0

    # seeding and playing the user

    def add_mailbox(self, address: str) -> Mailbox:
        with self._lock:
            return self.mailboxes.setdefault(address.casefold(), Mailbox(address))

    def delegate(self, domain: str, client_id: str, scopes: Iterable[str] = (SCOPE,)) -> None:
        """Domain-wide delegation, as an admin grants it in the Admin console."""
        with self._lock:
            self.delegations[(domain.casefold(), client_id)] = set(scopes)

    def add_draft(self, address: str, raw: bytes) -> Draft:
        """A draft the user wrote themselves."""
        with self._lock:
            return self._store(self.mailboxes[address.casefold()], _parsed(raw))

    def send_draft(self, address: str, draft_id: str) -> None:
        with self._lock:
            box = self.mailboxes[address.casefold()]
            box.sent.append(box.drafts.pop(draft_id))

    def delete_draft(self, address: str, draft_id: str) -> None:
        with self._lock:
            del self.mailboxes[address.casefold()].drafts[draft_id]

    # inspection

    def drafts(self, address: str) -> list[Draft]:
        with self._lock:
            return list(self.mailboxes[address.casefold()].drafts.values())

    # the token endpoint's Gmail rules

    def grant_assertion(self, claims: Mapping[str, Any]) -> Grant:
        grant = super().grant_assertion(claims)
        subject = str(claims.get("sub") or "")
        if not subject:
            return grant  # the service account itself: it has no mailbox
        if subject.casefold() not in self.mailboxes:
            raise TokenError("invalid_grant", "Invalid email or User ID")
        domain = subject.rpartition("@")[2].casefold()
        delegated = self.delegations.get((domain, self.client_ids.get(grant.subject, "")), set())
        if not set(grant.scope.split()) <= delegated:
            raise TokenError("unauthorized_client", UNAUTHORIZED_CLIENT, status=401)
        return Grant(subject, grant.scope)

    def fault_error(self, status: int) -> ApiError:
        if status == 429:
            return ApiError(429, QUOTA_MESSAGE, reason="rateLimitExceeded", domain="usageLimits")
        reason = {400: "invalidArgument", 401: "authError", 403: "forbidden", 404: "notFound"}.get(status)
        return ApiError(status, reason=reason or "backendError")

    # the API

    def handle(
        self, kind: str, groups: Sequence[str], method: str, params: Mapping[str, list[str]], raw: bytes, grant: Grant
    ) -> Any:
        who = grant.subject.casefold()
        with self._lock:
            self.busy[who] += 1
            self.peak[who] = max(self.peak[who], self.busy[who])
            self.peak_total = max(self.peak_total, sum(self.busy.values()))
        try:
            if self.latency:
                self._sleep(self.latency)
            return self._serve(kind, groups, params, raw, grant)
        finally:
            with self._lock:
                self.busy[who] -= 1

    def _serve(
        self, kind: str, groups: Sequence[str], params: Mapping[str, list[str]], raw: bytes, grant: Grant
    ) -> Any:
        with self._lock:
            box = self._mailbox(groups[0], grant)
            draft_id = groups[1] if len(groups) > 1 else ""
            if kind == "getProfile":
                count = len(box.drafts) + len(box.sent)
                return {"emailAddress": box.address, "messagesTotal": count, "threadsTotal": count, "historyId": "4242"}
            if kind == "drafts.create":
                return self._store(box, _raw_of(strict_json(raw))).resource()
            if kind == "drafts.list":
                return self._list(box, params)
            draft = box.drafts.get(draft_id)
            if draft is None:
                raise ApiError(404, reason="notFound")
            if kind == "drafts.get":
                return draft.resource(fmt=params.get("format", ["full"])[0])
            if kind == "drafts.update":
                draft.raw = _raw_of(strict_json(raw))
                draft.message_id = secrets.token_hex(8)
                return draft.resource()
            del box.drafts[draft_id]
            return None

    def _mailbox(self, user_id: str, grant: Grant) -> Mailbox:
        if not set(grant.scope.split()) & _COMPOSE:
            raise ApiError(403, "Request had insufficient authentication scopes.", reason="insufficientPermissions")
        if user_id != "me" and user_id.casefold() != grant.subject.casefold():
            raise ApiError(403, f"Delegation denied for {grant.subject}", reason="forbidden")
        box = self.mailboxes.get(grant.subject.casefold())
        if box is None:
            if grant.subject in self.accounts:  # a service account's own token: no mailbox behind it
                raise ApiError(400, "Precondition check failed.", reason="failedPrecondition")
            raise ApiError(404, reason="notFound")
        return box

    def _store(self, box: Mailbox, raw: bytes) -> Draft:
        draft = Draft(f"r{secrets.randbits(63)}", secrets.token_hex(8), secrets.token_hex(8), raw)
        box.drafts[draft.id] = draft
        return draft

    def _list(self, box: Mailbox, params: Mapping[str, list[str]]) -> dict[str, Any]:
        wanted: list[str] = []
        for term in params.get("q", [""])[0].split():
            name, _, value = term.partition(":")
            if name != "rfc822msgid" or not value:
                raise ApiError(400, f"the fake searches drafts only by rfc822msgid:, not {term!r}")
            wanted.append(value.strip("<>"))
        size = int(params.get("maxResults", ["100"])[0])
        if not 1 <= size <= 500:
            raise ApiError(400, "Invalid maxResults", reason="invalidArgument")
        start = int(params.get("pageToken", ["0"])[0] or 0)
        found = [
            d for d in reversed(box.drafts.values()) if all(d.rfc822_id.strip("<>") == value for value in wanted)
        ]  # newest first, as Gmail lists them
        page = found[start : start + size]
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            answer["drafts"] = [draft.resource(fmt="list") for draft in page]
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return answer


def _raw_of(body: Any) -> bytes:
    message = body.get("message") if isinstance(body, dict) else None
    raw = message.get("raw") if isinstance(message, dict) else None
    if not isinstance(raw, str) or not raw:
        raise ApiError(400, "Invalid draft: a message with raw is required", reason="invalidArgument")
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", raw):
        raise ApiError(400, "Invalid value at 'draft.message.raw' (TYPE_BYTES), Base64 decoding failed")
    try:
        data = b64decode(raw.rstrip("="))
    except (ValueError, binascii.Error):
        raise ApiError(400, "Invalid value at 'draft.message.raw' (TYPE_BYTES), Base64 decoding failed") from None
    return _parsed(data)


def _parsed(data: bytes) -> bytes:
    """``data`` unchanged, once it parses as an RFC 822 message with headers and no defects."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    defects = [defect for part in message.walk() for defect in part.defects]
    if defects or not message.keys() or (b"\r\n\r\n" not in data and b"\n\n" not in data):
        raise ApiError(400, f"Invalid RFC 822 message: {defects or 'no header section'}", reason="invalidArgument")
    return data


def use_fake(fake: FakeGmail, monkeypatch: Any, home: Path) -> None:
    """A clean fake, the client pointed at it, retries fast, no stray credentials from this machine."""
    from sheetsync.drafts.gmail import ENDPOINT_ENV

    fake_google.use_fake(fake, monkeypatch, home, ENDPOINT_ENV)
