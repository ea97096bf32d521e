"""A field's label and hint as drawn above or beside its box, and its answer as the page writes it."""

from __future__ import annotations

from forms.model import Field
from service.documents.pdf import text as pdf_text
from service.documents.pdf.page import (
    GREY,
    HINT_LEADING,
    HINT_SIZE,
    INK,
    LABEL_LEADING,
    LABEL_SIZE,
    Cursor,
    Line,
)


def pdf_date(iso: str) -> str:
    """A canonical ISO date as the forms write it (DD/MM/YYYY); "" stays ""."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else ""


def answer(cursor: Cursor, field: Field) -> str:
    """The field's answer as text ("" on a blank form), dates as DD/MM/YYYY."""
    value = cursor.data[field.key] if cursor.completed else ""
    return pdf_date(value) if field.type == "date" else value


def label_lines(field: Field, width: float) -> tuple[list[str], list[str]]:
    label = pdf_text.wrap(field.label, pdf_text.BOLD, LABEL_SIZE, width)
    hint = pdf_text.wrap(field.hint, pdf_text.REGULAR, HINT_SIZE, width) if field.hint else []
    return label, hint


def label_height(label: list[str], hint: list[str]) -> float:
    return len(label) * LABEL_LEADING + len(hint) * HINT_LEADING


def draw_label(cursor: Cursor, label: list[str], hint: list[str], x: float, top: float, width: float) -> float:
    """Draws a label (and its hint) from `top` down; returns its height."""
    y = top
    for line in label:
        cursor.add(Line(x, y - LABEL_SIZE, line, pdf_text.BOLD, LABEL_SIZE, INK, width))
        y -= LABEL_LEADING
    for line in hint:
        cursor.add(Line(x, y - HINT_SIZE, line, pdf_text.REGULAR, HINT_SIZE, GREY, width))
        y -= HINT_LEADING
    return top - y
