"""Which field an unused header looks like: a small scorer you can follow by hand (reference 4.1, columns report).

An alias matches a header outright (:mod:`.fields`).  A header that matches
nothing may still *mean* a field — ``DM OK?``, ``Email of Rep``, ``ภาษาที่ใช้``
— and the columns report suggests the ``[columns]`` line that maps it.  The
score, step by step:

1. **Words.** The header is case-folded; text in brackets is dropped (units
   and formats: ``Budget (THB)``, ``Lang (EN/TH)``); ``%`` becomes the word
   *percent*, ``e-mail`` *email*, ``f/u`` *follow up*; the rest is split on
   anything that is not a letter or digit (``sales person`` is first made one
   word, so that *person* doesn't read as the contact person, and a deal's
   name is the prospect's).  Thai is written without spaces,
   so a run of Thai is cut into the words of :data:`THAI` (longest first;
   ``ภาษาที่ใช้`` → ภาษา + ที่ใช้), and a stretch that is no known word stays one
   unknown word.
2. **Meanings.** Each word goes through :data:`SYNONYMS` (abbreviations such
   as ``dm`` → decision maker, ``prob`` → probability, ``lang`` → language,
   ``est`` → expected; other words for the same thing, such as ``remark`` →
   note) after an English plural ``s`` is dropped; the Thai words already
   carry their English meaning.  Words that say nothing here (``of``, ``the``,
   ``ที่``, currency codes) are dropped.
3. **Weights.** A word weighs 1 / (the number of fields whose names use
   it): ``date`` appears in five fields' names and says little, ``language``
   in one and says a lot.  A word no field uses weighs 1: it is the part of
   the header no field explains.
4. **Score.** A header holding a word that names a type (*email*, *date*:
   :data:`KIND_WORDS`) is only like fields of that type: ``Customer Email``
   is an address, not the customer.  For the header's words H and a field name's words N (the
   default header and each alias, through steps 1–3), with w() the summed
   weight: recall = w(H∩N) / w(N), precision = w(H∩N) / w(H), score = their
   harmonic mean.  A field scores its best name.  Word order never matters
   (``Date of Next Follow-up`` is ``Next Follow-up`` plus a word that weighs
   0.2).

A header is suggested for the best field scoring at least
:data:`THRESHOLD`, among the fields the tab has no column for; each field
is suggested for one header at most (the best-scoring).  ``Industry`` or
``Region`` share no word with any field and score 0.  Pure functions, no
I/O; a header longer than :data:`LONGEST` characters is never suggested
(no field's name comes near, and the work stays small on any cell).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from .fields import FIELD_SPECS, Layout

THRESHOLD = 0.7
LONGEST = 80

#: word → the words it stands for (abbreviations and other names for one thing).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "dm": ("decision", "maker"),
    "decisionmaker": ("decision", "maker"),
    "auth": ("authority",),
    "prob": ("probability",),
    "probab": ("probability",),
    "pct": ("probability",),
    "percent": ("probability",),
    "percentage": ("probability",),
    "chance": ("probability",),
    "likelihood": ("probability",),
    "odd": ("probability",),
    "lang": ("language",),
    "est": ("expected",),
    "estimated": ("expected",),
    "exp": ("expected",),
    "expect": ("expected",),
    "projected": ("expected",),
    "amt": ("amount",),
    "revenue": ("amount",),
    "price": ("amount",),
    "val": ("value",),
    "worth": ("value",),
    "appt": ("appointment",),
    "mtg": ("meeting",),
    "followup": ("follow", "up"),
    "fu": ("follow", "up"),
    "acct": ("account",),
    "acc": ("account",),
    "co": ("company",),
    "cust": ("customer",),
    "org": ("company",),
    "organisation": ("company",),
    "organization": ("company",),
    "firm": ("company",),
    "poc": ("contact",),
    "mail": ("email",),
    "rep": ("rep",),
    "representative": ("rep",),
    "salesperson": ("sale", "rep"),
    "salesman": ("sale", "rep"),
    "saleswoman": ("sale", "rep"),
    "seller": ("sale", "rep"),
    "mgr": ("owner",),
    "manager": ("owner",),
    "assignee": ("owner",),
    "assigned": ("owner",),
    "dnc": ("do", "not", "contact"),
    "req": ("requested",),
    "reqd": ("requested",),
    "request": ("requested",),
    "information": ("info",),
    "comment": ("note",),
    "remark": ("note",),
    "memo": ("note",),
    "touch": ("contact",),
    "activity": ("contact",),
    "opportunity": ("prospect",),
    "opp": ("prospect",),
    "create": ("created",),
    "touched": ("contact",),
    "contacted": ("contact",),
    "latest": ("last",),
    "recent": ("last",),
    "creation": ("created",),
    "added": ("created",),
    "entered": ("created",),
    "day": ("date",),
    "dt": ("date",),
    "time": ("date",),
    "action": ("step",),
    "phase": ("stage",),
    "timing": ("timeline",),
}

#: Thai words (written without spaces between them) → what they mean, in the words above.
THAI: dict[str, tuple[str, ...]] = {
    "บริษัท": ("company",),
    "ลูกค้า": ("customer",),
    "ชื่อ": ("name",),
    "ผู้ติดต่อ": ("contact",),
    "ติดต่อ": ("contact",),
    "อีเมล": ("email",),
    "อีเมล์": ("email",),
    "ผู้รับผิดชอบ": ("owner",),
    "พนักงานขาย": ("sale", "rep"),
    "เซลส์": ("sale", "rep"),
    "สถานะ": ("status",),
    "ขั้นตอน": ("stage",),
    "ผู้มีอำนาจตัดสินใจ": ("decision", "maker"),
    "ผู้มีอำนาจ": ("authority",),
    "ผู้ตัดสินใจ": ("decision", "maker"),
    "ตัดสินใจ": ("decision",),
    "มูลค่า": ("value",),
    "งบประมาณ": ("budget",),
    "งบ": ("budget",),
    "ยอดขาย": ("amount",),
    "ยอด": ("amount",),
    "ราคา": ("amount",),
    "ดีล": ("deal",),
    "วันที่": ("date",),
    "คาดว่า": ("expected",),
    "คาดการณ์": ("expected",),
    "คาด": ("expected",),
    "ปิด": ("close",),
    "โอกาส": ("probability",),
    "ความน่าจะเป็น": ("probability",),
    "เปอร์เซ็นต์": ("probability",),
    "ล่าสุด": ("last",),
    "ติดตาม": ("follow", "up"),
    "ถัดไป": (),
    "นัดหมาย": ("appointment",),
    "นัด": ("appointment",),
    "ประชุม": ("meeting",),
    "ขอข้อมูล": ("info", "requested"),
    "ข้อมูล": ("info",),
    "สร้าง": ("created",),
    "เพิ่ม": ("created",),
    "ภาษา": ("language",),
    "ห้าม": ("do", "not"),
    "หมายเหตุ": ("note",),
    "บันทึก": ("note",),
    # Words that carry no field's meaning: "that used", "that", "of", "use", "will", "the act of", "time(s)",
    # "that" (after a verb), "main".
    "ที่ใช้": (),
    "ที่": (),
    "ของ": (),
    "ใช้": (),
    "จะ": (),
    "การ": (),
    "ครั้ง": (),
    "ว่า": (),
    "หลัก": (),
}

#: Words that say nothing about which field a column is (English; the Thai ones map to () above).
STOPWORDS = frozenset(
    {"of", "the", "an", "to", "for", "by", "in", "on", "at", "is", "and", "or", "if", "yes", "no"}
    | {"used", "main", "primary", "associated", "thb", "usd", "eur", "baht", "currency"}
    # Every column of a pipeline is about the deal, and "next" says when, not what ("Next Meeting" is the
    # appointment): neither tells one field from another.
    | {"pipeline", "deal", "next", "upcoming"}
)

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# A letter or digit of any script, Thai vowel and tone marks included (they are not \w).
_WORD = re.compile(r"[\u0e00-\u0e7f]+|[^\W_\u0e00-\u0e7f]+")
_SALES_PERSON = re.compile(r"\bsales[ ]+person")
_DEAL_NAME = re.compile(r"\b(?:deal|opportunity)[ ]+name")
_THAI_RUN = re.compile(r"[\u0e00-\u0e7f]+")
_LONGEST_THAI = max(map(len, THAI))


def words(header: str) -> frozenset[str]:
    """A header's meaningful words, steps 1–2 of the module docstring."""
    text = header.casefold()
    stripped = _BRACKETS.sub(" ", text)
    if stripped.strip():  # a header that is all brackets keeps them
        text = stripped
    text = text.replace("%", " percent ").replace("e-mail", "email").replace("f/u", "follow up")
    text = _SALES_PERSON.sub("salesperson", text)
    text = _DEAL_NAME.sub("prospect name", text)
    out: list[str] = []
    for token in _WORD.findall(text):
        if _THAI_RUN.fullmatch(token):
            out.extend(_thai_words(token))
        else:
            out.extend(_meaning(token))
    # One Latin letter is never a word here: the s of "Owner's", the y and n of "Y/N".
    return frozenset(w for w in out if w not in STOPWORDS and (len(w) > 1 or w.isdigit() or not w.isascii()))


