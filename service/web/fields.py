"""The GOV.UK field types the question pages are built from, and their wording.

Text boxes, text areas (with a character count), dates typed as day, month and year, radios,
checkboxes and repeatable rows; the GOV.UK validators and messages ("Enter ...", "Select ...",
"... must be a real date"); and the shape cache that renders their GOV.UK macros quickly.
The form for a page is assembled from these in formbuild.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from flask import render_template
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovFormBase,
    GovRadioInput,
    GovTextArea,
    GovTextInput,
)
from markupsafe import Markup, escape
from wtforms import Field, Form, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from forms import normalise
from forms.model import Field as SpecField

DATE_PARTS = ("day", "month", "year")


# --- wording -------------------------------------------------------------------------------


def phrase(label: str) -> str:
    """A label as it reads inside a sentence: 'Date of birth' -> 'date of birth'; a label with other
    capitals ('D.O.B.', 'Agency Initiating Escalation', "Child/Family's name") is kept as written."""
    text = re.sub(r"\s*\((please [^)]*)\)\s*", " ", label).strip().rstrip(":").strip()
    if len(text) > 1 and text[0].isupper() and not any(c.isupper() for c in text[1:]):
        text = text[0].lower() + text[1:]
    return text


def _sentence(label: str) -> str:
    text = phrase(label)
    return text[:1].upper() + text[1:]


def sentence_case(text: str) -> str:
    """A heading written in capitals on the appendix ("OUTCOME OF ESCALATION") as a page heading:
    "Outcome of escalation". Headings already in mixed case are kept as written."""
    if not text or not text.isupper() or len(text) < 4:
        return text
    words = text.lower().split(" ")
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def required_message(spec_field: SpecField) -> str:
    verb = "Select" if spec_field.type in ("choice", "ticks") else "Enter"
    return f"{verb} {phrase(spec_field.label)}"


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
        self.limit = normalise.limit(spec_field)
        self.label = spec_field.label
        self.message = f"{_sentence(spec_field.label)} must be {self.limit:,} characters or fewer"

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            text = normalise.text(field.data)  # line breaks count once, as the browser's count counts them
        except normalise.TextRefused as exc:
            raise ValidationError(f"{_sentence(self.label)} {exc}") from None
        if len(text) > self.limit:
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
        if self.spec_field.past and dt.date.fromisoformat(iso_date(parts)) > _today():
            self.wrong_parts = DATE_PARTS
            raise ValidationError(f"{name} must be today or in the past")


def _today() -> dt.date:
    from service.casework import workdays

    return workdays.today()


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
        if not any(has_answer(f.data) for f in self):
            return True
        return super().validate(extra_validators)


def has_answer(value) -> bool:
    if isinstance(value, dict):
        return any(has_answer(v) for v in value.values())
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
