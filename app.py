"""Escalate: the Flask application factory (`flask --app app ...`)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from forms import registry


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_CONTENT_LENGTH", 40 * 1024 * 1024)),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # Fail at start-up, naming the file and key, rather than on the first request.
    app.extensions["registry"] = registry()

    from service import cli

    cli.register(app)
    return app
