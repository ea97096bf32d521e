"""Validation schemas derived from the specs guard every boundary."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from forms import registry
from forms.schema import empty_data, validate_data
from tests.conftest import ALL_FORMS, sample


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_samples_are_canonical(form_id):
    spec = registry().form(form_id)
    assert validate_data(spec, sample(form_id)) == sample(form_id)


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_blank_form_reports_every_required_field(form_id):
    spec = registry().form(form_id)
    with pytest.raises(ValidationError) as error:
        validate_data(spec, empty_data(spec))
    assert set(error.value.messages) == {f.key for f in spec.fields if f.required}


def test_unknown_key_is_named():
    with pytest.raises(ValidationError) as error:
        validate_data(registry().form("nt-appendix-a"), {**sample("nt-appendix-a"), "child_name": "X"})
    assert error.value.messages == {"child_name": ["Unknown field."]}


def test_missing_required_field_is_named_with_its_label():
    data = sample("kirklees-appendix-5")
    del data["details"]
    with pytest.raises(ValidationError) as error:
        validate_data(registry().form("kirklees-appendix-5"), data)
    assert error.value.messages == {
        "details": ["'Details of the professional difference and outcome sought' is required"]
    }


@pytest.mark.parametrize("bad", ["2026-02-30", "30/02/2026", "2026-13-01", "tomorrow", "2026-2-3"])
def test_impossible_date_is_named(bad):
    data = {**sample("kirklees-appendix-5"), "date_initial": bad}
    with pytest.raises(ValidationError) as error:
        validate_data(registry().form("kirklees-appendix-5"), data)
    assert list(error.value.messages) == ["date_initial"]
    assert bad in error.value.messages["date_initial"][0]


def test_date_inside_a_row_is_named_by_row_and_column():
    data = sample("kirklees-appendix-3")
    data["rows"][1]["meeting_date"] = "2026-11-31"
    with pytest.raises(ValidationError) as error:
        validate_data(registry().form("kirklees-appendix-3"), data)
    assert error.value.messages == {"rows": {1: {"meeting_date": ["Not a real date: '2026-11-31' (use YYYY-MM-DD)"]}}}


def test_choice_outside_the_spec_is_refused():
    data = {**sample("kirklees-appendix-5"), "stage": "4"}
    with pytest.raises(ValidationError) as error:
        validate_data(registry().form("kirklees-appendix-5"), data)
    assert error.value.messages == {"stage": ["Choose one of 5, 6"]}


def test_ticks_come_back_in_spec_order_and_blank_rows_are_dropped():
    spec = registry().form("kirklees-appendix-5")
    data = sample("kirklees-appendix-5")
    data["nature"] = ["information-sharing", "referral"]
    data["actions"].append({"action": "", "by_whom": "", "completion_date": ""})
    clean = validate_data(spec, data)
    assert clean["nature"] == ["referral", "information-sharing"]
    assert len(clean["actions"]) == 2


def test_line_breaks_are_normalised():
    spec = registry().form("nt-appendix-a")
    clean = validate_data(spec, {**sample("nt-appendix-a"), "worry": "one\r\ntwo\rthree"})
    assert clean["worry"] == "one\ntwo\nthree"


def test_answer_longer_than_the_limit_is_refused():
    spec = registry().form("nt-appendix-a")
    with pytest.raises(ValidationError) as error:
        validate_data(spec, {**sample("nt-appendix-a"), "worry": "x" * 4001})
    assert list(error.value.messages) == ["worry"]


def test_data_that_is_not_an_object_is_refused():
    with pytest.raises(ValidationError, match="JSON object"):
        validate_data(registry().form("nt-appendix-a"), ["not", "a", "dict"])
