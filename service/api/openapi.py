"""The OpenAPI document (GET /api/openapi.json), built from the schemas and each view's docstring.

Every route of the blueprint is documented: the operations are read from the app's url_map, so a
view cannot be left out of the document (one without an OpenAPI docstring stops the document)."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

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
    for rule in api_rules(current_app.url_map):
        _add_path(spec, rule, current_app.view_functions[rule.endpoint])
    return spec.to_dict()


def api_rules(url_map) -> list:
    """Every route the blueprint registered on the app, in path order."""
    return sorted((r for r in url_map.iter_rules() if r.endpoint.startswith(f"{bp.name}.")), key=lambda r: r.rule)


def _add_path(spec: APISpec, rule, view) -> None:
    import yaml

    if "---" not in (view.__doc__ or ""):
        raise RuntimeError(f"{rule.endpoint} ({rule.rule}) has no OpenAPI operations in its docstring")
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
    """This document: every operation of the API, its parameters, bodies and responses.
    ---
    get:
      responses:
        200: {content: {application/json: {schema: {type: object}}}}
    """
    return jsonify(openapi_spec())
