"""Who receives an agency missing from the directory is read from the pack, never from code: another
pack's role is named, with its own policy words, on the question page, in the row's error and in the
"choose what to do" hint."""

from __future__ import annotations

import pytest

from forms.loader import load_pack
from service.casework import recipients
from service.web import agencies, journey
from tests.support.packs import pack_copy, rename_cp_review_unit

FORM = "kirklees-appendix-3"


def test_the_pack_names_who_finds_a_missing_agency(tmp_path):
    pack = load_pack(pack_copy(tmp_path, rename_cp_review_unit))
    spec = pack.form(FORM)
    note = agencies.not_listed_note(pack, spec)
    assert "it is sent to the Conference Liaison Office to find its lead" in note
    # That it finds the lead is the service's reading; only the quote is the policy's.
    assert (
        "to find its lead (this service’s reading; the policy, Appendix 3 (a test's wording): “Please refer to the”)"
        in note
    )
    assert "Conference Liaison Office to find its lead" in agencies.not_in_directory(pack, spec, "Nowhere Agency")
    hint = journey.option(pack, f"form:{FORM}").hint
    assert "copied to the Conference Liaison Office," in hint
    for text in (note, hint, agencies.not_in_directory(pack, spec, "Nowhere Agency")):
        assert "CPRU" not in text


def test_a_pack_naming_nobody_else_says_a_missing_agency_goes_to_nobody(tmp_path):
    def drop_unit_rule(raw):
        raw["routing"] = [r for r in raw["routing"] if r["to"]["role"] != "cp-review-unit"]

    pack = load_pack(pack_copy(tmp_path, drop_unit_rule))
    spec = pack.form(FORM)
    assert recipients.other_recipients(pack, spec) == ()
    assert agencies.not_listed_note(pack, spec).endswith(
        "records that it is not in the directory, and it is sent to nobody."
    )
    assert agencies.not_in_directory(pack, spec, "Nowhere Agency").endswith("and its name")
    assert "copied to" not in journey.option(pack, f"form:{FORM}").hint


@pytest.mark.parametrize("form_id", ["kirklees-appendix-5", "merton-disagreement-record"])
def test_a_form_not_sent_by_agency_has_no_note(form_id):
    from forms import registry

    spec = registry().form(form_id)
    pack = next(p for p in registry().packs if spec in p.forms)
    assert agencies.not_listed_note(pack, spec) is None and recipients.other_recipients(pack, spec) == ()
