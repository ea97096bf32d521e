"""Spreadsheets a business unit can work with straight away: headers in words on a frozen first row
with filters on every column, dates as dates (so they sort and filter as dates), numbers as
numbers, sensible column widths, and a second sheet saying what each column holds.

Text is always stored as text (never a formula, whatever a sender typed). Rows are written one at a
time (openpyxl's write-only mode), so memory stays flat at any size.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from service.documents import cells

DATE_FORMAT = "d mmm yyyy"
DATETIME_FORMAT = "d mmm yyyy hh:mm"


def workbook(title: str, columns: Sequence[tuple[str, str]], widths: Sequence[int], rows: Iterable[Sequence]) -> bytes:
    """One sheet `title` of `rows` under `columns` ((header, what it holds) pairs), then "Columns"."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name, _ in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([cell_for(sheet, value) for value in row])
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    about = book.create_sheet("Columns")
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 90
    about.append([WriteOnlyCell(about, value="Column"), WriteOnlyCell(about, value="What it holds")])
    for name, meaning in columns:
        about.append([cell_for(about, name), cell_for(about, meaning)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_for(sheet, value) -> WriteOnlyCell:
    """A typed cell: a date or time as one (UTC, shown as a date), a number as one, else text."""
    if isinstance(value, dt.datetime):
        naive = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        cell = WriteOnlyCell(sheet, value=naive)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, int | float) and not isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    # Always text: a sender's "=..." is never a formula, and characters XLSX cannot hold are removed.
    cell = WriteOnlyCell(sheet, value="" if value is None else cells.xlsx_text(str(value)))
    cell.data_type = "s"
    return cell
