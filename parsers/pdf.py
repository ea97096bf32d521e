"""PDFs: the AcroForm values of a fillable form first; otherwise the text and ruled tables.

A fillable PDF from this service names its fields after the spec: a text or date `key`, a choice
`key` (radio buttons or a list), each tick `key.<value>`, each row cell `key.<row>.<column>`. Any
reader may have filled it, so a checkbox is on when its value is one of the "on" states the PDF
itself defines (not necessarily /Yes), and radio exports are mapped back through /Opt when a filler
numbered them. A PDF without such fields (a Word form saved or printed as PDF, or a flattened one)
is read like a Word document, from pdfplumber's lines and ruled tables.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict

from forms.model import FormSpec
from parsers.layout import Para, Table, find_reference, labels_of, read_blocks, recognise
from parsers.result import Answer, ParseError, ParseResult, match_choice

MAX_PAGES = 50  # a returned form is a few pages; anything longer is not one
MIN_FIELD_SHARE = 0.5


def _reader(content: bytes):
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (NotImplementedError, FileNotDecryptedError) as exc:
                raise ParseError(f"the PDF is encrypted in a way that cannot be opened ({exc})") from None
            if not opened:
                raise ParseError(
                    "the PDF is protected by a password; send it again without a password (or the form as Word)"
                )
        pages = len(reader.pages)
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise ParseError(f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    if pages == 0:
        raise ParseError("not a readable PDF: it has no pages")
    if pages > MAX_PAGES:
        raise ParseError(f"refused: the PDF has {pages} pages; a returned form has at most {MAX_PAGES}")
    return reader


def parse_pdf(content: bytes, *, specs, prefixes, form_id=None) -> ParseResult:
    reader = _reader(content)
    try:
        fields = reader.get_fields() or {}
    except (RecursionError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ParseError(f"not a readable PDF: its form fields are damaged ({type(exc).__name__})") from None
    result = _from_fields(fields, specs, form_id) if fields else None
    if result is None:
        result = _from_text(content, specs, form_id)
    if result.form_id and not result.reference:
        result.reference = _reference(reader, fields, prefixes)
    return result


# --- fillable forms ----------------------------------------------------------------------------


def _field_share(spec: FormSpec, names: set[str]) -> float:
    expected = set()
    for f in spec.fields:
        if f.type == "ticks":
            expected.update(f"{f.key}.{c.value}" for c in f.choices)
        elif f.type != "rows":
            expected.add(f.key)
    rows = {f.key for f in spec.fields if f.type == "rows"}
    ours = {n for n in names if n in expected or n.split(".", 1)[0] in rows}
    return len(ours) / max(len(names | expected), 1)


def _from_fields(fields: dict, specs, form_id) -> ParseResult | None:
    names = {name for name, f in fields.items() if f.get("/FT") is not None}
    if not names:
        return None
    specs = [s for s in specs if form_id is None or s.id == form_id]
    ranked = sorted(((_field_share(s, names), s) for s in specs), key=lambda x: x[0], reverse=True)
    if not ranked or ranked[0][0] < MIN_FIELD_SHARE:
        return None
    share, spec = ranked[0]
    answers: dict[str, Answer] = {}
    warnings: list[str] = []
    rows: dict[str, dict[int, dict]] = defaultdict(dict)
    for f in spec.fields:
        if f.type == "ticks":
            chosen = [c.value for c in f.choices if _checked(fields.get(f"{f.key}.{c.value}"))]
            answers[f.key] = Answer(chosen, f.label)
        elif f.type == "choice" and f.key in fields:
            value = _choice_value(fields[f.key])
            if value and match_choice(f, value) is None:
                warnings.append(f"'{f.label}': the PDF holds '{value}', which is not one of the options")
            answers[f.key] = Answer(value, f.label)
        elif f.type in ("text", "textarea", "date") and f.key in fields:
            answers[f.key] = Answer(_text_value(fields[f.key]), f.label)
        elif f.type == "rows":
            answers[f.key] = Answer([], f.label)
    row_fields = {f.key: f for f in spec.fields if f.type == "rows"}
    for name, field in fields.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] in row_fields and parts[1].isdigit():
            value = _text_value(field)
            if value:
                rows[parts[0]].setdefault(int(parts[1]), {})[parts[2]] = value
    for key, by_index in rows.items():
        columns = {c.key for c in row_fields[key].columns}
        answers[key] = Answer(
            [{k: v for k, v in by_index[i].items() if k in columns} for i in sorted(by_index)], row_fields[key].label
        )
    for f in spec.fields:
        answer = answers.get(f.key)
        if f.required and (answer is None or answer.value in ("", [], None)):
            warnings.append(f"required field '{f.label}' is empty")
    stage_field = spec.field_for("stage")
    claimed = None
    if stage_field is not None and stage_field.key in answers:
        claimed = match_choice(stage_field, str(answers[stage_field.key].value or "")) or None
    return ParseResult(
        kind="pdf",
        form_id=spec.id,
        partnership=spec.partnership,
        title=spec.title,
        claimed_stage=claimed,
        answers=answers,
        warnings=warnings,
        score=share,
    )


def _text_value(field) -> str:
    value = field.get("/V")
    if value is None:
        return ""
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _decode_name(value) -> str:
    text = str(value)
    if text.startswith("/"):
        text = text[1:]
        if "#" in text:
            raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("latin-1"))
            text = raw.decode("utf-8", errors="replace")
    return text


def _checked(field) -> bool:
    """On when the value is one of the box's own on-states (whatever its name), never /Off."""
    if field is None:
        return False
    value = field.get("/V")
    if value is None:
        return False
    value = str(value)
    if value in ("/Off", "Off", ""):
        return False
    states = [str(s) for s in field.get("/_States_", [])]
    on_states = [s for s in states if s not in ("/Off", "Off")]
    return not on_states or value in on_states or value.lstrip("/") in (s.lstrip("/") for s in on_states)


