"""Which field an unused header looks like (sheetsync.model.likeness, issue 13): hits, refusals and known misses.

None of the headers below is an alias (the first test makes sure): what the
columns report suggests for them comes from the scorer alone.
"""

from __future__ import annotations

import pytest

from sheetsync.config import Config
from sheetsync.model.fields import FIELD_SPECS, header_key, map_headers, wanted_headers
from sheetsync.model.likeness import THRESHOLD, resembles, score, suggest, suggest_columns, words

# header → the field it must be suggested for
HITS = {
    # abbreviations
    "DM OK?": "decision_maker",
    "DM (Y/N)": "decision_maker",
    "Decision maker OK": "decision_maker",
    "Prob. (%)": "probability",
    "Win %": "probability",
    "Close Probability": "probability",
    "Lang (EN/TH)": "language",
    "Language used": "language",
    "Est. Close Date": "expected_close",
    "Appt.": "appointment",
    "Next Action": "next_follow_up",
    "F/U": "next_follow_up",
    "FU date": "next_follow_up",
    "Remarks": "notes",
    "Budget (THB)": "budget",
    "Deal Revenue": "budget",
    "Account Manager": "owner",
    "Sales Person": "owner",
    # word order
    "Email of Rep": "owner_email",
    "Owner's email": "owner_email",
    "Date of Next Follow-up": "next_follow_up",
    "Date Closed": "closed_on",
    "Date Won": "closed_on",
    "Created Date": "created_on",
    "Meeting Time": "appointment",
    "Last Touch": "last_contact",
    "Customer Name": "prospect",
    "Contact's email": "email",
    "Pipeline Stage": "stage",
    # a CRM export (HubSpot): every column is about the deal
    "Deal Name": "prospect",
    "Deal Owner": "owner",
    "Create Date": "created_on",
    "Last Activity Date": "last_contact",
    "Associated Contact": "contact",
    "Next Meeting": "appointment",
    # Thai
    "ภาษาที่ใช้": "language",
    "มูลค่าดีล": "budget",
    "วันที่นัด": "appointment",
    "วันที่ติดต่อล่าสุด": "last_contact",
    "ชื่อบริษัท": "prospect",
    "ผู้ตัดสินใจ": "decision_maker",
    "สถานะดีล": "stage",
    "นัดหมายครั้งถัดไป": "appointment",  # "next appointment"
}

# headers that must get no suggestion at all: nothing alike, or too little alike to say
NOTHING = [
    "Industry",
    "Region",
    "Phone",
    "Website",
    "Lead Source",
    "Priority",
    "Lost Reason",
    "Quarter",
    "Team",
    "Employees",
    "No.",
    "#",
    "Product Name",  # "name" alone would make it the contact
    "Deal Type",
    "Record ID",
    "Customer ID",  # an id, not the customer
    "Customer Email",  # an address: not the prospect, and not clearly the contact's
    "อีเมลลูกค้า",  # the same in Thai
    "Discount %",
    "Weighted Amount",  # a computed column, not the budget
    "Company Size",
    "Contact Phone",
    "Rep Phone",
    "ลำดับ",
    "เบอร์โทร",
    "จังหวัด",
    "Decision maker " + "x" * 100,  # over LONGEST characters: never scored
]

# Misses we know of, kept honest: each *would* be right, but scores under the threshold.
MISSES = {
    "Sales Owner": "owner",  # "sales" weighs as much as "owner": 0.67
    "Won Amount": "budget",
    "Expected Revenue": "budget",
    "Closed Won": "closed_on",  # a stage name used as a column: "closed" + "won" without "date"
    "Notes 2": "notes",
}


def test_no_header_here_is_an_alias() -> None:
    """The cases below test the scorer, not alias matching: none of them is an alias or a default header."""
    aliases = wanted_headers(Config())
    for header in [*HITS, *NOTHING, *MISSES]:
        assert header_key(header) not in aliases, header


@pytest.mark.parametrize(("header", "field"), HITS.items())
def test_header_is_suggested_for_its_field(header: str, field: str) -> None:
    """Abbreviations, another word order and Thai are recognised."""
    found = resembles(header)
    assert found is not None and found.field == field, (header, found)


@pytest.mark.parametrize("header", NOTHING)
def test_header_unlike_every_field_gets_no_suggestion(header: str) -> None:
    """No wild suggestions: Industry or Region look like nothing, Product Name is not the contact."""
    assert resembles(header) is None


@pytest.mark.parametrize(("header", "field"), MISSES.items())
def test_known_misses_stay_under_the_threshold(header: str, field: str) -> None:
    """The misses are near misses: the right field scores best, just under THRESHOLD."""
    assert resembles(header) is None
    best = max(FIELD_SPECS, key=lambda f: score(header, f))
    assert best == field and 0.5 <= score(header, field) < THRESHOLD


def test_words_drop_brackets_stopwords_and_cut_thai() -> None:
    """Step 1-2 by example: brackets dropped, abbreviations expanded, Thai cut into known words."""
    assert words("Deal Value (THB)") == {"value"}
    assert words("DM confirmed?") == {"decision", "maker", "confirmed"}
    assert words("Date of Next Follow-up") == {"date", "follow", "up"}
    assert words("ภาษาที่ใช้") == {"language"}
    assert words("วันที่คาดว่าจะปิด") == {"date", "expected", "close"}
    assert words("ผู้ติดต่อหลัก") == {"contact"}
    assert words("เบอร์โทร") == {"เบอร์โทร"}  # unknown Thai stays one word
    assert words("(THB)") == frozenset()  # all brackets: kept, then "thb" is a stopword


def test_score_is_the_harmonic_mean_of_recall_and_precision() -> None:
    """Step 3-4 by hand: 'Date of Next Follow-up' against 'Next Follow-up', both {follow, up} and the first a date.

    date is in 5 fields' names (weight 0.2); follow and up in 1 (weight 1).
    recall = 2/2, precision = 2/2.2, score = 2·1·(1/1.1)/(1 + 1/1.1) = 0.9524.
    """
    assert score("Date of Next Follow-up", "next_follow_up") == pytest.approx(2 * (1 / 1.1) / (1 + 1 / 1.1))
    assert score("Industry", "notes") == 0.0
    assert score("Customer Email", "prospect") == 0.0  # "email" names a type: only email fields


def test_suggestions_are_one_to_one_best_first_and_only_for_missing_fields() -> None:
    """Two headers alike to one field: the better one gets it; a field the tab has is never suggested."""
    assert suggest(["DM OK?", "DM (Y/N)"], ["decision_maker"]) == {"decision_maker": "DM (Y/N)"}
    layout = map_headers("Pipeline", 1, ["Prospect", "Stage", "Language", "Lang (EN/TH)", "Last Touch"], Config())
    assert suggest_columns(layout) == {"last_contact": "Last Touch"}
