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
    on_page,
    photos,
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
    assert exact == near == total, misread(want, got)  # every value (a postcode's 0 read as O is put right)
    assert _options(form_id, want) == _options(form_id, got)  # every option's mark, and no false tick
    assert result.confirm and "OCR" in result.confirm
    assert result.kind == "pdf" and result.warnings[0].startswith("read by OCR")
    filled = [a for a in result.answers.values() if a.value not in ("", [], None)]
    assert filled and all(0 <= a.confidence <= 100 for a in filled)


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_a_copier_scan_at_200_dpi_skewed_blurred_and_speckled_is_read(form_id):
    _, want, got = _read(form_id, COPIER, "tiff", "scan.tiff")
    exact, near, total = read_back(want, got)
    assert exact >= total - 1 and near >= total - 1, misread(want, got)  # was 0.8 and 0.85 of them
    assert not _false_ticks(form_id, want, got)  # a mark may be missed (counted above), never one made up


def _options(form_id: str, data: dict) -> dict:
    """The answers given by ticking an option."""
    return {f.key: data[f.key] for f in registry().form(form_id).fields if f.type in ("choice", "ticks")}


def _false_ticks(form_id: str, want: dict, got: dict) -> dict:
    """The options read as ticked that were not."""

    def chosen(value) -> set:
        return set(value if isinstance(value, list) else [value]) - {""}

    wanted = _options(form_id, want)
    extra = {k: chosen(v) - chosen(wanted[k]) for k, v in _options(form_id, got).items()}
    return {k: v for k, v in extra.items() if v}


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


def test_an_iphone_photo_in_heic_is_read_as_the_same_page_in_jpeg():
    from parsers import sniff

    spec = registry().form("sscp-outcome-resolution-notice")
    want = validate_data(spec, sample(spec.id))
    pdf = render(spec, want, "pdf")
    heic, jpeg = scanned(pdf, CLEAN, "heic"), scanned(pdf, CLEAN, "jpeg")
    assert sniff(heic, "IMG_0001.HEIC") == "heic"
    from_heic = parse_safely(heic, "IMG_0001.HEIC")  # pillow-heif opens it in the worker
    from_jpeg = parse_safely(jpeg, "IMG_0001.jpg")
    assert from_heic.form_id == from_jpeg.form_id == spec.id, from_heic.reason
    got = from_heic.canonical(spec)[0]
    assert got == from_jpeg.canonical(spec)[0]
    exact, near, total = read_back(want, got)
    assert near >= total - 1 and exact >= 0.8 * total, misread(want, got)
    # Held for a person as any OCR result: confirm, and each answer's confidence.
    assert from_heic.kind == "image" and from_heic.confirm == from_jpeg.confirm
    assert from_heic.warnings[0] == "read by OCR from 1 page image"
    assert from_heic.answers["name"].confidence > 80


def test_a_heic_larger_than_any_page_is_refused_before_it_is_decoded():
    import io
    import struct

    import pillow_heif
    from PIL import Image

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("L", (64, 64), 255)).save(out, quality=50, enc_params={"preset": "ultrafast"})
    small = out.getvalue()
    at = small.index(b"ispe") + 8  # the image's size as the file declares it: 9,000 x 9,000 (81 million pixels)
    claimed = small[:at] + struct.pack(">II", 9000, 9000) + small[at + 8 :]
    with pytest.raises(ParseError, match="OCR found no words"):
        parse_safely(small, "IMG_0002.HEIC")  # the same file as it was: read, and blank
    with pytest.raises(ParseError, match=r"^refused: the image is larger than any scanned page$"):
        parse_safely(claimed, "IMG_0002.HEIC")


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


def test_a_ticked_answer_is_as_sure_as_its_options_words_not_the_questions():
    """The options ticked are named by their values: their confidence is that of the ticked options'
    printed labels as OCR read them, never that of the question's words (printed, so always sure)."""
    from parsers.ocr import Word
    from parsers.result import Answer
    from parsers.scan import ticked_confidence

    spec = registry().form("kirklees-appendix-5")
    nature = spec.field("nature")
    ticked = [nature.choices[0], nature.choices[1]]
    words = [Word(w, 96.0, 0, 0, 10, 10) for w in nature.label.split()]  # the question, read clearly
    words += [Word(w, 91.0, 0, 20, 10, 10) for w in ticked[0].label.split()]
    words += [Word(w, 91.0 if n else 43.0, 0, 40, 10, 10) for n, w in enumerate(ticked[1].label.split())]
    answer = Answer([c.value for c in ticked], nature.label)
    assert ticked_confidence(spec, "nature", answer, words) == 43.0
    assert ticked_confidence(spec, "child_name", Answer("x", "Child"), words) is None  # not a tick


