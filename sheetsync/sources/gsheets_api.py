"""The Sheets API client of the Google Sheets backend: endpoint, retries, and what Google's answers mean.

gspread supplies the HTTP client (URL building, JSON decoding).  We subclass
its ``HTTPClient`` for two reasons: gspread copies its URL constants at import
time, so patching ``gspread.urls`` can't move it to an emulator or proxy, and
gspread's ``BackOffHTTPClient`` retries forever.  Retries and timeouts follow
the rules shared with Gmail (:mod:`sheetsync.google.http`); this module words
their outcomes for a spreadsheet.  It never decides what to read or write
(:mod:`.gsheets` does), and imports gspread only inside a function.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import RemoteError
from ..google import http as google_http
from ..google.credentials import GoogleApi, Identity
from ..google.http import RetryPolicy

if TYPE_CHECKING:
    import requests
    from google.auth.credentials import Credentials
    from gspread.http_client import FileType, HTTPClient, ParamsType

SHEETS = GoogleApi(
    name="Google Sheets",
    scope="https://www.googleapis.com/auth/spreadsheets",
    docs="docs/google-sheets.md",
    user_login="`gcloud auth application-default login --scopes="
    "https://www.googleapis.com/auth/spreadsheets,https://www.googleapis.com/auth/cloud-platform`",
)
GOOGLE_ENDPOINT = "https://sheets.googleapis.com"
ENDPOINT_ENV = "SHEETSYNC_SHEETS_ENDPOINT"


def resolve_endpoint(endpoint: str | None) -> str:
    """The Sheets API base: the environment beats the config so one cron line can point elsewhere."""
    return google_http.resolve_endpoint(
        endpoint, env=ENDPOINT_ENV, default=GOOGLE_ENDPOINT, setting="[google] endpoint"
    )


class RetryRejected(Exception):
    """A write refused on a retry after an attempt whose outcome we never learnt.

    The earlier attempt may have been applied (then adding its new tabs again
    fails); the writer checks before reporting failure.
    """

    def __init__(self, error: RemoteError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class Remote:
    """Retry policy (google.http's, shared with Gmail) and error wording for one spreadsheet.

    Answers that waiting can't improve (400, 401, 403, 404) fail at once.
    """

    key: str
    endpoint: str
    identity: Identity
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def rebase(self, url: str) -> str:
        if url.startswith(GOOGLE_ENDPOINT):
            return self.endpoint + url[len(GOOGLE_ENDPOINT) :]
        return url

    def send(self, attempt_once: Callable[[float], requests.Response], *, writing: bool) -> requests.Response:
        try:
            answer = google_http.send(
                attempt_once,
                google_http.Budget(self.policy),
                service=SHEETS.name,
                endpoint=self.endpoint,
                token_uri=self._token_uri(),
            )
        except google_http.TokenRefused as refused:
            raise RemoteError(self._token_refused(refused.reason)) from None
        except google_http.GaveUp as gave_up:
            raise RemoteError(self._gave_up(gave_up, writing)) from None
        if answer.response.ok:
            return answer.response
        error = RemoteError(self._refused(answer.response, writing=writing))
        if answer.ambiguous and writing:
            raise RetryRejected(error)
        raise error

    # Messages: what happened, to which sheet, what to do.  Google's own error
    # text is quoted because it is specific; token and key material never reach
    # these strings (requests and google-auth exceptions carry neither).

    def _who(self) -> str:
        email_attr = self.identity.email or getattr(self.identity.credentials, "service_account_email", None)
        if isinstance(email_attr, str) and "@" in email_attr:
            return email_attr
        return f"the Google account of the {self.identity.origin}"

    def _token_uri(self) -> str:
        return self.identity.token_uri or "Google's token endpoint"

    def forbidden(self, detail: str) -> str:
        return (
            f"Google Sheets refused access to spreadsheet {self.key} ({detail}) — "
            f"share the sheet with {self._who()} as an editor (Share button in Google Sheets)"
        )

    def _refused(self, response: requests.Response, *, writing: bool) -> str:
        status = response.status_code
        detail = google_http.describe(response)
        body = google_http.error_body(response)
        if status == 403:
            text = json.dumps(body)
            if "SERVICE_DISABLED" in text or "has not been used in project" in text:
                return (
                    f"the Google Sheets API is not enabled for the credentials' Cloud project ({detail}) — "
                    "enable it under APIs & Services → Library → Google Sheets API, then run again"
                )
            return self.forbidden(detail)
        if status == 404:
            return (
                f"spreadsheet {self.key} was not found ({detail}) — the spreadsheet key is wrong or the "
                "sheet was deleted; copy the key from the sheet's address (…/spreadsheets/d/KEY/edit)"
            )
        if status == 401:
            return (
                f"Google rejected the credentials from the {self.identity.origin} ({detail}) — "
                "check the key is still active, or create a new one"
            )
        action = "writing to" if writing else "reading"
        tail = "; nothing was written" if writing else ""
        return f"Google Sheets refused {action} spreadsheet {self.key} ({detail}){tail}"

    def _token_refused(self, reason: str) -> str:
        return (
            f"the token endpoint {self._token_uri()} refused the {self.identity.origin} "
            f"({reason}) — the key may have been deleted or disabled; "
            "create a new JSON key for the service account and pass it with --credentials"
        )

    def _gave_up(self, gave_up: google_http.GaveUp, writing: bool) -> str:
        problem, spent = gave_up.problem, gave_up.spent()
        safe = " No tab was half-written: each write-back is one all-or-nothing request." if writing else ""
        if gave_up.quota:
            return (
                f"Google Sheets quota exhausted for spreadsheet {self.key} ({problem}) {spent} — "
                "Google allows 60 reads and 60 writes per minute per user; wait a minute and run again, "
                f"and check what else uses these credentials.{safe}"
            )
        if gave_up.status is not None:
            return f"Google Sheets kept failing for spreadsheet {self.key} ({problem}) {spent} — try again later.{safe}"
        return (
            f"{problem} {spent} — check the network connection and proxy settings "
            f"({ENDPOINT_ENV} or [google] endpoint changes the address).{safe}"
        )


@functools.cache
def _client_class() -> Callable[[requests.Session, Credentials, Remote], HTTPClient]:
    """gspread's client, rebased on the configured endpoint and retried by our policy."""
    from gspread.http_client import HTTPClient

    class SheetsyncHTTPClient(HTTPClient):
        def __init__(self, session: requests.Session, credentials: Credentials, remote: Remote) -> None:
            super().__init__(credentials, session=session)
            self.auth = credentials
            self.remote = remote

        def request(
            self,
            method: str,
            endpoint: str,
            params: ParamsType | None = None,
            data: bytes | None = None,
            json: Mapping[str, Any] | None = None,
            files: FileType = None,
            headers: MutableMapping[str, str] | None = None,
        ) -> requests.Response:
            url = self.remote.rebase(endpoint)

            def attempt(timeout: float) -> requests.Response:
                return self.session.request(
                    method=method,
                    url=url,
                    params=params,
                    data=data,
                    json=json,
                    files=files,
                    headers=headers,
                    timeout=timeout,
                )

            return self.remote.send(attempt, writing=method.lower() != "get")

    return SheetsyncHTTPClient


def connect(identity: Identity, remote: Remote) -> HTTPClient:
    session = google_http.authorized_session(identity.credentials)
    return _client_class()(session, identity.credentials, remote)
