"""One result shape for every returned document, whatever it came in as.

A `ParseResult` names the form it recognised (by its labels, never by a hidden marker), the
partnership, the stage the document claims, each answer keyed by the spec's key with the label it
was read from, and warnings a person should see. `canonical()` turns the answers into the canonical
data of forms/schema.py, or names each answer that does not fit.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from marshmallow import ValidationError

from forms.model import Field, FormSpec
from forms.schema import empty_data, validate_data


class ParseError(ValueError):
    """The input cannot be read as a form; the message says why, in words a person can act on."""


_REPR = re.compile(r"(?:stream |file )?<[^<>]* at 0x[0-9a-fA-F]+>:?\s*")


def plain(exc: BaseException, fallback: str = "the file is damaged") -> str:
    """What a library's exception says, without object reprs ("<_io.BytesIO object at 0x...>") or
    the library's class names, cut to a readable length; `fallback` when it says nothing."""
    text = _REPR.sub("", str(exc)).strip(" :")
    text = " ".join(text.split())
    if not text or text.isdigit():
        return fallback
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass
class Answer:
    value: object  # str, list of choice labels/values (ticks), or list of row dicts (rows)
    label: str  # the label, as written in the document, it was read from
    confidence: float | None = None  # 0-100, for an answer read by OCR: its least certain word


@dataclass
class ParseResult:
    kind: str  # docx, pdf, email, text
    form_id: str | None = None
    partnership: str | None = None
    title: str | None = None
    claimed_stage: str | None = None
    reference: str | None = None  # a case reference found in the document (e.g. NT-2026-0007)
    answers: dict[str, Answer] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    score: float = 0.0
    reason: str | None = None  # why no form could be read (set when form_id is None)
    email: dict | None = None  # sender, subject, message id, threading, for e-mails
    # Why a person must confirm the answers before they are applied (a scan read by OCR), or None.
    confirm: str | None = None

    @property
    def recognised(self) -> bool:
        return self.form_id is not None

    def canonical(self, spec: FormSpec) -> tuple[dict, dict]:
        """(canonical data, errors by field key); data is best effort when there are errors."""
        converted, errors = convert_answers(spec, {k: a.value for k, a in self.answers.items()})
        try:
            return validate_data(spec, converted), errors
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            return {**empty_data(spec), **converted}, {**messages, **errors}

    def to_json(self, spec: FormSpec | None = None) -> dict:
        out = {
            "kind": self.kind,
            "form_id": self.form_id,
            "partnership": self.partnership,
            "title": self.title,
            "claimed_stage": self.claimed_stage,
            "reference": self.reference,
            "score": round(self.score, 3),
            "fields": {k: _answer_json(a) for k, a in self.answers.items()},
            "warnings": list(self.warnings),
            "reason": self.reason,
        }
        if self.email is not None:
            out["email"] = self.email
        if self.confirm is not None:
            out["confirm"] = self.confirm
        if spec is not None:
            data, errors = self.canonical(spec)
            out["data"], out["errors"] = data, errors
        return out

    @classmethod
    def from_json(cls, obj: dict) -> ParseResult:
        answers = {k: Answer(v["value"], v["label"], v.get("confidence")) for k, v in obj.get("fields", {}).items()}
        keep = ("kind", "form_id", "partnership", "title", "claimed_stage", "reference", "score", "reason", "email")
        keep += ("confirm",)
        return cls(answers=answers, warnings=list(obj.get("warnings", [])), **{k: obj.get(k) for k in keep})


def _answer_json(answer: Answer) -> dict:
    out = {"value": answer.value, "label": answer.label}
    if answer.confidence is not None:
        out["confidence"] = round(answer.confidence)
    return out


# --- words and marks -------------------------------------------------------------------------