def _meaning(word: str) -> tuple[str, ...]:
    """An English word's meaning: its singular, through SYNONYMS (whose keys and words are singular)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return SYNONYMS.get(word, (word,))


def _thai_words(run: str) -> list[str]:
    """A run of Thai cut into known words, longest first; each unknown stretch is one word of its own."""
    out: list[str] = []
    unknown_from = None
    i = 0
    while i < len(run):
        for size in range(min(_LONGEST_THAI, len(run) - i), 0, -1):
            meaning = THAI.get(run[i : i + size])
            if meaning is not None:
                if unknown_from is not None:
                    out.append(run[unknown_from:i])
                    unknown_from = None
                out.extend(meaning)
                i += size
                break
        else:
            if unknown_from is None:
                unknown_from = i
            i += 1
    if unknown_from is not None:
        out.append(run[unknown_from:])
    return out


@cache
def _names() -> dict[str, tuple[frozenset[str], ...]]:
    """Each field's names (default header and aliases) as word sets."""
    return {name: tuple(words(h) for h in (default, *aliases)) for name, (_k, default, aliases) in FIELD_SPECS.items()}


@cache
def _weights() -> dict[str, float]:
    """Step 3: a word weighs 1 / the number of fields whose names use it."""
    fields_using: dict[str, int] = {}
    for names in _names().values():
        for word in frozenset().union(*names):
            fields_using[word] = fields_using.get(word, 0) + 1
    return {word: 1 / n for word, n in fields_using.items()}


