"""What the public parser test suites showed (issue 16): the kind from the bytes, reasons in words,
Strict Open XML, headers of any length in bounded memory, and many table cells in linear time.

Every input is made here: the same kinds of file as the suites hold, never the suites' files.
"""

from __future__ import annotations

import base64
import io
import re
import tracemalloc
import zipfile

import pytest

from forms import registry
from parsers import ParseError, parse, sniff
from parsers.sandbox import parse_safely
from service.documents.records import render
from tests.conftest import sample

W = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT = b"http://purl.oclc.org/ooxml/wordprocessingml/main"


def long_header_email(lines: int = 3300) -> bytes:
    """A message whose Subject is `lines` folded encoded words, as flanker's long-header.eml."""
    words = ("=?utf-8?b?" + base64.b64encode(f"Escalation note {n} ☒".encode()).decode() + "?=" for n in range(lines))
    subject = "\r\n ".join(words)
    return (
        f"From: practitioner@agency.example\r\nTo: escalations@escalate.example\r\nSubject: {subject}\r\n"
        "Message-ID: <long-header@agency.example>\r\n\r\nPlease see the form.\r\n"
    ).encode()


def strict_docx(form_id: str = "nt-appendix-a") -> bytes:
    """This service's DOCX with its WordprocessingML in the Strict namespaces, as Word saves
    "Strict Open XML Document"."""
    source = zipfile.ZipFile(io.BytesIO(render(registry().form(form_id), sample(form_id), "docx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith((".xml", ".rels")):
                data = data.replace(W, STRICT).replace(
                    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                    b"http://purl.oclc.org/ooxml/officeDocument/relationships",
                )
            target.writestr(info, data)
    return out.getvalue()


def cells_pdf(cells: int = 2000, columns: int = 20) -> bytes:
    """One page with a ruled table of `cells` cells, each with text (as pypdf's issue-301.pdf)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(1200, 1700))
    rows, width, height, top, left = cells // columns, 58, 16, 1680, 20
    page.setFont("Helvetica", 5)
    for r in range(rows + 1):
        page.line(left, top - r * height, left + columns * width, top - r * height)
    for c in range(columns + 1):
        page.line(left + c * width, top, left + c * width, top - rows * height)
    for r in range(rows):
        for c in range(columns):
            page.drawString(left + c * width + 2, top - (r + 1) * height + 5, f"r{r}c{c} value")
    page.save()
    return out.getvalue()


def encrypted_docx(password: str = "secret") -> bytes:
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(render(registry().form("nt-appendix-a"), sample("nt-appendix-a"), "docx"))
    out = io.BytesIO()
    OOXMLFile(plain).encrypt(password, out)
    assert msoffcrypto  # the same library Word's encryption is read with elsewhere
    return out.getvalue()


def test_a_subject_of_thousands_of_encoded_words_is_read_within_the_limits():
    content = long_header_email()
    assert content.count(b"=?utf-8?b?") == 3300
    result = parse_safely(content, "long-header.eml")  # 300 MB, 10 s: it took 370 MB before
    assert result.email["subject"].startswith("Escalation note 0 ☒Escalation note 1 ☒")
    assert result.reason.startswith("the e-mail carries no form")


def test_a_page_of_two_thousand_table_cells_is_read_cell_by_cell():
    result = parse_safely(cells_pdf(), "cells.pdf")  # 12 s of processor time before: refused
    assert result.reason.startswith("not a recognised form")


def test_each_cell_gets_exactly_its_own_text():
    from parsers.pdf import pdf_blocks

    (table,) = [b for b in pdf_blocks(cells_pdf(cells=60, columns=6)) if hasattr(b, "rows")]
    assert table.rows[0] == [f"r0c{c} value" for c in range(6)]
    assert table.rows[9][5] == "r9c5 value" and len(table.rows) == 10


def test_strict_open_xml_is_read():
    result = parse(strict_docx(), "strict.docx")
    assert result.form_id == "nt-appendix-a", result.reason
    data, errors = result.canonical(registry().form("nt-appendix-a"))
    assert not errors and data["name"] == sample("nt-appendix-a")["name"]


def test_a_password_protected_word_file_is_named_as_one_whatever_its_name():
    content = encrypted_docx()
    for name in ("form.docx", "form.msg", "form.doc", None):
        assert sniff(content, name) == "encrypted"
        with pytest.raises(ParseError, match="protected by a password"):
            parse(content, name)


def test_an_image_named_eml_is_read_as_an_image():
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (400, 300), 255).save(out, format="PNG")
    assert sniff(out.getvalue(), "reply.eml") == "image"
    with pytest.raises(ParseError, match="OCR found no words"):
        parse(out.getvalue(), "reply.eml")


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"{\\rtf1\\ansi Escalation}", "rtf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic"),
        (b"MM\x00*\x00\x00\x00\x08", "image"),
    ],
)
def test_kinds_from_their_first_bytes(content, kind):
    assert sniff(content, "form.docx") == kind


def test_zip_kinds():
    def zipped(members: dict) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
        return out.getvalue()

    odt = {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}
    ods = {"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"}
    assert sniff(zipped(odt), "a.docx") == "odt"
    assert sniff(zipped(ods), "a.odt") == "spreadsheet"
    assert sniff(zipped({"xl/workbook.xml": "<x/>"}), "form.docx") == "spreadsheet"
    with pytest.raises(ParseError, match="spreadsheet"):
        parse(zipped({"xl/workbook.xml": "<x/>"}), "form.docx")
    assert sniff(zipped({"photos/a.txt": "x"}), "form.docx") == "zip"
    # A "mimetype" that unpacks to 200 MB: its first 100 bytes are read, never the rest.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.xml", "<x/>")
        with z.open("mimetype", "w") as member:
            member.write(b"application/vnd.oasis.opendocument.spreadsheet")
            for _ in range(200):
                member.write(bytes(1024 * 1024))
    tracemalloc.start()
    try:
        assert sniff(out.getvalue(), "a.odt") == "spreadsheet"
        assert tracemalloc.get_traced_memory()[1] < 20 * 1024 * 1024
    finally:
        tracemalloc.stop()


def test_an_outlook_message_named_doc_is_read_as_a_message():
    from tests.parsers.test_msg import HEADERS, outlook_msg

    content = outlook_msg(
        subject="Escalation", sender="a@agency.example", body="Hello", headers=HEADERS, attachment=None
    )
    assert sniff(content, "form.doc") == "msg"
    assert parse(content, "form.doc").kind == "email"


def test_word_97_files_by_their_streams_with_or_without_a_password():
    from tests.parsers.test_msg import Node, _cfb

    def word(flags: int) -> bytes:
        fib = b"\xec\xa5\xc1\x00" + b"\x00" * 6 + flags.to_bytes(2, "little") + b"\x00" * 500
        return _cfb(Node("Root Entry", children=[Node("WordDocument", fib), Node("1Table", b"\x00" * 600)]))

    assert sniff(word(0), "letter.msg") == "doc"
    assert sniff(word(0x0100), "letter.doc") == "encrypted"
    with pytest.raises(ParseError, match="protected by a password"):
        parse(word(0x0100), "letter.doc")
    other = _cfb(Node("Root Entry", children=[Node("Workbook", b"\x00" * 600)]))
    assert sniff(other, "book.msg") == "spreadsheet"


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4\n garbage", b"%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"],
)
def test_reasons_carry_no_object_reprs(content):
    with pytest.raises(ParseError) as caught:
        parse(content, "form.pdf")
    reason = str(caught.value)
    assert reason.startswith("not a readable PDF: ")
    assert not re.search(r"0x[0-9a-f]{6,}|<_io|PdfError|BytesIO", reason), reason


@pytest.mark.parametrize(
    ("name", "main"),
    [
        ("form.docm", "application/vnd.ms-word.document.macroEnabled.main+xml"),
        ("form.dotx", "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"),
    ],
)
def test_macro_enabled_documents_and_templates_are_read_as_word_without_running_anything(name, main):
    source = zipfile.ZipFile(io.BytesIO(render(registry().form("nt-appendix-a"), sample("nt-appendix-a"), "docx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                data = re.sub(rb'ContentType="[^"]+document\.main\+xml"', f'ContentType="{main}"'.encode(), data)
            target.writestr(info, data)
        target.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    result = parse(out.getvalue(), name)
    assert result.kind == "docx" and result.form_id == "nt-appendix-a", result.reason
