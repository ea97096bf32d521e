"""The API blueprint and what every view shares: the staff permission decorator, the partnerships a
member of staff may reach, the JSON body loader and the JSON errors (see the package docstring)."""

from __future__ import annotations

import functools

from flask import Blueprint, jsonify, request
from flask_login import current_user
from marshmallow import Schema, ValidationError

from forms import normalise
from service.casework import cases
from service.casework.routing import RoutingError
from service.web import csrf
from service.web.security import REQUEST_CAPS
from service.workspace.auth import all_partnerships

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # JSON bodies only: see the package docstring


def staff(permission: str):
    """A signed-in member of staff holding `permission` in at least one partnership; JSON 401/403 otherwise."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return error("sign in to the workspace first", 401)
            if not current_user.can(permission):
                return error(f"you do not have the '{permission}' permission", 403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorate


def allowed(permission: str) -> list[str]:
    return current_user.partnerships_for(permission, all_partnerships())


def reach(permission: str):
    """The cases the signed-in member of staff may reach (a chair: conference escalations only)."""
    return current_user.reach(permission, all_partnerships())


def staff_case(session, reference: str, permission: str):
    """The case, if this member of staff may act on it; otherwise the same 'not found' as a wrong reference."""
    case = cases.get(session, reference)
    if not current_user.reach(permission, all_partnerships()).allows(case):
        raise cases.UnknownCase(f"no case with reference '{reference}'")
    return case


def error(message: str, status: int, messages: dict | None = None):
    body = {"error": message}
    if messages:
        body["messages"] = messages
    return jsonify(body), status


def json_body(schema: Schema) -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["send a JSON object (Content-Type: application/json)"]})
    try:
        # Every string through the one normaliser (forms.normalise) before any schema reads it.
        payload = normalise.tree(payload)
    except normalise.TextRefused as exc:
        raise ValidationError({"_schema": [str(exc)]}) from None
    return schema.load(payload)


class ApiError(Exception):
    """A request the API refuses, with its status (e.g. 422 for a reused Idempotency-Key)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@bp.errorhandler(ApiError)
def _refused(exc: ApiError):
    return error(str(exc), exc.status)


@bp.errorhandler(413)
def _too_large(exc):
    cap = REQUEST_CAPS["api"] // (1024 * 1024)  # the cap service.web.security applies to this blueprint
    return error(f"the request is larger than the API takes ({cap} MiB): shorten the answers", 413)


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    return error("invalid request", 400, exc.messages)


@bp.errorhandler(cases.CaseError)
def _case_error(exc: cases.CaseError):
    if isinstance(exc, cases.UnknownCase):
        return error(str(exc), 404)
    if isinstance(exc, cases.StageMoveRefused):
        return error(str(exc), 409)
    if isinstance(exc, cases.ChildDetailsRefused):  # understood, but the form must not hold it
        return error(str(exc), 422, exc.messages)
    if isinstance(exc, cases.InvalidData):
        return error(str(exc), 400, exc.messages)
    return error(str(exc), 400)


@bp.errorhandler(RoutingError)
def _routing_error(exc: RoutingError):
    return error(str(exc), 400)
