"""Liveness and readiness, for a load balancer or an orchestrator.

    GET /healthz  200 while the process answers at all (it touches nothing else, so a database
                  outage never gets healthy app processes restarted).
    GET /readyz   200 when the database answers, its schema is at the newest migration and every
                  partnership served (PARTNERSHIPS) has a contact for each role its routing sends
                  to; 503 with the reason otherwise, so no traffic is sent to a process that would
                  fail or route escalations to nobody.
    GET /readyz?deep=1  the slow path, for a monitor every few minutes rather than a load
                  balancer every second: also walks the audit log's hash chain (503 when a row
                  does not match).

Neither needs a session or a CSRF token, neither is rate limited, and the answers name no
host, user or password, nor the driver's error (the service's log has it).
"""

from __future__ import annotations

import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from service import db

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


def migration_heads(app) -> frozenset[str]:
    """The newest revisions in migrations/ (read once per process: they change only with a deploy)."""
    heads = app.extensions.get("ops_migration_heads")
    if heads is None:
        script = ScriptDirectory.from_config(db.alembic_config(db.engine(app)))
        heads = app.extensions["ops_migration_heads"] = frozenset(script.get_heads())
    return heads


def readiness(app) -> tuple[bool, dict]:
    """(ready, details): the database answers a query and is migrated to every head revision."""
    heads = migration_heads(app)
    try:
        with db.engine(app).connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any driver's error: the database is not usable from here
        # The answer goes to whoever asks (a load balancer, a browser): the driver's words go to the log.
        log.warning("readiness: the database is unreachable (%s: %s)", type(exc).__name__, exc)
        return False, {"database": "unreachable (the service's log says why)", "migrations": "unknown"}
    if current != heads:
        behind = sorted(heads - current)
        return False, {
            "database": "ok",
            "migrations": f"not at head: database at {sorted(current) or 'no revision'}, code expects {behind}",
        }
    missing = directory_gaps(app)
    if missing:
        return False, {"database": "ok", "migrations": "head", "directory": missing}
    return True, {"database": "ok", "migrations": "head", "directory": "ok"}


def directory_gaps(app) -> dict[str, str]:
    """Each served partnership missing a contact for a role its routing needs: {pack id: what is missing}."""
    from service.casework import directory
    from service.ops import settings

    registry = app.extensions["registry"]
    with db.sessions(app)() as session:
        gaps = directory.missing_roles_of(session, [registry.pack(pid) for pid in settings.partnerships(app)])
    return {
        pid: f"no contact for {', '.join(roles)}: `flask --app app directory import`"
        for pid, roles in gaps.items()
        if roles
    }


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def audit_chain(app) -> tuple[bool, str]:
    from service.casework import audit

    with db.sessions(app)() as session:
        result = audit.verify(session)
    if result.ok:
        return True, f"chain intact ({result.checked} entries)"
    # Which row, and how, is for the operator's `flask --app app audit verify`, not for this answer.
    return False, "the audit log's chain does not match: run flask --app app audit verify on the server"


@bp.get("/readyz")
def readyz():
    ready, details = readiness(current_app)
    if ready and request.args.get("deep"):
        ready, details["audit"] = audit_chain(current_app)
    return jsonify(status="ready" if ready else "not ready", **details), 200 if ready else 503
