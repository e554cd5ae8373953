"""Email drafts (reference 8): due rows → rendered messages → ``.eml`` files or one mbox, plus a manifest.

The public surface; each step is a module of its own and usable alone:

- due.py: who is due, and why (:func:`due`);
- templates.py: finding, splitting and compiling the templates
  (:func:`load_templates`), before anything is read or written;
- filters.py and render.py: the Jinja filters, environment and context, and
  rendering one template;
- mime.py: the RFC 5322 message of one draft (:func:`build_message`);
- maker.py: the per-run maker, one due row → its entry (and file);
- output.py: entries, results, file names, the manifest and the mbox;
- batch.py: a run's drafts started, finished or cancelled
  (:func:`start_drafts`, :func:`make_drafts`);
- parallel.py: the one place sheetsync forks (a helper for big runs);
- gmail.py: drafts into Gmail.

The package never imports click or reads a spreadsheet; only gmail.py talks to Google.
"""

from __future__ import annotations

from .batch import PendingDrafts, make_drafts, start_drafts
from .due import REASONS, due
from .mime import Draft, HeaderInjection, build_message
from .output import (
    FORMATS,
    INTERRUPTED,
    MANIFEST,
    MANIFEST_HEADER,
    MBOX,
    SLUG_MAX_BYTES,
    STATUSES,
    DraftEntry,
    DraftsResult,
    check_out_folder,
    draft_name,
    make_out_folder,
    slugify,
)
from .templates import TEMPLATE_HEADERS, Templates, TemplateSet, load_templates

__all__ = [
    "FORMATS",
    "INTERRUPTED",
    "MANIFEST",
    "MANIFEST_HEADER",
    "MBOX",
    "REASONS",
    "SLUG_MAX_BYTES",
    "STATUSES",
    "TEMPLATE_HEADERS",
    "Draft",
    "DraftEntry",
    "DraftsResult",
    "HeaderInjection",
    "PendingDrafts",
    "TemplateSet",
    "Templates",
    "build_message",
    "check_out_folder",
    "draft_name",
    "due",
    "load_templates",
    "make_drafts",
    "make_out_folder",
    "slugify",
    "start_drafts",
]
