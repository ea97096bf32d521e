"""PDFs: fillable forms filled by any reader, and Word forms saved or printed as PDF."""

from __future__ import annotations

import io

import pytest

from forms import registry
from forms.schema import validate_data
from parsers import ParseError, parse
from service.documents.records import render
from tests.conftest import ALL_FORMS, sample
from tests.parsers.test_docx import LEGACY, expected_data, soffice_convert


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    if not LEGACY.exists():
        pytest.skip("the partnerships' sample forms are not on this machine")
    out = tmp_path_factory.mktemp("pdf")
    return {p.stem: p for p in soffice_convert(sorted(LEGACY.glob("*.docx")), "pdf", out)}


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ["nt-appendix-a", "kirklees-appendix-5", "kirklees-appendix-3"])
def test_word_form_saved_as_pdf_is_read_from_its_text_and_tables(printed, form_id):
    result = parse(printed[form_id].read_bytes(), f"{form_id}.pdf")
    assert result.form_id == form_id, result.reason
    assert result.kind == "pdf"
    data, _ = result.canonical(registry().form(form_id))
    want = expected_data()[form_id]
    assert {k: data[k] for k in want} == want


@pytest.fixture(scope="module")
def ours_saved_as_pdf(tmp_path_factory):
    """This service's completed Word records, each saved as PDF by LibreOffice as a person might."""
    out = tmp_path_factory.mktemp("ours")
    sources = []
    for form_id in ALL_FORMS:
        path = out / f"{form_id}.docx"
        path.write_bytes(render(registry().form(form_id), sample(form_id), "docx"))
        sources.append(path)
    return {p.stem: p for p in soffice_convert(sources, "pdf", out)}


def _one_line(data: dict, spec) -> dict:
    """Multi-line answers with their line breaks as spaces: in a PDF's text a line break written
    near the cell's edge cannot be told from the writer's wrapping."""
    flat = {f.key for f in spec.fields if f.type == "textarea"}
    columns = {c.key for f in spec.fields for c in f.columns if c.type == "textarea"}

    def squash(value, multi):
        return " ".join(value.split()) if multi and isinstance(value, str) else value

    out = {k: squash(v, k in flat) for k, v in data.items()}
    for f in spec.fields:
        if f.type == "rows":
            out[f.key] = [{k: squash(v, k in columns) for k, v in row.items()} for row in out[f.key]]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_our_word_record_saved_as_pdf_reads_back(ours_saved_as_pdf, form_id):
    """Every answer, Arabic script included (drawn right to left, read back in reading order)."""
    spec = registry().form(form_id)
    result = parse(ours_saved_as_pdf[form_id].read_bytes(), f"{form_id}.pdf")
    assert result.form_id == form_id, result.reason
    data, _ = result.canonical(spec)
    assert _one_line(data, spec) == _one_line(validate_data(spec, sample(form_id)), spec)


def test_right_to_left_text_is_read_in_reading_order():
    from parsers.pdf_page import _logical

    drawn = "Ahmed Al-Rashid \ufeaa\ufeb7\u0627\ufeae\ufedf\u0627 \ufeaa\ufee4\ufea3\u0623"  # as pdfplumber gives it
    assert _logical(drawn) == "Ahmed Al-Rashid \u0623\u062d\u0645\u062f \u0627\u0644\u0631\u0627\u0634\u062f"
    assert _logical("\ufefb 12 \ufe8d") == "\u0627 12 \u0644\u0627"  # numbers stay left to right; lam-alef
    assert _logical("Zoë Łukasiewicz") == "Zoë Łukasiewicz"


def encrypted(owner: str, user: str) -> bytes:
    import pypdf

    source = pypdf.PdfReader(io.BytesIO(text_pdf(["Name: Example"])))
    writer = pypdf.PdfWriter()
    for page in source.pages:
        writer.add_page(page)
    writer.encrypt(user_password=user, owner_password=owner, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_pdf(lines: list[str], pages: int = 1) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for _ in range(pages):
        y = 800
        for line in lines:
            pdf.drawString(50, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def test_pdf_with_empty_user_password_is_opened():
    lines = [
        "Escalation Notification to the North Tyneside Safeguarding Children Partnership",
        "Name: Zoë Example",
        "Role: Designated Safeguarding Lead",
        "Agency: Riverside Primary Academy",
        "Contact details: zoe@riverside.example",
    ]
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf(lines)))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    result = parse(out.getvalue(), "form.pdf")
    assert result.form_id == "nt-appendix-a"
    assert result.answers["role"].value == "Designated Safeguarding Lead"


def test_pdf_with_a_real_password_is_refused_with_that_reason():
    with pytest.raises(ParseError, match="password"):
        parse(encrypted("owner", "user-secret"), "form.pdf")


def test_pdf_of_unrelated_text_is_not_a_recognised_form():
    result = parse(text_pdf(["Invoice 1234", "Total: 12.00"]), "invoice.pdf")
    assert result.form_id is None
    assert "not a recognised form" in result.reason


def test_a_pdf_without_text_is_read_by_ocr_and_a_blank_one_says_so():
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.rect(50, 50, 200, 200)
    pdf.showPage()
    pdf.save()
    with pytest.raises(ParseError, match="OCR found no words on the scan"):
        parse(out.getvalue(), "scan.pdf")
