"""PDF documents for every form: a blank fillable PDF and a completed PDF, laid out from the spec.

`render_pdf(spec, data)` takes canonical data (forms.schema) or None for a blank form. The layout
follows the spec: the partnership's name and the form's title (with its appendix), the
instructions, a derived form's description of where it comes from, then each section with each
field's label exactly as the spec words it and its box, then the closing paragraphs; A4, new
pages as needed, "Page n of m" on every page. The page is drawn with reportlab's canvas, never with
paragraph markup, so user text is only ever text: `{{ 7*7 }}`, `<w:p>`, `&`, brackets and
backslashes print as typed.

AcroForm fields, named after the spec's keys:
  text, textarea, date  `key`                    text field; textarea is multi-line with a taller box;
                                                 a date's tooltip asks for DD/MM/YYYY
  ticks                 `key.<choice value>`     one checkbox per choice, on state /Yes
  choice                `key`                    radio group; each button's on state (export value)
                                                 is the choice value, e.g. /V /5 for Stage 5
  rows                  `key.<n>.<column key>`   one text field per cell, rows numbered from 1;
                                                 field.blank_rows rows in a blank form
Dotted names are real field hierarchies (see service.documents.pdf.fields), so every reader reports the same
qualified name. Dates in fields and on the page are DD/MM/YYYY, as the partnerships write them.

A blank form is a fillable PDF: editable fields over the drawn boxes. What a person types is drawn
by their reader with Helvetica (/Helv), as the embedded DejaVu Sans holds only the glyphs the page
itself uses; a reader may show a character Helvetica lacks (Ł, Arabic) with a substitute font or
not at all, but the field's value, which is what is read back, is exactly what was typed.

A completed form shows the answers as page text in the embedded DejaVu Sans, which has the glyphs
for any of the names the partnerships meet (Zoë, Łukasiewicz, Siobhán, Nguyễn, Arabic script,
shaped and right to left, see service.documents.pdf.text), and it still holds every answer in a field whose
value is exactly the answer (line breaks and all), so a parser reads it back with pypdf as it
would a filled blank form:
- Text, date and row fields are read-only with the Hidden annotation flag and an empty appearance,
  and the form does not ask for appearances to be regenerated (no NeedAppearances). Read-only alone
  is not enough: a browser viewer (pdf.js) shows a visible text field as an HTML input over the page,
  which would print the value a second time in Helvetica, and without Ł or Arabic. Hidden fields are
  never drawn, yet remain fields with values for every form reader.
- Checkboxes and radio buttons stay visible and read-only, in their normal checked appearance; the
  page draws the same tick or dot beneath, so the form looks the same when printed without fields.
- Repeatable rows hold exactly the data's rows; the table grows to fit and continues across pages
  with its header repeated. A long answer's box continues across pages too.

Speed: the fonts are registered once per process and reportlab embeds only the glyphs used; the
fields are written as pre-formatted objects and each page's text as one text object. Answers that
would fill more than MAX_PAGES pages are refused with a ValidationError naming the field, so a
document stays bounded in time and size.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import NamedTuple

from marshmallow import ValidationError
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from forms.model import Field, FormSpec
from service.documents.pdf import text as pdf_text
from service.documents.pdf.fields import MARK_SIZE, FormFields

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 42.0
RIGHT = PAGE_WIDTH - 42.0
WIDTH = RIGHT - LEFT
TOP = PAGE_HEIGHT - 44.0
BOTTOM = 52.0
LABEL_WIDTH = 170.0
BOX_X = LEFT + LABEL_WIDTH + 10.0
BOX_WIDTH = RIGHT - BOX_X
DATE_BOX_WIDTH = 110.0
PAD = 3.5

LABEL_SIZE, LABEL_LEADING = 9.0, 11.5
HINT_SIZE, HINT_LEADING = 7.5, 9.5
VALUE_SIZE, VALUE_LEADING = 9.5, 12.0
CELL_SIZE, CELL_LEADING = 8.5, 10.5
BODY_SIZE, BODY_LEADING = 9.5, 12.5
ONE_LINE_BOX = 2 * PAD + VALUE_LEADING
BLANK_TEXTAREA_BOX = 72.0
BLANK_ROW, BLANK_TALL_ROW = 20.0, 34.0
FIELD_GAP = 7.0
MAX_PAGES = 100  # a form is a few pages; answers that would fill more are refused, naming the field
LABEL_DROP = 3.0  # lowers a label beside a box onto the baseline of the box's first line

INK = Color(0.1, 0.1, 0.1)
GREY = Color(0.35, 0.35, 0.38)
RULE = Color(0.45, 0.47, 0.5)
SHADE = Color(0.87, 0.89, 0.92)
HEAD = Color(0.14, 0.24, 0.38)
DATE_FORMAT_HINT = "DD/MM/YYYY"
COLUMN_WEIGHTS = {"text": 1.25, "textarea": 2.1}

Op = Callable[[Canvas, FormFields], None]  # or a _Line of text


def render_pdf(spec: FormSpec, data: dict | None) -> bytes:
    """A blank fillable (data None) or completed PDF of the form; data is canonical (forms.schema)."""
    pdf_text.register_fonts()
    layout = _Layout(spec, data)
    layout.build()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, pageCompression=1, initialFontName=pdf_text.REGULAR)
    canvas.setTitle(_title(spec))
    canvas.setAuthor(_partnership_name(spec))
    canvas.setSubject("Completed form" if data is not None else "Blank form")
    canvas.setCreator("Escalate")
    fields = FormFields(canvas)
    total = len(layout.pages)
    footer = pdf_text.displayable(spec.short_title)
    for number, ops in enumerate(layout.pages, start=1):
        lines = []
        for op in ops:
            if isinstance(op, _Line):
                lines.append(op)
            else:
                op(canvas, fields)
        lines.extend(_footer(footer, number, total))
        _draw_lines(canvas, lines)
        canvas.showPage()
    fields.finish()
    canvas.save()
    return out.getvalue()


def pdf_date(iso: str) -> str:
    """A canonical ISO date as the forms write it (DD/MM/YYYY); "" stays ""."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else ""


