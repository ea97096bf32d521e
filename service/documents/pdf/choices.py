"""Choice and ticks fields: a radio button (choice) or a checkbox (ticks) per choice, each with its
label, on one line when they fit and one under another when they do not."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from forms.model import Field
from service.documents.pdf import text as pdf_text
from service.documents.pdf.draw import mark
from service.documents.pdf.fields import MARK_SIZE, FormFields
from service.documents.pdf.labels import draw_label, label_height, label_lines
from service.documents.pdf.page import LABEL_LEADING, LABEL_SIZE, LEFT, WIDTH, Cursor, Line


def choices(cursor: Cursor, field: Field) -> None:
    """Tick boxes (ticks) or radio buttons (choice), one per choice, each with its label."""
    label, hint = label_lines(field, WIDTH)
    cursor.need(label_height(label, hint) + 16)
    cursor.y -= draw_label(cursor, label, hint, LEFT, cursor.y, WIDTH) + 3
    chosen = _chosen(cursor, field)
    option_labels = [pdf_text.displayable(c.label) for c in field.choices]
    widths = [MARK_SIZE + 4 + pdf_text.width(t, pdf_text.REGULAR, LABEL_SIZE) + 18 for t in option_labels]
    if sum(widths) <= WIDTH - 6:
        _on_one_line(cursor, field, chosen, option_labels, widths)
    else:
        _one_under_another(cursor, field, chosen)


def _on_one_line(cursor: Cursor, field: Field, chosen: set[str], option_labels: list[str], widths: list[float]) -> None:
    cursor.need(14)
    x = LEFT + 6
    for choice, text, option_width in zip(field.choices, option_labels, widths, strict=True):
        _option(cursor, field, choice, x, cursor.y - 11, choice.value in chosen)
        cursor.add(Line(x + MARK_SIZE + 4, cursor.y - 9.5, text, pdf_text.REGULAR, LABEL_SIZE))
        x += option_width
    cursor.y -= 14


def _one_under_another(cursor: Cursor, field: Field, chosen: set[str]) -> None:
    for choice in field.choices:
        lines = pdf_text.wrap(choice.label, pdf_text.REGULAR, LABEL_SIZE, WIDTH - 24)
        height = max(13.0, len(lines) * LABEL_LEADING + 2)
        cursor.need(height)
        _option(cursor, field, choice, LEFT + 6, cursor.y - 11, choice.value in chosen)
        for i, line in enumerate(lines):
            cursor.add(Line(LEFT + 20, cursor.y - 9.5 - i * LABEL_LEADING, line, pdf_text.REGULAR, LABEL_SIZE))
        cursor.y -= height


def _chosen(cursor: Cursor, field: Field) -> set[str]:
    if not cursor.completed:
        return set()
    value = cursor.data[field.key]
    return set(value) if field.type == "ticks" else {value}


def _option(cursor: Cursor, field: Field, choice, x: float, y: float, on: bool) -> None:
    """The mark drawn on the page and, over it, the checkbox or radio button (read-only when completed)."""
    completed = cursor.completed
    ticks = field.type == "ticks"
    cursor.add(mark(x, y, round_mark=not ticks, on=on))

    def add_field(canvas: Canvas, fields: FormFields) -> None:
        if ticks:
            name = f"{field.key}.{choice.value}"
            tooltip = f"{field.label}: {choice.label}"
            fields.checkbox(name, x, y, tooltip=tooltip, checked=on, read_only=completed)
        else:
            fields.radio(field.key, choice.value, x, y, tooltip=field.label, selected=on, read_only=completed)

    cursor.add(add_field)