def _mail(photographs: list[tuple[str, bytes]]) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"] = "amira.haddad@health.example", "escalations@escalate.example"
    message["Subject"] = "Appendix 5 (photos)"
    message.set_content("Photos of the form attached, page 1 first.")
    for name, content in photographs:
        message.add_attachment(content, maintype="image", subtype="jpeg", filename=name)
    return message.as_bytes()


def test_a_form_photographed_page_by_page_and_emailed_is_read_as_one_form():
    """Appendix 5's answers run onto page 2 (its agencies' response, the actions, comments). Each page
    photographed on its own and attached to one e-mail, the photos are read together as the form's
    pages: page 2's values come back, as a copier's scan of the whole document reads them. (Before,
    each photo was read on its own and the best kept: page 2's nine values were lost.)"""
    spec = registry().form("kirklees-appendix-5")
    want = validate_data(spec, sample(spec.id))
    pdf = render(spec, want, "pdf")
    second = on_page(pdf, want, 2)
    assert len(second) >= 8  # the test's premise: answers on page 2 that page 1 has not got
    shots = [(f"IMG_204{n}.jpg", photo) for n, photo in enumerate(photos(pdf, COPIER), 1)]
    result = parse_safely(_mail(shots), "photos.eml")  # in the worker, within its limits
    assert result.kind == "email" and result.form_id == spec.id, result.reason
    got = read_as_text(result.canonical(spec)[0])
    whole = read_as_text(parse(scanned(pdf, COPIER, "tiff"), "scan.tiff").canonical(spec)[0])
    typed = typed_values(want)
    assert {k: got.get(k) for k in second} == {k: whole.get(k) for k in second}
    assert sum(got.get(k) == typed[k] for k in second) >= len(second) - 1, misread(want, result.canonical(spec)[0])
    assert result.warnings[0] == "read from attachments IMG_2041.jpg, IMG_2042.jpg (as one form's pages, in that order)"
    assert result.warnings[1] == "read by OCR from 2 page images" and result.confirm


def test_photos_of_two_forms_read_the_first_form_and_name_the_photo_left_out():
    """A photo that begins another form (its title and labels) is not read into the first: the form
    the first photo is comes back, without the other's answers, and the warning names what was left."""
    first, other = registry().form("sscp-outcome-resolution-notice"), registry().form("gloucestershire-dispute-record")
    shots = [
        ("notice.jpg", photos(render(first, sample(first.id), "pdf"), CLEAN)[0]),
        ("dispute.jpg", photos(render(other, sample(other.id), "pdf"), CLEAN)[0]),
    ]
    result = parse(_mail(shots), "photos.eml")
    assert result.form_id == first.id, result.reason
    assert result.answers["role"].value == "Director of Nursing"
    theirs = set(typed_values(validate_data(other, sample(other.id))).values())
    assert not theirs & {str(answer.value) for answer in result.answers.values()}
    assert result.warnings[1] == "read by OCR from 1 page image"
    assert (
        f"not read with this form: dispute.jpg (dispute.jpg begins another form, {other.title}); "
        "send that form's pages on their own"
    ) in result.warnings


def test_more_photos_than_one_form_has_pages_are_refused_before_any_is_read():
    import io

    from PIL import Image

    from parsers.ocr import MAX_PAGES

    out = io.BytesIO()
    Image.new("L", (40, 40), 255).save(out, format="JPEG")
    shots = [(f"IMG_{n}.jpg", out.getvalue() + bytes([n])) for n in range(MAX_PAGES + 1)]  # each its own file
    result = parse(_mail(shots), "photos.eml")
    assert not result.recognised
    assert f"refused: {MAX_PAGES + 1} photos or scans are more pages than one form has" in result.reason
    assert result.reason.startswith("the e-mail carries no form: attachments IMG_0.jpg, IMG_1.jpg")


def test_a_set_of_photos_keeps_each_photos_bytes_and_is_read_only_within_bounds():
    import io
    import zipfile

    from parsers import sniff
    from parsers.photoset import MARKER, pack, unpack

    shots = [("IMG_1.jpg", b"\xff\xd8\xff first"), ("scan 2.png", b"\x89PNG\r\n\x1a\n second")]
    packed = pack(shots)
    assert sniff(packed, "2 photos: IMG_1.jpg, scan 2.png") == "photos"
    assert unpack(packed) == shots and pack(shots) == packed  # the same photos: the same bytes (a duplicate)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("01-IMG_1.jpg", b"\xff\xd8\xff" + b"\0" * 1000)
    assert sniff(out.getvalue(), "photos.zip") == "zip"  # a zip not made here is refused as before
    with zipfile.ZipFile(out, "a") as archive:
        archive.comment = MARKER
    with pytest.raises(ParseError, match="compressed"):
        parse(out.getvalue(), "photos.zip")  # marked as a set, but compressed: never inflated
    with pytest.raises(ParseError, match="refused: 11 photos or scans are more pages than one form has"):
        parse(pack([(f"IMG_{n}.jpg", b"\xff\xd8\xff") for n in range(11)]), "set")
