"""POST /api/submissions: open a case, or add to one by its tracking token or (staff) its reference."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from marshmallow import ValidationError

from service import db
from service.api.common import bp, error, json_body, staff_case
from service.api.schemas import SubmissionIn, SubmissionOut
from service.casework import cases


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
    body = json_body(SubmissionIn())
    session = db.session()
    case = None
    if body["case"] and body["tracking_token"]:
        raise ValidationError({"case": ["give case or tracking_token, not both"]})
    if body["tracking_token"]:
        case = cases.by_tracking_token(session, body["tracking_token"])
    elif body["case"]:
        if not current_user.is_authenticated:
            return error("adding to a case by its reference needs a workspace sign-in; use tracking_token", 401)
        case = staff_case(session, body["case"], "cases.write")
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
