"""The shape of a pack's YAML files, as marshmallow schemas: pack.yaml (PackSchema) and forms/*.yaml (FormSchema).

Every schema is strict (an unknown key is an error) and checks one file's own shape: required keys,
ids, field types and which keys go together. Whether a name refers to something the pack has is
checked later (forms.checks), once the whole pack is read.
"""

from __future__ import annotations

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from forms import model
from forms.taxonomy import CATEGORIES

_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
_text = dict(required=True, validate=validate.Length(min=1))


class _Quote(fields.Field):
    """The policy's own words: one sentence or a list of them (forms.quotes checks they are in it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        quotes = (value,) if isinstance(value, str) else value
        if (
            not isinstance(quotes, list | tuple)
            or not quotes
            or not all(isinstance(q, str) and q.strip() for q in quotes)
        ):
            raise ValidationError("give the policy's own words: a sentence or a list of sentences")
        return tuple(quotes)


def _quote(**kwargs):
    return _Quote(required=True, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class TimescaleSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(model.TIMESCALE_KINDS))
    days = fields.Integer(validate=validate.Range(min=1, max=60))
    words = fields.String(validate=validate.Length(min=1))
    reading = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def _days_with_working_days(self, data, **kwargs):
        if data["kind"] == "working_days" and "days" not in data:
            raise ValidationError("working_days needs a number of days", "days")
        if data["kind"] != "working_days" and "days" in data:
            raise ValidationError("only working_days takes a number of days", "days")
        if "reading" in data and "words" not in data:
            raise ValidationError("a reading follows the policy's words: give words too", "reading")

    @post_load
    def _make(self, data, **kwargs):
        return model.Timescale(**data)


class StageSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]+$"))
    name = fields.String(**_text)
    who_acts = fields.String(**_text)
    timescale = fields.Nested(TimescaleSchema, required=True)
    records = fields.String(**_text)
    source = fields.String(**_text)
    form = fields.String()
    notifies = fields.String()
    quote = _quote()

    @post_load
    def _make(self, data, **kwargs):
        return model.Stage(**data)


class AreaSchema(_Strict):
    id = _id
    text = fields.String(**_text)
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    source = fields.String(**_text)

    @post_load
    def _make(self, data, **kwargs):
        return model.Area(**data)


class RoleSchema(_Strict):
    id = _id
    name = fields.String(**_text)
    source = fields.String(**_text)
    quote = _quote()

    @post_load
    def _make(self, data, **kwargs):
        return model.Role(**data)


class SectorSchema(RoleSchema):
    quote = _Quote()

    @post_load
    def _make(self, data, **kwargs):
        return model.Sector(**data)


class PhoneSchema(_Strict):
    label = fields.String(**_text)
    number = fields.String(required=True, validate=validate.Regexp(r"^[0-9 ]+$"))

    @post_load
    def _make(self, data, **kwargs):
        return model.Phone(**data)


class ImmediateRiskSchema(_Strict):
    text = fields.String(**_text)
    phones = fields.List(fields.Nested(PhoneSchema), required=True)
    source = fields.String(**_text)
    quote = _quote()
    reading = fields.String(validate=validate.Length(min=1))

    @post_load
    def _make(self, data, **kwargs):
        return model.ImmediateRisk(
            text=data["text"],
            phones=tuple(data["phones"]),
            source=data["source"],
            quote=data["quote"],
            reading=data.get("reading"),
        )


class BypassSchema(_Strict):
    """A stage the policy itself lets be bypassed, in its words."""

    stage = fields.String(required=True)
    text = fields.String(**_text)
    source = fields.String(**_text)
    quote = _quote()

    @post_load
    def _make(self, data, **kwargs):
        return model.Bypass(**data)


class PolicySchema(_Strict):
    title = fields.String(**_text)
    file = fields.String(**_text)
    summary = fields.String(**_text)
    source = fields.String(**_text)


class RoutingWhenSchema(_Strict):
    """When a routing rule applies; every condition given must hold (none given: every submission)."""

    stages = fields.List(fields.String(), validate=validate.Length(min=1))
    stages_from = fields.String()
    forms = fields.List(fields.String(), validate=validate.Length(min=1))
    areas = fields.List(fields.String(), validate=validate.Length(min=1))
    process = fields.String(validate=validate.OneOf(["escalation", "cp-conference"]))


class RoutingToSchema(_Strict):
    """Who receives: the contacts holding `role`, matched on the case's receiving agency or sector."""

    role = fields.String(required=True)
    match = fields.String(
        load_default="none", validate=validate.OneOf(["none", "receiving_agency", "receiving_sector", "answer"])
    )
    # match: answer -> the person whose e-mail address the form asks for in this answer (a party, the
    # raiser's own line manager): not a shared mailbox from the directory.
    answer = fields.String()

    @validates_schema
    def _answer_with_match(self, data, **kwargs):
        if (data.get("match") == "answer") != ("answer" in data):
            raise ValidationError("match: answer goes with the answer that holds the e-mail address", "answer")


class RoutingRuleSchema(_Strict):
    id = _id
    when = fields.Nested(RoutingWhenSchema, load_default=dict)
    to = fields.Nested(RoutingToSchema, required=True)
    source = fields.String(**_text)
    quote = _quote()


