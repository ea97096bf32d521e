"""DOCX documents: every form blank and completed, read back with python-docx by label."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import struct
import zipfile
import zlib

import docx
import pytest
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from forms import registry
from forms.schema import validate_data
from service.documents.docx import templates as docx_templates
from service.documents.docx.render import TICKED, UNTICKED, TemplateMissing, render_docx, template_bytes
from service.documents.docx.templates import TemplateSpecError, build_all, build_template, template_path
from service.documents.records import render
from tests.conftest import ALL_FORMS, sample

NAMES = ["Zoë Łukasiewicz", "Siobhán Ní Bhriain", "Nguyễn Văn An", "أحمد الراشد"]
INJECTIONS = ["{{ 7*7 }}", "{% if %}", "<w:p>", "&", "{_{ x }_}", "{%tr endfor %}", "]]> &amp; </w:t>", "{# c #}"]


# --- reading a document back -------------------------------------------------------------------


def _blocks(parent, document):
    """Body paragraphs and tables in order (python-docx gives them separately)."""
    for child in parent.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)


def _tables(document):
    """Every table, nested ones included."""
    stack = list(document.tables)
    while stack:
        table = stack.pop(0)
        yield table
        for row in table.rows:
            for cell in row.cells:
                stack.extend(cell.tables)


class Read:
    def __init__(self, content: bytes):
        self.document = docx.Document(io.BytesIO(content))
        self.paragraphs = [p.text for p in self.document.paragraphs]
        self.tables = [[[c.text for c in row.cells] for row in t.rows] for t in _tables(self.document)]
        self.pairs = {(row[0], row[1]) for t in self.tables for row in t if len(row) == 2}
        self.cells = [cell for t in self.tables for row in t for cell in row]

    @property
    def texts(self) -> list[str]:
        return self.paragraphs + self.cells

    def rows_table(self, spec_field) -> list[list[str]]:
        header = [c.label for c in spec_field.columns]
        found = [t for t in self.tables if t and t[0] == header]
        assert len(found) == 1, f"one table headed {header}"
        return found[0][1:]


def _shown_date(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else ""


def _filled(spec, **answers) -> dict:
    data = validate_data(spec, sample(spec.id))
    data.update(answers)
    return validate_data(spec, data)


def _assert_valid_package(content: bytes) -> None:
    """Every XML part parses strictly: the document is not broken by anything it holds."""
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert package.testzip() is None
        for name in package.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(package.read(name))


def _expect_labels(spec, read: Read) -> None:
    texts = set(read.texts)
    for section in spec.sections:
        assert (section.title in texts) is section.printed  # unprinted titles head web pages only
        for f in section.fields:
            assert f.label in texts, f.key
            for column in f.columns:
                assert column.label in texts, f"{f.key}.{column.key}"
    assert spec.title in texts
    for paragraph in (*spec.instructions, *spec.closing):
        assert paragraph in texts


# --- every form, blank and completed ----------------------------------------------------------


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_blank_form_has_every_label_empty_boxes_and_blank_rows(form_id):
    spec = registry().form(form_id)
    content = render(spec, None, "docx")
    _assert_valid_package(content)
    read = Read(content)
    _expect_labels(spec, read)
    joined = "\n".join(read.texts)
    assert TICKED not in joined
    assert "{{" not in joined and "{%" not in joined
    for f in spec.fields:
        if f.type in ("text", "textarea", "date"):
            assert (f.label, "") in read.pairs, f.key
        elif f.type == "ticks":
            for choice in f.choices:
                assert (choice.label, UNTICKED) in read.pairs
        elif f.type == "choice":
            for choice in f.choices:
                assert f"{choice.label} {UNTICKED}" in joined, (f.key, choice.value)
        elif f.type == "rows":
            assert read.rows_table(f) == [[""] * len(f.columns)] * f.blank_rows
    if spec.derived:  # where the form comes from, in words; the maintainers' description stays in the pack
        assert spec.provenance in read.paragraphs and spec.description not in read.paragraphs


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_completed_form_shows_every_answer_by_its_label(form_id):
    spec = registry().form(form_id)
    data = validate_data(spec, sample(form_id))
    content = render(spec, sample(form_id), "docx")
    _assert_valid_package(content)
    read = Read(content)
    _expect_labels(spec, read)
    joined = "\n".join(read.texts)
    for f in spec.fields:
        value = data[f.key]
        if f.type in ("text", "textarea"):
            assert (f.label, value) in read.pairs, f.key
        elif f.type == "date":
            assert (f.label, _shown_date(value)) in read.pairs, f.key
            assert not value or re.fullmatch(r"\d\d/\d\d/\d{4}", _shown_date(value))
        elif f.type == "ticks":
            for choice in f.choices:
                assert (choice.label, TICKED if choice.value in value else UNTICKED) in read.pairs, choice.value
        elif f.type == "choice":
            for choice in f.choices:
                box = TICKED if choice.value == value else UNTICKED
                assert f"{choice.label} {box}" in joined, (f.key, choice.value)
        elif f.type == "rows":
            expected = [
                [_shown_date(row[c.key]) if c.type == "date" else row[c.key] for c in f.columns] for row in value
            ]
            assert read.rows_table(f) == expected, f.key
    assert joined.count(TICKED) == sum(
        len(data[f.key]) if f.type == "ticks" else bool(data[f.key])
        for f in spec.fields
        if f.type in ("ticks", "choice")
    )


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_the_returned_document_parser_reads_our_documents_back_exactly(form_id):
    """The layout is what parsers/ reads by label: a completed document gives back the same answers."""
    import parsers

    spec = registry().form(form_id)
    data = validate_data(spec, sample(form_id))
    result = parsers.parse(render_docx(spec, data), f"{form_id}.docx")
    assert result.form_id == form_id
    assert result.canonical(spec) == (data, {})
    assert parsers.parse(render_docx(spec, None), f"{form_id}.docx").form_id == form_id


def test_sample_dates_are_written_as_uk_forms_write_them():
    read = Read(render(registry().form("kirklees-appendix-5"), sample("kirklees-appendix-5"), "docx"))
    assert ("D.O.B.", "14/02/2019") in read.pairs
    assert ("Date of initial escalation", "03/11/2026") in read.pairs


def test_completed_rows_show_exactly_their_rows_even_none():
    spec = registry().form("kirklees-appendix-5")
    field = spec.field("actions")
    one = Read(
        render_docx(spec, _filled(spec, actions=[{"action": "Only one", "by_whom": "Me", "completion_date": ""}]))
    )
    assert one.rows_table(field) == [["Only one", "Me", ""]]
    none = Read(render_docx(spec, _filled(spec, actions=[])))
    assert none.rows_table(field) == []


def test_many_rows_grow_the_table():
    spec = registry().form("kirklees-appendix-3")
    row = sample("kirklees-appendix-3")["rows"][0]
    rows = [{**row, "family": f"Family {i}"} for i in range(40)]
    read = Read(render_docx(spec, _filled(spec, rows=rows)))
    assert [r[1] for r in read.rows_table(spec.field("rows"))] == [f"Family {i}" for i in range(40)]


# --- text is kept exactly ----------------------------------------------------------------------


def test_multi_line_answers_keep_their_line_breaks():
    spec = registry().form("nt-appendix-a")
    worry = "First line.\nSecond line.\n\nFourth line, after a blank one.\n\tIndented with a tab."
    content = render_docx(spec, _filled(spec, worry=worry))
    read = Read(content)
    assert ("Brief description of your worry about a decision made", worry) in read.pairs
    body = zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml").decode()
    assert body.count("<w:br/>") >= 3


def test_multi_line_text_in_a_row_keeps_its_line_breaks():
    spec = registry().form("kirklees-appendix-3")
    row = {**sample("kirklees-appendix-3")["rows"][0], "reason": "Did not attend.\nNo report sent."}
    read = Read(render_docx(spec, _filled(spec, rows=[row])))
    assert read.rows_table(spec.field("rows"))[0][-1] == "Did not attend.\nNo report sent."


@pytest.mark.parametrize("name", NAMES)
def test_names_in_any_script_render(name):
    spec = registry().form("kirklees-appendix-5")
    content = render(spec, {**sample(spec.id), "child_name": name, "by_name": name}, "docx")
    _assert_valid_package(content)
    read = Read(content)
    assert ("Child/Family's name", name) in read.pairs
    assert ("Name", name) in read.pairs
    row = {**sample("kirklees-appendix-3")["rows"][0], "agency_rep": name}
    rows = Read(render(registry().form("kirklees-appendix-3"), {"rows": [row]}, "docx"))
    assert rows.rows_table(registry().form("kirklees-appendix-3").field("rows"))[0][4] == name


def test_document_font_covers_complex_scripts():
    """Arabic runs take the complex-script font slot; the template names one for it."""
    document = docx.Document(io.BytesIO(render_docx(registry().form("nt-appendix-a"), None)))
    fonts = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    for slot in ("w:ascii", "w:hAnsi", "w:cs"):
        assert fonts.get(qn(slot)) == docx_templates.FONT


@pytest.mark.parametrize("value", INJECTIONS)
def test_user_text_is_data_not_template_code(value):
    spec = registry().form("kirklees-appendix-5")
    action = {"action": value, "by_whom": value, "completion_date": "2026-11-20"}
    data = {**sample(spec.id), "child_name": value, "details": f"before\n{value}\nafter", "actions": [action]}
    content = render(spec, data, "docx")
    _assert_valid_package(content)
    read = Read(content)
    assert ("Child/Family's name", value) in read.pairs
    assert ("Details of the professional difference and outcome sought", f"before\n{value}\nafter") in read.pairs
    assert read.rows_table(spec.field("actions")) == [[value, value, "20/11/2026"]]
    assert "49" not in "\n".join(read.texts)


def test_characters_xml_cannot_hold_are_dropped_not_fatal():
    spec = registry().form("nt-appendix-a")
    content = render_docx(spec, _filled(spec, name="Zoë\x01\x0b Nowak\x07"))
    _assert_valid_package(content)
    assert ("Name", "Zoë Nowak") in Read(content).pairs


# --- the templates -----------------------------------------------------------------------------


def _template_text(content: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(content))
    out = []
    for block in _blocks(document.element.body, document):
        if isinstance(block, Paragraph):
            out.append(f"P[{block.style.name}] {block.text}")
        else:
            out.extend("ROW " + " | ".join(c.text for c in row.cells) for row in block.rows)
    return out


def test_committed_templates_are_up_to_date_with_the_specs(tmp_path):
    """Regenerate every template and compare its text (labels and tags): `flask build-templates` if not."""
    written = list(build_all(registry(), tmp_path))
    assert sorted(p.stem for p in written) == ALL_FORMS
    for path in written:
        committed = template_path(path.stem).read_bytes()
        assert _template_text(path.read_bytes()) == _template_text(committed), path.stem


# Every tag a template may hold: print a precomputed answer, box or row cell, or loop over rows.
ALLOWED_TAG = re.compile(
    r'\{\{ answer\.\w+ \}\}|\{\{ ticks\.\w+\["[^"\\]+"\] \}\}|\{\{ row\.\w+ \}\}'
    r"|\{%tr for row in rows\.\w+ %\}|\{%tr endfor %\}"
)


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_templates_hold_no_logic(form_id):
    text = "\n".join(_template_text(template_path(form_id).read_bytes()))
    tags = re.findall(r"\{[{%#].*?[}%#]\}", text)
    assert tags
    assert [t for t in tags if not ALLOWED_TAG.fullmatch(t)] == []


def _png() -> bytes:
    """A 1x1 PNG, standing in for a partnership logo."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


