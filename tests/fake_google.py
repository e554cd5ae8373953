"""What every fake Google API in the tests shares: a real HTTP server, an OAuth2 token endpoint, faults.

The token endpoint is Google's where it bites: a service account's JWT
assertion must be signed with a key the fake was given (RS256), name
Google's token endpoint as its audience, be short-lived and carry a scope;
a refresh token must come with its client id and secret.  Each access token
it issues is bound to a :class:`Grant` (who, which scope), and every API call
must present one.  Subclasses decide what a grant may be (FakeSheets takes
any scope; FakeGmail only ``gmail.compose`` and only for delegated mailboxes)
and serve their API through :meth:`FakeGoogle.handle`.

Every request is logged by kind on arrival (so a request still hanging is
already counted), and faults can be queued per kind: an error status (with
``Retry-After``), a hang before answering, a stall after applying (the
response comes too late), or a dropped connection before or after applying
(the response is lost).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"

_STATUS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: (
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' "
        "of service 'sheets.googleapis.com' for consumer 'project_number:1234567890'.",
    ),
    500: ("INTERNAL", "Internal error encountered."),
    502: ("UNAVAILABLE", "Bad gateway."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
}


class ApiError(Exception):
    """An API error answer; ``reason`` adds the ``errors`` list older Google APIs (Gmail) still send."""

    def __init__(self, code: int, message: str | None = None, *, reason: str | None = None, domain: str = "global"):
        status, default = _STATUS.get(code, ("UNKNOWN", "Unknown error."))
        super().__init__(message or default)
        self.code, self.status, self.message = code, status, message or default
        self.reason, self.domain = reason, domain

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.reason:
            error["errors"] = [{"message": self.message, "domain": self.domain, "reason": self.reason}]
        error["status"] = self.status
        return {"error": error}


class TokenError(Exception):
    """An OAuth2 error answer of the token endpoint (400 unless said otherwise)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status
        self.payload = {"error": error, "error_description": description}


@dataclass(frozen=True)
class Grant:
    """What an access token was issued for."""

    subject: str
    scope: str


@dataclass
class Fault:
    kind: str  # a request kind of the fake, "token", or "api" (any API call)
    status: int | None = None
    times: int = 1
    retry_after: str | None = None
    hang: float = 0.0
    #: Apply the request first; then stall ``hang`` seconds, or drop the connection (the response is lost).
    apply_first: bool = False
    #: Close the connection without any answer.
    drop: bool = False
    body: Any = None
    #: Answer with this text/html instead of JSON (a proxy's or captive portal's page).
    text: str | None = None


@dataclass
class Logged:
    """One request, logged on arrival (so a request still hanging is already counted)."""

    kind: str
    method: str
    path: str
    params: dict[str, list[str]]
    body: bytes = b""
    status: int = 0
    #: Whose token the request carried.
    email: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ServiceAccount:
    path: Path
    email: str
    info: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.info["client_id"])

    @property
    def key_lines(self) -> list[str]:
        """The private key's base64 lines: none of them may ever show up in output."""
        return [line for line in self.info["private_key"].splitlines() if line and not line.startswith("-----")]


@dataclass(frozen=True)
class _User:
    client_id: str
    client_secret: str
    email: str
    #: Scopes the refresh token was granted; ``None`` grants whatever is asked.
    scopes: frozenset[str] | None


#: (method, path pattern, kind); the pattern's groups are handed to :meth:`FakeGoogle.handle`.
Route = tuple[str, "re.Pattern[str]", str]


