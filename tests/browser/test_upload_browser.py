"""The upload page in Debian's chromium: a business unit uploads returned forms and, with JavaScript
off, watches the batch page refresh itself until a real worker process has read every file; axe-core
on each page."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from service.db import sessions
from tests.browser.conftest import serious_violations
from tests.intake.test_ingest import document
from tests.intake.workers import Shared, Worker, queue_name
from tests.workspace.support import PASSWORD, WS_CONFIG, make_user

BU = "bu@kirklees.example"


@pytest.fixture
def upload_server(tmp_path):
    """The app on loopback with a SQLite database and intake queue a worker process can share."""
    from werkzeug.serving import make_server

    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.db import make_engine

    url = f"sqlite:///{tmp_path / 'upload.sqlite3'}"
    engine = make_engine(url)
    shared = Shared(engine, url, f"sqlite:///{tmp_path / 'queue.sqlite3'}", queue_name())
    config = {key: value for key, value in WS_CONFIG.items() if key != "TESTING"}
    app = create_app(
        {
            **config,
            "SECRET_KEY": "browser-upload",
            "DATABASE_ENGINE": engine,
            "COOKIE_SECURE": False,
            "INTAKE_QUEUE_URL": shared.queue_url,
            "INTAKE_QUEUE_NAME": shared.queue_name,
        }
    )
    Base.metadata.create_all(engine)
    with sessions(app)() as session:
        directory.seed(session)
    make_user(app, BU, "business-unit", "kirklees")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", shared
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


def test_upload_then_follow_the_batch_without_javascript(page_without_js, page, upload_server, tmp_path):
    base, shared = upload_server
    files = [tmp_path / "k5.docx", tmp_path / "k5.pdf", tmp_path / "notes.docx"]
    files[0].write_bytes(document("kirklees-appendix-5"))
    files[1].write_bytes(document("kirklees-appendix-5", "pdf", child_name="Another child"))
    files[2].write_bytes(b"Notes, not a form")
    each = page_without_js
    each.goto(f"{base}/workspace/sign-in")
    each.fill("#email", BU)
    each.fill("#password", PASSWORD)
    each.get_by_role("button", name="Sign in").click()
    each.get_by_role("link", name="Upload").click()
    each.get_by_role("heading", name="Upload returned forms").wait_for()
    each.set_input_files("#files", [str(f) for f in files])
    each.get_by_role("button", name="Upload").click()
    each.get_by_role("heading", name="Returned forms uploaded").wait_for()
    rows = each.locator("table.app-upload tbody tr")
    expect(rows).to_have_count(3)
    expect(each.get_by_text("0 of 3 read; 3 still to read")).to_be_visible()  # no worker yet: all wait
    batch = each.url

    worker = Worker(shared, 1, tmp_path / "worker.log")
    try:  # the page refreshes itself (meta refresh, no JavaScript) until every file is read
        expect(each.get_by_text("All 3 read.")).to_be_visible(timeout=60_000)
    finally:
        worker.stop()
    expect(rows.nth(0)).to_contain_text("Read: applied to case")
    expect(rows.nth(1)).to_contain_text("Read: applied to case")
    expect(rows.nth(2)).to_contain_text("Quarantined")

    page.goto(f"{base}/workspace/sign-in")  # axe-core needs JavaScript: the same pages, with it on
    page.fill("#email", BU)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Inbox").wait_for()
    for address in (f"{base}/workspace/upload", batch):
        page.goto(address)
        assert serious_violations(page) == [], address
