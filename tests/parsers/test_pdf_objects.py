"""The pages the service reads text PDFs from (parsers.pdf_objects) hold exactly the objects
pdfplumber itself makes, on every kind of text PDF the service meets: so the speed-up changes no
reading, and a pdfplumber upgrade that changes its objects fails here first."""

from __future__ import annotations

import io
import shutil
import subprocess

import pdfplumber
import pytest

from forms import registry
from parsers.pdf_objects import ContentPage
from service.documents.records import render
from tests.conftest import ALL_FORMS, sample
from tests.parsers.test_docx import LEGACY, soffice_convert
from tests.parsers.test_kinds import cells_pdf
from tests.parsers.test_pdf import text_pdf


def assert_same_objects(content: bytes) -> None:
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        for page in pdf.pages:
            ours = ContentPage.of(page).objects
            assert ours.keys() == page.objects.keys()
            for kind, objects in page.objects.items():
                assert ours[kind] == objects, f"page {page.page_number}: the {kind} objects differ"


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_a_completed_and_a_blank_form_hold_pdfplumbers_objects(form_id):
    spec = registry().form(form_id)
    assert_same_objects(render(spec, sample(form_id), "pdf"))
    assert_same_objects(render(spec, None, "pdf"))


def test_a_page_of_ruled_cells_and_right_to_left_lines_hold_pdfplumbers_objects():
    assert_same_objects(cells_pdf(200, 10))
    assert_same_objects(text_pdf(["Name: Zoë Łukasiewicz", "\u0623\u062d\u0645\u062f 12"], pages=2))


def test_a_page_whose_media_box_does_not_start_at_the_origin_holds_pdfplumbers_objects():
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(cells_pdf(40, 4)))
    writer = pypdf.PdfWriter()
    writer.add_page(reader.pages[0])
    writer.pages[0].mediabox = pypdf.generic.RectangleObject([15, 25, 1215, 1725])
    out = io.BytesIO()
    writer.write(out)
    with pdfplumber.open(io.BytesIO(out.getvalue())) as pdf:
        assert pdf.pages[0].mediabox[0] == 15  # the case pdfplumber moves every object for
    assert_same_objects(out.getvalue())


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_a_flattened_form_holds_pdfplumbers_objects(form_id, tmp_path):
    """Flattened, a form's fields become drawings inside form XObjects: boxes, ticks and radio dots."""
    pdftk = shutil.which("pdftk")
    if pdftk is None:
        pytest.skip("pdftk (apt-get install pdftk-java) is not installed")
    spec = registry().form(form_id)
    (tmp_path / "in.pdf").write_bytes(render(spec, sample(form_id), "pdf"))
    out = tmp_path / "flat.pdf"
    subprocess.run([pdftk, str(tmp_path / "in.pdf"), "output", str(out), "flatten"], check=True, timeout=60)
    with pdfplumber.open(out) as pdf:
        assert any(page.curves or page.rects for page in pdf.pages)
    assert_same_objects(out.read_bytes())


@pytest.mark.slow
@pytest.mark.skipif(not LEGACY.exists(), reason="the partnerships' sample forms are not on this machine")
def test_a_word_form_saved_as_pdf_holds_pdfplumbers_objects(tmp_path):
    for printed in soffice_convert(sorted(LEGACY.glob("*.docx")), "pdf", tmp_path):
        assert_same_objects(printed.read_bytes())
