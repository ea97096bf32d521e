"""Render, fill, send, then parse: every form comes back as the same canonical data.

Through DOCX and PDF from this service, blank PDFs filled by pypdf and by pdftk (a different
filler), e-mails with the record attached or the answers pasted in, and property tests over
Unicode text, empty optional fields and many repeated rows.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from forms import registry
from forms.schema import validate_data
from parsers import parse
from parsers.email import answers_text
from parsers.result import uk_date
from service.documents.records import FORMATS, render
from tests.conftest import ALL_FORMS, sample


def canonical(form_id: str, data: dict | None = None) -> dict:
    return validate_data(registry().form(form_id), data if data is not None else sample(form_id))


def parsed(content: bytes, filename: str, form_id: str) -> dict:
    result = parse(content, filename)
    assert result.form_id == form_id, result.reason
    data, errors = result.canonical(registry().form(form_id))
    assert not errors, errors
    return data


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_rendered_document_parses_back(form_id, fmt):
    want = canonical(form_id)
    assert parsed(render(registry().form(form_id), want, fmt), f"x.{fmt}", form_id) == want


# --- blank PDFs filled by other software ----------------------------------------------------------


def field_values(form_id: str, data: dict) -> dict[str, str]:
    """What a person types into the blank PDF's fields (dates as DD/MM/YYYY)."""
    spec = registry().form(form_id)
    values = {}
    for f in spec.fields:
        value = data[f.key]
        if f.type == "ticks":
            values.update({f"{f.key}.{v}": "/Yes" for v in value})
        elif f.type == "rows":
            for n, row in enumerate(value, 1):
                for c in f.columns:
                    values[f"{f.key}.{n}.{c.key}"] = uk_date(row[c.key]) if c.type == "date" else row[c.key]
        elif f.type == "choice":
            if value:
                values[f.key] = f"/{value}"
        elif f.type == "date":
            values[f.key] = uk_date(value)
        else:
            values[f.key] = value
    return values


def fits_blank(form_id: str, data: dict) -> bool:
    spec = registry().form(form_id)
    return all(len(data[f.key]) <= f.blank_rows for f in spec.fields if f.type == "rows")


def fill_with_pypdf(blank: bytes, values: dict) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(blank))
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def xfdf(values: dict) -> bytes:
    from xml.sax.saxutils import escape

    fields = "".join(
        f'<field name="{escape(k)}"><value>{escape(v.lstrip("/") if v.startswith("/") else v)}</value></field>'
        for k, v in values.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve">'
        f"<fields>{fields}</fields></xfdf>"
    ).encode()


