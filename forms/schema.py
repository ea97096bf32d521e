"""Marshmallow validation schemas derived from a form spec.

Canonical form data (what every boundary accepts and every parser returns) is a JSON object with
every field of the spec present: text as a string ("" when empty, line breaks as "\n"), dates as
ISO strings ("2026-11-03"), a choice as its value, ticks as a list of values in the spec's order,
rows as a list of objects keyed by column (blank rows dropped).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from forms import child_details, normalise
from forms.model import Field, FormSpec


class IsoDate(fields.Field):
    """A calendar date as an ISO string; an impossible date (30 February) is an error."""

    default_error_messages = {"invalid": "Not a real date: {value!r} (use YYYY-MM-DD)"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise self.make_error("invalid", value=value)
        value = value.strip()
        if value == "":
            return ""
        try:
            return dt.date.fromisoformat(value).isoformat() if len(value) == 10 else _invalid()
        except ValueError:
            raise self.make_error("invalid", value=value) from None


def _invalid():
    raise ValueError


class Text(fields.String):
    """Text through the one normaliser (forms.normalise): NFC, controls removed, lone surrogates refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise.text(text)
        except normalise.TextRefused as exc:
            raise ValidationError(str(exc)) from None


def _empty(value) -> bool:
    return value in ("", None, []) or (isinstance(value, dict) and all(_empty(v) for v in value.values()))


def _marshmallow_field(spec_field: Field) -> fields.Field:
    kind = spec_field.type
    if kind in ("text", "textarea"):
        limit = normalise.limit(spec_field)
        return Text(load_default="", validate=validate.Length(max=limit, error=f"Enter at most {limit} characters"))
    if kind == "date":
        return IsoDate(load_default="")
    values = [c.value for c in spec_field.choices]
    if kind == "choice":
        one_of = validate.OneOf(values, error="Choose one of {choices}")
        return fields.String(load_default="", validate=lambda v: v == "" or one_of(v))
    if kind == "ticks":
        return fields.List(
            fields.String(validate=validate.OneOf(values, error="Choose from {choices}")), load_default=list
        )
    if kind == "rows":
        return fields.List(fields.Nested(_row_schema(spec_field)), load_default=list)
    raise AssertionError(kind)


def _required_check(spec_fields: tuple[Field, ...]):
    required = [f for f in spec_fields if f.required]

    def check(self, data, **kwargs):
        errors = {f.key: [f"'{f.label}' is required"] for f in required if f.key in data and _empty(data[f.key])}
        if errors:
            raise ValidationError(errors)

    return check


def _canonical_order(spec_fields: tuple[Field, ...]):
    def order(self, data, **kwargs):
        for f in spec_fields:
            if f.type == "ticks":
                chosen = set(data[f.key])
                data[f.key] = [c.value for c in f.choices if c.value in chosen]
            if f.type == "rows":
                data[f.key] = [row for row in data[f.key] if not _empty(row)]
        return data

    return order


def _strip_blank_rows(spec_fields: tuple[Field, ...]):
    rows = [f.key for f in spec_fields if f.type == "rows"]

    def strip(self, data, **kwargs):
        if isinstance(data, dict):
            for key in rows:
                if isinstance(data.get(key), list):
                    data = {**data, key: [r for r in data[key] if not (isinstance(r, dict) and _empty(r))]}
        return data

    return strip


def _build(name: str, spec_fields: tuple[Field, ...]) -> type[Schema]:
    attrs: dict = {f.key: _marshmallow_field(f) for f in spec_fields}
    attrs["Meta"] = type("Meta", (), {"unknown": RAISE})
    attrs["_strip"] = pre_load(_strip_blank_rows(spec_fields))
    attrs["_required"] = validates_schema(skip_on_field_errors=False)(_required_check(spec_fields))
    attrs["_order"] = post_load(_canonical_order(spec_fields))
    return type(name, (Schema,), attrs)


@cache
def _row_schema(spec_field: Field) -> type[Schema]:
    return _build(f"Row_{spec_field.key}", spec_field.columns)


# The raiser's own details and the agencies are a practitioner's, never the child's.
_OWN_DETAILS = {"raiser_name", "raiser_role", "raiser_contact", "raising_agency", "receiving_agency"}


def child_detail_errors(spec: FormSpec, data: dict) -> dict[str, list[str]]:
    """For a form that carries no child details: each free-text answer holding one, with what it holds."""
    if spec.carries_child_details:
        return {}
    errors = {}
    for f in spec.fields:
        value = data.get(f.key)
        if f.type in ("text", "textarea") and f.maps_to not in _OWN_DETAILS and isinstance(value, str):
            found = child_details.find(value)
            if found:
                errors[f.key] = [child_details.message(f.label, found)]
    return errors


def _no_child_details(spec: FormSpec):
    def check(self, data, **kwargs):
        errors = child_detail_errors(spec, data)
        if errors:
            raise ValidationError(errors)

    return check


@cache
def schema_class(spec: FormSpec) -> type[Schema]:
    cls = _build(f"Data_{spec.id.replace('-', '_')}", spec.fields)
    if spec.carries_child_details:
        return cls
    return type(cls.__name__, (cls,), {"_no_child_details": validates_schema(_no_child_details(spec))})


def schema_for(spec: FormSpec) -> Schema:
    """A marshmallow schema that validates and canonicalises data for this form."""
    return schema_class(spec)()


def validate_data(spec: FormSpec, data: dict) -> dict:
    """Canonical data, or ValidationError whose messages name each field that is wrong."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["Form data must be a JSON object of field keys and answers"]})
    return schema_for(spec).load(data)


def empty_data(spec: FormSpec) -> dict:
    """Canonical data of a blank form: what a blank document holds."""
    return {f.key: [] if f.type in ("ticks", "rows") else "" for f in spec.fields}


def describe_errors(spec: FormSpec, messages) -> str:
    """validate_data's errors in the form's own words: each question's label, then what is wrong."""
    labels = {f.key: f.label for f in spec.fields}
    if not isinstance(messages, dict):
        return "; ".join(_flatten(messages))
    parts = []
    for key, found in messages.items():
        text = "; ".join(_flatten(found))
        label = labels.get(key)
        parts.append(f"{label}: {text}" if label and label not in text else text)
    return "; ".join(parts)


def _flatten(messages) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):  # a row's column errors ({row: {column: [...]}})
        return [m for value in messages.values() for m in _flatten(value)]
    return [m for value in messages for m in _flatten(value)]