def test_a_template_restyled_in_word_still_renders(tmp_path):
    """A business unit adds a logo and header, changes the font, and Word splits a tag across runs."""
    spec = registry().form("kirklees-appendix-5")
    document = docx.Document(str(template_path(spec.id)))
    document.styles["Normal"].font.name = "Verdana"
    header = document.sections[0].header.paragraphs[0]
    header.add_run().add_picture(io.BytesIO(_png()))
    header.add_run(" Kirklees Safeguarding Children Partnership")
    paragraph = next(
        p for t in document.tables for c in t._cells for p in c.paragraphs if "answer.child_name" in p.text
    )
    for run in paragraph.runs:
        run._r.getparent().remove(run._r)
    paragraph.add_run("{{ answer.").bold = True
    paragraph.add_run("child_name }}")
    document.save(str(tmp_path / f"{spec.id}.docx"))

    content = render_docx(spec, validate_data(spec, sample(spec.id)), templates=tmp_path)
    _assert_valid_package(content)
    read = Read(content)
    assert ("Child/Family's name", "Siobhán O'Connell-Adeyemi") in read.pairs
    assert read.document.styles["Normal"].font.name == "Verdana"
    assert "Kirklees Safeguarding Children Partnership" in read.document.sections[0].header.paragraphs[0].text
    assert any(name.startswith("word/media/") for name in zipfile.ZipFile(io.BytesIO(content)).namelist())


