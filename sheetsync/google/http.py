"""The retry policy of reference 7.3 for every Google API we call, and the facts its messages need.

429, 5xx, connection errors and timeouts are retried with exponential
backoff and jitter, honouring ``Retry-After`` only when the answer has one
(real 429s from Sheets and Gmail don't: the body names the quota metric), at
most ``MAX_TRIES`` tries within ``RETRY_DEADLINE`` seconds, each request
bounded by ``REQUEST_TIMEOUT``.  Other answers can't improve by waiting and
are handed back to the caller, which knows what they mean for its API.

Wording is the backends' business: this module raises :class:`TokenRefused`,
:class:`GaveUp` and :class:`Ambiguous` carrying facts, never a user message,
and never anything that holds a token, a key or a request body (requests and
google-auth exceptions carry neither, and only their short reasons are kept).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    import requests
    from google.auth.credentials import Credentials
    from google.auth.transport.requests import AuthorizedSession

log = logging.getLogger(__name__)

#: Per-request timeout in seconds; tests make it small to exercise timeouts quickly.
TIMEOUT_ENV = "SHEETSYNC_HTTP_TIMEOUT"
#: First backoff delay in seconds (doubled each try); tests make it small.
RETRY_BASE_ENV = "SHEETSYNC_RETRY_BASE"

MAX_TRIES = 5
RETRY_DEADLINE = 120.0
REQUEST_TIMEOUT = 30.0
RETRY_BASE = 1.0


def env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"{name}={raw!r} is not a positive number of seconds")
    return value


def resolve_endpoint(configured: str | None, *, env: str, default: str, setting: str) -> str:
    """An API root: the environment beats the config so one cron line can point elsewhere."""
    from_env = os.environ.get(env, "").strip()
    chosen, origin = (from_env, env) if from_env else (configured or default, setting)
    if not re.match(r"^https?://[^/\s]+", chosen):
        raise UsageError(f"{origin} {chosen!r} is not an http(s) address — e.g. {default}")
    return chosen.rstrip("/")


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = MAX_TRIES
    deadline: float = RETRY_DEADLINE
    timeout: float = REQUEST_TIMEOUT
    base: float = RETRY_BASE

    @classmethod
    def from_env(cls, *, tries: int = MAX_TRIES, deadline: float = RETRY_DEADLINE) -> RetryPolicy:
        return cls(tries, deadline, env_seconds(TIMEOUT_ENV, REQUEST_TIMEOUT), env_seconds(RETRY_BASE_ENV, RETRY_BASE))


@dataclass
class Budget:
    """The tries and the clock of one operation, which may take several requests.

    A Gmail create whose answer was lost is followed by a search and maybe a
    second create: all of them share one budget, so the whole operation stays
    within the policy's tries and deadline.
    """

    policy: RetryPolicy
    started: float = field(default_factory=time.monotonic)
    tries: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class Answer:
    """A response that is final: a success, or a refusal waiting can't change."""

    response: requests.Response
    #: An earlier try may have been applied by the server although we never saw its answer.
    ambiguous: bool


