"""CSRF over HTTPS behind the proxy, as real Chromium posts: the pages' Referrer-Policy lets the browser
name its own origin, the app checks Origin (or, without it, Referer) against its host, and every
refused request is logged with its reason.

Chromium sends `Origin: null` on a form POST from a page whose policy is `no-referrer`, and no Referer
at all, so the posts of issue 19 failed; tests/production/ drives the real browser through nginx.
"""

from __future__ import annotations

import json
import logging

import pytest
from bs4 import BeautifulSoup

from app import create_app
from service.casework import directory
from service.casework.models import Base
from service.db import make_engine, sessions
from service.ops.logs import JsonFormatter

HOST = "escalate.partnership.example"
ORIGIN = f"https://{HOST}"


@pytest.fixture
def https_app(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    Base.metadata.create_all(engine)
    app = create_app({"SECRET_KEY": "k" * 40, "DATABASE_ENGINE": engine, "PROXY_FIX_X_FOR": 1})
    with sessions(app)() as session:
        directory.seed(session)
    yield app
    engine.dispose()


@pytest.fixture
def browser(https_app):
    """A client that talks to the app as nginx forwards an HTTPS request."""
    client = https_app.test_client()
    client.environ_base.update(
        {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": HOST, "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    )
    return client


@pytest.fixture
def refusals():
    lines: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record)

    handler = Keep(logging.DEBUG)
    logger = logging.getLogger("escalate.security")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def _token(client, path="/p/merton/start") -> str:
    page = BeautifulSoup(client.get(path).get_data(as_text=True), "html.parser")
    return page.select_one("input[name=csrf_token]")["value"]


def test_pages_let_the_browser_name_its_own_origin_and_nothing_more(browser):
    response = browser.get("/p/merton")
    # same-origin: Origin and Referer go to this service only; a tracking link's token never leaves it.
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_a_post_over_https_with_the_browsers_origin_and_no_referer_is_accepted(browser):
    response = browser.post(
        "/p/merton/start",
        data={"csrf_token": _token(browser), "choice": "form:merton-disagreement-record"},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_a_post_with_a_same_origin_referer_and_no_origin_is_accepted(browser):
    response = browser.post(
        "/p/merton/start",
        data={"csrf_token": _token(browser), "choice": "form:merton-disagreement-record"},
        headers={"Referer": f"{ORIGIN}/p/merton/start"},
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": "https://elsewhere.example"}, "the Origin header names another site"),
        ({"Origin": "null"}, "the Origin header is null"),
        ({"Referer": "https://elsewhere.example/form"}, "the Referer header names another site"),
        ({}, "neither an Origin nor a Referer header"),
    ],
)
def test_a_cross_site_or_unnamed_post_is_refused_and_the_reason_logged(browser, refusals, headers, reason):
    response = browser.post(
        "/p/merton/start", data={"csrf_token": _token(browser), "choice": "form:x"}, headers=headers
    )
    assert response.status_code == 400
    assert "Sorry, there is a problem" in response.get_data(as_text=True)
    logged = [r for r in refusals if r.getMessage() == "csrf.refused"]
    assert len(logged) == 1 and reason in logged[0].reason, [r.__dict__.get("reason") for r in refusals]


def test_a_missing_token_is_refused_and_logged_with_its_reason(browser, refusals):
    response = browser.post("/p/merton/start", data={"choice": "form:x"}, headers={"Origin": ORIGIN})
    assert response.status_code == 400
    assert [r.reason for r in refusals if r.getMessage() == "csrf.refused"] == ["The CSRF token is missing."]


def test_the_staff_sign_in_is_held_to_the_same_origin_rule(browser, refusals):
    token = _token(browser, "/workspace/sign-in")
    form = {"csrf_token": token, "email": "nobody@council.example", "password": "wrong password"}
    refused = browser.post("/workspace/sign-in", data=form, headers={"Origin": "https://elsewhere.example"})
    assert refused.status_code == 400
    assert any(r.getMessage() == "csrf.refused" for r in refusals)
    answered = browser.post("/workspace/sign-in", data=form, headers={"Origin": ORIGIN})
    # Checked as a sign-in (and refused as one: no such account), not as a forgery.
    assert "could not be accepted from where it was sent" not in answered.get_data(as_text=True)
    assert len([r for r in refusals if r.getMessage() == "csrf.refused"]) == 1


def test_the_reason_reaches_the_json_log(browser, refusals):
    browser.post("/p/merton/start", data={"choice": "form:x"}, headers={"Origin": "null"})
    line = json.loads(JsonFormatter().format(next(r for r in refusals if r.getMessage() == "csrf.refused")))
    assert "null" in line["reason"] and line["rule"] == "/p/<pack_id>/start" and line["method"] == "POST"
