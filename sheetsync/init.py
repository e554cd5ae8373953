"""``sheetsync init``: a ready-to-run folder (config, templates, sample workbook), never overwriting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from .errors import UsageError

CONFIG_TEXT = """\
# sheetsync.toml — every key is optional; delete what you don't need.
# Reference: the README's "Configuration" section.

source = "pipeline.xlsx"          # a workbook path, a Google Sheets URL, or gsheet:KEY

[tabs]
pipeline = "Pipeline"             # the tab with one row per prospect
quotas   = "Quotas"               # optional: Owner | Quota
# summary = "Summary"             # tabs sheetsync writes (and only these)
# checks  = "Checks"
# history = "History"

[pipeline]
currency = "THB"
# timezone = "Asia/Bangkok"       # default: this computer's
period = "quarter"                # month | quarter | year
fiscal_year_start_month = 1
date_order = "DMY"                # how dates typed as text are read: DMY | MDY | YMD
buddhist_era = "auto"             # auto: years >= 2400 are B.E. (2569 → 2026)

# [columns]                       # your header for a field, when it differs
# budget = "Budget (THB)"

# [quota]
# amount = 3000000                # team quota; else the sum of the Quotas tab

# [rules]                         # "error" | "warning" | "off"
# next-step = "warning"
# [rules.options]
# decision_maker_from_stage = "Appointment"
# qualified_from_stage = "Qualified"

[diagnosis]
coverage_target = 3.0
closing_rate_floor = 0.2
min_appointments = 5
big_deal_share = 0.4

[drafts]
out = "drafts"
format = "eml"                    # eml | mbox
# to = "gmail"                    # into each sender's Gmail Drafts instead of files (docs/gmail.md)
# from = "Sales Team <sales@your-company.com>"   # the sender of rows with no Owner Email
templates = "templates"
reminder_days = 1
post_meeting_days = 3
# attachment_note = "I attach our price list."   # lets the built-in drafts mention an attachment
# offer = "a 30-day free trial"   # what the stalled-deal draft offers; or { en = "…", th = "…" }

# [google]
# credentials = "service-account.json"
"""


def init_project(directory: Path) -> Iterator[tuple[Path, bool]]:
    """Yield each file and whether it was written (False: it existed and was kept)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"can't create {directory} ({exc.strerror})") from None
    yield _write(directory / "sheetsync.toml", CONFIG_TEXT.encode("utf-8"))
    sample = resources.files("sheetsync.sample_workbooks").joinpath("pipeline.xlsx")
    yield _write(directory / "pipeline.xlsx", sample.read_bytes())
    templates = resources.files("sheetsync.templates")
    for rel, item in _template_files(templates, ""):
        yield _write(directory / "templates" / rel, item.read_bytes())


def _template_files(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir() and not item.name.startswith("__"):
            yield from _template_files(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".j2"):
            yield f"{prefix}{item.name}", item


def _write(path: Path, data: bytes) -> tuple[Path, bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return path, False
    except OSError as exc:
        raise UsageError(f"can't write {path} ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path, True
