"""PDF documents: every form blank (fillable) and completed, read back with pypdf and pdfplumber."""

from __future__ import annotations

import io
import json
import unicodedata

import pdfplumber
import pypdf
import pytest

from forms import registry
from forms.schema import validate_data
from service.documents.pdf.render import render_pdf
from service.documents.records import render
from tests.conftest import ALL_FORMS, sample

NAMES = ["Zoë Łukasiewicz", "Siobhán Ní Bhriain", "Nguyễn Văn An"]
ARABIC = "أحمد الراشد"
INJECTIONS = ["{{ 7*7 }}", "{% if %}", "<w:p>", "&", "(", ")", "back\\slash", "\\) Tj (x", "%%EOF", "]]> &amp;"]
READ_ONLY, MULTILINE, RADIO = 1, 1 << 12, 1 << 15
HIDDEN = 1 << 1


def spec_of(form_id):
    return registry().form(form_id)


def completed(form_id, **changes):
    spec = spec_of(form_id)
    return spec, validate_data(spec, {**sample(form_id), **changes})


def reader(content: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(content))


def terminal_fields(content: bytes) -> dict:
    """Fully qualified name -> field, for fields that hold a value (not the parents of dotted names)."""
    return {name: f for name, f in (reader(content).get_fields() or {}).items() if f.get("/FT") is not None}


def widgets(content: bytes) -> dict[str, list]:
    """Qualified field name -> its widget annotations (what a viewer shows), from the pages."""
    out: dict[str, list] = {}
    for page in reader(content).pages:
        for annot in page.get("/Annots", []):
            widget = annot.get_object()
            parts, node = [], widget
            while node is not None:
                if "/T" in node:
                    parts.append(str(node["/T"]))
                node = node["/Parent"].get_object() if "/Parent" in node else None
            out.setdefault(".".join(reversed(parts)), []).append(widget)
    return out


def page_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in reader(content).pages)
    return unicodedata.normalize("NFC", text)


def flat(text: str) -> str:
    """Whitespace-insensitive text: a label may wrap onto two lines."""
    return " ".join(text.split())