def fill_with_pdftk(blank: bytes, values: dict, tmp_path) -> bytes:
    pdftk = shutil.which("pdftk")
    if pdftk is None:
        pytest.skip("pdftk (apt-get install pdftk-java) is not installed")
    (tmp_path / "blank.pdf").write_bytes(blank)
    (tmp_path / "data.xfdf").write_bytes(xfdf(values))
    subprocess.run(
        [
            pdftk,
            str(tmp_path / "blank.pdf"),
            "fill_form",
            str(tmp_path / "data.xfdf"),
            "output",
            str(tmp_path / "out.pdf"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return (tmp_path / "out.pdf").read_bytes()


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_blank_pdf_filled_by_pypdf(form_id):
    want = canonical(form_id)
    blank = render(registry().form(form_id), None, "pdf")
    assert parsed(fill_with_pypdf(blank, field_values(form_id, want)), "filled.pdf", form_id) == want


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_blank_pdf_filled_by_pdftk(form_id, tmp_path):
    want = canonical(form_id)
    blank = render(registry().form(form_id), None, "pdf")
    assert parsed(fill_with_pdftk(blank, field_values(form_id, want), tmp_path), "filled.pdf", form_id) == want


def test_checkbox_on_state_is_read_from_the_pdf_not_assumed():
    """A filler whose checkboxes are on at /Ja (not /Yes): the state the PDF defines counts."""
    import pypdf
    from pypdf.generic import NameObject

    form_id = "kirklees-appendix-5"
    want = canonical(form_id)
    blank = render(registry().form(form_id), None, "pdf")
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(blank))
    for page in writer.pages:
        for annot in page.get("/Annots", []):
            widget = annot.get_object()
            normal = widget.get("/AP", {}).get("/N")
            if normal is not None and "/Yes" in normal:
                normal[NameObject("/Ja")] = normal.pop("/Yes")
    values = {k: ("/Ja" if v == "/Yes" else v) for k, v in field_values(form_id, want).items()}
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    assert parsed(out.getvalue(), "filled.pdf", form_id)["nature"] == want["nature"]


# --- e-mail ---------------------------------------------------------------------------------------


def mail(body: str, attachment: tuple[str, bytes] | None = None, subject: str = "Escalation") -> bytes:
    message = EmailMessage()
    message["From"] = "Amira Haddad <amira.haddad@health.example>"
    message["To"] = "escalations@escalate.example"
    message["Subject"] = subject
    message["Message-ID"] = "<roundtrip@health.example>"
    message.set_content(body)
    if attachment:
        name, content = attachment
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("application", "octet-stream")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_email_with_the_record_attached(form_id, fmt):
    want = canonical(form_id)
    content = render(registry().form(form_id), want, fmt)
    raw = mail("Please find the form attached.\n\nAmira", (f"{form_id}.{fmt}", content))
    assert parsed(raw, "reply.eml", form_id) == want


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_email_with_the_answers_pasted_in(form_id):
    want = canonical(form_id)
    raw = mail("Hello,\n\n" + answers_text(registry().form(form_id), want) + "\nRegards\n", subject="Form answers")
    assert parsed(raw, "reply.eml", form_id) == want


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_help_text_typed_as_an_answer_is_kept(fmt):
    """ "DD/MM/YYYY" is printed beside date boxes and never a date, but in a free-text answer or an
    action it is what the writer typed (a property test found this)."""
    want = canonical("kirklees-appendix-5")
    want["response_summary"] = "3\nDD/MM/YYYY\nagreed"
    want["actions"][0]["action"] = "DD/MM/YYYY"
    assert parsed(render(registry().form("kirklees-appendix-5"), want, fmt), f"x.{fmt}", "kirklees-appendix-5") == want


# --- property tests -------------------------------------------------------------------------------

# Printable Unicode (letters, marks, digits, punctuation, symbols and spaces), no control characters.
TEXT = st.text(
    st.characters(
        categories=["L", "M", "N", "P", "S", "Zs"],
        exclude_characters="☒☐☑✓✔✗✘⊠■□|\u00a0",
    ),
    max_size=40,
).map(lambda s: " ".join(s.split()))


@st.composite
def answers(draw, form_id: str, email: bool = False):
    """Canonical data: every optional field maybe empty, Unicode everywhere, up to 25 rows."""
    spec = registry().form(form_id)
    data = {}
    for f in spec.fields:
        data[f.key] = draw(value_for(f, email))
    return validate_data(spec, data)


def value_for(f, email: bool = False):
    if f.type == "text":  # a cell of only a dash is read as "nothing written", as people mean it
        text = TEXT.filter(lambda s: s not in ("-", "–", "—") and not (email and s.startswith(">")))
        return text.filter(bool) if f.required else text
    if f.type == "textarea":
        # In an e-mail body a line starting with ">" is quoted text from an earlier message.
        line = TEXT.filter(lambda s: s and not (email and s.startswith(">")))
        lines = st.lists(line, min_size=1 if f.required else 0, max_size=3)
        return lines.map("\n".join)
    if f.type == "date":
        day = st.dates(min_value=__import__("datetime").date(1990, 1, 1)).map(lambda d: d.isoformat())
        return day if f.required else st.one_of(st.just(""), day)
    if f.type == "choice":
        values = st.sampled_from([c.value for c in f.choices])
        return values if f.required else st.one_of(st.just(""), values)
    if f.type == "ticks":
        return st.lists(st.sampled_from([c.value for c in f.choices]), min_size=1 if f.required else 0, unique=True)
    row = st.fixed_dictionaries({c.key: value_for(c, email) for c in f.columns})
    return st.lists(row, min_size=1 if f.required else 0, max_size=25)


def _required_text_nonblank(form_id, data) -> bool:
    spec = registry().form(form_id)
    return all(data[f.key].strip() for f in spec.fields if f.required and f.type == "text")


# Few examples and no shrinking, so the suite stays fast; a failure still prints its example.
PROPERTY = settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("form_id", ["kirklees-appendix-5", "kirklees-appendix-3", "merton-disagreement-record"])
@PROPERTY
@given(data=st.data())
def test_property_render_then_parse(form_id, fmt, data):
    want = data.draw(answers(form_id))
    assert parsed(render(registry().form(form_id), want, fmt), f"x.{fmt}", form_id) == want


@pytest.mark.parametrize("form_id", ["kirklees-appendix-5", "kirklees-appendix-3", "nt-appendix-a"])
@PROPERTY
@given(data=st.data())
def test_property_answers_pasted_in_an_email(form_id, data):
    want = data.draw(answers(form_id, email=True))
    raw = mail(answers_text(registry().form(form_id), want))
    assert parsed(raw, "reply.eml", form_id) == one_line_cells(form_id, want)


def test_a_date_pattern_typed_on_a_line_of_a_pasted_answer_stays():
    """The form prints "DD/MM/YYYY" beside its date boxes, so that hint is dropped where a date is read;
    typed on a line of a free-text answer pasted in an e-mail it is the person's words (found by the
    property above)."""
    spec = registry().form("nt-appendix-a")
    want = canonical("nt-appendix-a") | {"section_b": "Seen on\nDD/MM/YYYY\nto be confirmed"}
    assert parsed(mail(answers_text(spec, want)), "reply.eml", spec.id)["section_b"] == want["section_b"]


def one_line_cells(form_id: str, data: dict) -> dict:
    """A pasted table row is one line, so line breaks inside a cell come back as spaces."""
    out = dict(data)
    for f in registry().form(form_id).fields:
        if f.type == "rows":
            out[f.key] = [{k: " ".join(v.split("\n")) for k, v in row.items()} for row in data[f.key]]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_flattened_pdf_is_read_from_its_drawing(form_id, tmp_path):
    """pdftk flattens a completed PDF: no fields remain, only the drawn page. Answers come back from
    the text beside the drawn answer boxes (labels wrapped within their column joined again; Arabic
    drawn right to left as shaped glyphs read back as letters in reading order), ticks and radio
    dots from the drawings inside their boxes."""
    pdftk = shutil.which("pdftk")
    if pdftk is None:
        pytest.skip("pdftk (apt-get install pdftk-java) is not installed")
    spec = registry().form(form_id)
    want = canonical(form_id)
    (tmp_path / "in.pdf").write_bytes(render(spec, want, "pdf"))
    out = tmp_path / "flat.pdf"
    subprocess.run([pdftk, str(tmp_path / "in.pdf"), "output", str(out), "flatten"], check=True, timeout=60)
    result = parse(out.read_bytes(), "flat.pdf")
    assert result.form_id == form_id
    data, _ = result.canonical(spec)
    assert data == want
