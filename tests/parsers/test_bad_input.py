"""Hostile and broken inputs: each gets a clear reason, in bounded time and memory, and the
parser process that failed is replaced so the next input is read normally.

Every input is generated here. They go through parsers.sandbox (a worker process with a 300 MB
address-space cap and a 10 s time limit), exactly as ingestion uses it.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest

from parsers import ParseError
from parsers.sandbox import Worker, parse_safely
from tests.parsers.test_docx import LEGACY, unrelated_letter

GOOD = LEGACY / "kirklees-appendix-5.docx"


def still_reads_good_documents():
    if GOOD.exists():
        assert parse_safely(GOOD.read_bytes(), "good.docx").form_id == "kirklees-appendix-5"


def refused(content: bytes, name: str, match: str) -> str:
    with pytest.raises(ParseError, match=match) as caught:
        parse_safely(content, name)
    still_reads_good_documents()
    return str(caught.value)


def test_not_a_document():
    refused(b"\x00\x01 this is not any kind of document \xff" * 100, "form.docx", "not a document")


def test_truncated_zip():
    content = GOOD.read_bytes() if GOOD.exists() else unrelated_letter()
    refused(content[: len(content) // 2], "form.docx", "truncated")


def test_a_damaged_compressed_part():
    """The zip's directory is whole but a part's compressed bytes are not (found by atheris)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>" + "<w:p>Escalation record</w:p>" * 400 + "</w:document>")
    content = bytearray(out.getvalue())
    start = content.index(b"word/document.xml") + len("word/document.xml")
    content[start + 40 : start + 48] = b"\xff" * 8  # inside the deflate stream
    refused(bytes(content), "form.docx", "part word/document.xml is damaged")


def zip_bomb(size: int = 150 * 1024 * 1024) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return out.getvalue()


def test_zip_bomb_is_refused_before_it_is_unpacked():
    content = zip_bomb()
    assert len(content) < 1024 * 1024
    refused(content, "bomb.docx", "zip bomb")


def test_xml_entity_expansion():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
        "<w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", laughs)
    refused(out.getvalue(), "laughs.docx", "DTD or entities")


def raw_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF written by hand, with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref))
    return out.getvalue()


def test_pdf_decompression_bomb():
    compressor = zlib.compressobj(9)
    chunk = b"0 0 m " * 200_000
    stream = b"".join(compressor.compress(chunk) for _ in range(400)) + compressor.flush()  # ~480 MB inflated
    content = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        ]
    )
    assert len(content) < 2 * 1024 * 1024
    refused(content, "bomb.pdf", "beyond the memory limit")


def test_pdf_reference_loop():
    content = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )
    refused(content, "loop.pdf", "not a readable|refused|no pages")


def test_a_500_page_pdf_is_refused_by_its_page_count():
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for n in range(500):
        pdf.drawString(50, 800, f"Page {n + 1}")
        pdf.showPage()
    pdf.save()
    refused(out.getvalue(), "long.pdf", "500 pages")


def test_a_scanned_pdf_page_larger_than_any_scanned_page_is_refused_before_it_is_drawn():
    """A PDF of no text whose page is 69 inches square: drawn at OCR's 300 dpi it would be 434 million
    pixels. Refused by its size, as an image that large is, not by the reader running out of memory."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    document.new_page(595, 842)  # an A4 page first: each page is weighed
    document.new_page(5000, 5000)
    out = io.BytesIO()
    document.save(out)
    refused(out.getvalue(), "scan.pdf", "page 2 of the scan is larger than any scanned page")


def test_encrypted_pdf():
    from tests.parsers.test_pdf import encrypted

    refused(encrypted("owner", "a real password"), "locked.pdf", "password")


def test_unrelated_letter_as_docx():
    result = parse_safely(unrelated_letter(), "letter.docx")
    assert result.form_id is None
    assert "not a recognised form" in result.reason


def test_email_with_no_form():
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@school.example", "escalations@escalate.example", "Hello"
    m.set_content("Can we talk tomorrow?")
    result = parse_safely(m.as_bytes(), "hello.eml")
    assert result.form_id is None
    assert "carries no form" in result.reason


def test_a_30_mb_attachment_is_not_read():
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@school.example", "escalations@escalate.example", "Big form"
    m.set_content("Attached.")
    big = b"%PDF-1.7\n" + b"0" * (30 * 1024 * 1024)
    m.add_attachment(big, maintype="application", subtype="pdf", filename="big.pdf")
    result = parse_safely(m.as_bytes(), "big.eml")
    assert result.form_id is None
    assert "big.pdf is 30.0 MB (at most 20 MB)" in result.reason


def test_a_worker_over_its_time_limit_is_stopped_with_that_reason():
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for n in range(45):
        for line in range(60):
            pdf.drawString(40, 800 - line * 12, f"Name: line {line} of page {n} with some words to read")
        pdf.showPage()
    pdf.save()
    worker = Worker(seconds=1)
    try:
        with pytest.raises(ParseError, match=r"longer than 3 s|more than 1 s of processor time"):
            worker.parse(out.getvalue(), "slow.pdf", None)
        if GOOD.exists():
            assert worker.parse(GOOD.read_bytes(), "good.docx", None).form_id == "kirklees-appendix-5"
    finally:
        worker.stop()


def test_files_named_for_what_they_are_not(tmp_path: Path):
    letter = unrelated_letter()
    result = parse_safely(letter, "letter.pdf")  # a Word file named .pdf is read as Word
    assert result.kind == "docx"


def test_a_reader_warmed_for_a_worker_loads_its_libraries_before_the_first_input():
    """An intake worker's reader (parsers.sandbox.warm) loads the typed kinds' libraries as it starts;
    one started for a single file loads them only when an input needs them."""
    import time

    warm, cold = Worker(), Worker()
    warm.preload = True

    def loaded(worker: Worker) -> bool:
        return "lxml" in Path(f"/proc/{worker.process.pid}/maps").read_text()

    try:
        warm.start()
        cold.start()
        deadline = time.monotonic() + 60
        while not loaded(warm) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loaded(warm) and not loaded(cold)
        if GOOD.exists():
            assert warm.parse(GOOD.read_bytes(), "good.docx", None).form_id == "kirklees-appendix-5"
            assert cold.parse(GOOD.read_bytes(), "good.docx", None).form_id == "kirklees-appendix-5"
            assert loaded(cold)
    finally:
        warm.stop()
        cold.stop()