def dmy(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if iso else ""


def expected_names(spec, data=None) -> set[str]:
    names = set()
    for f in spec.fields:
        if f.type == "ticks":
            names |= {f"{f.key}.{c.value}" for c in f.choices}
        elif f.type == "rows":
            count = f.blank_rows if data is None else len(data[f.key])
            names |= {f"{f.key}.{n}.{c.key}" for n in range(1, count + 1) for c in f.columns}
        else:
            names.add(f.key)
    return names


def expected_values(spec, data) -> dict[str, str]:
    """What each field must hold for canonical data: text exactly, dates DD/MM/YYYY, states as names."""
    values = {}
    for f in spec.fields:
        value = data[f.key]
        if f.type in ("text", "textarea"):
            values[f.key] = value
        elif f.type == "date":
            values[f.key] = dmy(value)
        elif f.type == "choice":
            values[f.key] = f"/{value}" if value else "/Off"
        elif f.type == "ticks":
            values |= {f"{f.key}.{c.value}": "/Yes" if c.value in value else "/Off" for c in f.choices}
        elif f.type == "rows":
            for n, row in enumerate(value, start=1):
                for c in f.columns:
                    values[f"{f.key}.{n}.{c.key}"] = dmy(row[c.key]) if c.type == "date" else row[c.key]
    return values


def is_latin(text: str) -> bool:
    return all(ord(ch) < 0x590 for ch in text)


# --- every form, blank and completed -----------------------------------------------------------


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_blank_form_is_fillable_with_fields_named_after_the_spec(form_id):
    spec = spec_of(form_id)
    content = render_pdf(spec, None)
    assert content.startswith(b"%PDF-")
    fields = terminal_fields(content)
    assert set(fields) == expected_names(spec)
    for f in spec.fields:
        if f.type in ("text", "textarea", "date"):
            field = fields[f.key]
            assert field["/FT"] == "/Tx"
            assert field.get("/V") in (None, "")
            flags = int(field.get("/Ff", 0))
            assert not flags & READ_ONLY
            assert bool(flags & MULTILINE) == (f.type == "textarea")
            if f.type == "date":
                assert "DD/MM/YYYY" in field["/TU"]
        elif f.type == "ticks":
            for c in f.choices:
                box = fields[f"{f.key}.{c.value}"]
                assert box["/FT"] == "/Btn" and box["/V"] == "/Off"
                assert set(box["/_States_"]) == {"/Yes", "/Off"}
        elif f.type == "choice":
            group = fields[f.key]
            assert group["/FT"] == "/Btn" and int(group["/Ff"]) & RADIO
            assert set(group["/_States_"]) - {"/Off"} == {f"/{c.value}" for c in f.choices}
        elif f.type == "rows":
            for c in f.columns:
                cell = fields[f"{f.key}.{f.blank_rows}.{c.key}"]
                assert bool(int(cell.get("/Ff", 0)) & MULTILINE) == (c.type == "textarea")


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_completed_form_fields_hold_the_data_exactly(form_id):
    spec, data = completed(form_id)
    content = render_pdf(spec, data)
    fields = terminal_fields(content)
    assert set(fields) == expected_names(spec, data)
    got = {name: str(f.get("/V")) for name, f in fields.items()}
    assert got == expected_values(spec, data)


@pytest.mark.parametrize("form_id", ALL_FORMS)
@pytest.mark.parametrize("filled", [False, True], ids=["blank", "completed"])
def test_every_label_is_in_the_page_text(form_id, filled):
    spec, data = completed(form_id)
    text = flat(page_text(render_pdf(spec, data if filled else None)))
    expected = [spec.title, *spec.instructions, *spec.closing]
    if spec.derived:
        expected.append(spec.provenance)
        assert flat(spec.description)[:60] not in text
    for section in spec.sections:
        if section.printed:
            expected.append(section.title)
        for f in section.fields:
            expected.append(f.label)
            expected.extend(c.label for c in f.choices)
            expected.extend(c.label for c in f.columns)
    missing = [label for label in expected if flat(label) not in text]
    assert not missing


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_completed_values_are_in_the_page_text(form_id):
    spec, data = completed(form_id)
    text = flat(page_text(render_pdf(spec, data)))
    values = [v for name, v in expected_values(spec, data).items() if not v.startswith("/")]
    latin = [v for v in values if v and is_latin(v)]
    assert latin
    missing = [v for v in latin if flat(v) not in text]
    assert not missing
    assert "Page 1 of" in text


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_blank_filled_by_pypdf_reads_back_exactly(form_id):
    spec, data = completed(form_id)
    wanted = expected_values(spec, {**data, **{f.key: [] for f in spec.fields if f.type == "rows"}})
    for f in spec.fields:  # fill the blank rows the blank form has
        if f.type == "rows":
            for n, row in enumerate(data[f.key][: f.blank_rows], start=1):
                for c in f.columns:
                    wanted[f"{f.key}.{n}.{c.key}"] = dmy(row[c.key]) if c.type == "date" else row[c.key]
    wanted = {k: v for k, v in wanted.items() if v != "/Off"}
    textareas = [f.key for f in spec.fields if f.type == "textarea"]
    first_text = textareas[0] if textareas else next(f"{f.key}.1.reason" for f in spec.fields if f.type == "rows")
    wanted[first_text] = "Zoë Łukasiewicz أحمد الراشد\nline two (with brackets) \\ {{ 7*7 }} <w:p> &"
    writer = pypdf.PdfWriter(clone_from=reader(render_pdf(spec, None)))
    for page in writer.pages:
        writer.update_page_form_field_values(page, wanted, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    fields = terminal_fields(out.getvalue())
    assert {name: str(fields[name].get("/V")) for name in wanted} == wanted


# --- what a completed form shows ---------------------------------------------------------------


def test_completed_text_fields_are_hidden_read_only_and_checkboxes_show_ticked():
    spec, data = completed("kirklees-appendix-5")
    content = render_pdf(spec, data)
    shown = widgets(content)
    assert "/NeedAppearances" not in reader(content).trailer["/Root"]["/AcroForm"]
    (details,) = shown["details"]
    assert int(details["/Ff"]) & READ_ONLY and int(details["/F"]) & HIDDEN
    assert details["/AP"]["/N"].get_object().get_data() == b""  # nothing drawn over the page text
    (ticked,) = shown["nature.plan-effectiveness"]
    assert ticked["/V"] == "/Yes" and ticked["/AS"] == "/Yes" and not int(ticked["/F"]) & HIDDEN
    assert int(ticked["/Ff"]) & READ_ONLY
    assert ticked["/AP"]["/N"]["/Yes"].get_object().get_data()  # the normal checked appearance
    assert shown["nature.referral"][0]["/AS"] == "/Off"
    assert sorted(str(w["/AS"]) for w in shown["stage"]) == ["/5", "/Off"]
    (blank_details,) = widgets(render_pdf(spec, None))["details"]
    assert not int(blank_details["/F"]) & HIDDEN


def test_multiline_answers_keep_their_line_breaks():
    spec, data = completed("kirklees-appendix-5", details="First line\nSecond line\n\nFourth line")
    content = render_pdf(spec, data)
    assert terminal_fields(content)["details"]["/V"] == "First line\nSecond line\n\nFourth line"
    lines = [line.strip() for line in page_text(content).splitlines()]
    assert lines.index("Second line") == lines.index("First line") + 1
    assert "Fourth line" in lines


def test_repeatable_rows_grow_to_exactly_the_data_rows_across_pages():
    rows = [
        {"action": f"Action number {n}", "by_whom": f"Worker {n}", "completion_date": "2026-12-01"}
        for n in range(1, 61)
    ]
    spec, data = completed("kirklees-appendix-5", actions=rows)
    content = render_pdf(spec, data)
    fields = terminal_fields(content)
    assert {n for n in fields if n.startswith("actions.")} == {
        f"actions.{n}.{c}" for n in range(1, 61) for c in ("action", "by_whom", "completion_date")
    }
    assert fields["actions.60.by_whom"]["/V"] == "Worker 60"
    pages = [flat(p.extract_text()) for p in reader(content).pages]
    with_rows = [p for p in pages if "Action number" in p]
    assert len(with_rows) >= 2
    assert all("By Whom" in p for p in with_rows)  # the header repeats on every page of the table
    text = " ".join(pages)
    assert all(f"Action number {n} Worker {n} 01/12/2026" in text for n in (1, 30, 60))
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]


def test_a_row_taller_than_a_page_continues_on_the_next():
    spec = spec_of("kirklees-appendix-3")
    row = sample("kirklees-appendix-3")["rows"][0]
    reason = " ".join(f"word{n}" for n in range(1100))  # within the 10,000 characters free text may hold
    data = validate_data(spec, {"rows": [{**row, "reason": reason}]})
    content = render_pdf(spec, data)
    assert len(reader(content).pages) >= 2
    assert terminal_fields(content)["rows.1.reason"]["/V"] == reason
    text = page_text(content)
    assert "word0" in text and "word1099" in text


def test_answers_that_would_fill_too_many_pages_are_refused_naming_the_field():
    from marshmallow import ValidationError

    spec = spec_of("kirklees-appendix-3")
    row = sample("kirklees-appendix-3")["rows"][0]
    data = validate_data(spec, {"rows": [{**row, "reason": " ".join(["word"] * 1900)}] * 40})
    with pytest.raises(ValidationError) as raised:
        render_pdf(spec, data)
    assert "Child Protection Case Conference issues" in raised.value.messages["rows"][0]
    assert "100 pages" in raised.value.messages["rows"][0]


def test_blank_rows_follow_the_spec():
    spec = spec_of("kirklees-appendix-3")
    fields = terminal_fields(render_pdf(spec, None))
    assert {n.split(".")[1] for n in fields if n.startswith("rows.")} == {str(n) for n in range(1, 8)}  # 7, as printed


def test_empty_rows_in_completed_form_have_no_row_fields():
    spec, data = completed("kirklees-appendix-5", actions=[])
    assert not [n for n in terminal_fields(render_pdf(spec, data)) if n.startswith("actions.")]


# --- any name, and user text as data -----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_names_render_and_read_back(name):
    spec, data = completed("kirklees-appendix-5", child_name=name, by_name=name)
    content = render_pdf(spec, data)
    assert terminal_fields(content)["child_name"]["/V"] == name
    assert flat(page_text(content)).count(name) >= 2
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader(content).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any(f.endswith("+DejaVuSans") for f in fonts)  # an embedded subset, not a standard 14 font


def test_arabic_is_shaped_and_right_to_left():
    spec, data = completed("gloucestershire-dispute-record", raiser_name=ARABIC)
    content = render_pdf(spec, data)
    assert terminal_fields(content)["raiser_name"]["/V"] == ARABIC
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        chars = [c for c in pdf.pages[0].chars if "\u0600" <= c["text"] <= "\ufeff"]
    drawn = "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"]))
    # HarfBuzz chose joined letter forms (Arabic presentation forms; alef never joins on to the next
    # letter, so it keeps its own form) ...
    assert sum("\ufe70" <= ch <= "\ufeff" for ch in drawn) == len(drawn) - drawn.count("ا") - drawn.count("أ")
    # ... placed right to left: read by position from the left, the letters come last to first.
    assert unicodedata.normalize("NFKC", drawn) == ARABIC.replace(" ", "")[::-1]


