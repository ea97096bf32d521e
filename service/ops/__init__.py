"""Running the service in production (issue 8): health and readiness, structured logs without
personal data, rate limits, settings checks, HSTS behind a proxy, and backup/restore commands.

`init_app(app)` is called last in create_app(), once every blueprint is registered, so the rate
limits can find the sign-in view and the web journey, and the production checks see the final settings.

A surface for operators; settings is the one module the domain may read.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Imported here: a command importing service.ops.logs alone (app.create_cli_app) loads none of the rest.
    from service.ops import backup, health, limits, logs, settings

    settings.init_app(app)
    logs.init_app(app)
    app.register_blueprint(health.bp)
    limits.init_app(app)
    backup.register(app)
    settings.check(app)
