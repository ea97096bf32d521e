"""Forms that carry no child details refuse them on every channel, and leave practitioners' text alone."""

from __future__ import annotations

import pytest

from bench.bench_child_details import labelled, scores
from forms import child_details, registry
from forms.schema import child_detail_errors


def test_recall_and_false_refusals_on_the_labelled_set():
    rows = labelled()
    assert len(rows) >= 100 and sum(h for h, _ in rows) >= 50 and sum(not h for h, _ in rows) >= 50
    recall, false_refusals = scores(rows)
    assert recall >= 0.95, recall
    assert false_refusals <= 0.05, false_refusals


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("9434765919", True), ("4010232137", True), ("9434765918", False), ("1111111111", False), ("123456789", False)],
)
def test_nhs_number_check_digit(digits, valid):
    assert child_details.nhs_number_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("NHS number 943 476 5919", "an NHS number"),
        ("Reference 943 476 5918 on the referral", None),  # ten digits, wrong check digit: not an NHS number
        ("DOB 02.11.2019", "a date of birth"),
        ("They live at 14 Acacia Avenue", "an address (14 Acacia Avenue)"),
        ("Postcode NE29 6QD", "a postcode (NE29 6QD)"),
        ("He is in Year 4 at Oakfield Primary School", "a school with a class or year group"),
        ("Jayden was sent home", "a name (Jayden)"),
        ("The strategy meeting on 14/11/2026 reached no agreement", None),
        ("Sarah Jones, the duty social worker, agreed", None),
        ("Dr Patel and DS Khan attended", None),
        ("Staff at St Mary's Primary School are worried", None),
        ("Call the MASH on 0191 000 0001", None),
    ],
)
def test_what_is_found_is_named(text, found):
    assert child_details.find(text) == found


def test_the_raisers_own_details_and_agencies_are_not_checked():
    spec = registry().form("nt-appendix-a")
    data = {"name": "Zoë Łukasiewicz-Nowak", "agency": "St Mary's Primary School", "worry": "", "done": ""}
    assert child_detail_errors(spec, data) == {}
    assert set(child_detail_errors(spec, data | {"worry": "Jayden Smith, aged 9"})) == {"worry"}
    assert child_detail_errors(registry().form("kirklees-appendix-5"), {"details": "DOB 12/03/2015"}) == {}
