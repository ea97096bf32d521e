"""The annual report per partnership per year (DOCX and PDF), and the XLSX export of submissions.

The policies ask the business unit to collate the themes of escalations and report them (North
Tyneside: "report within the Annual Report"; SSCP: "monitor themes arising from escalations"). The
report has the same charts as the dashboard (the SVG rendered to PNG with CairoSVG, so there is one
drawing of each chart) and, under each, the table of its numbers.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

import cairosvg
from docx import Document
from docx.shared import Cm, Pt
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from forms.model import Pack
from service.documents import sheets
from service.documents.charts import Chart

MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
FONTS = Path(__file__).resolve().parent / "fonts"
CHART_PIXELS = 1280  # twice the SVG's width, sharp in print


def chart_png(chart: Chart) -> bytes:
    return cairosvg.svg2png(bytestring=str(chart.svg).encode("utf-8"), output_width=CHART_PIXELS)


# --- XLSX export ------------------------------------------------------------------------------


def submissions_xlsx(rows: Iterable, columns, widths) -> bytes:
    """The inbox rows as a workbook (service.documents.sheets: frozen header, filters, typed dates).

    `columns` are (header, meaning) pairs in the rows' order (service.casework.inbox.COLUMNS)."""
    return sheets.workbook("Submissions", columns, widths, (row.values() for row in rows))


# --- annual report --------------------------------------------------------------------------


def _intro(pack: Pack, year: int, total: int) -> list[str]:
    lines = [
        f"Escalations recorded by the {pack.name} in {year}: {total}.",
        f"Policy: {pack.policy_title}.",
    ]
    if pack.annual_report:
        lines.append(f"{pack.annual_report} ({pack.annual_report_source or pack.policy_title})")
    lines.append(
        "Categories are the shared taxonomy every partnership's areas of disagreement map to; working days "
        "exclude weekends and England bank holidays."
    )
    return lines


def annual_report(pack: Pack, year: int, themes, fmt: str) -> bytes:
    if fmt == "docx":
        return _docx(pack, year, themes)
    if fmt == "pdf":
        return _pdf(pack, year, themes)
    raise ValueError(f"unknown format '{fmt}' (docx or pdf)")


LEARNING_HEADERS = ("Case", "Outcome and resolution", "Learning")


def _learning_row(case) -> tuple[str, str, str]:
    return (f"{case.reference} ({case.status.lower()})", case.outcome, case.learning)


def _sections(pack: Pack, year: int, themes) -> list[tuple[str, list, list, str | None]]:
    """(heading, charts, learning themes, words when empty) of each part of the report: the
    escalations' themes, their outcomes and learning by theme, and conference escalations apart."""
    conference = list(getattr(themes, "conference", []))
    escalations = list(themes.charts)
    learning = list(getattr(themes, "learning", []))
    parts = [
        ("Themes of escalations", escalations, [], None),
        (
            "Outcomes and learning by theme",
            [],
            learning,
            None if learning else f"No outcome or learning was recorded on the {year} escalations.",
        ),
    ]
    if any(f.process == "cp-conference" for f in pack.forms):
        empty = None if conference else f"No conference escalations were recorded in {year}."
        parts.append(("Child protection conference escalations", conference, [], empty))
    return parts


def _title(pack: Pack, year: int) -> str:
    return f"{pack.short_name} escalations and professional disagreements: annual report {year}"


def _docx(pack: Pack, year: int, themes) -> bytes:
    document = Document()
    document.core_properties.title = _title(pack, year)
    document.core_properties.author = pack.name
    document.add_heading(_title(pack, year), level=0)
    for line in _intro(pack, year, themes.total):
        document.add_paragraph(line)
    for heading, charts, learning, empty in _sections(pack, year, themes):
        document.add_heading(heading, level=1)
        if empty:
            document.add_paragraph(empty)
        for chart in charts:
            document.add_heading(chart.title, level=2)
            document.add_picture(io.BytesIO(chart_png(chart)), width=Cm(16))
            if not chart.rows:
                document.add_paragraph("No data for this year.")
                continue
            _docx_table(document, chart.headers, chart.rows)
        for theme in learning:
            document.add_heading(theme.name, level=2)
            _docx_table(document, LEARNING_HEADERS, [_learning_row(c) for c in theme.cases])
    footer = document.add_paragraph(f"Produced by Escalate on {dt.date.today().isoformat()}.")
    footer.runs[0].font.size = Pt(8)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_table(document, headers, rows) -> None:
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].font.bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def _register_fonts() -> tuple[str, str]:
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONTS / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def _pdf(pack: Pack, year: int, themes) -> bytes:
    regular, bold = _register_fonts()
    title = ParagraphStyle("title", fontName=bold, fontSize=17, leading=21, spaceAfter=10)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=13, leading=16, spaceBefore=12, spaceAfter=6)
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13, spaceAfter=6)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11)
    story = [Paragraph(escape(_title(pack, year)), title)]
    story += [Paragraph(escape(line), body) for line in _intro(pack, year, themes.total)]
    width = A4[0] - 4 * cm
    section = ParagraphStyle("section", fontName=bold, fontSize=15, leading=19, spaceBefore=16, spaceAfter=6)
    for heading_text, charts, learning, empty in _sections(pack, year, themes):
        story.append(Paragraph(escape(heading_text), section))
        if empty:
            story.append(Paragraph(escape(empty), body))
        story += _pdf_charts(charts, width, heading, body, cell)
        for theme in learning:
            rows = [LEARNING_HEADERS, *(_learning_row(c) for c in theme.cases)]
            story.append(Paragraph(escape(theme.name), heading))
            story.append(_pdf_table(rows, [width * 0.2, width * 0.4, width * 0.4], cell))
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=_title(pack, year),
        author=pack.name,
    )
    doc.build(story)
    return out.getvalue()


def _pdf_table(rows, widths, cell) -> Table:
    data = [[Paragraph(escape(v), cell) for v in row] for row in rows]
    # A row may hold a whole de-brief (20,000 characters): it splits across pages rather than failing.
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f2f1")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _pdf_charts(charts, width, heading, body, cell) -> list:
    story = []
    for chart in charts:
        png = chart_png(chart)
        image = Image(io.BytesIO(png))
        image.drawHeight = width * image.imageHeight / image.imageWidth
        image.drawWidth = width
        parts = [Paragraph(escape(chart.title), heading), image, Spacer(1, 6)]
        if chart.rows:
            parts.append(_pdf_table([chart.headers, *chart.rows], [width * 0.75, width * 0.25], cell))
        else:
            parts.append(Paragraph("No data for this year.", body))
        story.append(KeepTogether(parts))
    return story
