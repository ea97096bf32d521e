"""PDFs: the AcroForm values of a fillable form first; otherwise the text and ruled tables.

A fillable PDF is read from its fields (parsers.pdf_fields). A PDF without such fields (a Word form
saved or printed as PDF, or a flattened one) is read like a Word document, from pdfplumber's lines
and ruled tables (parsers.pdf_page, with drawn tick boxes from parsers.pdf_marks, on the pages of
parsers.pdf_objects). This module opens the PDF within bounds, chooses between the two and finds
the case reference.
"""

from __future__ import annotations

import contextlib
import io

from parsers.blocks import Para, Table
from parsers.labels import labels_of
from parsers.layout import find_reference, read_blocks, recognise
from parsers.pdf_fields import form_fields, from_fields
from parsers.pdf_page import blocks_of_page
from parsers.result import ParseError, ParseResult, plain

MAX_PAGES = 50  # a returned form is a few pages; anything longer is not one


def _reader(content: bytes):
    """The PDF opened with pikepdf (qpdf): fast, and it never unpacks a stream it is not asked for."""
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(content), password="")
        pages = len(pdf.pages)
    except pikepdf.PasswordError:
        raise ParseError(
            "the PDF is protected by a password; send it again without a password (or the form as Word)"
        ) from None
    except (pikepdf.PdfError, ValueError, KeyError, TypeError, RecursionError, OSError, RuntimeError) as exc:
        raise ParseError(f"not a readable PDF: {plain(exc)}") from None
    if pages == 0:
        raise ParseError("not a readable PDF: it has no pages")
    if pages > MAX_PAGES:
        raise ParseError(f"refused: the PDF has {pages} pages; a returned form has at most {MAX_PAGES}")
    return pdf


def parse_pdf(content: bytes, *, specs, prefixes, form_id=None) -> ParseResult:
    pdf = _reader(content)
    try:
        fields = form_fields(pdf)
    except (RecursionError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise ParseError(f"not a readable PDF: its form fields are damaged ({plain(exc)})") from None
    result = from_fields(fields, specs, form_id) if fields else None
    if result is None:
        result = _from_text(content, specs, prefixes, form_id)
    if result.form_id and not result.reference:
        result.reference = _reference(pdf, fields, prefixes)
    return result


def _reference(pdf, fields: dict, prefixes) -> str | None:
    texts = [str(f.get("/V") or "") for f in fields.values()]
    with contextlib.suppress(ValueError, TypeError, RuntimeError):  # damaged document information
        texts.extend(str(v) for v in pdf.docinfo.values())
    return find_reference("\n".join(texts), prefixes)


def _from_text(content: bytes, specs, prefixes, form_id) -> ParseResult:
    blocks = pdf_blocks(content)
    if not any((b.text.strip() if isinstance(b, Para) else b.rows) for b in blocks):
        from parsers.scan import parse_scanned_pdf  # no text: pages of images, read by OCR

        return parse_scanned_pdf(content, specs=specs, prefixes=prefixes, form_id=form_id)
    return read_blocks(blocks, "pdf", specs, continuation=True, form_id=form_id)


def pdf_blocks(content: bytes) -> list:
    """Lines outside tables as paragraphs and each ruled table as rows of cells, in reading order."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

    from parsers.pdf_objects import ContentPage

    blocks: list = []
    try:
        with pdfplumber.open(io.BytesIO(content), password="") as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise ParseError(
                    f"refused: the PDF has {len(pdf.pages)} pages; a returned form has at most {MAX_PAGES}"
                )
            for page in map(ContentPage.of, pdf.pages):
                page_blocks = blocks_of_page(page)
                _join_split_row(blocks, page_blocks)
                blocks.extend(page_blocks)
                page.close()
    except ParseError:
        raise
    except MemoryError:
        raise ParseError("refused: the PDF's content unpacks beyond the memory limit (a decompression bomb?)") from None
    except (
        PDFSyntaxError,
        PdfminerException,
        MalformedPDFException,
        ValueError,
        KeyError,
        TypeError,
        RecursionError,
        AssertionError,
    ) as exc:
        if "allocate" in str(exc):  # zlib's own MemoryError, as pdfminer reports it
            raise ParseError(
                "refused: the PDF's content unpacks beyond the memory limit (a decompression bomb?)"
            ) from None
        raise ParseError(f"not a readable PDF: {plain(exc)}") from None
    return blocks


def _join_split_row(blocks: list, page_blocks: list) -> None:
    """A table row that a page break split: the next page starts with a row whose first cell is empty."""
    if not blocks or not page_blocks or not isinstance(blocks[-1], Table) or not isinstance(page_blocks[0], Table):
        return
    first, last = page_blocks[0].rows[0], blocks[-1].rows[-1]
    if first and not first[0].strip() and len(first) == len(last):
        blocks[-1].rows[-1] = [f"{a} {b}".strip() if b.strip() else a for a, b in zip(last, first, strict=True)]
        page_blocks[0].rows.pop(0)
        if not page_blocks[0].rows:
            page_blocks.pop(0)


__all__ = ["labels_of", "parse_pdf", "pdf_blocks", "recognise"]
