"""WTForms built from a form spec: one form class per section (one question page).

Answers move through three shapes:
- *web answers* (what a draft keeps): text and choices as strings, dates as {"day", "month", "year"}
  strings exactly as typed, ticks as lists, rows as lists of dicts of web answers;
- *form data*: the posted MultiDict (names like ``date_raised-day`` and ``actions-0-by_whom``);
- *canonical data* (forms.schema): what documents, parsers and cases take.

Messages follow the GOV.UK Design System's wording ("Enter ...", "Select ...", "... must be a real date").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from functools import cache

from flask import render_template
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovFormBase,
    GovRadioInput,
    GovTextArea,
    GovTextInput,
)
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import Field, FieldList, Form, FormField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from forms.model import Field as SpecField
from forms.model import FormSpec, Section

DATE_PARTS = ("day", "month", "year")


# --- wording -------------------------------------------------------------------------------


def _phrase(label: str) -> str:
    """A label as it reads inside a sentence: 'Date of birth' -> 'date of birth'; a label with other
    capitals ('D.O.B.', 'Agency Initiating Escalation', "Child/Family's name") is kept as written."""
    text = re.sub(r"\s*\((please [^)]*)\)\s*", " ", label).strip().rstrip(":").strip()
    if len(text) > 1 and text[0].isupper() and not any(c.isupper() for c in text[1:]):
        text = text[0].lower() + text[1:]
    return text


def _sentence(label: str) -> str:
    text = _phrase(label)
    return text[:1].upper() + text[1:]


def required_message(spec_field: SpecField) -> str:
    verb = "Select" if spec_field.type in ("choice", "ticks") else "Enter"
    return f"{verb} {_phrase(spec_field.label)}"


# --- validators ----------------------------------------------------------------------------


class Required:
    """Required, with the GOV.UK message; whitespace alone is no answer."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        data = field.data
        if data is None or (isinstance(data, str) and not data.strip()) or (isinstance(data, list) and not data):
            raise ValidationError(self.message)


class MaxLength:
    def __init__(self, spec_field: SpecField):
        self.limit = spec_field.max_length
        self.message = f"{_sentence(spec_field.label)} must be {self.limit:,} characters or fewer"

    def __call__(self, form, field):
        # Line breaks count once, as the browser's character count counts them.
        if field.data and len(field.data.replace("\r\n", "\n")) > self.limit:
            raise ValidationError(self.message)


# --- rendering speed ----------------------------------------------------------------------
#
# The GOV.UK macros cost a few milliseconds per question, too slow for a page of many questions
# under load. Their output depends only on their params, so a question's markup is rendered once
# per shape (label, hint, error, which boxes are ticked) with placeholders where the person's own
# text goes; the text is escaped into the placeholders on each request, exactly as Jinja would.

_HOLE = "\ue000{}\ue001"
_HOLES = re.compile("\ue000(\\d+)\ue001")
_SHAPES: dict[tuple[str, str], str] = {}  # bounded: cleared when it reaches _MAX_SHAPES
_MAX_SHAPES = 4096


# Text areas show a value verbatim; other macros indent nested markup, which would shift a line
# break inside a value, so a value with a line break is rendered directly there (it is rare).
_VERBATIM = ("govuk_frontend_wtf/textarea.html", "govuk_frontend_wtf/charactercount.html")


def _with_holes(params, values: list[str], multiline: bool):
    if isinstance(params, dict):
        out = {}
        for key, value in params.items():
            if key == "value" and isinstance(value, str) and value and (multiline or "\n" not in value):
                values.append(value)
                out[key] = _HOLE.format(len(values) - 1)
            else:
                out[key] = _with_holes(value, values, multiline)
        return out
    if isinstance(params, list):
        return [_with_holes(v, values, multiline) for v in params]
    return params


def render_shape(template: str, params: dict, name: str = "") -> Markup:
    """A widget template's (or a named component's) markup for these params, from the shape cache."""
    values: list[str] = []
    shape = _with_holes(params, values, template in _VERBATIM)
    key = (template + "#" + name, json.dumps(shape, sort_keys=True, default=str))
    html = _SHAPES.get(key)
    if html is None:
        html = str(render_template(template, params=shape, name=name))
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[key] = html
    return Markup(_HOLES.sub(lambda m: str(escape(values[int(m.group(1))])), html))  # noqa: S704 (escaped)


def govuk(name: str, params: dict) -> Markup:
    """A GOV.UK Frontend component by name (templates/web/component.html), through the shape cache."""
    return render_shape("web/component.html", params, name)


