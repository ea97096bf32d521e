"""Old and other word-processor files (.doc, .odt, .rtf), made by LibreOffice from this service's
Word records as a person's office suite saves them, read back through the limited worker."""

from __future__ import annotations

import pytest

from forms import registry
from forms.schema import validate_data
from parsers import ParseError, parse
from parsers.sandbox import parse_safely
from service.documents.records import render
from tests.conftest import sample
from tests.parsers.test_docx import soffice_convert

FORM = "kirklees-appendix-5"


@pytest.fixture(scope="module")
def saved_as(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved-as")
    source = out / f"{FORM}.docx"
    source.write_bytes(render(registry().form(FORM), sample(FORM), "docx"))
    return {fmt: soffice_convert([source], fmt, out)[0].read_bytes() for fmt in ("doc", "odt", "rtf")}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["doc", "odt", "rtf"])
def test_an_old_or_other_format_is_converted_and_read(saved_as, fmt):
    content = saved_as[fmt]
    result = parse_safely(content, f"returned.{fmt}")
    assert result.form_id == FORM, result.reason
    assert result.kind == fmt and "converted to Word (.docx) with LibreOffice" in result.warnings[0]
    spec = registry().form(FORM)
    data, errors = result.canonical(spec)
    want = validate_data(spec, sample(FORM))
    assert not errors, errors
    assert {k: data[k] for k in ("child_name", "address", "stage", "nature", "actions")} == {
        k: want[k] for k in ("child_name", "address", "stage", "nature", "actions")
    }


def test_a_renamed_doc_is_still_converted(saved_as):
    assert parse(saved_as["doc"], "form.msg").form_id == FORM


def test_a_damaged_doc_is_refused_with_a_reason(saved_as):
    content = saved_as["rtf"][:40]
    with pytest.raises(ParseError, match=r"Rich Text document \(.rtf\) could not be opened|not a recognised form"):
        result = parse(content, "form.rtf")
        raise ParseError(result.reason)