#: Words that name a column's type: a header holding one is only like a field of that type.
KIND_WORDS: dict[str, frozenset[str]] = {"email": frozenset({"email"}), "date": frozenset({"date", "datetime"})}


def score(header: str, field: str) -> float:
    """Step 4: how much the header looks like the field, from 0 (nothing in common) to 1."""
    if len(header) > LONGEST:
        return 0.0
    h = words(header)
    if not h:
        return 0.0
    kind = FIELD_SPECS[field][0]
    if any(kind not in kinds for word, kinds in KIND_WORDS.items() if word in h):
        return 0.0  # "Customer Email" is an email column, however much it says "customer"
    weights = _weights()

    def weight(ws: Iterable[str]) -> float:
        return sum(weights.get(w, 1.0) for w in ws)

    best = 0.0
    for n in _names()[field]:
        common = weight(h & n)
        if common:
            recall, precision = common / weight(n), common / weight(h)
            best = max(best, 2 * recall * precision / (recall + precision))
    return best


@dataclass(frozen=True, slots=True)
class Resemblance:
    header: str
    field: str
    score: float


def resembles(header: str, fields: Iterable[str] = FIELD_SPECS) -> Resemblance | None:
    """The field among ``fields`` the header looks most like, when it scores at least THRESHOLD."""
    scored = [(score(header, f), f) for f in fields]
    best = max(scored, default=(0.0, ""), key=lambda sf: sf[0])
    return Resemblance(header, best[1], best[0]) if best[0] >= THRESHOLD else None


def suggest(unused: Iterable[str], missing: Iterable[str]) -> dict[str, str]:
    """field → header: each unused header matched to a missing field it resembles, best pairs first, one to one."""
    fields = list(missing)
    pairs = sorted(
        ((s, i, header, f) for i, header in enumerate(unused) for f in fields if (s := score(header, f)) >= THRESHOLD),
        key=lambda p: (-p[0], p[1]),
    )
    out: dict[str, str] = {}
    taken: set[str] = set()
    for _s, _i, header, f in pairs:
        if f not in out and header not in taken:
            out[f] = header
            taken.add(header)
    return out


def suggest_columns(layout: Layout) -> dict[str, str]:
    """For a tab: field → the unused header to map it to, for the fields the tab has no column for; in field order."""
    found = suggest(layout.extras.values(), (f for f in FIELD_SPECS if f not in layout.columns))
    return {f: found[f] for f in FIELD_SPECS if f in found}


def by_header(suggestions: Mapping[str, str]) -> dict[str, str]:
    """header → field, the other way round, in the order the headers appear in ``suggestions``' values."""
    return {header: field for field, header in suggestions.items()}
