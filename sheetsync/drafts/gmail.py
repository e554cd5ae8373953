"""Gmail drafts: put each rendered draft into its sender's Gmail Drafts, once (reference 8.3).

Two ways in.  A service account with domain-wide delegation acts for each
sender's mailbox in turn (its key asks for a token per mailbox, ``sub`` = the
address); an authorized-user token (a person's own login) reaches exactly one
mailbox, which must be the sender's.  Either way the only scope asked for is
``gmail.compose``.

Idempotent by construction: a draft we made is addressed by the id the
caller recorded (``drafts.update``), and a draft the user has since sent or
deleted answers 404, which is reported as ``gone`` (the caller makes it
again only on a later as-of, whose Message-IDs are new).  A create whose
answer may have been lost (timeout, dropped connection, 5xx) is followed by
a search for our own Message-ID before any second create, so a retry can't
make a duplicate.

This module never sends mail, never reads a message, never deletes or
changes a draft other than by an id we were given or our own Message-ID, and
never puts a token, a key or a line of a message into an error or a log
line.  google-auth is imported inside functions.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import logging
import threading
import urllib.parse
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import RemoteError
from ..google import http as google_http
from ..google.credentials import GoogleApi, Identity, load_identity
from ..google.http import Budget, RetryPolicy

if TYPE_CHECKING:
    import requests
    from google.auth.transport.requests import AuthorizedSession

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/gmail.compose"
GMAIL = GoogleApi(
    name="Gmail",
    scope=SCOPE,
    docs="docs/gmail.md",
    user_login="`gcloud auth application-default login --client-id-file=CLIENT_SECRET.json "
    f"--scopes={SCOPE},https://www.googleapis.com/auth/cloud-platform` (see docs/gmail.md)",
)
GOOGLE_ENDPOINT = "https://gmail.googleapis.com"
ENDPOINT_ENV = "SHEETSYNC_GMAIL_ENDPOINT"

#: Quota units per call (developers.google.com/gmail/api/reference/quota); a mailbox may spend 15,000 a minute.
QUOTA_UNITS = {
    "drafts.create": 10,
    "drafts.update": 15,
    "drafts.get": 5,
    "drafts.list": 5,
    "drafts.delete": 10,
    "getProfile": 1,
}
#: Gmail refuses some bursts with 403 and one of these reasons instead of 429: waiting helps.
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_DELEGATION = "Google Admin console → Security → Access and data control → API controls → Domain-wide delegation"


class MailboxError(RemoteError):
    """This mailbox can't be used (delegation, not a Workspace mailbox, another person's); others may still work."""

    def __init__(self, mailbox: str, message: str) -> None:
        super().__init__(message)
        self.mailbox = mailbox


@dataclass(frozen=True)
class PutResult:
    """``created``/``updated``: the draft is in the mailbox as ``draft_id``; ``gone``: the user sent or deleted it."""

    outcome: Literal["created", "updated", "gone"]
    draft_id: str


@dataclass
class Usage:
    """Gmail API requests sent, every try counted, by method; and the quota units they cost."""

    requests: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, method: str) -> None:
        with self._lock:  # one thread per mailbox may be sending (drafts/gmail_batch.py)
            self.requests[method] += 1

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def units(self) -> int:
        return sum(QUOTA_UNITS[method] * count for method, count in self.requests.items())


def resolve_endpoint(endpoint: str | None) -> str:
    return google_http.resolve_endpoint(
        endpoint, env=ENDPOINT_ENV, default=GOOGLE_ENDPOINT, setting="the configured Gmail endpoint"
    )


def open_gmail(credentials: Path | None, endpoint: str | None) -> Gmail:
    """A Gmail client for the credentials resolved as for Sheets (reference 7.3); no request is sent yet."""
    return Gmail(load_identity(credentials, GMAIL), resolve_endpoint(endpoint), RetryPolicy.from_env())


class Gmail:
    """Drafts in one mailbox per sender; use as a context manager, or call :meth:`close`.

    With delegated credentials each mailbox has its own session, so one thread
    per mailbox may call it at once (never two for one mailbox); with an
    authorized user, one caller at a time.
    """

    def __init__(self, identity: Identity, endpoint: str, policy: RetryPolicy) -> None:
        self.identity = identity
        self.endpoint = endpoint
        self.policy = policy
        #: True for a service account: it acts for any mailbox its delegation covers.
        self.delegated = callable(getattr(identity.credentials, "with_subject", None))
        self.usage = Usage()
        self._sessions: dict[str, AuthorizedSession] = {}
        self._refused: dict[str, MailboxError] = {}
        self._own_mailbox: str | None = None

    def __enter__(self) -> Gmail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()  # type: ignore[no-untyped-call]
        self._sessions.clear()

    # --- the public calls --------------------------------------------------------

    def put(
        self, mailbox: str, raw: bytes, message_id: str, existing_id: str | None = None, *, look_first: bool = True
    ) -> PutResult:
        """Put the RFC 822 bytes ``raw`` into ``mailbox``'s Drafts.

        With ``existing_id`` (recorded by an earlier run with the same as-of)
        that draft is updated, or reported ``gone`` if the user sent or
        deleted it.  Without, a draft carrying ``message_id`` is looked for
        first (``look_first``: an earlier run may have created it and died
        before recording the id), then created.  Raises :class:`MailboxError`
        when only this mailbox is the problem, :class:`RemoteError` otherwise.
        """
        _check_message_id(raw, message_id)
        body = {"message": {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}}
        with self._failures(mailbox):
            user = self._user_id(mailbox)
            budget = Budget(self.policy)
            if existing_id is None and look_first:
                existing_id = self._find(mailbox, user, message_id, budget)
                if existing_id is not None:
                    log.info("Gmail: %s already holds draft %s from an earlier run; updating it", mailbox, existing_id)
            if existing_id is None:
                return PutResult("created", self._create(mailbox, user, body, message_id, budget))
            response = self._send(
                "drafts.update",
                "PUT",
                f"{user}/drafts/{_quote(existing_id)}",
                mailbox,
                budget,
                json={"id": existing_id, **body},
                expect=(404,),
            )
            if response.status_code == 404:
                return PutResult("gone", existing_id)
            return PutResult("updated", self._draft_id(response))

    def find(self, mailbox: str, message_id: str) -> str | None:
        """The id of the draft in ``mailbox`` whose Message-ID is ``message_id``, if there is one."""
        with self._failures(mailbox):
            return self._find(mailbox, self._user_id(mailbox), message_id, Budget(self.policy))

    def delete(self, mailbox: str, draft_id: str) -> bool:
        """Delete a draft we made (undo); False when it was already sent or deleted."""
        with self._failures(mailbox):
            user = self._user_id(mailbox)
            path = f"{user}/drafts/{_quote(draft_id)}"
            response = self._send("drafts.delete", "DELETE", path, mailbox, Budget(self.policy), expect=(404,))
            return response.status_code != 404

    # --- the steps ----------------------------------------------------------------

    def _create(self, mailbox: str, user: str, body: dict[str, Any], message_id: str, budget: Budget) -> str:
        maybe_stored = False
        try:
            while True:
                try:
                    response = self._send(
                        "drafts.create", "POST", f"{user}/drafts", mailbox, budget, json=body, stop_when_ambiguous=True
                    )
                except google_http.Ambiguous:
                    maybe_stored = True
                    found = self._find(mailbox, user, message_id, budget)
                    if found is None:
                        continue
                    log.info("Gmail: a create for %s was stored though its answer was lost; not repeating it", mailbox)
                    return found
                return self._draft_id(response)
        except google_http.GaveUp as gave_up:
            tail = ""
            if maybe_stored or gave_up.ambiguous:
                tail = (
                    " Gmail may have stored the draft without answering: the next run finds it by its "
                    "Message-ID instead of making a second one."
                )
            raise RemoteError(self._gave_up(gave_up, mailbox) + tail) from None

    def _find(self, mailbox: str, user: str, message_id: str, budget: Budget) -> str | None:
        params = {"q": f"rfc822msgid:{message_id}", "maxResults": "10"}
        response = self._send("drafts.list", "GET", f"{user}/drafts", mailbox, budget, params=params)
        drafts = _json(response, self.endpoint).get("drafts") or []
        ids = [str(d["id"]) for d in drafts if isinstance(d, dict) and d.get("id")]
        if len(ids) > 1:
            log.warning("Gmail: %s holds %d drafts with Message-ID %s; using %s", mailbox, len(ids), message_id, ids[0])
        return ids[0] if ids else None

    def _user_id(self, mailbox: str) -> str:
        """The ``users/{userId}`` part for ``mailbox``, checking once that these credentials can reach it."""
        refused = self._refused.get(mailbox.casefold())
        if refused is not None:
            raise refused
        if self.delegated:
            return _quote(mailbox)
        if self._own_mailbox is None:
            response = self._send("getProfile", "GET", "me/profile", mailbox, Budget(self.policy))
            self._own_mailbox = str(_json(response, self.endpoint).get("emailAddress") or "")
        if self._own_mailbox.casefold() != mailbox.casefold():
            raise MailboxError(
                mailbox,
                f"the {self.identity.origin} reaches only the mailbox {self._own_mailbox or '(unknown)'}, but this "
                f"draft's sender is {mailbox}, another mailbox — authorized-user credentials put drafts only into "
                "their own mailbox; for several senders use a service account with domain-wide delegation "
                f"(see {GMAIL.docs}), or set [drafts] from to {self._own_mailbox or 'that address'}",
            )
        return "me"

    def _session(self, mailbox: str) -> AuthorizedSession:
        key = mailbox.casefold() if self.delegated else ""
        session = self._sessions.get(key)
        if session is None:
            credentials = self.identity.credentials
            if self.delegated:
                credentials = credentials.with_subject(mailbox)  # type: ignore[attr-defined]
            session = self._sessions[key] = google_http.authorized_session(credentials)
        return session

    def _send(
        self,
        method: str,
        verb: str,
        path: str,
        mailbox: str,
        budget: Budget,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        expect: Container[int] = (),
        stop_when_ambiguous: bool = False,
    ) -> requests.Response:
        """One call, retried per the policy; a refusal becomes MailboxError or RemoteError unless ``expect``-ed."""
        from google.auth.exceptions import GoogleAuthError

        session = self._session(mailbox)
        url = f"{self.endpoint}/gmail/v1/users/{path}"

        def attempt(timeout: float) -> requests.Response:
            try:
                response: requests.Response = session.request(  # type: ignore[no-untyped-call]
                    verb, url, params=params, json=json, timeout=timeout
                )
            except GoogleAuthError:
                raise  # failed at the token endpoint: nothing reached Gmail
            except Exception:
                self.usage.count(method)
                raise
            self.usage.count(method)
            return response

        try:
            answer = google_http.send(
                attempt,
                budget,
                service="Gmail",
                endpoint=self.endpoint,
                token_uri=self.identity.token_uri or "Google's token endpoint",
                quota=_is_quota,
                stop_when_ambiguous=stop_when_ambiguous,
            )
        except google_http.TokenRefused as refused:
            raise self._token_refused(mailbox, refused.reason) from None
        if answer.response.ok or answer.response.status_code in expect:
            return answer.response
        raise self._refusal(mailbox, answer.response)

    def _draft_id(self, response: requests.Response) -> str:
        draft_id = _json(response, self.endpoint).get("id")
        if not isinstance(draft_id, str) or not draft_id:
            raise RemoteError(_not_gmail(self.endpoint))
        return draft_id

    @contextlib.contextmanager
    def _failures(self, mailbox: str) -> Iterator[None]:
        """Spent retries become RemoteError; a mailbox refused once is refused again without asking Google."""
        try:
            yield
        except google_http.GaveUp as gave_up:
            raise RemoteError(self._gave_up(gave_up, mailbox)) from None
        except MailboxError as error:
            self._refused[mailbox.casefold()] = error
            raise

    # --- messages: what happened, to which mailbox, what to do ----------------------

    def _delegation(self) -> str:
        client_id = self.identity.client_id
        client = f"client ID {client_id}" if client_id else "the service account's client ID"
        return (
            f"grant domain-wide delegation: {_DELEGATION} → Add new, {client}, "
            f"scope {SCOPE} (that one scope only); a new grant can take some minutes to apply"
        )

    def _who(self) -> str:
        return self.identity.email or f"the account of the {self.identity.origin}"

    def _not_workspace(self, mailbox: str, detail: str) -> MailboxError:
        return MailboxError(
            mailbox,
            f"{mailbox} is not a Google Workspace mailbox that {self._who()} can act for ({detail}) — check the "
            f"owner's email address in the sheet; a personal Gmail address needs authorized-user credentials "
            f"(see {GMAIL.docs})",
        )

    def _token_refused(self, mailbox: str, reason: str) -> RemoteError:
        token_uri = self.identity.token_uri or "Google's token endpoint"
        if self.delegated and reason.startswith("unauthorized_client"):
            return MailboxError(
                mailbox,
                f"Google refused to let {self._who()} act for mailbox {mailbox} ({reason}) — {self._delegation()}",
            )
        if self.delegated and reason.startswith("invalid_grant") and ("email" in reason or "User ID" in reason):
            return self._not_workspace(mailbox, reason)
        if not self.delegated and reason.startswith(("invalid_scope", "invalid_grant")):
            return RemoteError(
                f"the token endpoint {token_uri} refused the {self.identity.origin} ({reason}) — the login has "
                f"expired, been revoked or lacks the scope {SCOPE}; create it again with {GMAIL.user_login}"
            )
        return RemoteError(
            f"the token endpoint {token_uri} refused the {self.identity.origin} ({reason}) — the key may have "
            "been deleted or disabled; create a new JSON key for the service account and pass it with --credentials"
        )

    def _refusal(self, mailbox: str, response: requests.Response) -> RemoteError:
        status = response.status_code
        detail = google_http.describe(response)
        error = google_http.error_body(response)
        reasons = google_http.error_reasons(response)
        if status == 403 and (
            "accessNotConfigured" in reasons or "SERVICE_DISABLED" in str(error) or "has not been used" in str(error)
        ):
            return RemoteError(
                f"the Gmail API is not enabled for the credentials' Cloud project ({detail}) — enable it under "
                "APIs & Services → Library → Gmail API, then run again"
            )
        if status == 403 and self.delegated:
            return MailboxError(
                mailbox, f"Gmail refused {self._who()} access to mailbox {mailbox} ({detail}) — {self._delegation()}"
            )
        if status == 403:
            return MailboxError(
                mailbox,
                f"Gmail refused the {self.identity.origin} access to mailbox {mailbox} ({detail}) — the login must "
                f"grant {SCOPE}; create it again with {GMAIL.user_login}",
            )
        if status == 404:
            return self._not_workspace(mailbox, detail)
        if status == 400 and ("failedPrecondition" in reasons or error.get("status") == "FAILED_PRECONDITION"):
            return MailboxError(
                mailbox,
                f"Gmail can't keep drafts for {mailbox} ({detail}) — Gmail may be off for this user "
                "(Admin console → Apps → Google Workspace → Gmail → Service status), or the address is not a mailbox",
            )
        if status == 401:
            return RemoteError(
                f"Gmail rejected the credentials from the {self.identity.origin} ({detail}) — check the key or "
                "login is still active, or create a new one"
            )
        return RemoteError(f"Gmail refused a request for mailbox {mailbox} ({detail})")

    def _gave_up(self, gave_up: google_http.GaveUp, mailbox: str) -> str:
        problem, spent = gave_up.problem, gave_up.spent()
        if gave_up.quota:
            return (
                f"Gmail quota exhausted for mailbox {mailbox} ({problem}) {spent} — Gmail allows 15,000 quota "
                "units per minute per mailbox (a draft costs 10 to create, 15 to update); wait a minute and run "
                "again, and check what else uses these credentials."
            )
        if gave_up.status is not None:
            return f"Gmail kept failing for mailbox {mailbox} ({problem}) {spent} — try again later."
        return (
            f"{problem} {spent} — check the network connection and proxy settings ({ENDPOINT_ENV} changes the address)."
        )


def _is_quota(response: requests.Response) -> bool:
    return response.status_code == 429 or (
        response.status_code == 403 and bool(google_http.error_reasons(response) & _RATE_REASONS)
    )


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="@+")


def _not_gmail(endpoint: str) -> str:
    return (
        f"{endpoint} answered with something other than the Gmail API — check {ENDPOINT_ENV} and any proxy in between"
    )


def _json(response: requests.Response, endpoint: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RemoteError(_not_gmail(endpoint))
    return body


def _check_message_id(raw: bytes, message_id: str) -> None:
    """The search for a lost create relies on the header: a caller passing another id is a bug."""
    header = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw).get("Message-ID")
    if header is None or str(header).strip() != message_id.strip():
        raise ValueError(f"message_id {message_id!r} is not the Message-ID of the message ({header!r})")
