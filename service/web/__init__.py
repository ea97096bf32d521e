"""The web forms: GOV.UK Frontend pages generated from the form specs (see views.py for the journey).

`init_app(app)` registers the blueprint, CSRF protection on every POST, the GOV.UK Frontend
template loaders and the security headers.

A surface: imports the domain (casework, documents), never imported by it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path

import click
from flask import Flask
from flask_wtf.csrf import CSRFProtect
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from service import db
from service.web import drafts, formbuild, security  # drafts: registers its table on the models' metadata

__all__ = ["drafts", "init_app"]

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    from service.web import views

    app.jinja_loader = ChoiceLoader(
        [
            app.jinja_loader,
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    WTFormsHelpers(app)
    # Every POST of the web journey checks its CSRF token (views.py); the JSON API has its own auth.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # Its Referer-only HTTPS check is replaced by security.check_origin (Origin, else Referer), for every blueprint.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)
    security.init_app(app)
    views.register(app)
    app.jinja_env.globals["govuk"] = formbuild.govuk
    app.jinja_env.filters["long_date"] = long_date
    app.url_defaults(_asset_version)
    app.cli.add_command(purge_drafts_command)


def long_date(value) -> str:
    """An ISO date (or a date) as people write it: 9 March 2026; nothing for no date."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%-d %B %Y")


@functools.cache
def _content_hash(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else None


def _asset_version(endpoint: str, values: dict) -> None:
    """Link each asset file as /assets/<file>?v=<hash of its content>: the proxy lets browsers keep it
    for a year (deploy/nginx.conf), and a release that changes it changes its address."""
    if endpoint == "web.static" and "filename" in values and "v" not in values:
        from service.web.pages import STATIC

        if version := _content_hash(STATIC / values["filename"]):
            values["v"] = version


@click.command("purge-drafts")
@db.needs_database
def purge_drafts_command():
    """Delete expired answers: working copies after 24 hours, saved ones after 28 days (run hourly;
    an expired draft also vanishes when opened)."""

    click.echo(f"deleted {drafts.purge_expired(db.session())} expired drafts")
