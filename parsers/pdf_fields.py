"""A fillable PDF's AcroForm fields, read back into a form's answers.

A fillable PDF from this service names its fields after the spec: a text or date `key`, a choice
`key` (radio buttons or a list), each tick `key.<value>`, each row cell `key.<row>.<column>`. Any
reader may have filled it, so a checkbox is on when its value is one of the "on" states the PDF
itself defines (not necessarily /Yes), and radio exports are mapped back through /Opt when a filler
numbered them. The form is the one whose field names the PDF's fields match best.
"""

from __future__ import annotations

import re
from collections import defaultdict

from forms.model import FormSpec
from parsers.result import Answer, ParseResult, match_choice

MIN_FIELD_SHARE = 0.5
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


def from_fields(fields: dict, specs, form_id) -> ParseResult | None:
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
