"""A returned form that is a picture: a scan or photo (JPEG, PNG, TIFF...) or a PDF of page images.

Each page is cleaned and read by OCR (parsers.ocr), its words become blocks (parsers.ocr_layout)
and the form is recognised and read as any other. What OCR reads is never applied unseen: the
result says a person must confirm it (`confirm`), every answer carries its confidence, and an
answer OCR was unsure of (handwriting, a smudge) is named in the warnings, to be checked against
the page image kept with the original. Where a value's shape is certain (a postcode, a phone number,
a date field, a case reference), a letter OCR read for a digit is put right, and the warnings say so.
"""

from __future__ import annotations

import time

from parsers.layout import find_reference, first_page_of, read_blocks
from parsers.ocr_shapes import in_date, in_text, reference
from parsers.result import ParseError, ParseResult, plain

LOW_CONFIDENCE = 80  # an answer whose least certain word is below this is named for checking
RENDER_DPI = 300
CONFIRM = "read from a scan or photo by OCR: check each answer against the page image, then confirm"


def parse_image(content: bytes, *, specs, prefixes, form_id=None, heic: bool = False) -> ParseResult:
    from parsers.ocr import open_image

    return _read_pages(open_image(content, heic=heic), "image", specs, prefixes, form_id)


def parse_scanned_pdf(content: bytes, *, specs, prefixes, form_id=None) -> ParseResult:
    """A PDF whose pages have no text (a copier's scan), each page rendered at 300 dpi and read by OCR."""
    import pypdfium2 as pdfium

    from parsers.ocr import MAX_PAGES, MAX_PIXELS

    try:
        document = pdfium.PdfDocument(content)
    except pdfium.PdfiumError:
        raise ParseError("not a readable PDF: its pages cannot be drawn (damaged)") from None
    try:
        if len(document) > MAX_PAGES:
            raise ParseError(f"refused: a scanned PDF of {len(document)} pages (OCR reads at most {MAX_PAGES})")
        images = []
        for n, page in enumerate(document, 1):
            try:
                width, height = page.get_size()  # points: weighed before drawing, as an image before decoding
                if width * height * (RENDER_DPI / 72) ** 2 > MAX_PIXELS:
                    raise ParseError(f"refused: page {n} of the scan is larger than any scanned page")
                images.append(page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil())
            finally:
                page.close()
    finally:
        document.close()
    return _read_pages(images, "pdf", specs, prefixes, form_id)


def parse_photos(photos: list[tuple[str, bytes]], *, specs, prefixes, form_id=None) -> ParseResult:
    """Photos or scans of one form's pages, each its own file (name, bytes), in page order, read as
    that form's pages together, so answers running onto page 2 are joined to page 1's. Bounded as
    one scan: MAX_PAGES pages and DOCUMENT_SECONDS of OCR for the whole set. A photo that begins
    another form (its title and labels, read alone) is not read with the first form, nor are those
    after it: the form the first pages are is read, and the warnings name the photos left out."""
    from parsers.kinds import IMAGES, sniff
    from parsers.ocr import MAX_PAGES, open_image
    from parsers.photoset import too_many

    if len(photos) > MAX_PAGES:
        raise ParseError(too_many(len(photos)))
    images: list[list] = []
    for name, content in photos:
        kind = sniff(content, name)
        if kind not in IMAGES:
            raise ParseError(f"not readable: {name} is not a photo or scan (JPEG, PNG, TIFF or HEIC)")
        try:
            images.append(open_image(content, heic=kind == "heic"))
        except ParseError as exc:
            raise ParseError(f"{exc} ({name})") from None
        except (OSError, ValueError, TypeError, SyntaxError) as exc:
            raise ParseError(f"not readable: {name} is damaged ({plain(exc)})") from None
        if sum(map(len, images)) > MAX_PAGES:
            raise ParseError(too_many(sum(map(len, images))))
    pages = _ocr([page for pages in images for page in pages])
    begins = [first_page_of(_own_blocks(pages, images, n), specs) for n in range(len(images))]
    first = form_id or next((spec.id for spec in begins if spec is not None), None)
    cut = next((n for n in range(1, len(images)) if begins[n] is not None and begins[n].id != first), len(images))
    kept = sum(len(i) for i in images[:cut])
    result = _read_ocr(pages[:kept], "image", specs, prefixes, form_id)
    if cut < len(images):
        left_out = ", ".join(name for name, _ in photos[cut:])
        result.warnings.append(
            f"not read with this form: {left_out} ({photos[cut][0]} begins another form, {begins[cut].title}); "
            "send that form's pages on their own"
        )
    return result


