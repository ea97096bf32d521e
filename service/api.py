"""The JSON API under /api, with marshmallow schemas at the boundary and an OpenAPI document.

    POST /api/submissions                {form_id, data, case?, channel?}  -> reference, tracking token, routes, next step
    GET  /api/cases?partnership=&status=&limit=&cursor=                     -> a page of cases, newest first
    GET  /api/cases/overdue?partnership=                                    -> open cases past their due date
    GET  /api/cases/<reference>                                             -> the case with stages, submissions, routing
    POST /api/cases/<reference>/stage    {stage, immediate_risk?, outcome?}
    POST /api/cases/<reference>/outcome  {outcome?, resolution?, learning?, resolved?}
    GET  /api/track/<token>                                                 -> what the raiser may see
    GET  /api/directory/<partnership>                                       -> contacts
    GET  /api/openapi.json

Who may do what: submitting and following a case by its tracking token are open to anyone (that
is how professionals raise concerns); adding to an existing case needs its tracking token, or a
signed-in member of staff with `cases.write` in that partnership. Reading cases, moving stages and
recording outcomes need a workspace sign-in (service.workspace.auth) with `cases.read` or
`cases.write`, and reach only the partnerships the person belongs to; a case elsewhere is "not found".
Requests with a body must be JSON (Content-Type: application/json), which a cross-site form cannot
send, so the blueprint is exempt from the web forms' CSRF tokens.

Errors are JSON: {"error": "...", "messages": {...}} with 400 (bad input), 401 (sign in), 403, 404
(unknown) or 409 (a stage move the policy refuses).
"""

from __future__ import annotations

import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, request
from flask_login import current_user
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import select

from service import db
from service.casework import cases
from service.casework.models import Contact
from service.casework.routing import RoutingError
from service.web import csrf
from service.workspace.auth import all_partnerships
from service.workspace.common import audit_here, holds_child_details

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # JSON bodies only: see the module docstring