def _title(spec: FormSpec) -> str:
    return f"{spec.appendix}: {spec.title}" if spec.appendix else spec.title


def _partnership_name(spec: FormSpec) -> str:
    from forms import registry

    try:
        return registry().pack(spec.partnership).name
    except KeyError:
        return spec.partnership


def _footer(title: str, number: int, total: int) -> list[_Line]:
    page = f"Page {number} of {total}"
    right = RIGHT - pdf_text.width(page, pdf_text.REGULAR, 7.5)
    return [_Line(LEFT, 30, title, pdf_text.REGULAR, 7.5, GREY), _Line(right, 30, page, pdf_text.REGULAR, 7.5, GREY)]


# Drawing operations, run page by page once the layout (and so the page count) is known.


class _Line(NamedTuple):
    """One line of text; a page's lines are drawn together in one text object, over its boxes."""

    x: float
    baseline: float
    line: str
    font: str
    size: float
    color: Color = INK
    box_width: float = 0.0


def _draw_lines(canvas: Canvas, lines: list[_Line]) -> None:
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


def _box(x: float, y: float, w: float, h: float, fill=None) -> Op:
    def draw(canvas: Canvas, fields: FormFields) -> None:
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        if fill is not None:
            canvas.setFillColor(fill)
        canvas.rect(x, y, w, h, stroke=1, fill=int(fill is not None))

    return draw


def _mark(x: float, y: float, round_mark: bool, on: bool) -> Op:
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

    return draw


