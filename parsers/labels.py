"""What each form's labels are, and which text the form itself prints.

From a spec: every field's labels and aliases (by section), its options, the column labels of its
repeated rows, a pattern for "Label:" typed in a line, and the labels recognition scores on. The
form's title, instructions, closing words, hints and page numbers are printed text, never an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from forms.model import Field, FormSpec
from parsers.result import norm, squash


@dataclass
class Labels:
    spec: FormSpec
    fields: dict[str, list[tuple[str, Field]]]  # norm label -> [(section key, field)]
    sections: dict[str, str]  # norm title -> section key
    options: dict[str, list[tuple[str, Field, str]]]  # norm option label -> [(section, field, value)]
    columns: dict[str, dict[str, Field]]  # rows field key -> norm column label -> column
    inline: re.Pattern  # "Label:" anywhere in a line
    title: str
    scored: list[tuple[str, ...]]  # for recognition: each field's and column's labels
    hints: frozenset[str]  # help texts printed beside answers ("DD/MM/YYYY"): never an answer
    boilerplate: tuple[str, ...]  # the form's title, instructions and closing words: never an answer


_VARIANTS = {"'": "['’‘]", "’": "['’‘]", "‘": "['’‘]", '"': '["“”]', "“": '["“”]', "”": '["“”]'}
_VARIANTS.update({"-": "[-–—]", "–": "[-–—]", "—": "[-–—]"})


def _pattern(label: str) -> str:
    """A label as a regular expression that allows the quote, dash and spacing variants norm() allows."""
    out = []
    for char in label:
        if char.isspace():
            if not out or out[-1] != r"\s+":
                out.append(r"\s+")
        else:
            out.append(_VARIANTS.get(char, re.escape(char)))
    return "".join(out)


@lru_cache(maxsize=64)
def labels_of(spec: FormSpec) -> Labels:
    fields: dict[str, list[tuple[str, Field]]] = {}
    options: dict[str, list[tuple[str, Field, str]]] = {}
    columns: dict[str, dict[str, Field]] = {}
    for section in spec.sections:
        for f in section.fields:
            for label in dict.fromkeys(squash(x) for x in f.labels):
                fields.setdefault(label, []).append((section.key, f))
            for choice in f.choices:
                options.setdefault(squash(choice.label), []).append((section.key, f, choice.value))
            if f.type == "rows":
                columns[f.key] = {squash(label): c for c in f.columns for label in c.labels}
    sections = {squash(s.title): s.key for s in spec.sections if s.printed}
    words = sorted({x.strip().rstrip(":").strip() for f in spec.fields for x in f.labels}, key=len, reverse=True)
    inline = re.compile(r"(?:^|(?<=\s))(" + "|".join(_pattern(w) for w in words) + r")\s*:", re.IGNORECASE)
    scored = [tuple(squash(x) for x in f.labels) for f in spec.fields]
    scored += [tuple(squash(x) for x in c.labels) for f in spec.fields for c in f.columns]
    hints = frozenset({squash(f.hint) for f in spec.fields if f.hint} | {DATE_HINT})
    texts = (
        spec.title,
        spec.short_title,
        spec.description or "",
        spec.provenance or "",
        *spec.instructions,
        *spec.closing,
    )
    boilerplate = tuple(squash(t) for t in texts if t)
    return Labels(spec, fields, sections, options, columns, inline, norm(spec.title), scored, hints, boilerplate)


_PAGE_NUMBER = re.compile(r"page\d+(of\d+)?")


DATE_HINT = squash("DD/MM/YYYY")  # printed beside date boxes


def hints_of(f: Field) -> frozenset[str]:
    """The help text printed in or beside this field's box: its own hint, and the date pattern."""
    hints = {squash(f.hint)} if f.hint else set()
    if f.type == "date":
        hints.add(DATE_HINT)
    return frozenset(hints)


def printed(lab: Labels, text: str, loose: bool = False, hints: frozenset[str] | None = None) -> bool:
    """Text the form itself prints: a page number, a hint (any field's, or only `hints` when the
    field is known, so "DD/MM/YYYY" typed in a free-text answer stays), its title, instructions or
    closing words; `loose` also takes a long enough piece of them (a line wrapped out of a sentence)."""
    key = squash(text)
    if not key:
        return False
    if _PAGE_NUMBER.fullmatch(key) or key in (lab.hints if hints is None else hints) or key in lab.boilerplate:
        return True
    return loose and len(key) >= 25 and any(key in b for b in (*lab.boilerplate, *lab.hints))
