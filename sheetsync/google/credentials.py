"""Which Google credentials a run uses, for any Google API sheetsync calls (Sheets, Gmail).

The order of reference 7.3: ``--credentials`` / ``[google] credentials``,
``GOOGLE_APPLICATION_CREDENTIALS``, gspread's conventional
``~/.config/gspread/service_account.json``, then application default
credentials.  Each API asks for its own single scope, so a key used for the
sheet can't read mail and the reverse.

This module only reads and checks key files: it never calls Google (tokens
are fetched on the first request) and no message it writes quotes a key.
google-auth is imported inside functions so an Excel-only run never pays
for it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials


@dataclass(frozen=True)
class GoogleApi:
    """What differs between the Google APIs we call: the one scope, the name, where setup is explained."""

    name: str
    scope: str
    docs: str
    #: The command that makes an authorized-user file holding this scope.
    user_login: str


@dataclass(frozen=True)
class Identity:
    credentials: Credentials
    #: How messages name where the credentials came from.
    origin: str
    #: The service account's address, if any (what a sheet is shared with).
    email: str | None
    token_uri: str | None
    #: The service account's OAuth client id (what domain-wide delegation is granted to), if any.
    client_id: str | None = None


def load_identity(explicit: Path | None, api: GoogleApi) -> Identity:
    """Credentials in the order of reference 7.3, scoped for ``api``; the first place that has some wins.

    A named file that is missing or broken is an error rather than a reason to
    look further: silently falling back to other credentials would act as
    someone the user didn't choose.
    """
    if explicit is not None:
        return _identity_from_file(explicit, "--credentials / [google] credentials", api)
    env = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
    if env:
        return _identity_from_file(Path(env), "GOOGLE_APPLICATION_CREDENTIALS", api)
    from gspread.auth import get_config_dir

    conventional = get_config_dir() / "service_account.json"
    if conventional.is_file():
        return _identity_from_file(conventional, "gspread's default location", api)
    return _application_default(api)


def _fix_key(api: GoogleApi) -> str:
    return (
        "download a JSON key for the service account (Google Cloud console → IAM → Service accounts → Keys) "
        f"and pass its path with --credentials; see {api.docs}"
    )


def _identity_from_file(path: Path, how: str, api: GoogleApi) -> Identity:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"Google credentials file {path} (from {how}) does not exist — {_fix_key(api)}") from None
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise UsageError(
            f"can't read Google credentials file {path} (from {how}): {reason} — {_fix_key(api)}"
        ) from None
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise UsageError(f"Google credentials file {path} is not a JSON key file — {_fix_key(api)}")
    kind = info.get("type")
    origin = f"credentials file {path}"
    if kind == "service_account":
        return _service_account(info, path, origin, api)
    if kind == "authorized_user":
        return _authorized_user(info, path, origin, api)
    if kind in ("external_account", "external_account_authorized_user", "impersonated_service_account"):
        return _other_google_type(path, origin, str(kind), api)
    raise UsageError(
        f"Google credentials file {path} is not a service-account or authorized-user key "
        f'(its "type" is {kind!r}) — {_fix_key(api)}'
    )


def _service_account(info: dict[str, Any], path: Path, origin: str, api: GoogleApi) -> Identity:
    missing = [name for name in ("client_email", "private_key", "token_uri") if not info.get(name)]
    if missing:
        raise UsageError(
            f"Google credentials file {path} lacks {', '.join(missing)} — it looks truncated or edited; "
            + _fix_key(api)
        )
    if not re.match(r"^https?://[^/\s]+", str(info["token_uri"])):
        raise UsageError(f"the token_uri in Google credentials file {path} is not an address — {_fix_key(api)}")
    from google.oauth2 import service_account

    try:
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[api.scope]
        )
    except Exception:  # any failure to parse the key means the same thing; its text may quote the key
        raise UsageError(
            f"the private key in Google credentials file {path} can't be read — the file looks damaged; "
            + _fix_key(api)
        ) from None
    client_id = str(info["client_id"]) if info.get("client_id") else None
    return Identity(credentials, origin, str(info["client_email"]), str(info["token_uri"]), client_id)


def _authorized_user(info: dict[str, Any], path: Path, origin: str, api: GoogleApi) -> Identity:
    missing = [name for name in ("client_id", "client_secret", "refresh_token") if not info.get(name)]
    if missing:
        raise UsageError(
            f"authorized-user credentials file {path} lacks {', '.join(missing)} — create it again with "
            f"{api.user_login}"
        )
    from google.oauth2.credentials import Credentials as UserCredentials

    # from_authorized_user_info() would force Google's token endpoint; the spec wants the file's own.
    token_uri = str(info.get("token_uri") or "https://oauth2.googleapis.com/token")
    credentials = UserCredentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=str(info["refresh_token"]),
        token_uri=token_uri,
        client_id=str(info["client_id"]),
        client_secret=str(info["client_secret"]),
        scopes=[api.scope],
        quota_project_id=info.get("quota_project_id"),
    )
    return Identity(credentials, origin, None, token_uri)


def _other_google_type(path: Path, origin: str, kind: str, api: GoogleApi) -> Identity:
    """Workload-identity and impersonation files: google-auth knows them; let it load them."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _project = google.auth.load_credentials_from_file(  # type: ignore[no-untyped-call]
            str(path), scopes=[api.scope]
        )
    except (DefaultCredentialsError, ValueError):
        raise UsageError(f"Google credentials file {path} ({kind}) can't be used — {_fix_key(api)}") from None
    email_attr = getattr(credentials, "service_account_email", None)
    return Identity(credentials, origin, email_attr if isinstance(email_attr, str) else None, None)


def _application_default(api: GoogleApi) -> Identity:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _project = google.auth.default(scopes=[api.scope])
    except DefaultCredentialsError:
        raise UsageError(
            "no Google credentials found — pass --credentials FILE with a service-account JSON key, "
            "set [google] credentials in sheetsync.toml or GOOGLE_APPLICATION_CREDENTIALS, or put the key "
            f"at ~/.config/gspread/service_account.json; see {api.docs}"
        ) from None
    return Identity(credentials, "application default credentials", None, None)
