"""Text, date and textarea fields: a label and a box that holds the answer (continued across pages
when it must be), with the AcroForm text field over the box's first part."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from forms.model import Field
from service.documents.pdf import text as pdf_text
from service.documents.pdf.draw import box
from service.documents.pdf.fields import FormFields
from service.documents.pdf.labels import answer, draw_label, label_height, label_lines
from service.documents.pdf.page import (
    BLANK_TEXTAREA_BOX,
    BOTTOM,
    BOX_WIDTH,
    BOX_X,
    DATE_BOX_WIDTH,
    DATE_FORMAT_HINT,
    GREY,
    HINT_LEADING,
    HINT_SIZE,
    INK,
    LABEL_DROP,
    LABEL_LEADING,
    LABEL_WIDTH,
    LEFT,
    ONE_LINE_BOX,
    PAD,
    VALUE_LEADING,
    VALUE_SIZE,
    WIDTH,
    Cursor,
    Line,
)

Rect = tuple[float, float, float, float]


def inline_field(cursor: Cursor, field: Field) -> None:
    """Label on the left, box on the right: text and date fields."""
    label, hint = label_lines(field, LABEL_WIDTH)
    height = LABEL_DROP + len(label) * LABEL_LEADING + len(hint) * HINT_LEADING
    box_width = DATE_BOX_WIDTH if field.type == "date" else BOX_WIDTH
    value = answer(cursor, field)
    lines = pdf_text.wrap(value, pdf_text.REGULAR, VALUE_SIZE, box_width - 2 * PAD) if value else []
    cursor.need(max(height, ONE_LINE_BOX + min(len(lines), 2) * VALUE_LEADING))
    top = cursor.y
    page = cursor.page
    draw_label(cursor, label, hint, LEFT, top - LABEL_DROP, LABEL_WIDTH)
    rect = flow_box(cursor, BOX_X, box_width, lines, ONE_LINE_BOX)
    if field.type == "date":
        cursor.pages[page].append(
            Line(BOX_X + box_width + 6, top - PAD - 9, DATE_FORMAT_HINT, pdf_text.REGULAR, HINT_SIZE, GREY)
        )
    if cursor.page == page:
        cursor.y = min(cursor.y, top - height)
    text_field(cursor, page, field.key, rect, field, value, multiline=False)


def textarea(cursor: Cursor, field: Field) -> None:
    """Label above a full-width box that grows with the answer."""
    label, hint = label_lines(field, WIDTH)
    height = label_height(label, hint)
    value = answer(cursor, field)
    lines = pdf_text.wrap(value, pdf_text.REGULAR, VALUE_SIZE, WIDTH - 2 * PAD) if value else []
    minimum = BLANK_TEXTAREA_BOX if not cursor.completed else 2 * PAD + 2 * VALUE_LEADING
    cursor.need(height + 2 + min(minimum + len(lines) * VALUE_LEADING, 2 * PAD + 3 * VALUE_LEADING))
    cursor.y -= draw_label(cursor, label, hint, LEFT, cursor.y, WIDTH) + 2
    page = cursor.page
    rect = flow_box(cursor, LEFT, WIDTH, lines, minimum)
    text_field(cursor, page, field.key, rect, field, value, multiline=True)


def text_field(cursor: Cursor, page: int, name: str, rect: Rect, field: Field, value: str, *, multiline: bool) -> None:
    """The AcroForm text field over `rect` on `page`: editable when blank, hidden holding the answer when completed."""
    x, y, w, h = rect
    tooltip = f"{field.label} ({DATE_FORMAT_HINT})" if field.type == "date" else field.label
    completed = cursor.completed

    def add_field(canvas: Canvas, fields: FormFields) -> None:
        fields.text(
            name,
            x + 1,
            y + 1,
            w - 2,
            h - 2,
            tooltip=tooltip,
            value=value if completed else None,
            multiline=multiline,
            hidden=completed,
        )

    cursor.pages[page].append(add_field)


def flow_box(cursor: Cursor, x: float, width: float, lines: list[str], minimum: float) -> Rect:
    """A box of value lines from the cursor down, continued on new pages if it must be.

    Returns the first part's rectangle (where the field sits)."""
    first = None
    remaining = lines
    while True:
        capacity = max(1, int((cursor.y - BOTTOM - 2 * PAD) // VALUE_LEADING))
        part, remaining = remaining[:capacity], remaining[capacity:]
        height = 2 * PAD + len(part) * VALUE_LEADING
        if first is None:
            height = max(height, minimum)
        top = cursor.y
        cursor.add(box(x, top - height, width, height))
        for i, line in enumerate(part):
            baseline = top - PAD - VALUE_SIZE - i * VALUE_LEADING + 0.5
            cursor.add(Line(x + PAD, baseline, line, pdf_text.REGULAR, VALUE_SIZE, INK, width - 2 * PAD))
        if first is None:
            first = (x, top - height, width, height)
        cursor.y = top - height
        if not remaining:
            return first
        cursor.new_page()
