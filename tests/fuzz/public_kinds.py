"""Seeds of the kinds of file the public parser test suites hold (pypdf, pdfplumber, python-docx,
msg-extractor, flanker...), all generated here: Strict Open XML, many-celled and scanned PDFs, long
headers, Outlook and Word 97 compound files, a password-protected Word file, RTF, OpenDocument,
and scans and photos as images. They join the seeds of tests/fuzz/corpus.py."""

from __future__ import annotations

import functools
import io
import zipfile
from email.message import EmailMessage

from forms import registry
from service.documents import records as documents
from tests.conftest import sample
from tests.parsers.scans import Spoil, scanned
from tests.parsers.test_kinds import cells_pdf, encrypted_docx, long_header_email, strict_docx
from tests.parsers.test_msg import HEADERS, Node, _cfb, outlook_msg

TINY = Spoil(dpi=60, skew=1.0, quality=70)  # small enough that OCR of a mutated copy takes a moment


@functools.cache
def public_seeds() -> dict[str, list[tuple[str, bytes]]]:
    spec = registry().form("nt-appendix-a")
    pdf = documents.render(spec, sample(spec.id), "pdf")
    with_scan = EmailMessage()
    with_scan["From"], with_scan["To"], with_scan["Subject"] = "a@agency.example", "b@escalate.example", "Scan"
    with_scan.set_content("The form, scanned.")
    with_scan.add_attachment(scanned(pdf, TINY, "png"), maintype="image", subtype="png", filename="scan.png")
    word97 = b"\xec\xa5\xc1\x00" + b"\x00" * 508
    return {
        "docx": [("strict.docx", strict_docx())],
        "pdf": [("cells.pdf", cells_pdf(200, 10)), ("scan.pdf", scanned(pdf, TINY, "pdf"))],
        "email": [("long-header.eml", long_header_email(300)), ("scan.eml", with_scan.as_bytes())],
        "office": [
            (
                "reply.msg",
                outlook_msg(
                    subject="Escalation", sender="a@agency.example", body="Hi", headers=HEADERS, attachment=None
                ),
            ),
            (
                "form.doc",
                _cfb(Node("Root Entry", children=[Node("WordDocument", word97), Node("1Table", b"\x00" * 600)])),
            ),
            ("protected.docx", encrypted_docx()),
            (
                "form.rtf",
                rb"{\rtf1\ansi{\b Your details}\par Name: Zoe Nowak\par Role: Designated Safeguarding Lead\par}",
            ),
            ("form.odt", _odt("Your details\nName: Zoe Nowak")),
        ],
        "image": [
            ("scan.png", scanned(pdf, TINY, "png")),
            ("photo.jpg", scanned(pdf, TINY, "jpeg")),
            ("scan.tiff", scanned(pdf, TINY, "tiff")),
        ],
    }


def _odt(text: str) -> bytes:
    ns = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    paragraphs = "".join(f"<text:p>{line}</text:p>" for line in text.split("\n"))
    content = f'<?xml version="1.0"?><office:document-content {ns} office:version="1.2"><office:body><office:text>{paragraphs}</office:text></office:body></office:document-content>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )
    return out.getvalue()