class TokenRefused(Exception):
    """The token endpoint refused for good; ``reason`` is its error code and description."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GaveUp(Exception):
    """Retries are spent: ``problem`` is the last failure, ``status`` its HTTP status if it had one."""

    def __init__(self, problem: str, status: int | None, quota: bool, tries: int, elapsed: float, ambiguous: bool):
        super().__init__(problem)
        self.problem, self.status, self.quota = problem, status, quota
        self.tries, self.elapsed, self.ambiguous = tries, elapsed, ambiguous

    def spent(self) -> str:
        return f"after {self.tries} {'try' if self.tries == 1 else 'tries'} in {self.elapsed:.0f} s"


class Ambiguous(Exception):
    """A try may have been applied though its answer was lost (only when the caller asks to stop there)."""


def is_429(response: requests.Response) -> bool:
    return response.status_code == 429


def send(
    attempt_once: Callable[[float], requests.Response],
    budget: Budget,
    *,
    service: str,
    endpoint: str,
    token_uri: str,
    quota: Callable[[requests.Response], bool] = is_429,
    stop_when_ambiguous: bool = False,
) -> Answer:
    """Call ``attempt_once(timeout)`` until it gives a final answer or the budget is spent.

    ``quota`` says which answers mean "quota exhausted" (retried, backing off
    steeply); 5xx answers are retried too, everything else is final.  With
    ``stop_when_ambiguous`` a try that may have been applied raises
    :class:`Ambiguous` (after the backoff) instead of being repeated, so a
    non-idempotent caller can check before trying again.
    """
    import requests
    from google.auth.exceptions import RefreshError, TransportError

    policy = budget.policy
    ambiguous = False
    problem = ""
    last_status: int | None = None
    hit_quota = False
    while budget.tries < policy.tries:
        remaining = policy.deadline - budget.elapsed()
        if remaining <= 0:
            break
        budget.tries += 1
        retry_after: float | None = None
        hit_quota = lost = False
        try:
            response = attempt_once(min(policy.timeout, remaining))
        except RefreshError as exc:
            if not getattr(exc, "retryable", False):
                raise TokenRefused(refresh_reason(exc)) from None
            problem, last_status = f"the token endpoint failed ({refresh_reason(exc)})", None
        except TransportError as exc:
            problem, last_status = f"can't reach the token endpoint {token_uri} ({reason(exc)})", None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            lost = True
            problem, last_status = f"can't reach {service} at {endpoint} ({reason(exc)})", None
        else:
            hit_quota = quota(response)
            if response.ok or not (hit_quota or response.status_code >= 500):
                return Answer(response, ambiguous)
            lost = response.status_code >= 500
            problem, last_status = describe(response), response.status_code
            retry_after = parse_retry_after(response)
        ambiguous = ambiguous or lost
        if budget.tries >= policy.tries:
            break
        # Quotas refill per minute, so a quota answer backs off four times as
        # steeply (about 4, 8, 16, 32 s): together still inside the deadline.
        steepness = 4 if hit_quota else 1
        delay = policy.base * steepness * 2 ** (budget.tries - 1)
        delay = random.uniform(delay / 2, delay)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if budget.elapsed() + delay >= policy.deadline:
            break
        log.info("%s: %s; retrying in %.1f s (try %d of %d)", service, problem, delay, budget.tries + 1, policy.tries)
        time.sleep(delay)
        if lost and stop_when_ambiguous:
            raise Ambiguous(problem)
    raise GaveUp(problem, last_status, hit_quota, budget.tries, budget.elapsed(), ambiguous)


def authorized_session(credentials: Credentials) -> AuthorizedSession:
    """A requests session that adds the bearer token, fetching it on first use."""
    import requests
    from google.auth.transport.requests import AuthorizedSession, Request

    from .. import __version__

    # A plain session for the token endpoint: google-auth's default one retries
    # on its own, which would multiply our bounded tries.
    session = AuthorizedSession(credentials, auth_request=Request(requests.Session()))  # type: ignore[no-untyped-call]
    session.headers["User-Agent"] = f"sheetsync/{__version__}"
    return session


# --- facts for messages --------------------------------------------------------


def error_body(response: requests.Response) -> dict[str, Any]:
    """Google's ``{"error": {...}}`` object, or ``{}`` when the answer has none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_reasons(response: requests.Response) -> set[str]:
    """The ``reason`` of each entry in Google's ``errors`` list (``rateLimitExceeded``, ``notFound``)."""
    errors = error_body(response).get("errors")
    if not isinstance(errors, list):
        return set()
    return {str(entry.get("reason")) for entry in errors if isinstance(entry, dict) and entry.get("reason")}


def describe(response: requests.Response) -> str:
    """``429 RESOURCE_EXHAUSTED: <Google's message>``, from Google's error body or the status line."""
    error = error_body(response)
    status = error.get("status") or response.reason or ""
    message = error.get("message") or response.text[:200].strip()
    return f"{response.status_code} {status}: {message}".strip().rstrip(":")


def parse_retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def reason(exc: BaseException) -> str:
    """A short cause ("Connection refused", "timed out") instead of urllib3's nested repr."""
    import requests

    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, requests.Timeout | TimeoutError):
            return "no answer in time"
        match = _ERRNO.search(str(seen))
        if match:
            return match.group(1).strip()
        if isinstance(seen, ConnectionResetError):  # http.client's RemoteDisconnected says no errno
            return "the connection closed without an answer"
        inner = next((arg for arg in seen.args if isinstance(arg, BaseException)), None)
        seen = seen.__cause__ or seen.__context__ or inner
    return type(exc).__name__


def refresh_reason(exc: Exception) -> str:
    """google-auth's ``"invalid_grant: Invalid JWT Signature."`` — the server's error code, nothing more."""
    first = exc.args[0] if exc.args else ""
    text = first if isinstance(first, str) else type(exc).__name__
    return text[:200]
