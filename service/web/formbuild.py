"""WTForms built from a form spec: one form class per section (one question page), and what the page
shows of it (questions, error summary, rows added or removed, check your answers).

Answers move through three shapes:
- *web answers* (what a draft keeps): text and choices as strings, dates as {"day", "month", "year"}
  strings exactly as typed, ticks as lists, rows as lists of dicts of web answers;
- *form data*: the posted MultiDict (names like ``date_raised-day`` and ``actions-0-by_whom``);
- *canonical data* (forms.schema): what documents, parsers and cases take.

Field types and their messages are in fields.py, conversions between the shapes in answers.py.
Messages follow the GOV.UK Design System's wording ("Enter ...", "Select ...", "... must be a real date").
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from flask import render_template
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import FieldList, FormField, SelectMultipleField, StringField, TextAreaField

from forms.model import Field as SpecField
from forms.model import FormSpec, Section
from service.web.answers import formdata_from_answers, wt_data
from service.web.answers import web_answers_from_canonical as web_answers_from_canonical
from service.web.fields import DATE_PARTS as DATE_PARTS
from service.web.fields import (
    CharacterCountWidget,
    CheckboxesWidget,
    GovDateField,
    MaxLength,
    Radios,
    RadiosWidget,
    Required,
    RowForm,
    TextAreaWidget,
    TextInputWidget,
    choices_of,
    date_parts,
    iso_date,
    phrase,
    required_message,
    sentence_case,
)
from service.web.fields import govuk as govuk
from service.web.fields import render_shape as render_shape

# The `x as x` imports re-export what the web package (the `govuk` template global) and tests use as formbuild.*.

# --- building ------------------------------------------------------------------------------


def _wt_field(spec_field: SpecField):
    validators = []
    if spec_field.required and spec_field.type != "date":
        validators.append(Required(required_message(spec_field)))
    kwargs = {"label": spec_field.label, "description": spec_field.hint or "", "validators": validators}
    kind = spec_field.type
    if kind == "text":
        validators.append(MaxLength(spec_field))  # every answer is bounded (forms.normalise.limit)
        return StringField(widget=TextInputWidget(), **kwargs)
    if kind == "textarea":
        validators.append(MaxLength(spec_field))
        if spec_field.max_length:
            return TextAreaField(widget=CharacterCountWidget(), **kwargs)
        return TextAreaField(widget=TextAreaWidget(), **kwargs)
    if kind == "date":
        return GovDateField(spec_field=spec_field, **kwargs)
    choices = choices_of((c.value, c.label) for c in spec_field.choices)
    wrong = f"Select one of the options given for {phrase(spec_field.label)}"
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


@cache
def whole_form_class(spec: FormSpec) -> type[SectionForm]:
    """Every question of the form on one page (the workspace's correction of a received input). No
    CSRF of its own: the page's form around it carries the token."""
    attrs = {f.key: _wt_field(f) for f in spec.fields}
    whole = Section(key="whole", title=spec.title, fields=spec.fields)
    attrs.update(spec=spec, section=whole, Meta=type("Meta", (), {"csrf": False}))
    return type(f"Whole_{spec.id}".replace("-", "_"), (SectionForm,), attrs)


def make_section_form(spec: FormSpec, section: Section, answers: dict, formdata=None) -> SectionForm:
    """The section's form, filled from posted data when given, else from the stored answers."""
    cls = section_form_class(spec, section.key)
    if formdata is None:
        return cls(formdata=None, data=wt_data(section, answers))
    return cls(formdata=formdata)


def answers_pass(spec: FormSpec, section: Section, answers: dict) -> bool:
    """Whether stored answers pass the section's checks, as if posted again (no CSRF: nothing is posted)."""
    cls = section_form_class(spec, section.key)
    form = cls(formdata=formdata_from_answers(section, answers), meta={"csrf": False})
    return form.validate()


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
    if kind == "text" and spec_field.maps_to == "receiving_agency":
        # Offered from the directory where the page has the list (questions.py: agency_options).
        params["attributes"] = {"list": "directory-agencies", "autocomplete": "off"}
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
        out.append({"title": sentence_case(section.title), "rows": rows})
    return out


def _anchor(spec_field: SpecField) -> str:
    """Where a Change link lands: a date's first box; any other question's element, rows' group included."""
    if spec_field.type == "date":
        return f"{spec_field.key}-day"
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


def answers_list(spec: FormSpec, data: dict) -> list[dict]:
    """A submission's canonical answers as summary-list rows per section, with the form's own labels
    and choice wording (the case page and the tracking page; nothing to change, so no actions)."""
    answers = web_answers_from_canonical(spec, data or {})
    return [
        {
            "title": sentence_case(section.title),
            "rows": [
                {"key": {"text": f.label}, "value": {"html": _display(f, answers.get(f.key))}} for f in section.fields
            ],
        }
        for section in spec.sections
    ]