class ClosingNeedsSchema(_Strict):
    """A record the policy requires before a case is closed as resolved (Merton §3.13)."""

    form = fields.String(required=True)
    source = fields.String(**_text)
    quote = _quote()
    reading = fields.String(**_text, metadata={"description": "What the service reads the words as requiring"})

    @post_load
    def _make(self, data, **kwargs):
        return model.ClosingNeeds(**data)


class ChasersSchema(_Strict):
    count = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    reading = fields.String(**_text, metadata={"description": "What the service does, said to be its reading"})
    quote = _Quote()

    @post_load
    def _make(self, data, **kwargs):
        return model.Chasers(**data)


class ConferenceFollowUpSchema(_Strict):
    """How long an agency has to respond to a conference escalation, and the chasers (Kirklees Appendix 3)."""

    response = fields.Nested(TimescaleSchema, required=True)
    source = fields.String(**_text)
    quote = _quote()
    chasers = fields.Nested(ChasersSchema, required=True)

    @validates_schema
    def _in_working_days(self, data, **kwargs):
        response = data.get("response")
        if response is not None and response.kind != "working_days":
            raise ValidationError("the response is due after a number of working days: kind: working_days", "response")
        if response is not None and not response.words:
            raise ValidationError("give the policy's words the number of days comes from", "response")

    @post_load
    def _make(self, data, **kwargs):
        return model.ConferenceFollowUp(**data)


class PackSchema(_Strict):
    id = _id
    name = fields.String(**_text)
    short_name = fields.String(**_text)
    reference_prefix = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2,5}$"))
    policy = fields.Nested(PolicySchema, required=True)
    recording = fields.String(**_text)
    recording_source = fields.String(**_text)
    immediate_risk = fields.Nested(ImmediateRiskSchema, required=True)
    bypasses = fields.List(fields.Nested(BypassSchema))
    stages = fields.List(fields.Nested(StageSchema), required=True, validate=validate.Length(min=1))
    areas = fields.List(fields.Nested(AreaSchema), required=True, validate=validate.Length(min=1))
    roles = fields.List(fields.Nested(RoleSchema), required=True)
    sectors = fields.List(fields.Nested(SectorSchema))
    excluded = fields.String()
    excluded_source = fields.String()
    excluded_quote = _Quote()
    annual_report = fields.String()
    annual_report_source = fields.String()
    routing = fields.List(fields.Nested(RoutingRuleSchema))
    closing_needs = fields.Nested(ClosingNeedsSchema)
    conference_follow_up = fields.Nested(ConferenceFollowUpSchema)


class ChoiceSchema(_Strict):
    value = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]+$"))
    label = fields.String(**_text)
    category = fields.String(validate=validate.OneOf(list(CATEGORIES)))


class FieldSchema(_Strict):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    label = fields.String(**_text)
    type = fields.String(required=True, validate=validate.OneOf(model.FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    hint = fields.String()
    aliases = fields.List(fields.String(validate=validate.Length(min=1)))
    choices = fields.List(fields.Nested(ChoiceSchema))
    choices_from = fields.String(validate=validate.OneOf(["stages", "areas", "sectors"]))
    only_stages = fields.List(fields.String())
    columns = fields.List(fields.Nested(lambda: FieldSchema()))
    max_length = fields.Integer(validate=validate.Range(min=1, max=100_000))
    blank_rows = fields.Integer(validate=validate.Range(min=1, max=50))
    maps_to = fields.String(validate=validate.OneOf(model.MAPS_TO))
    child_detail = fields.Boolean()
    source = fields.String()
    past = fields.Boolean()  # a date of something that has happened (date fields only)

    @validates_schema
    def _shape(self, data, **kwargs):
        kind = data["type"]
        has_choices = "choices" in data or "choices_from" in data
        if kind in ("choice", "ticks") and not has_choices:
            raise ValidationError(f"a {kind} field needs choices or choices_from", "choices")
        if data.get("past") and kind != "date":
            raise ValidationError("only a date can be in the past", "past")
        if kind not in ("choice", "ticks") and has_choices:
            raise ValidationError(f"a {kind} field takes no choices", "choices")
        if "choices" in data and "choices_from" in data:
            raise ValidationError("give choices or choices_from, not both", "choices_from")
        if kind == "rows" and not data.get("columns"):
            raise ValidationError("a rows field needs columns", "columns")
        if kind != "rows" and "columns" in data:
            raise ValidationError(f"a {kind} field takes no columns", "columns")
        for column in data.get("columns", ()):
            if column["type"] == "rows":
                raise ValidationError("rows cannot be nested", "columns")


class SectionSchema(_Strict):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9-]*$"))
    title = fields.String(**_text)
    printed = fields.Boolean(load_default=True)
    fields = fields.List(fields.Nested(FieldSchema), required=True, validate=validate.Length(min=1))


class FormSchema(_Strict):
    id = _id
    title = fields.String(**_text)
    short_title = fields.String(**_text)
    appendix = fields.String()
    source = fields.String(**_text)
    derived = fields.Boolean(required=True)
    description = fields.String()
    process = fields.String(validate=validate.OneOf(["escalation", "cp-conference"]))
    stages = fields.List(fields.String(), required=True)
    carries_child_details = fields.Boolean(required=True)
    who_completes = fields.String(**_text)
    instructions = fields.List(fields.String())
    closing = fields.List(fields.String())
    quote = _quote()
    sections = fields.List(fields.Nested(SectionSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _derived_says_so(self, data, **kwargs):
        if data["derived"] and not data.get("description"):
            raise ValidationError("a derived form must say in its description which paragraph it serves", "description")
