"""The OpenAPI document (GET /api/openapi.json), built from the schemas and each view's docstring."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from service.api.cases import get_case, get_cases, get_directory, get_overdue, get_tracking, post_outcome, post_stage
from service.api.common import bp
from service.api.schemas import (
    CaseOut,
    CasePage,
    ContactOut,
    ErrorOut,
    OutcomeIn,
    StageIn,
    SubmissionIn,
    SubmissionOut,
    TrackingOut,
)
from service.api.submissions import post_submission

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
        # Any operation can meet the errors the package docstring lists (and a rate limit), all as ErrorOut JSON.
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
