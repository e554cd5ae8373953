"""``sheetsync init``: a ready-to-run folder, for the sample workbook or for a workbook you already have.

``init [DIR]`` writes a commented config, the templates and the sample
workbook; ``init --from WORKBOOK [DIR]`` (reference 2) looks at your
workbook instead — which tab is the pipeline, which row holds its headers,
which headers mean which field, which tab holds the quotas, what your Won
and Lost stages are called — and writes a config for it, no sample.
Existing files are never overwritten; nothing here writes to a workbook.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from .config import DEFAULT_STAGES, Config, Stage, Tabs, stage_key, toml_string
from .errors import SourceError, UsageError
from .grid import MARKER
from .model.fields import (
    FIELD_SPECS,
    FIELDS,
    REQUIRED,
    Layout,
    find_header_row,
    map_headers,
    matched_fields,
    wanted_headers,
)
from .model.likeness import suggest_columns
from .model.quotas import quota_header
from .model.reader import read_rows
from .model.values import Value
from .rules import close_name
from .sources import is_google, open_book
from .sources.base import Book

SAMPLE_NAME = "pipeline.xlsx"
#: Workbook files a folder may hold (the formats sheetsync reads).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")

CONFIG_TEXT = """\
# sheetsync.toml — every key is optional; delete what you don't need.
# Reference: docs/reference.md, section 3 (and the README's "Configuration").

source = {source}{source_note}

[tabs]
{tabs}
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

{columns}
# [quota]
# amount = 3000000                # team quota; else the sum of the Quotas tab
{stages}
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

[forecast]                        # the feast-or-famine strip: months from this one
months = 6
famine_share = 0.5                # under half the monthly target (quota ÷ months in the period)
feast_share = 2.0                 # over twice it

[drafts]
out = "drafts"
format = "eml"                    # eml | mbox
# to = "gmail"                    # into each sender's Gmail Drafts instead of files (docs/gmail.md)
# from = "Sales Team <sales@your-company.com>"   # the sender of rows with no Owner Email
templates = {templates}
reminder_days = 1
post_meeting_days = 3
# attachment_note = "I attach our price list."   # lets the built-in drafts mention an attachment
# offer = "a 30-day free trial"   # what the stalled-deal draft offers; or {{ en = "…", th = "…" }}