def _own_blocks(pages: list, images: list[list], n: int) -> list:
    """The blocks of image n's pages alone."""
    from parsers.ocr_layout import blocks_of

    start = sum(len(i) for i in images[:n])
    return blocks_of(pages[start : start + len(images[n])])


def _read_pages(images: list, kind: str, specs, prefixes, form_id) -> ParseResult:
    return _read_ocr(_ocr(images), kind, specs, prefixes, form_id)


def _ocr(images: list) -> list:
    """Each page image cleaned and read by OCR: (page, words), all within one DOCUMENT_SECONDS."""
    from parsers.ocr import DOCUMENT_SECONDS, prepare, read_words

    deadline = time.monotonic() + DOCUMENT_SECONDS
    pages = []
    for n, image in enumerate(images):
        try:
            page = prepare(image, deadline)
        except (OSError, ValueError, TypeError, KeyError, IndexError, SyntaxError, ZeroDivisionError) as exc:
            raise ParseError(f"not readable: page {n + 1} of the image is damaged ({plain(exc)})") from None
        pages.append((page, read_words(page.text, n, deadline)))
    return pages


def _read_ocr(pages: list, kind: str, specs, prefixes, form_id) -> ParseResult:
    """The form read from OCR's pages together (continuation: an answer may run onto the next page)."""
    from parsers.ocr_layout import blocks_of, confidences

    words = [w for _, ws in pages for w in ws]
    if not words:
        raise ParseError("not readable: OCR found no words on the scan (blank, too faint, or not a page)")
    blocks = blocks_of(pages)
    result = read_blocks(blocks, kind, specs, continuation=True, form_id=form_id)
    text = " ".join(w.text for w in words)
    result.reference = find_reference(text, prefixes)
    if result.reference is None:
        result.reference, changes = reference(text, prefixes)
        result.warnings += [
            f"the case reference OCR read as '{was}' was taken as {now}; check it against the page image"
            for was, now, _ in changes
        ]
    if not result.recognised:
        result.reason = f"{result.reason} (read from a scan or photo by OCR)"
        return result
    spec = next((s for s in specs if s.id == result.form_id), None)
    sure = confidences(result.answers, words)
    for key, answer in result.answers.items():
        answer.confidence = sure.get(key)
        if answer.confidence is None and answer.value not in ("", [], None):
            answer.confidence = ticked_confidence(spec, key, answer, words)
        if answer.confidence is not None and answer.confidence < LOW_CONFIDENCE:
            result.warnings.append(
                f"'{answer.label}': OCR was unsure ({answer.confidence:.0f}%); check it against the page image"
            )
        if spec is not None:
            result.warnings += corrected(spec, key, answer)
    result.confirm = CONFIRM
    result.warnings.insert(0, f"read by OCR from {len(pages)} page image{'s' if len(pages) > 1 else ''}")
    return result


def corrected(spec, key: str, answer) -> list[str]:
    """Letters OCR read for digits put right in the answer where its shape is certain (a postcode, a
    phone number, a date field, an e-mail address: parsers.ocr_shapes), after its confidence was
    taken from what OCR read; a warning for each change, in words, as the page must be checked."""
    try:
        field = spec.field(key)
    except KeyError:
        return []
    changes: list = []
    answer.value = _shaped(field, answer.value, changes)
    return [
        f"'{answer.label}': OCR read '{was}'; it was taken as the {kind} '{now}', the only reading a {kind} "
        "allows; check it against the page image"
        for was, now, kind in changes
    ]


def _shaped(field, value, changes: list):
    if field.type == "rows" and isinstance(value, list):
        columns = {c.key: c for c in field.columns}
        return [
            {k: _shaped(columns[k], v, changes) if k in columns else v for k, v in row.items()}
            if isinstance(row, dict)
            else row
            for row in value
        ]
    if not isinstance(value, str) or field.type not in ("text", "textarea", "date"):
        return value
    fixed, found = (in_date if field.type == "date" else in_text)(value)
    changes += found
    return fixed


def ticked_confidence(spec, key: str, answer, words) -> float | None:
    """A ticked answer's value names its options, not words on the page: its confidence is that of
    the ticked options' printed labels, the words OCR read to know which was ticked (never the
    question's label, which says nothing of the answer). None when those words were not read."""
    from parsers.ocr_layout import confidences

    try:
        field = spec.field(key) if spec is not None else None
    except KeyError:
        field = None
    if field is None or not field.choices:
        return None
    values = answer.value if isinstance(answer.value, list) else [answer.value]
    labels = [c.label for c in field.choices if c.value in values]
    if not labels:
        return None
    return confidences({key: type(answer)(" ".join(labels), answer.label)}, words).get(key)