def test_a_replaced_template_is_used_without_a_restart(tmp_path):
    spec = registry().form("nt-appendix-a")
    path = tmp_path / f"{spec.id}.docx"
    path.write_bytes(template_path(spec.id).read_bytes())
    assert "Restyled heading" not in Read(render_docx(spec, None, templates=tmp_path)).paragraphs
    document = docx.Document(str(path))
    document.paragraphs[0].insert_paragraph_before("Restyled heading")
    document.save(str(path))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert "Restyled heading" in Read(render_docx(spec, None, templates=tmp_path)).paragraphs


def test_building_a_template_is_deterministic():
    spec = registry().form("kirklees-appendix-5")
    assert build_template(spec, "Kirklees") == build_template(spec, "Kirklees")


def test_spec_text_with_braces_is_refused():
    spec = registry().form("nt-appendix-a")
    section = spec.sections[0]
    bad_field = dataclasses.replace(section.fields[0], label="Name {{ config }}")
    bad = dataclasses.replace(spec, sections=(dataclasses.replace(section, fields=(bad_field,)),))
    with pytest.raises(TemplateSpecError, match="field name"):
        build_template(bad, "North Tyneside")


def test_missing_template_says_how_to_build_it(tmp_path):
    with pytest.raises(TemplateMissing, match="build-templates"):
        template_bytes("nt-appendix-a", tmp_path)