class FakeGoogle:
    """Start with ``with Fake() as fake:``; subclasses give ``routes`` and :meth:`handle`."""

    routes: Sequence[Route] = ()

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.accounts: dict[str, rsa.RSAPublicKey] = {}
        self.client_ids: dict[str, str] = {}  # service account email → OAuth client id
        self.users: dict[str, _User] = {}  # refresh token → user
        self.reset()

    # lifecycle

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    def reset(self) -> None:
        """Forget the API's data, faults, the request log and issued tokens (accounts stay)."""
        with self._lock:
            self.faults: list[Fault] = []
            self.log: list[Logged] = []
            self.tokens: dict[str, Grant] = {}
            self.scopes: list[str] = []
            self.generation = getattr(self, "generation", 0) + 1
            self.reset_data()

    def reset_data(self) -> None:
        """Subclasses forget their API's data here."""

    # seeding

    def register_service_account(self, email: str, public_key: rsa.RSAPublicKey, client_id: str | None = None) -> None:
        self.accounts[email] = public_key
        if client_id is not None:
            self.client_ids[email] = client_id

    def register_user(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        email: str,
        scopes: Sequence[str] | None = None,
    ) -> None:
        granted = frozenset(scopes) if scopes is not None else None
        self.users[refresh_token] = _User(client_id, client_secret, email, granted)

    def fail(self, kind: str, status: int | None = None, **options: Any) -> Fault:
        """Queue a fault for the next ``times`` requests of ``kind``."""
        fault = Fault(kind, status, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    # inspection

    def count(self, *kinds: str) -> int:
        with self._lock:
            return sum(1 for entry in self.log if entry.kind in kinds)

    @property
    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(entry.kind for entry in self.log)

    def requests(self, kind: str) -> list[Logged]:
        with self._lock:
            return [entry for entry in self.log if entry.kind == kind]

    # the API's part (subclasses)

    def handle(
        self, kind: str, groups: Sequence[str], method: str, params: Mapping[str, list[str]], raw: bytes, grant: Grant
    ) -> Any:
        """Serve one authenticated API call; the JSON answer, or ``None`` for 204 No Content."""
        raise ApiError(404, f"The fake has no {method} for {kind}")

    def fault_error(self, status: int) -> ApiError:
        """The error a queued fault with this status answers with."""
        return ApiError(status)

    def grant_assertion(self, claims: Mapping[str, Any]) -> Grant:
        """Who a verified service-account assertion gets a token for: by default itself, any scope."""
        scope = str(claims.get("scope", ""))
        if not scope:
            raise TokenError("invalid_scope", "Empty or missing scope not allowed.")
        return Grant(str(claims["iss"]), scope)

    def grant_refresh(self, user: _User, scope: str) -> Grant:
        """An authorized user's token: only for scopes the refresh token was granted."""
        if user.scopes is not None and not set(scope.split()) <= user.scopes:
            raise TokenError("invalid_scope", "Bad Request")
        return Grant(user.email, scope)

    # request handling (called from handler threads)

    def _route(self, method: str, path: str) -> tuple[str, tuple[str, ...]]:
        if method == "POST" and path == "/token":
            return "token", ()
        for verb, pattern, kind in self.routes:
            match = pattern.match(urllib.parse.unquote(path))
            if verb == method and match:
                return kind, match.groups()
        return "other", ()

    def _take_fault(self, kind: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.kind == kind or (fault.kind == "api" and kind != "token")):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type == JWT_GRANT:
            grant = self.grant_assertion(self._check_assertion(form.get("assertion", "")))
        elif grant_type == "refresh_token":
            user = self.users.get(form.get("refresh_token", ""))
            if user is None or (form.get("client_id"), form.get("client_secret")) != (
                user.client_id,
                user.client_secret,
            ):
                raise TokenError("invalid_grant", "Bad Request")
            grant = self.grant_refresh(user, form.get("scope", ""))
        else:
            raise TokenError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[token] = grant
            self.scopes.append(grant.scope)
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _check_assertion(self, assertion: str) -> dict[str, Any]:
        """The claims of a service account's JWT, once its signature, audience and lifetime check out."""
        try:
            head, payload, signature = assertion.split(".")
            header = json.loads(b64decode(head))
            claims = json.loads(b64decode(payload))
        except ValueError:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token") from None
        public_key = self.accounts.get(claims.get("iss", ""))
        if header.get("alg") != "RS256" or public_key is None:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        try:
            public_key.verify(b64decode(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
        now = time.time()
        # google-auth always names Google's endpoint as the audience, wherever token_uri points.
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_AUDIENCE):
            raise TokenError("invalid_grant", "Invalid JWT: Failed audience check.")
        if not claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token")
        return dict(claims)

    def caller(self, authorization: str | None) -> Grant:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            grant = self.tokens.get(token)
        if grant is None:
            raise ApiError(401)
        return grant


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: don't wait 40 ms between

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the request log on failure anyway."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.fake
        kind, groups = fake._route(method, parts.path)
        generation = fake.generation
        entry = Logged(kind, method, parts.path, params, raw)
        fake._record(entry)
        fault = fake._take_fault(kind)
        grant: Grant | None = None
        status, payload, headers = 200, {}, {}
        if fault is not None and not fault.apply_first:
            if fault.hang:
                fake._sleep(fault.hang)
            if fault.drop or fake.generation != generation:  # dropped, or the test that queued the hang is over
                self.close_connection = True
                return
        try:
            if fault is not None and fault.status is not None:
                if kind == "token":
                    status, payload = (
                        fault.status,
                        fault.body or {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                    )
                else:
                    status, payload = fault.status, fault.body or fake.fault_error(fault.status).body()
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
            elif kind == "token":
                payload = fake.token(dict(urllib.parse.parse_qsl(raw.decode())))
            elif kind == "other":
                raise ApiError(404, f"The fake has no {method} {parts.path}")
            else:
                grant = fake.caller(self.headers.get("Authorization"))
                payload = fake.handle(kind, groups, method, params, raw, grant)
                if payload is None:
                    status = 204
        except TokenError as exc:
            status, payload = exc.status, exc.payload
        except ApiError as exc:
            status, payload = exc.code, exc.body()
        entry.status, entry.email = status, grant.subject if grant else None
        if fault is not None and fault.apply_first:
            if fault.drop:
                self.close_connection = True
                return
            fake._sleep(fault.hang)
        if fault is not None and fault.text is not None:
            self._answer(status, fault.text.encode(), headers, "text/html; charset=UTF-8")
        elif status == 204:
            self._answer(status, b"", headers, None)
        else:
            self._answer(status, json.dumps(payload).encode(), headers, "application/json; charset=UTF-8")

    def _answer(self, status: int, data: bytes, headers: Mapping[str, str], content_type: str | None) -> None:
        try:
            self.send_response(status)
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting: that was the point


def strict_json(raw: bytes) -> Any:
    """Google rejects NaN and Infinity, so the fakes do too."""

    def refuse(constant: str) -> Any:
        raise ApiError(400, f"Invalid JSON payload received. Unexpected token {constant}")

    try:
        return json.loads(raw or b"{}", parse_constant=refuse)
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.") from None


def b64decode(text: str) -> bytes:
    """base64url without padding, as JWTs (and Gmail's ``raw``) carry it."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def closed_port() -> int:
    """A local port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


# --- credentials for tests ----------------------------------------------------------


def use_fake(fake: FakeGoogle, monkeypatch: Any, home: Path, endpoint_env: str) -> None:
    """A clean fake, the client pointed at it, retries fast, no stray credentials from this machine.

    ``monkeypatch`` is pytest's fixture; ``home`` an empty folder standing in
    for the user's home (and gcloud's config), so no real credentials are found.
    """
    from sheetsync.google.http import RETRY_BASE_ENV, TIMEOUT_ENV

    fake.reset()
    monkeypatch.setenv(endpoint_env, fake.url)
    monkeypatch.setenv(RETRY_BASE_ENV, "0.01")
    monkeypatch.setenv(TIMEOUT_ENV, "5")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(home / "home"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(home / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")


def make_service_account(
    fake: FakeGoogle,
    directory: Path,
    email: str,
    *,
    token_uri: str | None = None,
    register: bool = True,
    client_id: str = "1234567890",
) -> ServiceAccount:
    """A service-account key file with a fresh RSA key, whose token_uri is the fake's.

    ``register=False`` makes a key the fake has never seen (its signature won't verify).
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # 2048 in real life; 1024 loads 5x faster
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "sheetsync-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri or fake.token_uri,
    }
    path = directory / "sa.json"
    path.write_text(json.dumps(info, indent=2))
    if register:
        fake.register_service_account(email, key.public_key(), client_id)
    return ServiceAccount(path, email, info)


def make_authorized_user(fake: FakeGoogle, directory: Path, email: str, scopes: Sequence[str] | None = None) -> Path:
    """An authorized-user file (what ``gcloud auth application-default login`` writes)."""
    client_id, secret, refresh = "client-" + secrets.token_hex(4), secrets.token_hex(8), secrets.token_hex(16)
    fake.register_user(client_id, secret, refresh, email, scopes)
    path = directory / "authorized_user.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": client_id,
                "client_secret": secret,
                "refresh_token": refresh,
                "token_uri": fake.token_uri,
            }
        )
    )
    return path