def _choice_value(field) -> str:
    value = field.get("/V")
    if value is None or str(value) in ("/Off", "Off"):
        return ""
    if field.get("/FT") == "/Btn":
        text = _decode_name(value)
        options = field.get("/Opt")
        if options is not None and text.isdigit() and int(text) < len(options):
            return str(options[int(text)])  # a filler that numbered the kids' exports
        return text
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value)


def _reference(reader, fields: dict, prefixes) -> str | None:
    texts = [str(f.get("/V") or "") for f in fields.values()]
    meta = reader.metadata or {}
    texts.extend(str(v) for v in meta.values())
    return find_reference("\n".join(texts), prefixes)


# --- PDFs without fields -----------------------------------------------------------------------


def _from_text(content: bytes, specs, form_id) -> ParseResult:
    blocks = pdf_blocks(content)
    if not any((b.text.strip() if isinstance(b, Para) else b.rows) for b in blocks):
        raise ParseError("not a readable form: the PDF has no text (a scan or image); send the Word form instead")
    result = read_blocks(blocks, "pdf", specs, continuation=True, form_id=form_id)
    return result


def pdf_blocks(content: bytes) -> list:
    """Lines outside tables as paragraphs and each ruled table as rows of cells, in reading order."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    blocks: list = []
    try:
        with pdfplumber.open(io.BytesIO(content), password="") as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise ParseError(
                    f"refused: the PDF has {len(pdf.pages)} pages; a returned form has at most {MAX_PAGES}"
                )
            for page in pdf.pages:
                blocks.extend(_page_blocks(page))
                page.close()
    except ParseError:
        raise
    except (PDFSyntaxError, ValueError, KeyError, TypeError, RecursionError, AssertionError) as exc:
        raise ParseError(f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    return blocks


def _page_blocks(page) -> list:
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
        y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    placed: list[tuple[float, object]] = []
    for line in page.filter(outside).extract_text_lines(return_chars=False):
        placed.append((line["top"], Para(line["text"])))
    for table in tables:
        rows = [[(cell or "").strip() for cell in row] for row in table.extract()]
        placed.append((table.bbox[1], Table(rows)))
    placed.sort(key=lambda p: p[0])
    return [block for _, block in placed]


__all__ = ["labels_of", "parse_pdf", "pdf_blocks", "recognise"]
