"""The JSON API under /api, with marshmallow schemas at the boundary and an OpenAPI document.

    POST /api/submissions                {form_id, data, case?}            -> reference, tracking token, routes, next step
    GET  /api/cases?partnership=&status=&limit=&cursor=                     -> a page of cases, newest first
    GET  /api/cases/overdue?partnership=                                    -> open cases past their due date
    GET  /api/cases/<reference>                                             -> the case with stages, submissions, routing
    POST /api/cases/<reference>/stage    {stage, immediate_risk?, outcome?}
    POST /api/cases/<reference>/emergency-route                            -> the case, its stage unchanged
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

The package: common.py (the blueprint, the staff decorator, JSON errors), schemas.py (marshmallow),
submissions.py and cases.py (the views), openapi.py (the document). Importing it registers every
view on `bp`, which app.py registers on the app.
"""

from __future__ import annotations

from service.api import cases, openapi, submissions  # noqa: F401 - their views register on bp
from service.api.common import bp
from service.api.openapi import openapi_spec

__all__ = ["bp", "openapi_spec"]
