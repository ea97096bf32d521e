"""Build the docxtpl Word template of every form from its spec: templates/docx/<form-id>.docx.

The templates are committed so a business unit can restyle them in Word (logo, fonts, colours)
without touching code; `flask --app app build-templates` regenerates them after a spec changes.
They hold only Word content and plain Jinja tags that print a precomputed answer: every decision
(date format, which box is ticked, how many blank rows) is made in Python by service.documents.docx.render.

Layout, the same shapes as the partnerships' own forms so the returned-document parser can read
them back by label: a heading per section, then a two-column table of label cell | answer cell;
a tick list as a paragraph with its label and a table of option | box; repeatable rows as a
paragraph with its label and a table whose first row holds the column labels.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from docx import Document
from docx.enum.table import WD_ROW_HEIGHT_RULE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from forms.model import Field, FormSpec, Registry, Section

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates" / "docx"

# A font every council PC has, with Latin Extended, Vietnamese and (as the complex-script font)
# Arabic glyphs; LibreOffice substitutes a metric-compatible font with fallback for the rest.
FONT = "Arial"
SIMPLE_TYPES = ("text", "textarea", "date", "choice")
INLINE_CHOICES = 3  # up to this many short options sit on one line, as in "Stage 5 ☒   Stage 6 ☐"
INLINE_CHOICES_CHARS = 60
ANSWER_HEIGHT = Cm(2.2)  # room to write a multi-line answer by hand in a blank form
ROW_HEIGHT = Cm(1.0)
LABEL_WIDTH, ANSWER_WIDTH = Cm(6.0), Cm(10.5)
TICK_LABEL_WIDTH, TICK_BOX_WIDTH = Cm(14.5), Cm(2.0)
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class TemplateSpecError(ValueError):
    """Spec text that Jinja would read as template code."""


def template_path(form_id: str, directory: Path = TEMPLATES_DIR) -> Path:
    return directory / f"{form_id}.docx"


def _literal(text: str, where: str) -> str:
    """Spec text goes into the template as Word text, so it must not contain Jinja delimiters."""
    if "{" in text or "}" in text:
        raise TemplateSpecError(f"{where}: {text!r} contains a brace, which Jinja would read as template code")
    return text


def _subscript(key: str) -> str:
    """A Jinja lookup for a key that may hold hyphens or digits, e.g. ["plan-effectiveness"]."""
    if '"' in key or "\\" in key:
        raise TemplateSpecError(f"choice value {key!r}: quotes and backslashes cannot be looked up in a template")
    return f'["{key}"]'


def _attr(key: str) -> str:
    return f".{key}" if key.isidentifier() else _subscript(key)


def answer_tag(key: str) -> str:
    return "{{ answer" + _attr(key) + " }}"


def tick_tag(field_key: str, value: str) -> str:
    return "{{ ticks" + _attr(field_key) + _subscript(value) + " }}"


def _set_fonts(document) -> None:
    """Document default font for every script, so names in any script have a font with glyphs."""
    styles = document.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-GB")
    lang.set(qn("w:eastAsia"), "en-GB")
    lang.set(qn("w:bidi"), "ar-SA")
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)
    # Heading styles name theme fonts; point them at the same font so the business unit changes one place.
    for style in document.styles:
        rfonts = style.element.find(qn("w:rPr") + "/" + qn("w:rFonts")) if style.element is not None else None
        if rfonts is not None:
            for attr in list(rfonts.attrib):
                del rfonts.attrib[attr]
            for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
                rfonts.set(qn(slot), FONT)


def _cell_text(cell, text: str, *, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    if bold:
        run.bold = True


def _repeat_header(row) -> None:
    """Column labels repeat at the top of each page when the rows run over."""
    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    tr_pr.append(header)


def _new_table(document, widths: tuple[Cm, ...] | None = None, columns: int = 2):
    table = document.add_table(rows=0, cols=len(widths) if widths else columns)
    table.style = document.styles["Table Grid"]
    for column, width in zip(table.columns, widths or (), strict=False):
        column.width = width
    return table


def _choice_lines(spec_field: Field, where: str) -> list[str]:
    parts = [f"{_literal(c.label, where)} {tick_tag(spec_field.key, c.value)}" for c in spec_field.choices]
    inline = len(parts) <= INLINE_CHOICES and sum(len(c.label) for c in spec_field.choices) <= INLINE_CHOICES_CHARS
    return ["   ".join(parts)] if inline else parts


def _add_simple_row(table, spec_field: Field, where: str) -> None:
    row = table.add_row()
    label_cell, answer_cell = row.cells
    label_cell.width, answer_cell.width = LABEL_WIDTH, ANSWER_WIDTH
    _cell_text(label_cell, _literal(spec_field.label, where), bold=True)
    if spec_field.type == "choice":
        lines = _choice_lines(spec_field, where)
        _cell_text(answer_cell, lines[0])
        for line in lines[1:]:
            answer_cell.add_paragraph(line)
    else:
        _cell_text(answer_cell, answer_tag(spec_field.key))
    if spec_field.type == "textarea":
        row.height, row.height_rule = ANSWER_HEIGHT, WD_ROW_HEIGHT_RULE.AT_LEAST


def _add_ticks(document, spec_field: Field, where: str) -> None:
    document.add_paragraph(_literal(spec_field.label, where), style="Heading 3")
    table = _new_table(document, (TICK_LABEL_WIDTH, TICK_BOX_WIDTH))
    for choice in spec_field.choices:
        row = table.add_row()
        _cell_text(row.cells[0], _literal(choice.label, f"{where}.choices.{choice.value}"))
        _cell_text(row.cells[1], tick_tag(spec_field.key, choice.value))
        row.cells[0].width, row.cells[1].width = TICK_LABEL_WIDTH, TICK_BOX_WIDTH


def _add_rows(document, spec_field: Field, where: str) -> None:
    """Header row of column labels, then one docxtpl row loop: blank forms get blank_rows rows."""
    document.add_paragraph(_literal(spec_field.label, where), style="Heading 3")
    columns = spec_field.columns
    table = _new_table(document, columns=len(columns))
    header = table.add_row()
    _repeat_header(header)
    for cell, column in zip(header.cells, columns, strict=True):
        _cell_text(cell, _literal(column.label, f"{where}.columns.{column.key}"), bold=True)
    _cell_text(table.add_row().cells[0], "{%tr for row in rows" + _attr(spec_field.key) + " %}")
    body = table.add_row()
    body.height, body.height_rule = ROW_HEIGHT, WD_ROW_HEIGHT_RULE.AT_LEAST
    for cell, column in zip(body.cells, columns, strict=True):
        _cell_text(cell, "{{ row" + _attr(column.key) + " }}")
    _cell_text(table.add_row().cells[0], "{%tr endfor %}")


def _add_section(document, spec: FormSpec, section: Section) -> None:
    if section.printed:
        document.add_paragraph(_literal(section.title, f"{spec.id}: sections.{section.key}.title"), style="Heading 1")
    table = None
    for spec_field in section.fields:
        where = f"{spec.id}: field {spec_field.key}"
        if spec_field.type in SIMPLE_TYPES:
            if table is None:
                table = _new_table(document, (LABEL_WIDTH, ANSWER_WIDTH))
            _add_simple_row(table, spec_field, where)
            continue
        table = None  # the next simple field starts a new label | answer table after this block
        if spec_field.type == "ticks":
            _add_ticks(document, spec_field, where)
        elif spec_field.type == "rows":
            _add_rows(document, spec_field, where)
        else:
            raise TemplateSpecError(f"{where}: no DOCX layout for field type {spec_field.type!r}")
        # Word joins tables that touch into one; an empty paragraph keeps this block's table apart.
        document.add_paragraph()


def build_template(spec: FormSpec, partnership_name: str) -> bytes:
    """The docxtpl template of one form, as .docx bytes."""
    document = Document()
    _set_fonts(document)
    props = document.core_properties
    props.title = _literal(spec.title, f"{spec.id}: title")
    props.author = _literal(partnership_name, f"{spec.id}: partnership")
    props.comments = "Escalate form template: restyle freely, but keep the tags in double braces and the labels."
    props.keywords = spec.id
    props.subject = ""
    props.last_modified_by = ""

    document.add_paragraph(props.author, style="Subtitle")
    if spec.appendix:
        document.add_paragraph(_literal(spec.appendix, f"{spec.id}: appendix"), style="Heading 2")
    document.add_paragraph(props.title, style="Title")
    for i, text in enumerate(spec.instructions):
        document.add_paragraph(_literal(text, f"{spec.id}: instructions.{i}"))
    if spec.provenance:
        document.add_paragraph(_literal(spec.provenance, f"{spec.id}: source"), style="Quote")
    for section in spec.sections:
        _add_section(document, spec, section)
    for i, text in enumerate(spec.closing):
        document.add_paragraph(_literal(text, f"{spec.id}: closing.{i}"))
    if not spec.closing:
        document.add_paragraph()  # Word expects the body to end with a paragraph, not a table

    out = io.BytesIO()
    document.save(out)
    return _stable_zip(out.getvalue())


def _stable_zip(content: bytes) -> bytes:
    """Fixed member timestamps, so rebuilding an unchanged spec gives the same bytes (clean git diffs)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), src.read(info.filename), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def build_all(registry: Registry, directory: Path | None = None) -> Iterator[Path]:
    """Write the template of every form in every pack (default templates/docx/); yields each path."""
    directory = directory or TEMPLATES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    for pack in registry.packs:
        for spec in pack.forms:
            path = template_path(spec.id, directory)
            path.write_bytes(build_template(spec, pack.name))
            yield path
