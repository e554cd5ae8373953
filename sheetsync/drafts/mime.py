"""RFC 5322 messages of unsent drafts: header encoding, address checks, body parts, :func:`build_message`.

Why messages are serialised here rather than by ``email.message.EmailMessage``:
a 100,000-row sync writes about 4,900 drafts and must stay near 3 s, while
``EmailMessage`` under ``policy.default`` costs ~2.8 ms per Thai message and
even the ``compat32`` generator ~0.3 ms.  The format we emit is small and
fixed — header *names* are constants here, header values are validated
printable ASCII or RFC 2047 encoded-words, bodies are UTF-8 (8bit, or base64
when 8bit can't carry them) — so a few lines write it in a few microseconds.
Header injection is impossible by construction: every value is refused when
it holds a line break or control character *before* encoding, encoded-words
use only letters, digits and ``!*+-/=_?`` or base64, and the tests read the
messages back with Python's own parser (``policy.default``).

This module never renders a template, names a file or writes one.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime, parseaddr

_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_ADDR = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$"
)
_ATEXT_PHRASE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$")
_MAX_NAME = 100
_WORD_BYTES = 42  # base64 of 42 bytes is 56 characters: an encoded-word of 68, inside RFC 2047's 75
_WORD_CHARS = 56  # the same budget for Q text


class HeaderInjection(ValueError):
    """A rendered header value tried to start a new header line."""


def ascii_address(addr: str) -> str | None:
    """The address with its domain in IDNA form, or None when the mailbox itself isn't ASCII."""
    local, at, domain = addr.strip().rpartition("@")
    if not at or not local.isascii():
        return None
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return None
    return f"{local}@{domain}"


def usable_address(addr: str) -> str | None:
    """The address as a draft's header carries it (:func:`ascii_address`), or None when it can't be one."""
    ascii_addr = ascii_address(addr)
    return ascii_addr if ascii_addr is not None and _ADDR.match(ascii_addr) else None


def has_break(text: str) -> bool:
    """Whether ``text`` holds a line break or control character, which no header value may."""
    return _BREAKS.search(text) is not None


_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# Each byte's "Q" spelling, using only the characters RFC 2047 allows everywhere (phrases too).
_Q_TABLE = tuple(chr(b) if b in _Q_SAFE else "_" if b == 32 else f"={b:02X}" for b in range(256))


_Q_PLAIN = bytes(_Q_SAFE) + b" "


def _use_q(data: bytes) -> bool:
    """Q (readable: ``Following_up_=E2=80=94_Acme``) when it is no longer than base64, like Python's SHORTEST."""
    q_len = len(data) + 2 * len(data.translate(None, _Q_PLAIN))
    return q_len <= (len(data) + 2) // 3 * 4


