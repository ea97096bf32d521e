"""Browser fixtures: the app served on loopback by werkzeug in a thread, and Debian's chromium
driven by Playwright (never a downloaded browser: `make test` installs the chromium package)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.workspace.support import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ASSETS = Path(__file__).resolve().parents[2] / "service" / "static" / "govuk" / "escalate.css"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


CHAIR_EMAIL = "chair@kirklees.example"


def chair_signed_in(page, base: str) -> None:
    """Sign the Kirklees conference chair in on this page (works without JavaScript too)."""
    page.goto(f"{base}/workspace/sign-in")
    page.fill("#email", CHAIR_EMAIL)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/**")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of the app, on a fresh SQLite database with the sample directory."""
    from werkzeug.serving import make_server

    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.db import make_engine, sessions
    from tests.workspace.support import make_user

    if not ASSETS.exists():
        pytest.fail("GOV.UK Frontend assets are not built: run `make assets` (make test does)")
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'web.sqlite3'}")
    # One address posts every form of every partnership in a few minutes: a higher public limit than
    # a real office needs (the limit itself is tested in test_ops_limits).
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_ENGINE": engine,
            "PUBLIC_POST_RATE_LIMIT": "2000 per minute",
            "COOKIE_SECURE": False,  # plain http on loopback
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_TIME_COST": 1,
        }
    )
    # The tables once the app has imported every model (the drafts' too: with only these files
    # collected, nothing had imported service.web.drafts before, and public pages failed).
    Base.metadata.create_all(engine)
    with sessions(app)() as session:
        directory.seed(session)
    # A conference escalation is sent by a signed-in chair (service.casework.access): chair_signed_in.
    make_user(app, CHAIR_EMAIL, "conference-chair", "kirklees")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


@pytest.fixture(scope="session")
def browser(playwright):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install -y chromium)")
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)  # as the pages' default below: a shared machine can be slow
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser):
    # CSP is bypassed only so the tests can inject axe-core; the app's own pages run under it.
    context = browser.new_context(bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def serious_violations(page) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations of impact serious or critical on the current page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})).violations"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