# [google]
# credentials = "service-account.json"
"""

SAMPLE_COLUMNS = """\
# [columns]                       # your header for a field, when it differs
# budget = "Budget (THB)"
"""


@dataclass(slots=True)
class Setup:
    """What ``init`` found and wrote, for the command to print."""

    found: list[str] = field(default_factory=list)
    files: list[tuple[Path, bool]] = field(default_factory=list)  # (path, written); False: it existed and was kept
    next_steps: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- init [DIR]


def init_project(directory: Path, config_file: Path | None = None) -> Setup:
    """The sample project: config, sample workbook and templates in ``directory``.

    A folder that already holds another workbook and no config is refused:
    the user most likely wants ``init --from`` that workbook, and a config
    pointing at a sample beside it is the confusion issue 13 met.
    """
    config_file = config_file or directory / "sheetsync.toml"
    if not config_file.exists():
        theirs = _workbooks_in(directory)
        if theirs:
            where = "this folder" if directory == Path(".") else str(directory)
            raise UsageError(
                f"{where} already holds {theirs[0]} — to set up for it, run "
                f"`sheetsync init --from {_shell(str(directory / theirs[0]))}`; "
                "plain `sheetsync init` writes a sample workbook, so use it in an empty folder"
            )
    _make_folder(directory)
    setup = Setup()
    text = CONFIG_TEXT.format(
        source=toml_string(_relative(directory / SAMPLE_NAME, config_file.parent)),
        source_note="          # a workbook path, a Google Sheets URL, or gsheet:KEY",
        tabs='pipeline = "Pipeline"             # the tab with one row per prospect\n'
        'quotas   = "Quotas"               # optional: Owner | Quota',
        columns=SAMPLE_COLUMNS,
        stages="",
        templates=toml_string(_relative(directory / "templates", config_file.parent)),
    )
    setup.files.append(_write(config_file, text.encode("utf-8")))
    sample = resources.files("sheetsync.sample_workbooks").joinpath(SAMPLE_NAME)
    setup.files.append(_write(directory / SAMPLE_NAME, sample.read_bytes()))
    setup.files.extend(_copy_templates(directory / "templates"))
    setup.next_steps = _next_steps(directory, config_file, "the sample workbook")
    return setup


def _workbooks_in(directory: Path) -> list[str]:
    """Workbooks in the folder other than the sample (lock and temporary files left out)."""
    if not directory.is_dir():
        return []
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.suffix.lower() in WORKBOOK_SUFFIXES
        and p.name != SAMPLE_NAME
        and not p.name.startswith(("~$", ".~"))
        and p.is_file()
    )


# ---------------------------------------------------------------- init --from WORKBOOK [DIR]


@dataclass(frozen=True, slots=True)
class Survey:
    """What ``init --from`` makes of a workbook."""

    pipeline: str
    layout: Layout
    header_row: int | None  # to write under [tabs]: None when it is the first non-empty row
    columns: dict[str, str]  # field → the header to map under [columns]
    quotas: str | None
    quota_headers: tuple[str, str] | None
    stages: tuple[Stage, ...] | None  # None: the default list fits the sheet
    renamed: dict[str, str]  # group → the sheet's name for it (Closed Won)
    unplaced: list[str]  # stages in the sheet that are in no list


def init_from(source: str, directory: Path, config_file: Path | None = None, credentials: Path | None = None) -> Setup:
    """A config for a workbook or Google Sheet you already have; templates beside it; no sample."""
    config_file = config_file or directory / "sheetsync.toml"
    google = is_google(source)
    if not google:
        source = str(Path(source).expanduser())
    book = open_book(source, wanted=[], credentials=credentials)
    try:
        survey = survey_book(book)
    finally:
        book.close()
    _make_folder(directory)
    setup = Setup(found=_found_lines(survey))
    written = source if google else _relative(Path(source), config_file.parent)
    config = _write(config_file, _survey_config(survey, written, config_file, directory).encode("utf-8"))
    if not config[1]:
        setup.found.append(
            f"note    {config_file} exists and is kept as it is: move it away and run this again for a config "
            "made from what was found, or pass --config <new file>"
        )
    setup.files.append(config)
    setup.files.extend(_copy_templates(directory / "templates"))
    where = source if google else Path(source).name
    setup.next_steps = _next_steps(directory, config_file, where)
    return setup


def survey_book(book: Book) -> Survey:
    """Find the pipeline tab, its header row and columns, the quotas tab and the stage names (reference 2)."""
    defaults = Config()
    wanted = wanted_headers(defaults)
    best: tuple[int, int, Layout, int] | None = None  # (fields matched, -tab index, layout, first non-empty row)
    titles = book.titles()
    for index, title in enumerate(titles):
        search = find_header_row(book.rows(title), lambda values: len(matched_fields(values, wanted)) >= 2)
        if search.found is None or search.first is None or _is_ours(search.first[1]):
            continue
        number, values = search.found
        layout = map_headers(title, number, values, defaults)
        candidate = (len(layout.columns), -index, layout, search.first[0])
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        known = ", ".join(FIELD_SPECS[f][1] for f in FIELDS[:8])
        raise SourceError(
            f"no tab of {book.location} looks like a pipeline (tabs: {', '.join(titles) or 'none'}): no row among "
            f"the first 30 of any tab has two headers sheetsync knows ({known}, …) — name your header cells like "
            "these, or write sheetsync.toml by hand (docs/reference.md, section 3)"
        )
    _n, _i, layout, first_row = best
    columns = suggest_columns(layout)
    for name in REQUIRED:
        if name not in layout.columns and name not in columns:
            raise SourceError(
                f"the {layout.tab} tab looks like your pipeline, but no header in row {layout.header_row} says "
                f"which column holds the {name} ({FIELD_SPECS[name][1]}) — name that column "
                f"{FIELD_SPECS[name][1]!r} and run `sheetsync init --from` again "
                f"(headers found: {', '.join(repr(h) for h in layout.headers if h)})"
            )
    header_row = layout.header_row if layout.header_row != first_row else None
    config = Config(columns=columns, tabs=Tabs(pipeline=layout.tab, header_row=header_row))
    _layout, rows = read_rows(layout.tab, book.rows(layout.tab), config)
    stages, renamed, unplaced = _stages_for([r.stage for r in rows if r.stage])
    quotas, quota_headers = _find_quotas(book, titles, layout.tab)
    return Survey(layout.tab, layout, header_row, columns, quotas, quota_headers, stages, renamed, unplaced)


def _is_ours(first_row: Sequence[Value]) -> bool:
    """A Summary or Checks tab sheetsync wrote (its marker in A1) is never the pipeline."""
    return bool(first_row) and isinstance(first_row[0], str) and first_row[0].startswith(MARKER)


def _find_quotas(book: Book, titles: Sequence[str], pipeline: str) -> tuple[str | None, tuple[str, str] | None]:
    """The first other tab whose header row has an owner and a quota header (reference 4.3)."""
    for title in titles:
        if title == pipeline:
            continue
        search = find_header_row(book.rows(title), lambda values: quota_header(values, {}) is not None)
        if search.found is not None and search.first is not None and not _is_ours(search.first[1]):
            values = search.found[1]
            header = quota_header(values, {})
            assert header is not None
            return title, (str(values[header[0]]).strip(), str(values[header[1][0]]).strip())
    return None, None


# What a sheet may call its closed and paused stages; the default names (Won, Lost, On Hold) match as they are.
# English by word; Thai (written without spaces) by part, lost before won since ไม่ได้งาน holds ได้งาน.
_GROUP_WORDS = {"lost": ("lost", "lose"), "won": ("won", "win"), "paused": ("hold", "paused", "pause")}
_GROUP_THAI = {"lost": ("แพ้", "ไม่ได้งาน", "ไม่สำเร็จ"), "won": ("ชนะ", "ได้งาน", "สำเร็จ"), "paused": ("พัก", "ระงับ")}


def _stages_for(typed: Sequence[str]) -> tuple[tuple[Stage, ...] | None, dict[str, str], list[str]]:
    """The stage list for the sheet's stage names: the default one, with your names for Won, Lost and On Hold.

    A name the default list doesn't have and that says "won", "lost" or
    "hold" (``Closed Won``) becomes that stage's name, unless the sheet also
    uses the default name.  Other unknown names (``Closing``, a typo) are
    returned for a comment: their place in the order can't be guessed.
    """
    spelled: dict[str, str] = {}
    for text in typed:
        spelled.setdefault(stage_key(text), text)
    defaults = {stage_key(s.name): s for s in DEFAULT_STAGES}
    renamed: dict[str, str] = {}
    unplaced: list[str] = []
    for key, text in spelled.items():
        if key in defaults:
            continue
        words = set(key.replace("-", " ").replace("/", " ").split())
        group = next((g for g, names in _GROUP_WORDS.items() if words & set(names)), None) or next(
            (g for g, parts in _GROUP_THAI.items() if any(part in key for part in parts)), None
        )
        standard = next((s for s in DEFAULT_STAGES if s.group == group), None)
        if group and standard and group not in renamed and stage_key(standard.name) not in spelled:
            renamed[group] = text
        else:
            unplaced.append(text)
    if not renamed:
        return None, renamed, unplaced
    stages = tuple(dataclasses.replace(s, name=renamed.get(s.group, s.name)) for s in DEFAULT_STAGES)
    return stages, renamed, unplaced


def _found_lines(survey: Survey) -> list[str]:
    layout = survey.layout
    mapped = len(layout.columns) + len(survey.columns)
    lines = [
        f"found   the pipeline in tab {survey.pipeline!r}, headers in row {layout.header_row}: "
        f"{mapped} of {len(FIELDS)} fields"
        + (f" ({len(survey.columns)} mapped under [columns])" if survey.columns else "")
    ]
    if survey.quotas is not None and survey.quota_headers is not None:
        owner, quota = survey.quota_headers
        lines.append(f"found   quotas in tab {survey.quotas!r} (owner {owner!r}, quota {quota!r})")
    else:
        lines.append("found   no quotas tab (set [quota] amount for a team quota)")
    for group, name in survey.renamed.items():
        lines.append(f"found   {name!r} as your {group} stage (written under [[stages]])")
    if "closed_on" not in layout.columns and "closed_on" not in survey.columns:
        lines.append(
            f"note    no Closed On column: Won deals are dated by their {layout.header('expected_close')!r} "
            "(reference 6.1)"
            if "expected_close" in layout.columns
            else "note    no Closed On column and no Expected Close column: nothing is won this period"
        )
    if survey.unplaced:
        names = ", ".join(repr(n) for n in survey.unplaced)
        lines.append(f"note    stages that are in no stage list: {names} — see [[stages]] in the config")
    return lines


def _survey_config(survey: Survey, source: str, config_file: Path, directory: Path) -> str:
    tabs = [f"pipeline = {toml_string(survey.pipeline)}"]
    if survey.header_row is not None:
        tabs.append(f"{f'header_row = {survey.header_row}':<33} # the headers are below a title")
    if survey.quotas is not None:
        tabs.append(f"quotas = {toml_string(survey.quotas)}")
    else:
        tabs.append('# quotas = "Quotas"              # optional: Owner | Quota (no such tab found)')
    columns = ["[columns]                         # your header for each field sheetsync would not find alone"]
    columns += [f"{name} = {toml_string(header)}" for name, header in survey.columns.items()]
    if not survey.columns:
        columns = ["# [columns]                       # every field it uses was found by its header", ""]
    taken = set(survey.columns.values())
    unused = [h for h in survey.layout.extras.values() if h not in taken]
    if unused:
        columns.append(
            "# Headers no field uses (templates still get them): " + ", ".join(toml_string(h) for h in unused)
        )
    return CONFIG_TEXT.format(
        source=toml_string(source),
        source_note="",
        tabs="\n".join(tabs),
        columns="\n".join(columns) + "\n",
        stages=_stages_text(survey),
        templates=toml_string(_relative(directory / "templates", config_file.parent)),
    )


def _stages_text(survey: Survey) -> str:
    """``[[stages]]`` when the sheet names its closed stages its own way, and a comment on names in no list."""
    if survey.stages is None and not survey.unplaced:
        return ""
    stages = survey.stages or DEFAULT_STAGES
    lines = [""]
    if survey.unplaced:
        names = [s.name for s in stages]
        notes = []
        for name in survey.unplaced:
            typo = close_name(name, names)
            notes.append(f"{name!r} (a typo of {typo!r}?)" if typo else repr(name))
        lines.append(f"# In the sheet but not a stage: {', '.join(notes)}. Fix the cells, or list")
        lines.append("# every stage in order under [[stages]] (name, probability, group) with these in their place.")
    if survey.stages is None:
        lines.append(f"# The stages now: {', '.join(s.name for s in stages)} (docs/reference.md, 4.2).")
        return "\n".join(lines) + "\n"
    lines.append("# Your stages, in order: the default list with your names for the closed ones.")
    for stage in stages:
        percent = stage.probability * 100
        shown = str(int(percent)) if percent == int(percent) else f"{percent.normalize():f}"
        lines += ["[[stages]]", f"name = {toml_string(stage.name)}", f"probability = {shown}"]
        if stage.stale_after_days is not None:
            lines.append(f"stale_after_days = {stage.stale_after_days}")
        lines.append(f'group = "{stage.group}"')
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- shared


def _next_steps(directory: Path, config_file: Path, source: str) -> list[str]:
    steps = []
    here = Path.cwd().resolve()
    if config_file.parent.resolve() != here:
        steps.append(f"cd {_shell(str(config_file.parent))}")
    config_arg = "" if config_file.name == "sheetsync.toml" else f" --config {_shell(config_file.name)}"
    steps += [
        f"sheetsync validate{config_arg}        # check every row; see which column each field is read from",
        f"sheetsync sync --dry-run{config_arg}  # the figures and the drafts, nothing written",
        f"sheetsync sync{config_arg}            # write Summary, Checks and History into {source}, and the drafts",
    ]
    return steps


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` where possible (the config resolves paths from its own folder)."""
    try:
        return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def _shell(text: str) -> str:
    return text if text and all(c.isalnum() or c in "._-/+@:" for c in text) else "'" + text.replace("'", "'\\''") + "'"


def _make_folder(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"can't create {directory} ({exc.strerror})") from None


def _copy_templates(folder: Path) -> Iterator[tuple[Path, bool]]:
    templates = resources.files("sheetsync.templates")
    for rel, item in _template_files(templates, ""):
        yield _write(folder / rel, item.read_bytes())


def _template_files(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir() and not item.name.startswith("__"):
            yield from _template_files(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".j2"):
            yield f"{prefix}{item.name}", item


def _write(path: Path, data: bytes) -> tuple[Path, bool]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return path, False
    except OSError as exc:
        raise UsageError(f"can't write {path} ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path, True
