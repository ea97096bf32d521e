"""Repeatable rows: a table with a header row and one text field per cell, named
`key.<n>.<column key>`. A blank form has the field's blank rows; a completed one exactly the data's
rows, growing to fit and continuing across pages with its header repeated."""

from __future__ import annotations

from typing import NamedTuple

from forms.model import Field
from service.documents.pdf import text as pdf_text
from service.documents.pdf.boxes import text_field
from service.documents.pdf.draw import box
from service.documents.pdf.labels import draw_label, label_height, label_lines, pdf_date
from service.documents.pdf.page import (
    BLANK_ROW,
    BLANK_TALL_ROW,
    BOTTOM,
    CELL_LEADING,
    CELL_SIZE,
    COLUMN_WEIGHTS,
    INK,
    LEFT,
    PAD,
    SHADE,
    TOP,
    WIDTH,
    Cursor,
    Line,
)


class _Table(NamedTuple):
    """A table's field and measures, and its header, drawn again at the top of each page it continues on."""

    field: Field
    widths: list[float]
    headers: list[list[str]]
    header_height: float


def table(cursor: Cursor, field: Field) -> None:
    label, hint = label_lines(field, WIDTH)
    widths = column_widths(field.columns)
    headers = [
        pdf_text.wrap(c.label, pdf_text.BOLD, CELL_SIZE, w - 2 * PAD)
        for c, w in zip(field.columns, widths, strict=True)
    ]
    header_height = 2 * PAD + max(len(h) for h in headers) * CELL_LEADING
    the_table = _Table(field, widths, headers, header_height)
    if cursor.completed:
        rows = [_row_cells(field, row, widths) for row in cursor.data[field.key]]
        first_row = 2 * PAD + CELL_LEADING * min(3, max((len(c) for c in rows[0]), default=1)) if rows else 0
    else:
        rows = [None] * field.blank_rows
        first_row = _blank_row_height(field)
    cursor.need(label_height(label, hint) + 3 + header_height + first_row)
    cursor.y -= draw_label(cursor, label, hint, LEFT, cursor.y, WIDTH) + 3
    _header(cursor, the_table)
    for number, cells in enumerate(rows, start=1):
        if cells is None:
            _blank_row(cursor, the_table, number)
        else:
            _filled_row(cursor, the_table, number, cells)


def column_widths(columns) -> list[float]:
    """Dates get room for DD/MM/YYYY; the other columns share the rest by weight."""

    def date_width(column) -> float:
        words = [pdf_text.width(w, pdf_text.BOLD, CELL_SIZE) for w in column.label.split()]
        return max([pdf_text.width("00/00/0000", pdf_text.REGULAR, CELL_SIZE), *words]) + 2 * PAD + 4

    fixed = {i: date_width(c) for i, c in enumerate(columns) if c.type == "date"}
    weights = [COLUMN_WEIGHTS.get(c.type, 1.0) for i, c in enumerate(columns) if i not in fixed]
    share = (WIDTH - sum(fixed.values())) / sum(weights) if weights else 0.0
    return [fixed.get(i) or share * COLUMN_WEIGHTS.get(c.type, 1.0) for i, c in enumerate(columns)]


def _blank_row_height(field: Field) -> float:
    return BLANK_TALL_ROW if any(c.type == "textarea" for c in field.columns) else BLANK_ROW


def _header(cursor: Cursor, the_table: _Table) -> None:
    x = LEFT
    height = the_table.header_height
    for lines, width in zip(the_table.headers, the_table.widths, strict=True):
        cursor.add(box(x, cursor.y - height, width, height, fill=SHADE))
        for i, line in enumerate(lines):
            baseline = cursor.y - PAD - CELL_SIZE - i * CELL_LEADING + 0.5
            cursor.add(Line(x + PAD, baseline, line, pdf_text.BOLD, CELL_SIZE, INK, width - 2 * PAD))
        x += width
    cursor.y -= height


def _row_break(cursor: Cursor, height: float, the_table: _Table) -> None:
    if cursor.y - height < BOTTOM:
        cursor.new_page()
        _header(cursor, the_table)


def _cell_value(column, row: dict) -> str:
    value = row.get(column.key, "")
    return pdf_date(value) if column.type == "date" else value


def _row_cells(field: Field, row: dict, widths: list[float]) -> list[list[str]]:
    cells = []
    for column, width in zip(field.columns, widths, strict=True):
        value = _cell_value(column, row)
        cells.append(pdf_text.wrap(value, pdf_text.REGULAR, CELL_SIZE, width - 2 * PAD) if value else [])
    return cells


def _blank_row(cursor: Cursor, the_table: _Table, number: int) -> None:
    field = the_table.field
    height = _blank_row_height(field)
    _row_break(cursor, height, the_table)
    x = LEFT
    for column, width in zip(field.columns, the_table.widths, strict=True):
        rect = (x, cursor.y - height, width, height)
        cursor.add(box(*rect))
        name = f"{field.key}.{number}.{column.key}"
        text_field(cursor, cursor.page, name, rect, column, "", multiline=column.type == "textarea")
        x += width
    cursor.y -= height


def _filled_row(cursor: Cursor, the_table: _Table, number: int, cells: list[list[str]]) -> None:
    """A data row; one taller than the room left continues on the next page."""
    remaining = cells
    first = True
    while True:
        needed = max((len(c) for c in remaining), default=0)
        full = 2 * PAD + max(needed, 1) * CELL_LEADING
        if first and cursor.y - full < BOTTOM and full <= TOP - BOTTOM - 60:
            _row_break(cursor, full, the_table)  # a row that fits a page is not split
        capacity = max(1, int((cursor.y - BOTTOM - 2 * PAD) // CELL_LEADING))
        part = [c[:capacity] for c in remaining]
        remaining = [c[capacity:] for c in remaining]
        _row_part(cursor, the_table, number, part, with_fields=first)
        first = False
        if not any(remaining):
            return
        cursor.new_page()
        _header(cursor, the_table)


def _row_part(cursor: Cursor, the_table: _Table, number: int, part: list[list[str]], *, with_fields: bool) -> None:
    """The part of a data row on this page; the first part carries the cells' text fields."""
    field = the_table.field
    height = 2 * PAD + max(max((len(c) for c in part), default=0), 1) * CELL_LEADING
    x = LEFT
    for column, width, lines in zip(field.columns, the_table.widths, part, strict=True):
        rect = (x, cursor.y - height, width, height)
        cursor.add(box(*rect))
        for i, line in enumerate(lines):
            baseline = cursor.y - PAD - CELL_SIZE - i * CELL_LEADING + 0.5
            cursor.add(Line(x + PAD, baseline, line, pdf_text.REGULAR, CELL_SIZE, INK, width - 2 * PAD))
        if with_fields:
            value = _cell_value(column, cursor.data[field.key][number - 1])
            name = f"{field.key}.{number}.{column.key}"
            text_field(cursor, cursor.page, name, rect, column, value, multiline=column.type == "textarea")
        x += width
    cursor.y -= height
