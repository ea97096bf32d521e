"""Escalate: the Flask application factory (`flask --app app ...`).

create_app() builds the whole service (pages, API, workspace, conference log, operations). Commands
that only store and queue (`flask ingest` without --now) take create_cli_app(): the same settings and
database, none of the pages, packs or mail (issue 16: a fifth of the whole app's start-up, as
`make bench` measures it in bench_scan).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask


def _configured(test_config: dict | None) -> Flask:
    """A Flask app with the service's settings from the environment and its database (both factories)."""
    from service import db

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_CONTENT_LENGTH", 40 * 1024 * 1024)),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault("MAIL_SERVER", os.environ.get("MAIL_SERVER", "localhost"))
    app.config.setdefault("MAIL_PORT", int(os.environ.get("MAIL_PORT", 25)))
    app.config.setdefault("MAIL_SENDER", os.environ.get("MAIL_SENDER", "Escalate <escalations@escalate.example>"))
    # The relay's login and STARTTLS, as env.example sets them (issue 19: they were read from config only).
    for name in ("MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_STARTTLS"):
        if os.environ.get(name):
            app.config.setdefault(name, os.environ[name])
    db.init_app(app)
    return app


def create_cli_app(test_config: dict | None = None) -> Flask:
    """The settings, the database and the service's logs, for a command that stores and queues only.
    A production start with unsafe settings is refused as create_app refuses it (no SQLite file kept
    by one machine's command where the service reads PostgreSQL)."""
    from service.ops import logs, settings

    app = _configured(test_config)
    logs.init_app(app)
    if settings.production(app) and (found := settings.database_problems(app)):
        raise settings.UnsafeSettings(found)
    return app


def create_app(test_config: dict | None = None) -> Flask:
    from forms import quotes, registry
    from forms.loader import PackError
    from service import conference, web, workspace  # also put their tables on the metadata, for Alembic
    from service.ops import settings

    app = _configured(test_config)
    # Fail at start-up, naming the file and key, rather than on the first request; in one line naming
    # every missing file when the policy texts the packs quote are not where POLICIES_DIR says. The
    # packs are loaded once a process; the policy files are looked for only when loading fails.
    try:
        app.extensions["registry"] = registry()
    except PackError:
        if missing := quotes.missing_policies():
            raise settings.MissingPolicies(quotes.policies_dir(), missing) from None
        raise

    from service import cli

    cli.register(app)

    # Cases, directory, routing and the outbox (issue 3): the database, the JSON API and their commands.
    from service import api

    app.register_blueprint(api.bp)
    cli.register_cases(app)

    # Returned documents (issue 5): parse, ingest, smtpd, imap-poll.
    from service.intake import cli as ingest_cli

    ingest_cli.register(app)

    # Web forms (issue 4): GOV.UK Frontend pages, CSRF on every POST, security headers.
    web.init_app(app)

    # Business-unit workspace (issue 6): staff sign-in, inbox, case pages, themes, exports, retention.
    workspace.init_app(app)

    # Child protection conference escalations (issue 7): the chair's log, notifications, responses, chasers.
    conference.init_app(app)

    # Production (issue 8): /healthz, /readyz, JSON logs, rate limits, HSTS, backup; last, so it sees every view.
    from service import ops

    ops.init_app(app)
    return app
