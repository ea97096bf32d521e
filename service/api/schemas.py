"""The marshmallow schemas at the API's boundary: what each request may send and each response holds."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SubmissionIn(_Strict):
    form_id = fields.String(required=True, metadata={"description": "A form id, e.g. nt-appendix-a"})
    data = fields.Dict(required=True, metadata={"description": "Canonical form data (forms.schema)"})
    case = fields.String(load_default=None, metadata={"description": "Reference of the case this adds to (staff)"})
    tracking_token = fields.String(
        load_default=None, validate=validate.Length(max=200), metadata={"description": "Adds to the case it tracks"}
    )
    immediate_risk = fields.Boolean(load_default=None)


class RoutedOut(Schema):
    """Whom a submission was routed to: who was chosen, by which rule of the pack, and why."""

    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    role = fields.String()
    agency = fields.String(allow_none=True)
    rule_id = fields.String()
    reason = fields.String()


class NextStepOut(Schema):
    text = fields.String()
    stage = fields.String(allow_none=True)
    who = fields.String(allow_none=True)
    due = fields.Date(allow_none=True)
    next_stage = fields.String(allow_none=True)
    next_who = fields.String(allow_none=True)
    form_id = fields.String(allow_none=True)
    form_title = fields.String(allow_none=True)


class SubmissionOut(Schema):
    reference = fields.String()
    tracking_token = fields.String(allow_none=True, metadata={"description": "Only when the case was opened"})
    stage = fields.String(allow_none=True)
    due = fields.Date(allow_none=True)
    created = fields.Boolean()
    routes = fields.List(fields.Nested(RoutedOut))
    next_step = fields.Nested(NextStepOut)


class TrackingStageView(Schema):
    """A stage as the raiser sees it: why a stage was passed only in the service's words."""

    stage = fields.String()
    name = fields.String()
    entered_on = fields.String(allow_none=True)
    timescale = fields.String()
    due = fields.String(allow_none=True)
    due_words = fields.String()
    left_on = fields.String(allow_none=True)
    met = fields.Boolean(allow_none=True)
    overdue = fields.Boolean()
    skipped = fields.Boolean()
    reason = fields.String(allow_none=True)


class StageView(TrackingStageView):
    """A stage as staff see it (service.casework.queries.stage_view): the raiser's view and the policy's words."""

    label = fields.String()
    due_soon = fields.Boolean()
    outcome = fields.String(allow_none=True)
    policy_words = fields.String(allow_none=True)
    reading = fields.String(allow_none=True)


class CaseSummary(Schema):
    reference = fields.String()
    partnership = fields.String()
    status = fields.String()
    current_stage = fields.String(allow_none=True)
    current_due = fields.Date(allow_none=True)
    raising_agency = fields.String(allow_none=True)
    receiving_agency = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    created_at = fields.DateTime()


class CasePage(Schema):
    cases = fields.List(fields.Nested(CaseSummary))
    next_cursor = fields.String(allow_none=True)


class SubmissionView(Schema):
    """A form as received, without its bytes (their size and SHA-256 stand for them)."""

    id = fields.Integer()
    form_id = fields.String()
    channel = fields.String()
    stage = fields.String(allow_none=True)
    received_at = fields.String()
    filename = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    raw_bytes = fields.Integer(allow_none=True)
    raw_sha256 = fields.String(allow_none=True)
    data = fields.Dict()


class RoutingView(RoutedOut):
    """A routing decision on the case: the routed contact, and the submission and stage it was made for."""

    submission_id = fields.Integer(allow_none=True)
    stage = fields.String(allow_none=True)


class TrackingOut(Schema):
    """What the raiser may see by the tracking token (service.casework.queries.tracking_view), every key;
    the case as staff see it (CaseOut) holds these keys and more."""

    reference = fields.String()
    partnership_name = fields.String()
    status = fields.String()
    current_stage = fields.String(allow_none=True)
    current_due = fields.String(allow_none=True)
    overdue = fields.Boolean()
    due_soon = fields.Boolean()
    next_step = fields.String()
    emergency_route_shown_at = fields.String(allow_none=True)
    stages = fields.List(fields.Nested(TrackingStageView))


class CaseOut(TrackingOut):
    """The case as `flask --app app case REF` prints it (service.casework.queries.case_view), every key."""

    partnership = fields.String()
    process = fields.String()
    raiser_name = fields.String(allow_none=True)
    raiser_role = fields.String(allow_none=True)
    raiser_contact = fields.String(allow_none=True)
    raising_agency = fields.String(allow_none=True)
    receiving_agency = fields.String(allow_none=True)
    receiving_sector = fields.String(allow_none=True)
    area = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    child_name = fields.String(allow_none=True)
    date_raised = fields.String(allow_none=True)
    immediate_risk = fields.Boolean()
    outcome = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    learning = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    stages = fields.List(fields.Nested(StageView))
    submissions = fields.List(fields.Nested(SubmissionView))
    routing = fields.List(fields.Nested(RoutingView))


class StageIn(_Strict):
    stage = fields.String(required=True)
    immediate_risk = fields.Boolean(load_default=False)
    outcome = fields.String(load_default=None, validate=validate.Length(max=20_000))
    reason = fields.String(load_default=None, validate=validate.Length(max=4_000))


class OutcomeIn(_Strict):
    outcome = fields.String(load_default=None, validate=validate.Length(max=20_000))
    resolution = fields.String(load_default=None, validate=validate.Length(max=20_000))
    learning = fields.String(load_default=None, validate=validate.Length(max=20_000))
    debrief = fields.String(
        load_default=None,
        validate=validate.Length(max=20_000),
        metadata={"description": "What the de-brief found; required with resolution and learning to close"},
    )
    resolved = fields.Boolean(load_default=False)


class ListQuery(_Strict):
    partnership = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "resolved"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class ContactOut(Schema):
    role = fields.String()
    agency = fields.String(allow_none=True)
    sector = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    name = fields.String()
    title = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class ErrorOut(Schema):
    error = fields.String()
    messages = fields.Dict()