CHECKED = frozenset("☒☑✓✔✗✘⊠■🗹🗷xX")
UNCHECKED = frozenset("☐□")
TICK_GLYPHS = "☒☑✓✔✗✘⊠■🗹🗷☐□"
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def norm(text: str) -> str:
    """A label as compared: case, quotes, dashes, spacing and trailing colons do not matter."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return re.sub(r"\s+", " ", text).strip().rstrip(":*").strip()


def squash(text: str) -> str:
    """A label as looked up: as norm(), and without spaces, so a label that a PDF writer wrapped
    inside a word ("identifying factors" read as "identifyingfactors") is still found."""
    return norm(text).replace(" ", "")


def tick_state(text: str) -> bool | None:
    """True for a ticked box (☒, X, ✓...), False for an empty one (☐), None if it is not a mark."""
    text = text.strip()
    if text in CHECKED or text.lower() in ("yes", "[x]", "(x)"):
        return True
    if text in UNCHECKED or text in ("[ ]", "( )"):
        return False
    return None


_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def parse_uk_date(text: str) -> str | None:
    """ISO date from DD/MM/YYYY, D/M/YY, D-M-YYYY, D.M.YYYY, '3 November 2026', '3rd Nov 2026' or ISO."""
    text = text.strip()
    if not text:
        return ""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text).isoformat()
        m = re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2}|\d{4})", text)
        if m:
            day, month, year = (int(g) for g in m.groups())
            return dt.date(year + 2000 if year < 100 else year, month, day).isoformat()
        m = re.fullmatch(r"(?:[A-Za-z]+,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})", text)
        if m and m.group(2).casefold() in _MONTHS:
            return dt.date(int(m.group(3)), _MONTHS[m.group(2).casefold()], int(m.group(1))).isoformat()
    except ValueError:
        return None
    return None


def uk_date(iso: str) -> str:
    """DD/MM/YYYY, as people in England write dates, for an ISO date ("" stays "")."""
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def match_choice(spec_field: Field, text: str) -> str | None:
    """The choice value a written answer means: its label, its value, or 'Stage 4' for 'Stage 4: ...'."""
    wanted = norm(text)
    if not wanted:
        return None
    for choice in spec_field.choices:
        if wanted in (norm(choice.label), norm(choice.value)):
            return choice.value
    for choice in spec_field.choices:
        head = norm(choice.label.split(":", 1)[0])
        if ":" in choice.label and wanted == head:
            return choice.value
    squashed = wanted.replace(" ", "")  # "Stage5", as OCR or a hurried typist writes it
    for choice in spec_field.choices:
        if squashed in (squash(choice.label), squash(choice.label.split(":", 1)[0]) if ":" in choice.label else None):
            return choice.value
    starts = [c.value for c in spec_field.choices if norm(c.label).startswith(wanted) and len(wanted) >= 4]
    return starts[0] if len(starts) == 1 else None


def options_ticked(spec_field: Field, text: str) -> list[str] | None:
    """Values of the options marked in text such as '☒ Stage 5  ☐ Stage 6' or 'Stage 5 ☒ Stage 6 ☐'.

    None when the text carries no tick marks (it is then an answer written out in words)."""
    # A typed X or x standing alone next to an option is a tick, as in "Stage 5 X  Stage 6".
    text = re.sub(r"(?:(?<=\s)|^)[xX](?=\s|$)", "☒", text)
    if not any(g in text for g in TICK_GLYPHS):
        return None
    chosen: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        parts = re.split(f"([{TICK_GLYPHS}])", line)
        glyph_first = line[0] in TICK_GLYPHS
        pairs = []
        if glyph_first:  # ['', '☒', ' A ', '☐', ' B']
            pairs = [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
        else:  # ['A ', '☒', ' B ', '☐', '']
            pairs = [(parts[i + 1], parts[i]) for i in range(0, len(parts) - 1, 2)]
        for glyph, label in pairs:
            value = match_choice(spec_field, label.strip(" :-"))
            if value is not None and glyph in CHECKED and value not in chosen:
                chosen.append(value)
    return chosen


def convert_value(spec_field: Field, value, errors: dict, key: str):
    """One answer as canonical data; a value that cannot be read adds an error naming the field."""
    kind = spec_field.type
    if kind == "rows":
        rows = []
        for n, row in enumerate(value if isinstance(value, list) else [], 1):
            if not isinstance(row, dict):
                errors[f"{key}.{n}"] = [f"'{spec_field.label}': row {n} could not be read as the table's columns"]
                continue
            out = {}
            for column in spec_field.columns:
                out[column.key] = convert_value(column, row.get(column.key, ""), errors, f"{key}.{n}.{column.key}")
            rows.append(out)
        return rows
    if kind == "ticks":
        if isinstance(value, str):
            ticked = options_ticked(spec_field, value)
            value = ticked if ticked is not None else [v for v in re.split(r"[\n;]", value) if v.strip()]
        chosen = []
        for piece in value or []:
            found = match_choice(spec_field, piece)
            items = [piece] if found is not None else [p for p in piece.split(",") if p.strip()]
            for item in items:
                found = match_choice(spec_field, item)
                if found is None:
                    errors[key] = [f"'{spec_field.label}': '{item.strip()}' is not one of the options"]
                elif found not in chosen:
                    chosen.append(found)
        return chosen
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if kind == "date":
        iso = parse_uk_date(text)
        if iso is None:
            errors[key] = [f"'{spec_field.label}': '{text}' is not a date (write DD/MM/YYYY)"]
            return ""
        return iso
    if kind == "choice":
        if not text:
            return ""
        ticked = options_ticked(spec_field, text)
        if ticked is not None:
            if len(ticked) > 1:
                errors[key] = [f"'{spec_field.label}': more than one option is ticked; choose one"]
            return ticked[0] if ticked else ""
        found = match_choice(spec_field, text)
        if found is None:
            errors[key] = [f"'{spec_field.label}': '{text}' is not one of the options"]
            return ""
        return found
    return text


def convert_answers(spec: FormSpec, values: dict) -> tuple[dict, dict]:
    errors: dict = {}
    data = {}
    for spec_field in spec.fields:
        if spec_field.key in values:
            data[spec_field.key] = convert_value(spec_field, values[spec_field.key], errors, spec_field.key)
    return data, errors
