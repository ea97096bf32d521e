"""PDFs: the AcroForm values of a fillable form first; otherwise the text and ruled tables.

A fillable PDF from this service names its fields after the spec: a text or date `key`, a choice
`key` (radio buttons or a list), each tick `key.<value>`, each row cell `key.<row>.<column>`. Any
reader may have filled it, so a checkbox is on when its value is one of the "on" states the PDF
itself defines (not necessarily /Yes), and radio exports are mapped back through /Opt when a filler
numbered them. A PDF without such fields (a Word form saved or printed as PDF, or a flattened one)
is read like a Word document, from pdfplumber's lines and ruled tables.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import unicodedata
from collections import defaultdict

from forms.model import FormSpec
from parsers.layout import Para, Table, find_reference, labels_of, read_blocks, recognise
from parsers.result import Answer, ParseError, ParseResult, match_choice

MAX_PAGES = 50  # a returned form is a few pages; anything longer is not one
MIN_FIELD_SHARE = 0.5


def _reader(content: bytes):
    """The PDF opened with pikepdf (qpdf): fast, and it never unpacks a stream it is not asked for."""
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(content), password="")
        pages = len(pdf.pages)
    except pikepdf.PasswordError:
        raise ParseError(
            "the PDF is protected by a password; send it again without a password (or the form as Word)"
        ) from None
    except (pikepdf.PdfError, ValueError, KeyError, TypeError, RecursionError, OSError, RuntimeError) as exc:
        raise ParseError(f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    if pages == 0:
        raise ParseError("not a readable PDF: it has no pages")
    if pages > MAX_PAGES:
        raise ParseError(f"refused: the PDF has {pages} pages; a returned form has at most {MAX_PAGES}")
    return pdf


def parse_pdf(content: bytes, *, specs, prefixes, form_id=None) -> ParseResult:
    pdf = _reader(content)
    try:
        fields = form_fields(pdf)
    except (RecursionError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise ParseError(f"not a readable PDF: its form fields are damaged ({type(exc).__name__})") from None
    result = _from_fields(fields, specs, form_id) if fields else None
    if result is None:
        result = _from_text(content, specs, form_id)
    if result.form_id and not result.reference:
        result.reference = _reference(pdf, fields, prefixes)
    return result


MAX_FIELDS = 5000


def form_fields(pdf) -> dict[str, dict]:
    """Every terminal field by its fully qualified name: type (/FT), value (/V), options (/Opt) and
    the appearance states its widgets define (/_States_), with inherited attributes resolved."""
    import pikepdf

    acroform = pdf.Root.get("/AcroForm")
    if acroform is None or "/Fields" not in acroform:
        return {}
    out: dict[str, dict] = {}
    seen: set = set()

    def walk(node, prefix: str, inherited: dict, depth: int) -> None:
        if depth > 20 or len(out) > MAX_FIELDS:
            raise ValueError("the form's field tree is too deep or too large")
        key = node.objgen if node.is_indirect else id(node)
        if key in seen:
            return  # a loop in the field tree
        seen.add(key)
        name = str(node.get("/T", ""))
        full = f"{prefix}.{name}" if prefix and name else (name or prefix)
        attrs = dict(inherited)
        for attr in ("/FT", "/V", "/Opt"):
            if attr in node:
                attrs[attr] = node[attr]
        kids = node.get("/Kids")
        named_kids = [k for k in kids if "/T" in k] if isinstance(kids, pikepdf.Array) else []
        if named_kids:
            for kid in named_kids:
                walk(kid, full, attrs, depth + 1)
            return
        widgets = list(kids) if isinstance(kids, pikepdf.Array) else [node]
        states: list[str] = []
        for widget in widgets:
            normal = widget.get("/AP", {}).get("/N") if "/AP" in widget else None
            if isinstance(normal, pikepdf.Dictionary):
                states.extend(str(k) for k in normal if str(k) not in states)
        out[full] = {
            "/FT": str(attrs["/FT"]) if "/FT" in attrs else None,
            "/V": _python(attrs.get("/V")),
            "/Opt": _python(attrs.get("/Opt")),
            "/_States_": states,
        }

    for field in acroform.Fields:
        walk(field, "", {}, 0)
    return out


def _python(value):
    import pikepdf

    if value is None:
        return None
    if isinstance(value, pikepdf.Array):
        return [_python(v) for v in value]
    if isinstance(value, pikepdf.Name):
        return str(value)
    if isinstance(value, pikepdf.String):
        return str(value)
    return str(value)


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


def _reference(pdf, fields: dict, prefixes) -> str | None:
    texts = [str(f.get("/V") or "") for f in fields.values()]
    with contextlib.suppress(ValueError, TypeError, RuntimeError):  # damaged document information
        texts.extend(str(v) for v in pdf.docinfo.values())
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
    from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

    blocks: list = []
    try:
        with pdfplumber.open(io.BytesIO(content), password="") as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise ParseError(
                    f"refused: the PDF has {len(pdf.pages)} pages; a returned form has at most {MAX_PAGES}"
                )
            for page in pdf.pages:
                page_blocks = _page_blocks(page)
                _join_split_row(blocks, page_blocks)
                blocks.extend(page_blocks)
                page.close()
    except ParseError:
        raise
    except MemoryError:
        raise ParseError("refused: the PDF's content unpacks beyond the memory limit (a decompression bomb?)") from None
    except (
        PDFSyntaxError,
        PdfminerException,
        MalformedPDFException,
        ValueError,
        KeyError,
        TypeError,
        RecursionError,
        AssertionError,
    ) as exc:
        if "allocate" in str(exc):  # zlib's own MemoryError, as pdfminer reports it
            raise ParseError(
                "refused: the PDF's content unpacks beyond the memory limit (a decompression bomb?)"
            ) from None
        raise ParseError(f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    return blocks


def _join_split_row(blocks: list, page_blocks: list) -> None:
    """A table row that a page break split: the next page starts with a row whose first cell is empty."""
    if not blocks or not page_blocks or not isinstance(blocks[-1], Table) or not isinstance(page_blocks[0], Table):
        return
    first, last = page_blocks[0].rows[0], blocks[-1].rows[-1]
    if first and not first[0].strip() and len(first) == len(last):
        blocks[-1].rows[-1] = [f"{a} {b}".strip() if b.strip() else a for a, b in zip(last, first, strict=True)]
        page_blocks[0].rows.pop(0)
        if not page_blocks[0].rows:
            page_blocks.pop(0)


# Right-to-left letters (Hebrew, Arabic and their presentation forms); a run of them may hold spaces,
# digits and punctuation between its letters.
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
_RTL_RUN = re.compile(f"[{_RTL}](?:[{_RTL}0-9\u0660-\u0669 .,:;()-]*[{_RTL}])?")
_DIGITS = re.compile("[0-9\u0660-\u0669]+")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefc]+")


def _logical(text: str) -> str:
    """A line as read, not as drawn: pdfplumber gives right-to-left text in drawing order (left to
    right), often as shaped glyphs. Each run is put back in reading order (its numbers still left to
    right), then the shaped glyphs become letters (a lam-alef ligature becomes lam, alef)."""
    if not _RTL_RUN.search(text):
        return text
    text = _RTL_RUN.sub(lambda run: _DIGITS.sub(lambda d: d.group(0)[::-1], run.group(0)[::-1]), text)
    return _PRESENTATION_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


MARK_SIDE = (6.0, 16.0)  # points: the side of a checkbox or radio button as forms draw them
LABEL_GAP = 20.0  # points at most between a drawn box and its option's label
MAX_MARKS = 400  # drawn boxes on one page, at most, read as checkboxes (bounds the time a page takes)


def _drawn_marks(page) -> list[dict]:
    """Checkboxes and radio buttons drawn as graphics (a flattened form: its fields became drawings),
    each as a ☒ or ☐ character where the box is, before its option's label, as Word's boxes read.
    A box is a small unfilled square or circle with text just to its right; it is ticked when a
    smaller drawing (a tick, a cross or a dot) lies inside it."""
    lo, hi = MARK_SIDE
    drawn = page.rects + page.curves + page.lines
    boxes = [o for o in drawn if lo < o["width"] < hi and abs(o["width"] - o["height"]) < 1.5 and not o.get("fill")]
    if len(boxes) > MAX_MARKS:  # a pattern or a chart, not a form's options: leave it as drawn
        return []
    made = []
    for box in boxes:
        beside = (
            c
            for c in page.chars
            if box["x1"] <= c["x0"] <= box["x1"] + LABEL_GAP
            and box["top"] - 3 <= (c["top"] + c["bottom"]) / 2 <= box["bottom"] + 3
        )
        first = min(beside, key=lambda c: c["x0"], default=None)  # the label's first letter
        if first is None:
            continue
        ticked = any(
            o["width"] < box["width"] - 1
            and o["height"] < box["height"] - 1
            and box["x0"] - 0.5 <= o["x0"]
            and o["x1"] <= box["x1"] + 0.5
            and box["top"] - 0.5 <= o["top"]
            and o["bottom"] <= box["bottom"] + 0.5
            for o in drawn
        )
        width = box["x1"] - box["x0"]
        made.append({**first, "text": "☒" if ticked else "☐", "x0": box["x0"], "x1": box["x1"], "width": width})
    return made


def _page_blocks(page) -> list:
    page.objects.setdefault("char", []).extend(_drawn_marks(page))
    tables = page.find_tables()
    table_boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
        y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in table_boxes)

    # Answer boxes drawn around values (a flattened form): a box's sides divide a line into label and
    # value, and a line of text beside a box but wholly left of it continues the label of that box.
    answer_boxes = [r for r in page.rects if not r.get("fill") and r["width"] > MARK_SIDE[1]]
    placed: list[tuple[float, object]] = []
    lines = page.filter(outside).extract_text_lines(return_chars=True)
    right = max((line["x1"] for line in lines), default=0)
    beside: tuple[dict, Table, tuple] | None = None  # the last label-and-value row, its box and its font
    for line in lines:
        line["text"] = _logical(line["text"])
    for prev, line in zip([None, *lines], lines, strict=False):
        font = (line["chars"][0]["fontname"], round(line["chars"][0]["size"], 1)) if line["chars"] else None
        boxes = [b for b in answer_boxes if b["top"] - 2 <= line["top"] <= b["bottom"] and b["x0"] > line["x0"] + 8]
        if beside is not None and beside[0] in boxes and line["x1"] < beside[0]["x0"]:
            if font == beside[2]:  # the label wrapped within its column (a hint beneath it is in another font)
                beside[1].rows[0][0] += " " + line["text"].strip()
            else:
                placed.append((line["top"], Para(line["text"])))
            continue
        columns = _columns(line, sorted({x for b in boxes for x in (b["x0"], b["x1"])}))
        if len(columns) > 1:  # a label and its value side by side, with no ruling between them
            row = Table([columns])
            placed.append((line["top"], row))
            beside = (min(boxes, key=lambda b: b["x0"]), row, font) if boxes else None
            continue
        beside = None
        soft = prev is not None and _wrapped(prev, line, right)
        last = placed[-1][1] if placed else None
        if soft and isinstance(last, Para) and last.text[:1] in ("☐", "☒"):
            last.text += " " + line["text"]  # an option's label wrapped onto the next line
            continue
        placed.append((line["top"], Para(line["text"], soft=soft)))
    for table in tables:
        rows = [[_cell_text(page, cell) if cell else "" for cell in row.cells] for row in table.rows]
        placed.append((table.bbox[1], Table(rows)))
    placed.sort(key=lambda p: p[0])
    return [block for _, block in placed]


def _columns(line: dict, edges: list[float] = ()) -> list[str]:
    """A line's text split where a wide gap (several spaces' width) separates its words, or where
    it crosses one of `edges` (the sides of a drawn answer box)."""
    chars = [c for c in line["chars"] if c["text"].strip()]
    if len(chars) < 2:
        return [line["text"]]
    size = max(sum(c["x1"] - c["x0"] for c in chars) / len(chars), 1.0)
    columns, current, prev = [], [chars[0]], chars[0]
    for char in chars[1:]:
        gap = char["x0"] - prev["x1"]
        middle = (char["x0"] + char["x1"]) / 2
        if gap > max(4 * size, 18) or any(prev["x1"] - 1 <= edge <= middle for edge in edges):
            columns.append(current)
            current = []
        elif gap > 0.2 * size and current:
            current.append({"text": " "})
        current.append(char)
        prev = char
    columns.append(current)
    return [_logical("".join(c["text"] for c in column).strip()) for column in columns]


def _wrapped(prev: dict, line: dict, right: float) -> bool:
    """Whether `line` starts where the writer wrapped `prev`: its first word would not have fitted."""
    per_char = (prev["x1"] - prev["x0"]) / max(len(prev["text"]), 1)
    first = line["text"].split(" ")[0]
    return 0 < line["top"] - prev["top"] < 3 * per_char + 12 and prev["x1"] + per_char * (len(first) + 1) >= right - 0.5


def _cell_text(page, bbox) -> str:
    """A cell's text with the writer's line wrapping undone: a line that ends because the next word
    did not fit continues (with a space, or none inside a word that was split); a line that ends
    short of the cell's edge is a real line break."""
    x0, top, x1, bottom = bbox

    def inside(obj) -> bool:  # by the middle of each character, as pdfplumber assigns them to cells
        if obj.get("object_type") != "char":
            return False
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return x0 <= x < x1 and top <= y < bottom

    lines = page.filter(inside).extract_text_lines(return_chars=True, strip=True)
    if not lines:
        return ""
    margin = max(min(line["x0"] for line in lines) - x0, 1.0)
    right = x1 - margin
    text = _logical(lines[0]["text"])
    for prev, line in itertools.pairwise(lines):
        chars, read = line["chars"], _logical(line["text"])
        first = line["text"].split(" ")[0]
        first_width = chars[min(len(first), len(chars)) - 1]["x1"] - chars[0]["x0"]
        space = max(chars[0]["x1"] - chars[0]["x0"], 1.0) * 0.5
        if prev["x1"] + space + first_width < right - 0.5:
            text += "\n" + read  # the next word would have fitted: a real line break
        elif prev["text"].endswith("-") or (
            " " not in prev["text"]
            and right - prev["x1"] < chars[0]["x1"] - chars[0]["x0"]
            and (prev["text"][-1:].islower() or prev["text"][-1:].isdigit())
            and (line["text"][:1].islower() or line["text"][:1].isdigit())
        ):
            text += read  # a word too long for the cell, split where the cell ended
        else:
            text += " " + read
    return text


__all__ = ["labels_of", "parse_pdf", "pdf_blocks", "recognise"]