class _Layout:
    """Places the form on pages top to bottom; `pages` is a list of drawing operations per page."""

    def __init__(self, spec: FormSpec, data: dict | None):
        self.spec = spec
        self.data = data
        self.completed = data is not None
        self.pages: list[list[Op]] = [[]]
        self.y = TOP
        self.current: Field | None = None  # the field being placed, to name it in an error

    # Page mechanics

    def add(self, op: Op) -> None:
        self.pages[-1].append(op)

    def new_page(self) -> None:
        if len(self.pages) >= MAX_PAGES:
            field = self.current
            where = f"the answers to '{field.label}'" if field else "the form"
            message = f"{where} would make the PDF longer than {MAX_PAGES} pages; shorten them"
            raise ValidationError({field.key if field else "_schema": [message]})
        self.pages.append([])
        self.y = TOP

    def need(self, height: float) -> None:
        """Start a new page unless `height` points fit below the cursor (or the page is fresh)."""
        if self.y - height < BOTTOM and self.y < TOP:
            self.new_page()

    def lines(self, lines: list[str], x: float, font: str, size: float, leading: float, color=INK) -> None:
        """Lines of a paragraph from the cursor down; a paragraph may run onto the next page."""
        for line in lines:
            self.need(leading)
            self.add(_Line(x, self.y - size, line, font, size, color, box_width=RIGHT - x))
            self.y -= leading

    def paragraph(self, text: str, font: str, size: float, leading: float, color=INK, after: float = 6.0) -> None:
        self.lines(pdf_text.wrap(text, font, size, WIDTH), LEFT, font, size, leading, color)
        self.y -= after

    # The document

    def build(self) -> None:
        spec = self.spec
        regular, bold = pdf_text.REGULAR, pdf_text.BOLD
        self.paragraph(_partnership_name(spec), bold, 10, 13, HEAD, after=4)
        self.paragraph(_title(spec), bold, 15, 18.5, INK, after=8)
        for text in spec.instructions:
            self.paragraph(text, regular, BODY_SIZE, BODY_LEADING)
        if spec.derived and spec.description:
            self.paragraph(spec.description, regular, 8.5, 11, GREY)
        for section in spec.sections:
            self.section_title(section.title)
            for field in section.fields:
                self.field(field)
        if spec.closing:
            self.y -= 4
        for text in spec.closing:
            self.paragraph(text, regular, BODY_SIZE, BODY_LEADING)

    def section_title(self, title: str) -> None:
        lines = pdf_text.wrap(title, pdf_text.BOLD, 10.5, WIDTH - 2 * PAD)
        height = len(lines) * 13 + 2 * PAD
        self.y -= 6
        self.need(height + 60)  # keep the title with the start of its first field
        self.add(_box(LEFT, self.y - height, WIDTH, height, fill=SHADE))
        for i, line in enumerate(lines):
            self.add(_Line(LEFT + PAD, self.y - PAD - 10 - i * 13, line, pdf_text.BOLD, 10.5, HEAD, WIDTH - 2 * PAD))
        self.y -= height + 7

    def field(self, field: Field) -> None:
        self.current = field
        if field.type in ("text", "date"):
            self.inline_field(field)
        elif field.type == "textarea":
            self.textarea(field)
        elif field.type in ("choice", "ticks"):
            self.choices(field)
        elif field.type == "rows":
            self.table(field)
        else:
            raise ValueError(f"{self.spec.id}: field {field.key!r} has unknown type {field.type!r}")
        self.y -= FIELD_GAP
        self.current = None

    def label_lines(self, field: Field, width: float) -> tuple[list[str], list[str]]:
        label = pdf_text.wrap(field.label, pdf_text.BOLD, LABEL_SIZE, width)
        hint = pdf_text.wrap(field.hint, pdf_text.REGULAR, HINT_SIZE, width) if field.hint else []
        return label, hint

    def draw_label(self, label: list[str], hint: list[str], x: float, top: float, width: float) -> float:
        """Draws a label (and its hint) from `top` down; returns its height."""
        y = top
        for line in label:
            self.add(_Line(x, y - LABEL_SIZE, line, pdf_text.BOLD, LABEL_SIZE, INK, width))
            y -= LABEL_LEADING
        for line in hint:
            self.add(_Line(x, y - HINT_SIZE, line, pdf_text.REGULAR, HINT_SIZE, GREY, width))
            y -= HINT_LEADING
        return top - y

    def value(self, field: Field) -> str:
        value = self.data[field.key] if self.completed else ""
        return pdf_date(value) if field.type == "date" else value

    def inline_field(self, field: Field) -> None:
        """Label on the left, box on the right: text and date fields."""
        label, hint = self.label_lines(field, LABEL_WIDTH)
        label_height = LABEL_DROP + len(label) * LABEL_LEADING + len(hint) * HINT_LEADING
        box_width = DATE_BOX_WIDTH if field.type == "date" else BOX_WIDTH
        value = self.value(field)
        lines = pdf_text.wrap(value, pdf_text.REGULAR, VALUE_SIZE, box_width - 2 * PAD) if value else []
        self.need(max(label_height, ONE_LINE_BOX + min(len(lines), 2) * VALUE_LEADING))
        top = self.y
        page = len(self.pages) - 1
        self.draw_label(label, hint, LEFT, top - LABEL_DROP, LABEL_WIDTH)
        rect = self.flow_box(BOX_X, box_width, lines, ONE_LINE_BOX)
        if field.type == "date":
            self.pages[page].append(
                _Line(BOX_X + box_width + 6, top - PAD - 9, DATE_FORMAT_HINT, pdf_text.REGULAR, HINT_SIZE, GREY)
            )
        if len(self.pages) - 1 == page:
            self.y = min(self.y, top - label_height)
        self.text_field(page, field.key, rect, field, value, multiline=False)

    def textarea(self, field: Field) -> None:
        """Label above a full-width box that grows with the answer."""
        label, hint = self.label_lines(field, WIDTH)
        label_height = len(label) * LABEL_LEADING + len(hint) * HINT_LEADING
        value = self.value(field)
        lines = pdf_text.wrap(value, pdf_text.REGULAR, VALUE_SIZE, WIDTH - 2 * PAD) if value else []
        minimum = BLANK_TEXTAREA_BOX if not self.completed else 2 * PAD + 2 * VALUE_LEADING
        self.need(label_height + 2 + min(minimum + len(lines) * VALUE_LEADING, 2 * PAD + 3 * VALUE_LEADING))
        self.y -= self.draw_label(label, hint, LEFT, self.y, WIDTH) + 2
        page = len(self.pages) - 1
        rect = self.flow_box(LEFT, WIDTH, lines, minimum)
        self.text_field(page, field.key, rect, field, value, multiline=True)

    def text_field(self, page: int, name: str, rect, field: Field, value: str, *, multiline: bool) -> None:
        x, y, w, h = rect
        tooltip = f"{field.label} ({DATE_FORMAT_HINT})" if field.type == "date" else field.label
        completed = self.completed

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

        self.pages[page].append(add_field)

    def flow_box(self, x: float, width: float, lines: list[str], minimum: float) -> tuple[float, float, float, float]:
        """A box of value lines from the cursor down, continued on new pages if it must be.

        Returns the first part's rectangle (where the field sits)."""
        first = None
        remaining = lines
        while True:
            capacity = max(1, int((self.y - BOTTOM - 2 * PAD) // VALUE_LEADING))
            part, remaining = remaining[:capacity], remaining[capacity:]
            height = 2 * PAD + len(part) * VALUE_LEADING
            if first is None:
                height = max(height, minimum)
            top = self.y
            self.add(_box(x, top - height, width, height))
            for i, line in enumerate(part):
                baseline = top - PAD - VALUE_SIZE - i * VALUE_LEADING + 0.5
                self.add(_Line(x + PAD, baseline, line, pdf_text.REGULAR, VALUE_SIZE, INK, width - 2 * PAD))
            if first is None:
                first = (x, top - height, width, height)
            self.y = top - height
            if not remaining:
                return first
            self.new_page()

    def choices(self, field: Field) -> None:
        """Tick boxes (ticks) or radio buttons (choice), one per choice, each with its label."""
        label, hint = self.label_lines(field, WIDTH)
        label_height = len(label) * LABEL_LEADING + len(hint) * HINT_LEADING
        self.need(label_height + 16)
        self.y -= self.draw_label(label, hint, LEFT, self.y, WIDTH) + 3
        chosen = self.chosen(field)
        option_labels = [pdf_text.displayable(c.label) for c in field.choices]
        widths = [MARK_SIZE + 4 + pdf_text.width(t, pdf_text.REGULAR, LABEL_SIZE) + 18 for t in option_labels]
        if sum(widths) <= WIDTH - 6:
            self.need(14)
            x = LEFT + 6
            for choice, text, option_width in zip(field.choices, option_labels, widths, strict=True):
                self.option(field, choice, x, self.y - 11, choice.value in chosen)
                self.add(_Line(x + MARK_SIZE + 4, self.y - 9.5, text, pdf_text.REGULAR, LABEL_SIZE))
                x += option_width
            self.y -= 14
            return
        for choice in field.choices:
            lines = pdf_text.wrap(choice.label, pdf_text.REGULAR, LABEL_SIZE, WIDTH - 24)
            height = max(13.0, len(lines) * LABEL_LEADING + 2)
            self.need(height)
            self.option(field, choice, LEFT + 6, self.y - 11, choice.value in chosen)
            for i, line in enumerate(lines):
                self.add(_Line(LEFT + 20, self.y - 9.5 - i * LABEL_LEADING, line, pdf_text.REGULAR, LABEL_SIZE))
            self.y -= height

    def chosen(self, field: Field) -> set[str]:
        if not self.completed:
            return set()
        value = self.data[field.key]
        return set(value) if field.type == "ticks" else {value}

    def option(self, field: Field, choice, x: float, y: float, on: bool) -> None:
        completed = self.completed
        ticks = field.type == "ticks"
        self.add(_mark(x, y, round_mark=not ticks, on=on))

        def add_field(canvas: Canvas, fields: FormFields) -> None:
            if ticks:
                name = f"{field.key}.{choice.value}"
                tooltip = f"{field.label}: {choice.label}"
                fields.checkbox(name, x, y, tooltip=tooltip, checked=on, read_only=completed)
            else:
                fields.radio(field.key, choice.value, x, y, tooltip=field.label, selected=on, read_only=completed)

        self.add(add_field)

    # Repeatable rows

    def table(self, field: Field) -> None:
        label, hint = self.label_lines(field, WIDTH)
        label_height = len(label) * LABEL_LEADING + len(hint) * HINT_LEADING
        columns = field.columns
        widths = self.column_widths(columns)
        headers = [
            pdf_text.wrap(c.label, pdf_text.BOLD, CELL_SIZE, w - 2 * PAD) for c, w in zip(columns, widths, strict=True)
        ]
        header_height = 2 * PAD + max(len(h) for h in headers) * CELL_LEADING
        if self.completed:
            rows = [self.row_cells(field, row, widths) for row in self.data[field.key]]
            first_row = 2 * PAD + CELL_LEADING * min(3, max((len(c) for c in rows[0]), default=1)) if rows else 0
        else:
            rows = [None] * field.blank_rows
            first_row = self.blank_row_height(field)
        self.need(label_height + 3 + header_height + first_row)
        self.y -= self.draw_label(label, hint, LEFT, self.y, WIDTH) + 3
        self.table_header(headers, widths, header_height)
        for number, cells in enumerate(rows, start=1):
            if cells is None:
                self.blank_row(field, number, widths, header=(headers, widths, header_height))
            else:
                self.filled_row(field, number, cells, widths, header=(headers, widths, header_height))

    @staticmethod
    def column_widths(columns) -> list[float]:
        """Dates get room for DD/MM/YYYY; the other columns share the rest by weight."""

        def date_width(column) -> float:
            words = [pdf_text.width(w, pdf_text.BOLD, CELL_SIZE) for w in column.label.split()]
            return max([pdf_text.width("00/00/0000", pdf_text.REGULAR, CELL_SIZE), *words]) + 2 * PAD + 4

        fixed = {i: date_width(c) for i, c in enumerate(columns) if c.type == "date"}
        weights = [COLUMN_WEIGHTS.get(c.type, 1.0) for i, c in enumerate(columns) if i not in fixed]
        share = (WIDTH - sum(fixed.values())) / sum(weights) if weights else 0.0
        return [fixed.get(i) or share * COLUMN_WEIGHTS.get(c.type, 1.0) for i, c in enumerate(columns)]

    def blank_row_height(self, field: Field) -> float:
        return BLANK_TALL_ROW if any(c.type == "textarea" for c in field.columns) else BLANK_ROW

    def table_header(self, headers: list[list[str]], widths: list[float], height: float) -> None:
        x = LEFT
        for lines, width in zip(headers, widths, strict=True):
            self.add(_box(x, self.y - height, width, height, fill=SHADE))
            for i, line in enumerate(lines):
                baseline = self.y - PAD - CELL_SIZE - i * CELL_LEADING + 0.5
                self.add(_Line(x + PAD, baseline, line, pdf_text.BOLD, CELL_SIZE, INK, width - 2 * PAD))
            x += width
        self.y -= height

    def row_break(self, height: float, header) -> None:
        if self.y - height < BOTTOM:
            self.new_page()
            self.table_header(*header)

    def row_cells(self, field: Field, row: dict, widths: list[float]) -> list[list[str]]:
        cells = []
        for column, width in zip(field.columns, widths, strict=True):
            value = row.get(column.key, "")
            value = pdf_date(value) if column.type == "date" else value
            cells.append(pdf_text.wrap(value, pdf_text.REGULAR, CELL_SIZE, width - 2 * PAD) if value else [])
        return cells

    def blank_row(self, field: Field, number: int, widths: list[float], header) -> None:
        height = self.blank_row_height(field)
        self.row_break(height, header)
        x = LEFT
        for column, width in zip(field.columns, widths, strict=True):
            rect = (x, self.y - height, width, height)
            self.add(_box(*rect))
            self.text_field(
                len(self.pages) - 1,
                f"{field.key}.{number}.{column.key}",
                rect,
                column,
                "",
                multiline=column.type == "textarea",
            )
            x += width
        self.y -= height

    def filled_row(self, field: Field, number: int, cells: list[list[str]], widths, header) -> None:
        """A data row; one taller than the room left continues on the next page."""
        remaining = cells
        first = True
        while True:
            needed = max((len(c) for c in remaining), default=0)
            full = 2 * PAD + max(needed, 1) * CELL_LEADING
            if first and self.y - full < BOTTOM and full <= TOP - BOTTOM - 60:
                self.row_break(full, header)  # a row that fits a page is not split
            capacity = max(1, int((self.y - BOTTOM - 2 * PAD) // CELL_LEADING))
            part = [c[:capacity] for c in remaining]
            remaining = [c[capacity:] for c in remaining]
            height = 2 * PAD + max(max((len(c) for c in part), default=0), 1) * CELL_LEADING
            x = LEFT
            for column, width, lines in zip(field.columns, widths, part, strict=True):
                rect = (x, self.y - height, width, height)
                self.add(_box(*rect))
                for i, line in enumerate(lines):
                    baseline = self.y - PAD - CELL_SIZE - i * CELL_LEADING + 0.5
                    self.add(_Line(x + PAD, baseline, line, pdf_text.REGULAR, CELL_SIZE, INK, width - 2 * PAD))
                if first:
                    value = self.data[field.key][number - 1].get(column.key, "")
                    value = pdf_date(value) if column.type == "date" else value
                    self.text_field(
                        len(self.pages) - 1,
                        f"{field.key}.{number}.{column.key}",
                        rect,
                        column,
                        value,
                        multiline=column.type == "textarea",
                    )
                x += width
            self.y -= height
            first = False
            if not any(remaining):
                return
            self.new_page()
            self.table_header(*header)
