"""The page and its cursor: the layout's measures and colours, a line of text, and the cursor that
places the form on pages top to bottom, starting new pages as needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from marshmallow import ValidationError
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from forms.model import Field
from service.documents.pdf import text as pdf_text
from service.documents.pdf.fields import FormFields

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

Op = Callable[[Canvas, FormFields], None]  # or a Line of text


class Line(NamedTuple):
    """One line of text; a page's lines are drawn together in one text object, over its boxes."""

    x: float
    baseline: float
    line: str
    font: str
    size: float
    color: Color = INK
    box_width: float = 0.0


class Cursor:
    """Places the form on pages top to bottom; `pages` is a list of drawing operations per page."""

    def __init__(self, data: dict | None):
        self.data = data
        self.completed = data is not None
        self.pages: list[list[Op | Line]] = [[]]
        self.y = TOP
        self.current: Field | None = None  # the field being placed, to name it in an error

    @property
    def page(self) -> int:
        """The index of the page the cursor is on."""
        return len(self.pages) - 1

    def add(self, op: Op | Line) -> None:
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
            self.add(Line(x, self.y - size, line, font, size, color, box_width=RIGHT - x))
            self.y -= leading

    def paragraph(self, text: str, font: str, size: float, leading: float, color=INK, after: float = 6.0) -> None:
        self.lines(pdf_text.wrap(text, font, size, WIDTH), LEFT, font, size, leading, color)
        self.y -= after
