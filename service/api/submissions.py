"""POST /api/submissions: open a case, or add to one by its tracking token or (staff) its reference.

An `Idempotency-Key` header (up to 200 characters) makes a retry safe, as in payment APIs: the same
key with the same body is answered with the first answer again, however often and however
concurrently it is sent (one case, one set of e-mails: service.casework.once); the same key with
another body is refused with 422. A key belongs to its caller (the signed-in member of staff, or
the public). The channel is always "api": the server says how a submission came in."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from marshmallow import ValidationError

from forms import registry
from service import db
from service.api.common import ApiError, bp, error, json_body, staff_case
from service.api.schemas import SubmissionIn, SubmissionOut
from service.casework import access, cases, once

MAX_KEY = 200


@bp.post("/submissions")
def post_submission():
    """Submit a completed form: opens a case or adds to one.
    ---
    post:
      parameters:
        - in: header
          name: Idempotency-Key
          required: false
          schema: {type: string, minLength: 1, maxLength: 200}
          description: The same key and body give the first answer again; the same key with another body, 422
      requestBody:
        content:
          application/json:
            schema: SubmissionIn
      responses:
        201: {content: {application/json: {schema: SubmissionOut}}}
        400: {content: {application/json: {schema: ErrorOut}}}
        403: {content: {application/json: {schema: ErrorOut}}}
        409: {content: {application/json: {schema: ErrorOut}}}
        422: {content: {application/json: {schema: ErrorOut}}}
    """
    body = json_body(SubmissionIn())
    spec = registry().forms.get(body["form_id"])
    roles = current_user.roles if current_user.is_authenticated else ()
    if spec is not None and not access.may_send(spec, roles):
        return error(access.refusal(spec), 403)
    key = _idempotency(body)
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
    tracking = once.tracking_token(current_app.config["SECRET_KEY"], key) if key else None
    try:
        outcome = cases.submit(
            session,
            body["form_id"],
            body["data"],
            channel="api",
            case=case,
            immediate_risk=body["immediate_risk"],
            raw=request.get_data(),
            content_type="application/json",
            once=key,
            tracking_token=tracking,
            commit=False,
        )
    except once.AlreadySent as exc:
        return _replay(key, exc)
    answer = SubmissionOut().dump(outcome)
    if key is not None:
        # Kept without the tracking token (only its hash is stored; a replay derives it again).
        send = session.get(once.Send, outcome.send_id)
        send.response = {k: v for k, v in answer.items() if k != "tracking_token"}
    session.commit()
    return answer, 201


def _idempotency(body: dict) -> once.Once | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY or not value.isprintable():
        raise ApiError(f"the Idempotency-Key header must be 1 to {MAX_KEY} printable characters", 400)
    caller = f"staff:{current_user.user.id}" if current_user.is_authenticated else "public"
    return once.Once("api", once.digest(caller, value), once.request_digest(body))


def _replay(key: once.Once, exc: once.AlreadySent):
    if not exc.same_request or exc.send.response is None:
        raise ApiError(
            "this Idempotency-Key was used with a different request: use a new key for a new submission", 422
        )
    answer = dict(exc.send.response)
    if exc.send.created_case:
        answer["tracking_token"] = once.tracking_token(current_app.config["SECRET_KEY"], key)
    else:
        answer["tracking_token"] = None
    return answer, 201
