"""The workspace in Debian's chromium: sign-in, the inbox and its filters, the case page (note,
download, closing with the de-brief) and the themes dashboard, with axe-core on each page."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from playwright.sync_api import expect

from service.db import sessions
from tests.browser.conftest import serious_violations
from tests.workspace.support import PASSWORD, WS_CONFIG, make_user, submit_sample

BU = "bu@kirklees.example"
MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def workspace_server(tmp_path):
    """The app on loopback with two Kirklees cases (web and e-mail), a Merton case, and a business-unit user."""
    from werkzeug.serving import make_server

    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'workspace.sqlite3'}")
    config = {key: value for key, value in WS_CONFIG.items() if key != "TESTING"}
    app = create_app({**config, "SECRET_KEY": "browser-workspace", "DATABASE_ENGINE": engine, "COOKIE_SECURE": False})
    Base.metadata.create_all(engine)  # after create_app, which imports every model (the drafts table too)
    with sessions(app)() as session:
        directory.seed(session)
    make_user(app, BU, "business-unit", "kirklees")
    web = submit_sample(app, "kirklees-appendix-5", now=MON)
    mailed = submit_sample(
        app, "kirklees-appendix-3", channel="email", now=MON + dt.timedelta(days=1), raw=b"%PDF-1.4", filename="a3.pdf"
    )
    merton = submit_sample(app, "merton-disagreement-record", now=MON)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", web, mailed, merton
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


def _sign_in(page, base: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/workspace/sign-in")
    page.fill("#email", BU)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_and_the_inbox(page, workspace_server):
    base, web, mailed, merton = workspace_server
    page.goto(f"{base}/workspace/inbox")
    assert page.url.startswith(f"{base}/workspace/sign-in")
    assert serious_violations(page) == []
    _sign_in(page, base, "wrong password")
    page.get_by_text("Enter a correct e-mail address and password").first.wait_for()
    _sign_in(page, base)
    page.get_by_role("heading", name="Inbox").wait_for()
    rows = page.locator("table.app-inbox tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name=web.reference)).to_be_visible()
    assert page.get_by_text(merton.reference).count() == 0
    assert serious_violations(page) == []
    page.select_option("#channel", "email")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**channel=email**")
    expect(rows).to_have_count(1)
    expect(page.get_by_role("link", name=mailed.reference)).to_be_visible()


def test_case_page_note_download_and_close(page, workspace_server):
    base, _web, mailed, _merton = workspace_server
    _sign_in(page, base)
    page.get_by_role("link", name=mailed.reference).click()
    page.get_by_role("heading", name="Stages and deadlines").wait_for()
    assert serious_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the original as received (a3.pdf)").click()
    assert download.value.suggested_filename == "a3.pdf"
    page.fill("#text", "Spoke to the school's safeguarding lead.")
    page.get_by_role("button", name="Add note").click()
    page.get_by_text("Spoke to the school's safeguarding lead.").wait_for()
    page.get_by_role("button", name="Close the case").click()
    page.get_by_text("There is a problem").wait_for()
    expect(page.get_by_role("link", name="Confirm before closing")).to_be_visible()
    assert serious_violations(page) == []
    page.fill("#close-resolution", "Attendance plan agreed at the review.")
    page.fill("#close-debrief", "Restorative debrief held with school and social care.")
    page.fill("#close-learning", "Invite schools to reviews in writing.")
    page.check("#close-confirm")
    page.get_by_role("button", name="Close the case").click()
    page.get_by_text("is closed; the de-brief and learning are recorded").wait_for()
    expect(page.get_by_text("Restorative debrief held with school and social care.")).to_be_visible()


def test_dashboard_charts_with_tables_with_and_without_javascript(page, page_without_js, workspace_server):
    base = workspace_server[0]
    for each in (page, page_without_js):
        _sign_in(each, base)
        each.goto(f"{base}/workspace/themes?year=all")
        each.get_by_role("heading", name="Themes: KSCP").wait_for()
        expect(each.locator("svg[role=img]")).to_have_count(6)
        expect(each.locator("table.app-chart-table")).to_have_count(6)
        chart = each.locator("#chart-category")
        assert chart.locator("svg").bounding_box()["width"] > 200
        expect(chart.get_by_role("rowheader", name="Plan effectiveness or drift")).to_be_visible()
    assert serious_violations(page) == []
