"""Drawing on the canvas, run page by page once the layout (and so the page count) is known: a page's
lines of text in one text object, boxes, and the marks of checkboxes and radio buttons."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from service.documents.pdf import text as pdf_text
from service.documents.pdf.fields import MARK_SIZE, FormFields
from service.documents.pdf.page import INK, RULE, Line, Op


def draw_lines(canvas: Canvas, lines: list[Line]) -> None:
    text = canvas.beginText()
    font = color = None
    for x, baseline, line, font_name, size, line_color, box_width in lines:
        shown = pdf_text.visual(line, font_name, size)
        if box_width and shown is not line and pdf_text.is_rtl(line):
            x += box_width - pdf_text.width(shown, font_name, size)  # right to left: right-aligned
        if font != (font_name, size):
            font = (font_name, size)
            text.setFont(font_name, size)
        if color is not line_color:
            color = line_color
            text.setFillColor(line_color)
        text.setTextOrigin(x, baseline)
        text.textOut(shown)
    canvas.drawText(text)


def box(x: float, y: float, w: float, h: float, fill=None) -> Op:
    def draw(canvas: Canvas, fields: FormFields) -> None:
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        if fill is not None:
            canvas.setFillColor(fill)
        canvas.rect(x, y, w, h, stroke=1, fill=int(fill is not None))

    return draw


def mark(x: float, y: float, round_mark: bool, on: bool) -> Op:
    """The box (or circle) of a checkbox or radio button, with its tick or dot when on."""

    def draw(canvas: Canvas, fields: FormFields) -> None:
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.7)
        half = MARK_SIZE / 2
        if round_mark:
            canvas.circle(x + half, y + half, half - 0.4)
        else:
            canvas.rect(x + 0.4, y + 0.4, MARK_SIZE - 0.8, MARK_SIZE - 0.8)
        if not on:
            return
        canvas.setFillColor(INK)
        canvas.setStrokeColor(INK)
        if round_mark:
            canvas.circle(x + half, y + half, 2.5, stroke=0, fill=1)
        else:
            _tick(canvas, x, y)

    return draw


def _tick(canvas: Canvas, x: float, y: float) -> None:
    canvas.setLineWidth(1.4)
    canvas.setLineCap(1)
    canvas.setLineJoin(1)
    path = canvas.beginPath()
    path.moveTo(x + 2.2, y + 5.4)
    path.lineTo(x + 4.2, y + 3)
    path.lineTo(x + 8, y + 7.8)
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.setLineCap(0)
    canvas.setLineJoin(0)
