"""Returned documents and e-mails to one ParseResult: `parse(content, filename)`.

The kind is sniffed from the bytes (parsers.kinds: a renamed file is still read for what it is);
.doc, .odt and .rtf are made DOCX by LibreOffice (parsers.convert); scans and photos are read by OCR
(parsers.scan, parsers.ocr, parsers.ocr_layout) and marked for a person to confirm; the form is
recognised by its labels. `parsers.sandbox.parse_safely` runs the same in a child process with
memory and time limits, which is what the ingestion pipeline uses.
"""

from __future__ import annotations

from parsers.kinds import CONVERTED, IMAGES, refusal, sniff
from parsers.result import Answer, ParseError, ParseResult

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_EMAIL_BYTES = 60 * 1024 * 1024

__all__ = ["Answer", "ParseError", "ParseResult", "parse", "sniff"]


def parse(
    content: bytes,
    filename: str | None = None,
    *,
    specs=None,
    form_id: str | None = None,
    partnership: str | None = None,
) -> ParseResult:
    """The parse result for one input; raises ParseError with a reason a person can act on.

    `partnership` limits recognition to that pack's forms; `form_id` reads it as that form."""
    from forms import registry

    registry_ = registry()
    specs = list(registry_.forms.values()) if specs is None else list(specs)
    if partnership is not None:
        specs = [s for s in specs if s.partnership == partnership]
    prefixes = {p.reference_prefix for p in registry_.packs}
    kind = sniff(content, filename)
    if kind == "email" or kind == "msg":
        if len(content) > MAX_EMAIL_BYTES:
            raise ParseError(f"refused: the e-mail is {len(content):,} bytes (at most {MAX_EMAIL_BYTES:,})")
        from parsers.email import parse_email

        return parse_email(content, kind, specs=specs, prefixes=prefixes, form_id=form_id)
    return parse_document(content, kind, specs=specs, prefixes=prefixes, form_id=form_id)


def parse_document(content: bytes, kind: str, *, specs, prefixes, form_id=None) -> ParseResult:
    from parsers.blocks import text_blocks
    from parsers.layout import find_reference, read_blocks

    limit = MAX_EMAIL_BYTES if kind == "photos" else MAX_DOCUMENT_BYTES  # a set of photos: as an e-mail's
    if len(content) > limit:
        raise ParseError(f"refused: the document is {len(content) / 1048576:.1f} MB (at most {limit // 1048576} MB)")
    if kind == "docx":
        return read_docx(content, specs=specs, prefixes=prefixes, form_id=form_id)
    if kind == "pdf":
        from parsers.pdf import parse_pdf

        return parse_pdf(content, specs=specs, prefixes=prefixes, form_id=form_id)
    if kind == "text":
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("not a document: a text file that is not UTF-8") from None
        result = read_blocks(text_blocks(text), "text", specs, continuation=True, form_id=form_id)
        result.reference = find_reference(text, prefixes)
        return result
    if kind in CONVERTED:
        from parsers.convert import read_converted

        return read_converted(content, kind, specs=specs, prefixes=prefixes, form_id=form_id)
    if kind in IMAGES:
        from parsers.scan import parse_image

        return parse_image(content, specs=specs, prefixes=prefixes, form_id=form_id, heic=kind == "heic")
    if kind == "photos":
        from parsers.photoset import unpack
        from parsers.scan import parse_photos

        return parse_photos(unpack(content), specs=specs, prefixes=prefixes, form_id=form_id)
    raise ParseError(
        refusal(kind) or "not a document: the file is not a Word or OpenDocument document, a PDF, an image or an e-mail"
    )


def read_docx(content: bytes, *, specs, prefixes, form_id=None, kind: str = "docx") -> ParseResult:
    from parsers.blocks import Para
    from parsers.docx import docx_blocks
    from parsers.layout import find_reference, read_blocks

    blocks, extra = docx_blocks(content)
    result = read_blocks(blocks, kind, specs, form_id=form_id)
    texts = [extra] + [b.text if isinstance(b, Para) else " ".join(" ".join(r) for r in b.rows) for b in blocks]
    result.reference = find_reference("\n".join(texts), prefixes)
    return result