# --- command line ------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", ["kirklees-appendix-5", "nt-appendix-a"])
def test_cli_renders_blank_and_completed_docx(runner, tmp_path, form_id):
    blank = tmp_path / "blank.docx"
    result = runner.invoke(args=["render", form_id, "--format", "docx", "--out", str(blank)])
    assert result.exit_code == 0, result.output
    _expect_labels(registry().form(form_id), Read(blank.read_bytes()))

    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(sample(form_id)), encoding="utf-8")
    completed = tmp_path / "completed.docx"
    result = runner.invoke(
        args=["render", form_id, "--data", str(data_file), "--format", "docx", "--out", str(completed)]
    )
    assert result.exit_code == 0, result.output
    assert TICKED in "\n".join(Read(completed.read_bytes()).texts)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"not_a_field": "x"}, "not_a_field"),
        ({"child_name": ""}, "child_name"),
        ({"date_initial": "2026-02-30"}, "date_initial"),
    ],
)
def test_cli_refuses_invalid_data_naming_the_field(runner, tmp_path, change, field):
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps({**sample("kirklees-appendix-5"), **change}), encoding="utf-8")
    out = tmp_path / "out.docx"
    args = ["render", "kirklees-appendix-5", "--data", str(data_file), "--format", "docx", "--out", str(out)]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert field in result.output
    assert not out.exists()


def test_cli_build_templates_writes_every_form(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(docx_templates, "TEMPLATES_DIR", tmp_path)
    result = runner.invoke(args=["build-templates"])
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in tmp_path.glob("*.docx")) == ALL_FORMS
