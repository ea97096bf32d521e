"""PDF documents for every form: a blank fillable PDF and a completed PDF, laid out from the spec.

`render_pdf(spec, data)` takes canonical data (forms.schema) or None for a blank form. The layout
follows the spec: the partnership's name and the form's title (with its appendix), the
instructions, a derived form's provenance (the policy paragraphs it follows), then each section with each
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

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from forms.model import FormSpec
from service.documents.pdf import text as pdf_text
from service.documents.pdf.draw import draw_lines
from service.documents.pdf.fields import FormFields
from service.documents.pdf.labels import pdf_date
from service.documents.pdf.layout import lay_out, partnership_name, title
from service.documents.pdf.page import GREY, LEFT, RIGHT, Line

__all__ = ["pdf_date", "render_pdf"]


def render_pdf(spec: FormSpec, data: dict | None) -> bytes:
    """A blank fillable (data None) or completed PDF of the form; data is canonical (forms.schema)."""
    pdf_text.register_fonts()
    pages = lay_out(spec, data)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, pageCompression=1, initialFontName=pdf_text.REGULAR)
    canvas.setTitle(title(spec))
    canvas.setAuthor(partnership_name(spec))
    canvas.setSubject("Completed form" if data is not None else "Blank form")
    canvas.setCreator("Escalate")
    fields = FormFields(canvas)
    total = len(pages)
    footer = pdf_text.displayable(spec.short_title)
    for number, ops in enumerate(pages, start=1):
        lines = []
        for op in ops:
            if isinstance(op, Line):
                lines.append(op)
            else:
                op(canvas, fields)
        lines.extend(_footer(footer, number, total))
        draw_lines(canvas, lines)
        canvas.showPage()
    fields.finish()
    canvas.save()
    return out.getvalue()


def _footer(short_title: str, number: int, total: int) -> list[Line]:
    page = f"Page {number} of {total}"
    right = RIGHT - pdf_text.width(page, pdf_text.REGULAR, 7.5)
    return [
        Line(LEFT, 30, short_title, pdf_text.REGULAR, 7.5, GREY),
        Line(right, 30, page, pdf_text.REGULAR, 7.5, GREY),
    ]