def test_mixed_latin_and_arabic_keeps_the_latin_readable():
    name = f"Ahmed Al-Rashid {ARABIC}"
    spec, data = completed("gloucestershire-dispute-record", raiser_name=name)
    content = render_pdf(spec, data)
    assert terminal_fields(content)["raiser_name"]["/V"] == name
    assert "Ahmed Al-Rashid" in page_text(content)


@pytest.mark.parametrize("text", INJECTIONS)
def test_user_text_is_data(text):
    value = f"before {text} after"
    spec, data = completed("kirklees-appendix-5", details=value, child_name=text)
    content = render_pdf(spec, data)
    fields = terminal_fields(content)
    assert fields["details"]["/V"] == value
    assert fields["child_name"]["/V"] == text
    assert flat(value) in flat(page_text(content))
    assert "49" not in page_text(content).replace("2019", "")
    with pdfplumber.open(io.BytesIO(content)) as pdf:  # a second parser agrees the file is sound
        assert flat(value) in flat(" ".join(page.extract_text() for page in pdf.pages))


def test_control_characters_and_tabs_do_not_break_the_document():
    value = "tab\there\x07bell\x00nul"
    spec, data = completed("kirklees-appendix-5", details=value)
    content = render_pdf(spec, data)
    # The normaliser (forms.normalise) keeps the tab and removes the bell and the NUL.
    assert data["details"] == "tab\therebellnul"
    assert terminal_fields(content)["details"]["/V"] == "tab\therebellnul"
    assert "tab    herebellnul" in page_text(content)


