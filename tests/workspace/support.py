"""Fixtures and helpers for the workspace tests: staff accounts, signing in, sample cases."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app import create_app
from service.casework import cases, directory
from service.db import sessions
from service.workspace import auth
from tests.conftest import sample

PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
# Real argon2id, at a lower cost so the suite stays fast; test_workspace_auth checks the default is 64 MiB.
WS_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test",
    "WTF_CSRF_ENABLED": True,
    "ARGON2_MEMORY_KIB": 1024,
    "ARGON2_TIME_COST": 1,
}


@pytest.fixture(name="ws_app")
def ws_app_fixture(db_engine):
    """The app on db_engine (SQLite, and PostgreSQL with TEST_DATABASE_URL), CSRF on, directory seeded."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": db_engine,
            "WTF_CSRF_ENABLED": True,
            "INTAKE_QUEUE_IMMEDIATE": True,  # returned files are read as they are queued
        }
    )
    with sessions(app)() as session:
        directory.seed(session)
    return app


@pytest.fixture(name="ws_session")
def ws_session_fixture(ws_app):
    """A session of its own, outside any app context (so test requests get their own context and g)."""
    with sessions(ws_app)() as session:
        yield session


def make_user(app, email: str, role: str, partnership: str | None, totp_secret: str | None = None) -> None:
    with app.app_context(), sessions(app)() as session:
        partnerships = {p.id for p in app.extensions["registry"].packs}
        auth.create_user(session, email, email.split("@")[0], PASSWORD, role, partnership, partnerships, totp_secret)
        session.commit()


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def hidden_from(html: str) -> dict[str, str]:
    """The hidden inputs of a page's form (its CSRF token, a private link page's send key), to post back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)) | {
        "csrf_token": csrf_from(html)
    }


def sign_in(client, email: str, password: str = PASSWORD, code: str = ""):
    page = client.get("/workspace/sign-in")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/workspace/sign-in", data={"email": email, "password": password, "code": code, "csrf_token": token}
    )


def submit_sample(app, form_id: str, changes: dict | None = None, **kwargs) -> cases.SubmissionOutcome:
    """Submit the form's sample answers (with `changes`), as cases.submit does for any channel."""
    data = {**sample(form_id), **(changes or {})}
    with app.app_context(), sessions(app)() as session:
        return cases.submit(session, form_id, data, channel=kwargs.pop("channel", "web"), **kwargs)


def signed_in(app, email: str = "bu@kirklees.example", role: str = "business-unit", partnership="kirklees"):
    make_user(app, email, role, partnership)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client