def staff(permission: str):
    """A signed-in member of staff holding `permission` in at least one partnership; JSON 401/403 otherwise."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _error("sign in to the workspace first", 401)
            if not current_user.can(permission):
                return _error(f"you do not have the '{permission}' permission", 403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorate


def _allowed(permission: str) -> list[str]:
    return current_user.partnerships_for(permission, all_partnerships())


def _staff_case(session, reference: str, permission: str):
    """The case, if this member of staff may act on it; otherwise the same 'not found' as a wrong reference."""
    case = cases.get(session, reference)
    if case.partnership not in _allowed(permission):
        raise cases.UnknownCase(f"no case with reference '{reference}'")
    return case


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
    channel = fields.String(load_default="api", validate=validate.OneOf(cases.CHANNELS))
    immediate_risk = fields.Boolean(load_default=None)


class RoutedOut(Schema):
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


class StageView(Schema):
    stage = fields.String()
    name = fields.String()
    label = fields.String()
    skipped = fields.Boolean()
    entered_on = fields.String(allow_none=True)
    timescale = fields.String()
    due = fields.String(allow_none=True)
    due_words = fields.String()
    left_on = fields.String(allow_none=True)
    met = fields.Boolean(allow_none=True)
    overdue = fields.Boolean()
    due_soon = fields.Boolean()
    outcome = fields.String(allow_none=True)


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


class CaseOut(Schema):
    """The case as `flask --app app case REF` prints it."""

    reference = fields.String()
    partnership = fields.String()
    status = fields.String()
    current_stage = fields.String(allow_none=True)
    current_due = fields.String(allow_none=True)
    overdue = fields.Boolean()
    due_soon = fields.Boolean()
    next_step = fields.String()
    stages = fields.List(fields.Nested(StageView))
    submissions = fields.List(fields.Dict())
    routing = fields.List(fields.Dict())


class TrackingOut(Schema):
    reference = fields.String()
    partnership_name = fields.String()
    status = fields.String()
    current_stage = fields.String(allow_none=True)
    current_due = fields.String(allow_none=True)
    overdue = fields.Boolean()
    due_soon = fields.Boolean()
    next_step = fields.String()
    stages = fields.List(fields.Dict())


class StageIn(_Strict):
    stage = fields.String(required=True)
    immediate_risk = fields.Boolean(load_default=False)
    outcome = fields.String(load_default=None, validate=validate.Length(max=20_000))


class OutcomeIn(_Strict):
    outcome = fields.String(load_default=None, validate=validate.Length(max=20_000))
    resolution = fields.String(load_default=None, validate=validate.Length(max=20_000))
    learning = fields.String(load_default=None, validate=validate.Length(max=20_000))
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


def _error(message: str, status: int, messages: dict | None = None):
    body = {"error": message}
    if messages:
        body["messages"] = messages
    return jsonify(body), status


def _body(schema: Schema) -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["send a JSON object (Content-Type: application/json)"]})
    return schema.load(payload)


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    return _error("invalid request", 400, exc.messages)


@bp.errorhandler(cases.CaseError)
def _case_error(exc: cases.CaseError):
    if isinstance(exc, cases.UnknownCase):
        return _error(str(exc), 404)
    if isinstance(exc, cases.StageMoveRefused):
        return _error(str(exc), 409)
    if isinstance(exc, cases.InvalidData):
        return _error(str(exc), 400, exc.messages)
    return _error(str(exc), 400)


@bp.errorhandler(RoutingError)
def _routing_error(exc: RoutingError):
    return _error(str(exc), 400)


@bp.post("/submissions")
def post_submission():
    """Submit a completed form: opens a case or adds to one.
    ---
    post:
      requestBody:
        content:
          application/json:
            schema: SubmissionIn
      responses:
        201: {content: {application/json: {schema: SubmissionOut}}}
        400: {content: {application/json: {schema: ErrorOut}}}
        409: {content: {application/json: {schema: ErrorOut}}}
    """
    body = _body(SubmissionIn())
    session = db.session()
    case = None
    if body["case"] and body["tracking_token"]:
        raise ValidationError({"case": ["give case or tracking_token, not both"]})
    if body["tracking_token"]:
        case = cases.by_tracking_token(session, body["tracking_token"])
    elif body["case"]:
        if not current_user.is_authenticated:
            return _error("adding to a case by its reference needs a workspace sign-in; use tracking_token", 401)
        case = _staff_case(session, body["case"], "cases.write")
    outcome = cases.submit(
        session,
        body["form_id"],
        body["data"],
        channel=body["channel"],
        case=case,
        immediate_risk=body["immediate_risk"],
        raw=request.get_data(),
        content_type="application/json",
    )
    return SubmissionOut().dump(outcome), 201


@bp.get("/cases")
@staff("cases.read")
def get_cases():
    """A page of cases, newest first.
    ---
    get:
      parameters:
        - {in: query, schema: ListQuery}
      responses:
        200: {content: {application/json: {schema: CasePage}}}
    """
    query = ListQuery().load(request.args.to_dict())
    page = cases.list_cases(db.session(), **query, within=_allowed("cases.read"))
    return CasePage().dump({"cases": page.cases, "next_cursor": page.next_cursor})


@bp.get("/cases/overdue")
@staff("cases.read")
def get_overdue():
    """Open cases past their current stage's due date, longest overdue first.
    ---
    get:
      parameters:
        - {in: query, name: partnership, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: CasePage}}}
    """
    found = cases.overdue(db.session(), partnership=request.args.get("partnership"), within=_allowed("cases.read"))
    return CasePage().dump({"cases": found, "next_cursor": None})


@bp.get("/cases/<reference>")
@staff("cases.read")
def get_case(reference: str):
    """One case with its stages (each with its due date), submissions and routing decisions.
    ---
    get:
      parameters:
        - {in: path, name: reference, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: CaseOut}}}
        404: {content: {application/json: {schema: ErrorOut}}}
    """
    session = db.session()
    case = _staff_case(session, reference, "cases.read")
    view = cases.case_view(session, case)
    if holds_child_details(case):  # as the case page: reading a child's record is audited
        audit_here("case.view", case, detail="API")
        session.commit()
    return jsonify(view)


@bp.post("/cases/<reference>/stage")
@staff("cases.write")
def post_stage(reference: str):
    """Move the case to a later stage.
    ---
    post:
      parameters:
        - {in: path, name: reference, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: StageIn
      responses:
        200: {content: {application/json: {schema: CaseOut}}}
        409: {content: {application/json: {schema: ErrorOut}}}
    """
    body = _body(StageIn())
    session = db.session()
    case = cases.move_stage(
        session,
        _staff_case(session, reference, "cases.write"),
        body["stage"],
        immediate_risk=body["immediate_risk"],
        outcome=body["outcome"],
    )
    return jsonify(cases.case_view(session, case))


@bp.post("/cases/<reference>/outcome")
@staff("cases.write")
def post_outcome(reference: str):
    """Record the outcome, resolution and learning; `resolved: true` closes the case.
    ---
    post:
      parameters:
        - {in: path, name: reference, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: OutcomeIn
      responses:
        200: {content: {application/json: {schema: CaseOut}}}
    """
    body = _body(OutcomeIn())
    session = db.session()
    case = cases.record_outcome(session, _staff_case(session, reference, "cases.write"), **body)
    return jsonify(cases.case_view(session, case))


@bp.get("/track/<token>")
def get_tracking(token: str):
    """What the person who raised a case sees with its tracking token.
    ---
    get:
      parameters:
        - {in: path, name: token, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: TrackingOut}}}
        404: {content: {application/json: {schema: ErrorOut}}}
    """
    session = db.session()
    return jsonify(cases.tracking_view(session, cases.by_tracking_token(session, token)))


@bp.get("/directory/<partnership>")
@staff("cases.read")
def get_directory(partnership: str):
    """The partnership's contacts.
    ---
    get:
      parameters:
        - {in: path, name: partnership, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: {type: array, items: ContactOut}}}}
    """
    cases.list_cases(db.session(), partnership=partnership, limit=1, within=[])  # raises for an unknown partnership
    if partnership not in _allowed("cases.read"):
        return _error(f"you do not work in {partnership}", 403)
    found = db.session().scalars(select(Contact).where(Contact.partnership == partnership).order_by(Contact.id))
    return jsonify(ContactOut(many=True).dump(found))


_VIEWS = (post_submission, get_cases, get_overdue, get_case, post_stage, post_outcome, get_tracking, get_directory)
_SCHEMAS = (
    SubmissionIn,
    SubmissionOut,
    CasePage,
    CaseOut,
    TrackingOut,
    StageIn,
    OutcomeIn,
    ContactOut,
    ErrorOut,
)


def openapi_spec() -> dict:
    from flask import current_app

    spec = APISpec(
        title="Escalate API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Escalation cases, stages, routing and the directory."},
    )
    for schema in _SCHEMAS:
        spec.components.schema(schema.__name__, schema=schema)
    with current_app.test_request_context():
        for view in _VIEWS:
            _add_path(spec, view)
    return spec.to_dict()


def _add_path(spec: APISpec, view) -> None:
    import yaml
    from flask import current_app

    rule = next(r for r in current_app.url_map.iter_rules() if r.endpoint == f"api.{view.__name__}")
    path = rule.rule
    for converter in rule.arguments:
        path = path.replace(f"<{converter}>", "{" + converter + "}")
    operations = yaml.safe_load(view.__doc__.split("---", 1)[1].replace("\n    ", "\n"))
    summary = view.__doc__.split("---", 1)[0].strip().splitlines()[0]
    for operation in operations.values():
        operation.setdefault("summary", summary)
        # Any operation can meet the errors the module docstring lists (and a rate limit), all as ErrorOut JSON.
        for status, why in _ERRORS.items():
            operation["responses"].setdefault(status, {"description": why, "content": _ERROR_CONTENT})
    spec.path(path=path, operations=operations)


_ERRORS = {
    400: "Bad input",
    401: "Sign in to the workspace first",
    403: "Not permitted",
    404: "Not found",
    429: "Too many requests",
}
_ERROR_CONTENT = {"application/json": {"schema": "ErrorOut"}}


@bp.get("/openapi.json")
def get_openapi():
    return jsonify(openapi_spec())