# --- the facade, the command line and the parser -----------------------------------------------


def test_documents_facade_validates_before_rendering():
    from marshmallow import ValidationError

    spec = spec_of("nt-appendix-a")
    with pytest.raises(ValidationError):
        render(spec, {**sample("nt-appendix-a"), "unknown_key": "x"}, "pdf")
    assert render(spec, sample("nt-appendix-a"), "pdf").startswith(b"%PDF-")


@pytest.mark.parametrize("form_id", ["kirklees-appendix-3", "merton-outcome-confirmation"])
def test_flask_render_command_writes_blank_and_completed_pdfs(runner, tmp_path, form_id):
    blank = tmp_path / "blank.pdf"
    result = runner.invoke(args=["render", form_id, "--format", "pdf", "--out", str(blank)])
    assert result.exit_code == 0, result.output
    assert set(terminal_fields(blank.read_bytes())) == expected_names(spec_of(form_id))
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(sample(form_id)), encoding="utf-8")
    done = tmp_path / "done.pdf"
    result = runner.invoke(args=["render", form_id, "--data", str(data_file), "--format", "pdf", "--out", str(done)])
    assert result.exit_code == 0, result.output
    spec, data = completed(form_id)
    assert {n: str(f.get("/V")) for n, f in terminal_fields(done.read_bytes()).items()} == expected_values(spec, data)


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_parser_reads_a_completed_pdf_back_to_the_same_data(form_id):
    parsers = pytest.importorskip("parsers")
    spec, data = completed(form_id)
    result = parsers.parse(render_pdf(spec, data), f"{form_id}.pdf")
    assert result.form_id == form_id
    parsed, errors = result.canonical(spec)
    assert not errors
    assert parsed == data
