"""Liveness and readiness, for a load balancer or an orchestrator.

    GET /healthz  200 while the process answers at all (it touches nothing else, so a database
                  outage never gets healthy app processes restarted).
    GET /readyz   200 when the database answers and its schema is at the newest migration;
                  503 with the reason otherwise, so no traffic is sent to a process that would fail.

Neither needs a session or a CSRF token, neither is rate limited, and the answers name no
host, user or password (only the kind of error).
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from service import db

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
        return False, {"database": f"unreachable ({type(exc).__name__})", "migrations": "unknown"}
    if current != heads:
        behind = sorted(heads - current)
        return False, {
            "database": "ok",
            "migrations": f"not at head: database at {sorted(current) or 'no revision'}, code expects {behind}",
        }
    return True, {"database": "ok", "migrations": "head"}


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    ready, details = readiness(current_app)
    return jsonify(status="ready" if ready else "not ready", **details), 200 if ready else 503
