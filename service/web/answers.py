"""Answers between their three shapes (see formbuild.py): web answers, posted form data and canonical data.

A draft keeps web answers; a page's form is filled from them (`wt_data`) and gives them back
(`section_answers`); documents, parsers and cases take canonical data (`canonical`); stored answers
are checked again as the browser would post them (`formdata_from_answers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from forms import normalise
from forms.model import Field as SpecField
from forms.model import FormSpec, Section
from service.web.fields import DATE_PARTS, date_parts, has_answer, iso_date

if TYPE_CHECKING:
    from service.web.formbuild import SectionForm


def wt_data(section: Section, answers: dict) -> dict:
    data = {}
    for f in section.fields:
        value = answers.get(f.key)
        if f.type == "rows":
            value = value or []
            data[f.key] = [_row_wt_data(f, row) for row in value] or [{}]
        elif f.type == "ticks":
            data[f.key] = list(value or [])
        elif f.type == "choice":
            data[f.key] = value or None
        else:
            data[f.key] = value if value is not None else ""
    return data


def _row_wt_data(spec_field: SpecField, row: dict) -> dict:
    return {c.key: row.get(c.key, "" if c.type != "date" else None) for c in spec_field.columns}


def section_answers(form: SectionForm) -> dict:
    """Web answers of a section from its (posted) form; blank rows dropped, one kept if all blank."""
    out = {}
    for f in form.section.fields:
        value = form[f.key].data
        if f.type == "rows":
            rows = [_clean_row(f, r) for r in value]
            value = [r for r in rows if has_answer(r)]
        elif f.type in ("text", "textarea"):
            value = cleaned(value)
        elif f.type == "choice":
            value = value or ""
        elif f.type == "ticks":
            value = list(value or [])
        out[f.key] = value
    return out


def _clean_row(spec_field: SpecField, row: dict) -> dict:
    clean = {}
    for c in spec_field.columns:
        value = row.get(c.key)
        clean[c.key] = value if c.type == "date" else cleaned(value)
    return clean


def cleaned(value: str | None) -> str:
    """An answer through the one normaliser (the page's validators have refused what it cannot take)."""
    try:
        return normalise.text(value or "").strip()
    except normalise.TextRefused:
        return ""


def web_answers_from_canonical(spec: FormSpec, data: dict) -> dict:
    """Web answers from canonical data (a sample, or a case's last submission, to update)."""
    return {f.key: _web_value(f, data.get(f.key)) for f in spec.fields}


def _web_value(spec_field: SpecField, value):
    if spec_field.type == "date":
        return date_parts(value)
    if spec_field.type == "rows":
        return [{c.key: _web_value(c, row.get(c.key)) for c in spec_field.columns} for row in value or []]
    if spec_field.type == "ticks":
        return list(value or [])
    return value or ""


def canonical(spec: FormSpec, answers: dict) -> dict:
    """Canonical data from web answers (to validate with forms.schema.validate_data)."""
    return {f.key: _canonical_value(f, answers.get(f.key)) for f in spec.fields}


def _canonical_value(spec_field: SpecField, value):
    if spec_field.type == "date":
        iso = iso_date(date_parts(value))
        return "" if iso is None else iso
    if spec_field.type == "rows":
        return [{c.key: _canonical_value(c, row.get(c.key)) for c in spec_field.columns} for row in value or []]
    if spec_field.type == "ticks":
        return list(value or [])
    return value or ""


def formdata_from_answers(section: Section, answers: dict) -> MultiDict:
    """The MultiDict a browser would post for these answers: used to re-check stored answers."""
    pairs: list[tuple[str, str]] = []
    for f in section.fields:
        _add_pairs(pairs, f, f.key, answers.get(f.key))
    return MultiDict(pairs)


def _add_pairs(pairs: list, spec_field: SpecField, name: str, value) -> None:
    if spec_field.type == "date":
        parts = date_parts(value)
        pairs.extend((f"{name}-{p}", parts[p]) for p in DATE_PARTS)
    elif spec_field.type == "rows":
        rows = value or [{}]
        for i, row in enumerate(rows):
            for c in spec_field.columns:
                _add_pairs(pairs, c, f"{name}-{i}-{c.key}", row.get(c.key))
    elif spec_field.type == "ticks":
        pairs.extend((name, v) for v in value or [])
    elif value:
        pairs.append((name, value))