class _ShapeCached:
    """Mixed into widgets whose only user text is a "value" (text boxes, text areas, date parts)."""

    def render(self, params):
        return render_shape(self.template, params)


class TextInputWidget(_ShapeCached, GovTextInput):
    pass


class TextAreaWidget(_ShapeCached, GovTextArea):
    pass


class CharacterCountWidget(_ShapeCached, GovCharacterCount):
    pass


# --- the date field ------------------------------------------------------------------------


class DateInputWidget(_ShapeCached, GovFormBase):
    """GOV.UK date input: three boxes named <name>-day, <name>-month, <name>-year."""

    template = "govuk_frontend_wtf/date.html"

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        return super().__call__(field, **kwargs)

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        params.pop("label", None)
        params.pop("value", None)
        params.pop("name", None)
        params["namePrefix"] = field.name
        params.setdefault("fieldset", {"legend": {"text": field.label.text}})
        wrong = field.wrong_parts if field.errors else ()
        params["items"] = [
            {
                "name": part,
                "label": part.capitalize(),
                "value": field.data.get(part, ""),
                "classes": f"govuk-input--width-{4 if part == 'year' else 2}"
                + (" govuk-input--error" if part in wrong else ""),
            }
            for part in DATE_PARTS
        ]
        return params


class GovDateField(Field):
    """A date typed as day, month and year; data is the parts as typed, so answers survive errors."""

    widget = DateInputWidget()

    def __init__(self, label=None, validators=None, *, spec_field: SpecField, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.spec_field = spec_field
        self.wrong_parts: tuple[str, ...] = DATE_PARTS

    def process(self, formdata, data=None, extra_filters=None):
        self.process_errors = []
        names = [f"{self.name}-{part}" for part in DATE_PARTS]
        if formdata is not None and any(name in formdata for name in names):
            self.data = {part: formdata.get(name, "").strip() for part, name in zip(DATE_PARTS, names, strict=True)}
        else:
            self.data = date_parts(data)
        self.raw_data = [self.data[p] for p in DATE_PARTS]

    def pre_validate(self, form):
        parts = self.data
        given = [p for p in DATE_PARTS if parts[p]]
        name = _sentence(self.spec_field.label)
        if not given:
            if self.spec_field.required:
                raise ValidationError(required_message(self.spec_field))
            return
        missing = [p for p in DATE_PARTS if not parts[p]]
        if missing:
            self.wrong_parts = tuple(missing)
            raise ValidationError(f"{name} must include a {' and '.join(missing)}")
        if not all(parts[p].isdigit() for p in DATE_PARTS):
            self.wrong_parts = tuple(p for p in DATE_PARTS if not parts[p].isdigit())
            raise ValidationError(f"{name} must be a real date")
        if len(parts["year"]) != 4:
            self.wrong_parts = ("year",)
            raise ValidationError("Year must include 4 numbers")
        if iso_date(parts) is None:
            self.wrong_parts = DATE_PARTS
            raise ValidationError(f"{name} must be a real date")


def date_parts(value) -> dict:
    """Web date parts from an ISO date, parts already, or nothing."""
    if isinstance(value, dict):
        return {p: str(value.get(p, "") or "").strip() for p in DATE_PARTS}
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        year, month, day = value.split("-")
        return {"day": str(int(day)), "month": str(int(month)), "year": year}
    return {p: "" for p in DATE_PARTS}


def iso_date(parts: dict) -> str | None:
    """The ISO date of complete, real parts; '' for no date; None when not a real date."""
    if not any(parts.get(p) for p in DATE_PARTS):
        return ""
    try:
        return dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"])).isoformat()
    except (KeyError, TypeError, ValueError):
        return None


# --- rows ----------------------------------------------------------------------------------


class RowForm(Form):
    """One row of a repeatable answer; a row left blank is dropped, so required columns apply
    only to rows with something in them."""

    def validate(self, extra_validators=None):
        if not any(_has_answer(f.data) for f in self):
            return True
        return super().validate(extra_validators)


def _has_answer(value) -> bool:
    if isinstance(value, dict):
        return any(_has_answer(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return bool(value and str(value).strip())


class _NoEmptyHint:
    """govuk-frontend-wtf gives radios and checkboxes a hint even when there is none: drop it."""

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        if not (params.get("hint") or {}).get("text"):
            params.pop("hint", None)
        return params


class RadiosWidget(_ShapeCached, _NoEmptyHint, GovRadioInput):
    pass


class Radios(RadioField):
    """Radios whose 'nothing selected' is left to Required, for the GOV.UK "Select ..." message."""

    def pre_validate(self, form):
        if self.data in (None, ""):
            return
        super().pre_validate(form)


def choices_of(items) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in items]


class CheckboxesWidget(_ShapeCached, _NoEmptyHint, GovCheckboxesInput):
    pass


# --- building ------------------------------------------------------------------------------


def _wt_field(spec_field: SpecField):
    validators = []
    if spec_field.required and spec_field.type != "date":
        validators.append(Required(required_message(spec_field)))
    kwargs = {"label": spec_field.label, "description": spec_field.hint or "", "validators": validators}
    kind = spec_field.type
    if kind == "text":
        return StringField(widget=TextInputWidget(), **kwargs)
    if kind == "textarea":
        if spec_field.max_length:
            validators.append(MaxLength(spec_field))
            return TextAreaField(widget=CharacterCountWidget(), **kwargs)
        return TextAreaField(widget=TextAreaWidget(), **kwargs)
    if kind == "date":
        return GovDateField(spec_field=spec_field, **kwargs)
    choices = choices_of((c.value, c.label) for c in spec_field.choices)
    wrong = f"Select one of the options given for {_phrase(spec_field.label)}"
    if kind == "choice":
        return Radios(widget=RadiosWidget(), choices=choices, invalid_choice_message=wrong, **kwargs)
    if kind == "ticks":
        return SelectMultipleField(widget=CheckboxesWidget(), choices=choices, invalid_choice_message=wrong, **kwargs)
    if kind == "rows":
        row_class = type(f"Row_{spec_field.key}", (RowForm,), {c.key: _wt_field(c) for c in spec_field.columns})
        return FieldList(FormField(row_class), label=spec_field.label, min_entries=1, max_entries=50)
    raise AssertionError(kind)


class SectionForm(FlaskForm):
    """Base of every question page's form (CSRF-protected by Flask-WTF)."""

    spec: FormSpec
    section: Section


@cache
def section_form_class(spec: FormSpec, section_key: str) -> type[SectionForm]:
    section = next(s for s in spec.sections if s.key == section_key)
    attrs = {f.key: _wt_field(f) for f in section.fields}
    attrs.update(spec=spec, section=section)
    return type(f"Form_{spec.id}_{section_key}".replace("-", "_"), (SectionForm,), attrs)


def make_section_form(spec: FormSpec, section: Section, answers: dict, formdata=None) -> SectionForm:
    """The section's form, filled from posted data when given, else from the stored answers."""
    cls = section_form_class(spec, section.key)
    if formdata is None:
        return cls(formdata=None, data=_wt_data(section, answers))
    return cls(formdata=formdata)


def answers_pass(spec: FormSpec, section: Section, answers: dict) -> bool:
    """Whether stored answers pass the section's checks, as if posted again (no CSRF: nothing is posted)."""
    cls = section_form_class(spec, section.key)
    form = cls(formdata=formdata_from_answers(section, answers), meta={"csrf": False})
    return form.validate()


def _wt_data(section: Section, answers: dict) -> dict:
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
            value = [r for r in rows if _has_answer(r)]
        elif f.type == "text":
            value = (value or "").strip()
        elif f.type == "textarea":
            value = (value or "").replace("\r\n", "\n").strip()
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
        clean[c.key] = value if c.type == "date" else (value or "").strip()
    return clean


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


# --- rendering -----------------------------------------------------------------------------


def error_list(form: SectionForm) -> list[dict]:
    """Error summary entries, each linking to the input to fix (a date's first wrong box)."""
    out = []
    for f in form.section.fields:
        out.extend(_field_errors(form[f.key], f))
    return out


def _field_errors(wt_field, spec_field: SpecField) -> list[dict]:
    if spec_field.type == "rows":
        out = []
        for entry in wt_field.entries:
            for c in spec_field.columns:
                out.extend(_field_errors(entry.form[c.key], c))
        return out
    if not wt_field.errors:
        return []
    target = wt_field.id
    if spec_field.type == "date":
        target = f"{wt_field.id}-{wt_field.wrong_parts[0]}"
    elif spec_field.type in ("choice", "ticks"):
        target = wt_field.id  # GOV.UK radios and checkboxes give the first item the field's id
    return [{"text": wt_field.errors[0], "href": f"#{target}"}]


def render_question(wt_field, spec_field: SpecField) -> Markup:
    """One question's GOV.UK markup, ready for the page."""
    if spec_field.type == "rows":
        # render_template output is already escaped HTML.
        return Markup(render_template("web/_rows.html", field=wt_field, spec_field=spec_field, render=render_question))  # noqa: S704
    params: dict = {}
    kind = spec_field.type
    if kind in ("text", "textarea"):
        params["label"] = {"text": spec_field.label, "classes": "govuk-label--s"}
    if kind == "textarea":
        params["rows"] = 5 if (spec_field.max_length or 0) <= 4000 else 8
        if spec_field.max_length:
            params["maxlength"] = spec_field.max_length
    if kind in ("date", "choice", "ticks"):
        params["fieldset"] = {"legend": {"text": spec_field.label, "classes": "govuk-fieldset__legend--s"}}
    if kind == "text":
        params["spellcheck"] = False
    if kind == "date":
        params["hint"] = {"text": spec_field.hint or "For example, 27 3 2026"}
    elif spec_field.hint:
        params["hint"] = {"text": spec_field.hint}
    if kind == "ticks" and spec_field.hint is None:
        params["hint"] = {"text": "Select all that apply."}
    return wt_field(params=params)


def errors_of(form) -> list[dict]:
    """Error summary entries of a simple one-question form (radios link to their first item)."""
    return [{"text": f.errors[0], "href": f"#{f.id}"} for f in form if f.errors and f.name != "csrf_token"]


def change_rows(form: SectionForm, *, add: str | None, remove: str | None) -> None:
    """Add a blank row, or remove one, without checking the answers (the page is shown again)."""
    for f in form.section.fields:
        if f.type != "rows":
            continue
        rows = form[f.key]
        if add == f.key and len(rows.entries) < rows.max_entries:
            rows.append_entry()
        if remove and remove.startswith(f"{f.key}:"):
            index = remove.split(":", 1)[1]
            if index.isdigit() and int(index) < len(rows.entries) and len(rows.entries) > 1:
                kept = [e.data for i, e in enumerate(rows.entries) if i != int(index)]
                while rows.entries:
                    rows.pop_entry()
                for data in kept:
                    rows.append_entry(data)


def fingerprint(warnings: dict, answers: dict) -> str:
    """Identifies the answers a child-details warning was shown for, so continuing again accepts them."""
    flagged = {key: answers.get(key) for key in sorted(warnings)}
    return hashlib.sha256(json.dumps(flagged, sort_keys=True).encode()).hexdigest()[:32]


def summary(spec: FormSpec, answers: dict, change_url) -> list[dict]:
    """Check-your-answers rows per section, with Change links to the section's page."""
    out = []
    for section in spec.sections:
        rows = []
        for f in section.fields:
            rows.append(
                {
                    "key": {"text": f.label},
                    "value": {"html": _display(f, answers.get(f.key))},
                    "actions": {
                        "items": [
                            {
                                "href": f"{change_url(section.key)}#{_anchor(f)}",
                                "text": "Change",
                                "visuallyHiddenText": f.label.lower(),
                            }
                        ]
                    },
                }
            )
        out.append({"title": section.title, "rows": rows})
    return out


def _anchor(spec_field: SpecField) -> str:
    if spec_field.type == "date":
        return f"{spec_field.key}-day"
    if spec_field.type == "rows":
        return spec_field.key
    return spec_field.key


def _display(spec_field: SpecField, value) -> Markup:
    """An answer as the summary list shows it (escaped; line breaks kept)."""
    if spec_field.type == "date":
        iso = iso_date(date_parts(value))
        if not iso:
            return Markup("Not answered")
        return escape(dt.date.fromisoformat(iso).strftime("%-d %B %Y"))
    if spec_field.type == "choice":
        if not value:
            return Markup("Not answered")
        return escape(spec_field.choice_label(value))
    if spec_field.type == "ticks":
        if not value:
            return Markup("None selected")
        items = Markup("").join(Markup("<li>{}</li>").format(spec_field.choice_label(v)) for v in value)
        return Markup('<ul class="govuk-list govuk-list--bullet">{}</ul>').format(items)
    if spec_field.type == "rows":
        if not value:
            return Markup("None")
        parts = Markup("")
        for i, row in enumerate(value, start=1):
            cells = Markup("; ").join(
                Markup("{}: {}").format(c.label, _display(c, row.get(c.key))) for c in spec_field.columns
            )
            parts += Markup("<li>Row {}: {}</li>").format(i, cells)
        return Markup('<ul class="govuk-list">{}</ul>').format(parts)
    if not value:
        return Markup("Not answered")
    return Markup("<br>").join(escape(line) for line in str(value).split("\n"))
