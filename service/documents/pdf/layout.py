"""The document top to bottom: the partnership's name and the form's title, the instructions, a
derived form's description, each section's title and fields, then the closing paragraphs."""

from __future__ import annotations

from forms.model import Field, FormSpec
from service.documents.pdf import text as pdf_text
from service.documents.pdf.boxes import inline_field, textarea
from service.documents.pdf.choices import choices
from service.documents.pdf.draw import box
from service.documents.pdf.page import (
    BODY_LEADING,
    BODY_SIZE,
    FIELD_GAP,
    GREY,
    HEAD,
    INK,
    LEFT,
    PAD,
    SHADE,
    WIDTH,
    Cursor,
    Line,
    Op,
)
from service.documents.pdf.table import table


def lay_out(spec: FormSpec, data: dict | None) -> list[list[Op | Line]]:
    """The drawing operations of each page of the form."""
    cursor = Cursor(data)
    regular, bold = pdf_text.REGULAR, pdf_text.BOLD
    cursor.paragraph(partnership_name(spec), bold, 10, 13, HEAD, after=4)
    cursor.paragraph(title(spec), bold, 15, 18.5, INK, after=8)
    for text in spec.instructions:
        cursor.paragraph(text, regular, BODY_SIZE, BODY_LEADING)
    if spec.provenance:
        cursor.paragraph(spec.provenance, regular, 8.5, 11, GREY)
    for section in spec.sections:
        if section.printed:
            _section_title(cursor, section.title)
        for field in section.fields:
            _field(cursor, spec, field)
    if spec.closing:
        cursor.y -= 4
    for text in spec.closing:
        cursor.paragraph(text, regular, BODY_SIZE, BODY_LEADING)
    return cursor.pages


def title(spec: FormSpec) -> str:
    return f"{spec.appendix}: {spec.title}" if spec.appendix else spec.title


def partnership_name(spec: FormSpec) -> str:
    from forms import registry

    try:
        return registry().pack(spec.partnership).name
    except KeyError:
        return spec.partnership


def _section_title(cursor: Cursor, text: str) -> None:
    lines = pdf_text.wrap(text, pdf_text.BOLD, 10.5, WIDTH - 2 * PAD)
    height = len(lines) * 13 + 2 * PAD
    cursor.y -= 6
    cursor.need(height + 60)  # keep the title with the start of its first field
    cursor.add(box(LEFT, cursor.y - height, WIDTH, height, fill=SHADE))
    for i, line in enumerate(lines):
        cursor.add(Line(LEFT + PAD, cursor.y - PAD - 10 - i * 13, line, pdf_text.BOLD, 10.5, HEAD, WIDTH - 2 * PAD))
    cursor.y -= height + 7


def _field(cursor: Cursor, spec: FormSpec, field: Field) -> None:
    cursor.current = field
    if field.type in ("text", "date"):
        inline_field(cursor, field)
    elif field.type == "textarea":
        textarea(cursor, field)
    elif field.type in ("choice", "ticks"):
        choices(cursor, field)
    elif field.type == "rows":
        table(cursor, field)
    else:
        raise ValueError(f"{spec.id}: field {field.key!r} has unknown type {field.type!r}")
    cursor.y -= FIELD_GAP
    cursor.current = None
