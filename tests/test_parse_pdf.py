"""PDFs: fillable forms filled by any reader, and Word forms saved or printed as PDF."""

from __future__ import annotations

import io

import pytest

from forms import registry
from parsers import ParseError, parse
from tests.test_parse_docx import LEGACY, expected_data, soffice_convert


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


def test_a_scanned_pdf_without_text_says_so():
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.rect(50, 50, 200, 200)
    pdf.showPage()
    pdf.save()
    with pytest.raises(ParseError, match="no text"):
        parse(out.getvalue(), "scan.pdf")
