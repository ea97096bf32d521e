"""The business-unit workspace: staff sign-in, the inbox, case pages, quarantine, themes, exports,
the annual report, the contacts directory and retention (issue 6).

Every route of the `workspace` blueprint is wrapped in `auth.requires(permission)` (or marked
`auth.public` for the sign-in page); tests/workspace/test_security_routes.py walks app.url_map to hold that.
`init_app(app)` registers the blueprint, Flask-Login, the cookie settings and the CLI commands.

A surface: imports the domain (casework, documents, intake, conference), never imported by it.
"""

from __future__ import annotations

from flask import Blueprint, Flask, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from service.casework import (
    audit,  # the audit log's append-only triggers come with its table
    channels,
    staff,  # noqa: F401 - puts the workspace tables on the metadata, for Alembic
    wording,
)

bp = Blueprint("workspace", __name__, url_prefix="/workspace")

# (endpoint, text, permission) of the navigation, in order.
NAVIGATION = (
    ("workspace.inbox", "Inbox", "cases.read"),
    ("workspace.upload", "Upload", "cases.write"),
    ("workspace.quarantine", "Quarantine", "quarantine"),
    ("workspace.dashboard", "Themes", "dashboard"),
    ("workspace.annual_report_page", "Annual report", "report"),
    ("workspace.directory_index", "Directory", "directory"),
    ("workspace.undelivered", "Undelivered", "cases.write"),
    ("workspace.two_factor", "Two-factor sign-in", "account"),
)


def workspace_nav() -> list[dict]:
    """The navigation items the signed-in user may use, the current one marked active."""
    items = []
    for endpoint, text, permission in NAVIGATION:
        if current_user.can(permission):
            items.append({"href": url_for(endpoint), "text": text, "active": request.endpoint == endpoint})
    return items


def init_app(app: Flask) -> None:
    from service.workspace import (  # noqa: F401 - importing the views registers their routes
        auth,
        cli,
        views_account,
        views_cases,
        views_inbox,
        views_manage,
        views_outbox,
        views_quarantine,
        views_stage,
        views_upload,
    )

    auth.init_app(app)
    app.register_blueprint(bp)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.jinja_env.globals["workspace_nav"] = workspace_nav
    app.jinja_env.globals["audit_actions"] = audit.ACTIONS
    app.jinja_env.filters["workspace_datetime"] = wording.moment
    app.jinja_env.filters["received_by"] = channels.received_by  # how a returned file reached the service
    cli.register(app)
