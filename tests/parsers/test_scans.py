"""Scans and photos of every form, made here (tests/parsers/scans.py), read back by OCR.

Each form's completed record is printed to page images and spoiled as a copier or a phone does;
the values typed in the letters Tesseract's English model reads must come back, each answer with
its confidence, and the result must ask a person to confirm it before it is applied.
"""

from __future__ import annotations

import shutil

import pytest

from forms import registry
from forms.schema import validate_data
from parsers import ParseError, parse
from parsers.sandbox import parse_safely
from service.documents.records import render
from tests.conftest import ALL_FORMS, sample
from tests.parsers.scans import (
    CLEAN,
    COPIER,
    PHONE,
    distance,
    misread,
    read_as_text,
    read_back,
    scanned,
    typed_values,
)

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (make test-tools installs tesseract-ocr)"
)


def _read(form_id: str, how, fmt: str, name: str):
    spec = registry().form(form_id)
    want = validate_data(spec, sample(form_id))
    result = parse(scanned(render(spec, want, "pdf"), how, fmt), name)
    assert result.form_id == form_id, result.reason
    got, _ = result.canonical(spec)
    return result, want, got


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_a_clean_scan_to_pdf_of_every_form_is_read(form_id):
    result, want, got = _read(form_id, CLEAN, "pdf", "scan.pdf")
    exact, near, total = read_back(want, got)
    assert near == total, misread(want, got)  # every value within one character (0 read as O)
    assert exact >= total - 1, misread(want, got)
    assert result.confirm and "OCR" in result.confirm
    assert result.kind == "pdf" and result.warnings[0].startswith("read by OCR")
    filled = [a for a in result.answers.values() if a.value not in ("", [], None)]
    assert filled and all(0 <= a.confidence <= 100 for a in filled)


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_a_copier_scan_at_200_dpi_skewed_blurred_and_speckled_is_read(form_id):
    _, want, got = _read(form_id, COPIER, "tiff", "scan.tiff")
    exact, near, total = read_back(want, got)
    assert exact >= 0.8 * total, misread(want, got)
    assert near >= 0.85 * total, misread(want, got)


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_a_phone_photo_of_a_page_reads_what_a_clean_scan_of_it_reads(form_id):
    """On a desk, seen at an angle, turned, in a shadow, out of focus, a phone's JPEG: the page is
    found and flattened, the light evened out and the box lines removed before OCR, so the values a
    clean scan of the same page reads exactly come back from the photo (all but one; all but one
    within a character), and nothing is applied unseen."""
    result, want, got = _read(form_id, PHONE, "jpeg", "IMG_2041.jpg")
    _, _, clean = _read(form_id, CLEAN, "png", "scan.png")  # the same page, scanned clean
    on_page = set(typed_values(want)) - set(misread(want, clean))
    exact = on_page - set(misread(want, got))
    near = {k for k in on_page if distance(read_as_text(got).get(k, ""), typed_values(want)[k]) <= 1}
    assert on_page, "a clean scan of the page reads none of its values"
    assert len(exact) >= len(on_page) - 1, {k: misread(want, got)[k] for k in on_page - exact}
    assert len(near) >= len(on_page) - 1, {k: misread(want, got)[k] for k in on_page - near}
    assert result.kind == "image" and result.confirm
    filled = [a for a in result.answers.values() if a.value not in ("", [], None)]
    assert filled and all(0 <= a.confidence <= 100 for a in filled)


@pytest.mark.slow
def test_a_table_in_a_phone_photo_is_read_cell_by_cell():
    """The conference table's ruled lines are found in the photo and each word goes to the cell it
    lies in (a cell's wrapped lines joined), as a text PDF's table is read; a row's cells are not
    shifted into the next column where a thin line broke up in the photo."""
    _, want, got = _read("kirklees-appendix-3", PHONE, "jpeg", "IMG_2042.jpg")
    exact, near, total = read_back(want, got)
    assert [row["cp_chair"] for row in got["rows"]] == [row["cp_chair"] for row in want["rows"]]
    assert [row["agency"] for row in got["rows"]] == [row["agency"] for row in want["rows"]]
    assert near >= total - 1 and exact >= total - 2, misread(want, got)


def test_the_answers_keep_their_confidence_through_the_worker():
    spec = registry().form("sscp-outcome-resolution-notice")
    content = scanned(render(spec, sample(spec.id), "pdf"), CLEAN, "png")
    result = parse_safely(content, "scan.png")  # OCR in the worker, within its limits
    assert result.form_id == spec.id and result.confirm
    assert result.answers["name"].value == "Grace Okonkwo"
    assert result.answers["name"].confidence > 80
    assert result.to_json()["fields"]["name"]["confidence"] > 80


def test_a_damaged_image_is_refused_with_a_reason():
    content = scanned(render(registry().form("nt-appendix-a"), sample("nt-appendix-a"), "pdf"), CLEAN, "png")
    with pytest.raises(ParseError, match="image is damaged"):
        parse(content[: len(content) // 3], "scan.png")


def test_an_image_too_large_for_a_page_is_refused_before_it_is_decoded():
    import io
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)  # 1.6 billion pixels, grey
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(ParseError, match="larger than any scanned page"):
        parse_safely(io.BytesIO(png).getvalue(), "scan.png")


def test_a_scan_attached_to_an_email_is_read_and_held_for_a_person():
    from email.message import EmailMessage

    spec = registry().form("sscp-outcome-resolution-notice")
    message = EmailMessage()
    message["From"], message["To"] = "grace.okonkwo@nhs.example", "escalations@escalate.example"
    message["Subject"] = "Outcome resolution notice (scanned)"
    message.set_content("Please find the signed notice scanned.")
    scan = scanned(render(spec, sample(spec.id), "pdf"), CLEAN, "jpeg")
    message.add_attachment(scan, maintype="image", subtype="jpeg", filename="notice.jpg")
    result = parse(message.as_bytes(), "notice.eml")
    assert result.kind == "email" and result.form_id == spec.id, result.reason
    assert result.confirm and "read from attachment notice.jpg" in result.warnings
    assert result.answers["role"].value == "Director of Nursing"