def _word(data: bytes, q: bool) -> str:
    if q:
        return "=?utf-8?q?" + "".join([_Q_TABLE[b] for b in data]) + "?="
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 encoded-words, each of whole characters and at most 68 characters long."""
    data = text.encode("utf-8")
    if not _use_q(data):
        words = []
        start = 0
        while len(data) - start > _WORD_BYTES:
            end = start + _WORD_BYTES
            while data[end] & 0xC0 == 0x80:  # never cut inside a character
                end -= 1
            words.append(_word(data[start:end], False))
            start = end
        words.append(_word(data[start:], False))
        return words
    words = []
    start = size = 0
    for i, b in enumerate(data):
        cost = len(_Q_TABLE[b])
        if size + cost > _WORD_CHARS and b & 0xC0 != 0x80:
            words.append(_word(data[start:i], True))
            start, size = i, 0
        size += cost
    words.append(_word(data[start:], True))
    return words


def _fold(name: str, parts: Sequence[str], sep: str = " ") -> str:
    """Join ``parts`` into one header, breaking lines before a part when a line would pass 78."""
    line = f"{name}: {parts[0]}"
    lines: list[str] = []
    for part in parts[1:]:
        piece = sep + part
        if len(line) + len(piece) > 78:
            lines.append(line + sep.rstrip())
            line = " " + part
        else:
            line += piece
    lines.append(line)
    return "\r\n".join(lines)


def _check_value(name: str, value: str) -> None:
    if has_break(value):
        raise HeaderInjection(
            f"header injection refused: the {name} would contain a line break or control character "
            "(check the cells the template puts in it)"
        )


def unstructured_header(name: str, value: str) -> str:
    """A ``Subject``-like header line, folded; refuses line breaks."""
    _check_value(name, value)
    if value.isascii() and "=?" not in value and all(len(w) < 900 for w in value.split(" ")):
        # Fold only before a space that follows text, so unfolding gives back the value exactly.
        chunks = re.split(r"(?<=[^ ]) (?=[^ ])", value)
        return _fold(name, chunks) if len(chunks) > 1 else f"{name}: {value}"
    return _fold(name, _encoded_words(value))


def _mailbox(display: str, addr: str) -> str:
    display = " ".join(display.split())[:_MAX_NAME]
    if not display:
        return addr
    if not display.isascii() or "=?" in display:
        # One encoded-word for the whole name, even past 75 characters: Python's
        # parser decodes a display name split over several words with stray spaces.
        data = display.encode("utf-8")
        return f"{_word(data, _use_q(data))} <{addr}>"
    if _ATEXT_PHRASE.match(display):
        return f"{display} <{addr}>"
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{addr}>'


def address_header(name: str, mailboxes: Sequence[tuple[str, str]]) -> str:
    """``To``/``From``-like header from (display name, address) pairs; addresses must be checked."""
    for display, addr in mailboxes:
        _check_value(name, display)
        _check_value(name, addr)
    return _fold(name, [_mailbox(d, a) for d, a in mailboxes], sep=", ")


@functools.lru_cache(maxsize=256)
def _from_header(display: str, addr: str) -> str:
    """The From line, built once per owner: the same few owners sign thousands of drafts."""
    return address_header("From", [(display, addr)])


def address_list(name: str, value: str) -> list[tuple[str, str]]:
    """A rendered ``Cc``/``Reply-To`` value → checked (name, address) pairs."""
    _check_value(name, value)
    pairs: list[tuple[str, str]] = []
    for part in _split_addresses(value):
        try:
            display, addr = parseaddr(part)
        except RecursionError:  # thousands of nested comments: "((((…"
            display, addr = "", ""
        ascii_addr = usable_address(addr) if addr else None
        if ascii_addr is None:
            raise ValueError(f"the {name} header has {part.strip()!r}, which is not an email address")
        pairs.append((display, ascii_addr))
    return pairs


def _split_addresses(value: str) -> list[str]:
    """Split on commas outside quotes and angle brackets (names like "Doe, Jane")."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    depth = 0
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            depth += 1
        elif ch == ">" and not quoted:
            depth = max(0, depth - 1)
        if ch in ",;" and not quoted and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def _body_part(text: str, subtype: str, boundary: str | None = None) -> tuple[list[str], bytes]:
    """MIME headers and body bytes with CRLF line ends.

    UTF-8 text goes out as ``8bit``: every mail client reads it, the ``.eml``
    stays legible in a text editor, and there is nothing to encode.  Base64
    is kept for what 8bit can't carry: lines over RFC 5322's 998 bytes, bare
    control characters, a line that would look like our MIME boundary, and a
    line starting ``From `` (which mbox readers would split at or mangle).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    data = text.encode("utf-8")
    headers = [f'Content-Type: text/{subtype}; charset="utf-8"']
    # Plain byte operations rather than regex searches: on a Thai body the two
    # searches cost 10-25 µs, a tenth of all the work on one draft.
    if (
        max(map(len, data.split(b"\n"))) <= 998
        and len(data.translate(None, _BODY_CONTROL)) == len(data)
        and not (data.startswith(b"From ") or b"\nFrom " in data)
        and (boundary is None or boundary.encode("ascii") not in data)
    ):
        headers.append("Content-Transfer-Encoding: " + ("7bit" if data.isascii() else "8bit"))
        return headers, data.replace(b"\n", b"\r\n")
    headers.append("Content-Transfer-Encoding: base64")
    return headers, base64.encodebytes(data).replace(b"\n", b"\r\n")


#: Control bytes a body can't carry as 8bit text (tab, LF and CR can).
_BODY_CONTROL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# An mbox reader would split a message at a body line starting "From " (or show it as ">From "),
# hence the check for "From " at the start of the body or of any line.


@functools.lru_cache(maxsize=16)
def _date_header(date: dt.datetime) -> str:
    """Every draft of a run has the same Date (09:00 on the as-of day): format it once."""
    return format_datetime(date)


@dataclass(frozen=True, slots=True)
class Draft:
    """One built message: RFC 5322 bytes with CRLF line ends, and its Date (for the mbox separator)."""

    data: bytes
    date: dt.datetime


def build_message(
    *,
    sender: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    text: str,
    html: str | None,
    date: dt.datetime,
    message_id: str,
    cc: Sequence[tuple[str, str]] = (),
    reply_to: Sequence[tuple[str, str]] = (),
) -> bytes:
    """RFC 5322 bytes of an unsent draft; raises :class:`HeaderInjection` for a line break in any value."""
    lines = [
        "X-Unsent: 1",
        _from_header(*sender),
        address_header("To", [to]),
    ]
    if cc:
        lines.append(address_header("Cc", cc))
    if reply_to:
        lines.append(address_header("Reply-To", reply_to))
    lines += [
        unstructured_header("Subject", subject),
        f"Date: {_date_header(date)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    if html is None:
        part_headers, body = _body_part(text, "plain")
        lines += part_headers
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
    boundary = "=_sheetsync_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    out = io.BytesIO()
    out.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    for content, subtype in ((text, "plain"), (html, "html")):
        part_headers, body = _body_part(content, subtype, boundary)
        out.write(f"--{boundary}\r\n".encode("ascii"))
        out.write(("\r\n".join(part_headers) + "\r\n\r\n").encode("ascii"))
        out.write(body)
        out.write(b"\r\n")  # the line break before a boundary belongs to the boundary, not the text
    out.write(f"--{boundary}--\r\n".encode("ascii"))
    return out.getvalue()
