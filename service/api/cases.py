"""The case views: list, overdue, one case, stage moves, outcomes, tracking and the directory."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

from service import db
from service.api.common import allowed, bp, error, json_body, reach, staff, staff_case
from service.api.schemas import CaseOut, CasePage, ContactOut, ListQuery, OutcomeIn, StageIn, TrackingOut
from service.casework import cases, closing
from service.casework.lookup import pack_of
from service.casework.models import Contact
from service.workspace.auth import remote_addr
from service.workspace.common import audit_here, case_viewed_here


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
    page = cases.list_cases(db.session(), **query, within=reach("cases.read"))
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
    found = cases.overdue(db.session(), partnership=request.args.get("partnership"), within=reach("cases.read"))
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
    case = staff_case(session, reference, "cases.read")
    view = cases.case_view(session, case)
    if case_viewed_here(case, "API"):
        session.commit()
    return jsonify(CaseOut().dump(view))


@bp.post("/cases/<reference>/stage")
@staff("cases.write")
def post_stage(reference: str):
    """Move the case to the next stage; it is routed and notified as the policy names for that stage.
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
    body = json_body(StageIn())
    session = db.session()
    case = staff_case(session, reference, "cases.write")
    # The entry commits with the move (move_stage commits), or neither happens.
    audit_here("case.stage", case, detail=f"API: moved to stage {str(body['stage'])[:20]}")
    case = cases.move_stage(
        session,
        case,
        body["stage"],
        immediate_risk=body["immediate_risk"],
        outcome=body["outcome"],
        reason=body["reason"],
        channel="api",
    )
    return jsonify(CaseOut().dump(cases.case_view(session, case)))


@bp.post("/cases/<reference>/emergency-route")
@staff("cases.write")
def post_emergency_route(reference: str):
    """Record that the policy's emergency route was used for this child; the case stays at its stage.
    ---
    post:
      parameters:
        - {in: path, name: reference, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: CaseOut}}}
    """
    session = db.session()
    case = staff_case(session, reference, "cases.write")
    # The entry commits with the record (record_emergency_route commits), as a stage move's does.
    audit_here("case.emergency-route", case, detail="API")
    case = cases.record_emergency_route(session, case)
    return jsonify(CaseOut().dump(cases.case_view(session, case)))


@bp.post("/cases/<reference>/outcome")
@staff("cases.write")
def post_outcome(reference: str):
    """Record the outcome, resolution and learning; `resolved: true` closes the case (with its de-brief).
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
    body = json_body(OutcomeIn())
    session = db.session()
    case = staff_case(session, reference, "cases.write")
    if body.pop("resolved"):
        # As the case page: a case is closed with its resolution, de-brief and learning.
        try:
            case = closing.close(
                session, case, actor=current_user.email, detail="API", remote_addr=remote_addr(), **body
            )
        except closing.CloseRefused as exc:
            return error(str(exc), 400, exc.messages)
        return jsonify(CaseOut().dump(cases.case_view(session, case)))
    body.pop("debrief")
    audit_here("case.outcome", case, detail="API")
    case = cases.record_outcome(session, case, **body)
    return jsonify(CaseOut().dump(cases.case_view(session, case)))


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
    return jsonify(TrackingOut().dump(cases.tracking_view(session, cases.by_tracking_token(session, token))))


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
    pack_of(partnership)  # the registry's packs: an unknown partnership is a 400 naming the known ones
    if partnership not in allowed("cases.read"):
        return error(f"you do not work in {partnership}", 403)
    found = db.session().scalars(select(Contact).where(Contact.partnership == partnership).order_by(Contact.id))
    return jsonify(ContactOut(many=True).dump(found))
