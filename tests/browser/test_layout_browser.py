"""Every public and workspace page at a phone's width (375 px) and a desktop's (1280 px): nothing
scrolls sideways, and axe-core finds no violation at all (WCAG 2.2 A and AA, and the `region`
best practice: all content inside landmarks). Screenshots of the inbox, a case page, a quarantine
correction and the guidance at both widths go to tests/browser/screenshots/ (gitignored) for review."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from service.db import sessions
from tests.browser.conftest import AXE
from tests.workspace.support import PASSWORD, WS_CONFIG, make_user, submit_sample

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
WIDTHS = {"phone": (375, 812), "desktop": (1280, 900)}
BU = "bu@kirklees.example"
ADMIN = "admin@service.example"
MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app on loopback with cases, a quarantined input, a conference and staff users."""
    from werkzeug.serving import make_server

    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.conference import log
    from service.db import make_engine
    from service.intake import ingest
    from tests.parsers.test_docx import LEGACY

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('layout') / 'layout.sqlite3'}")
    config = {key: value for key, value in WS_CONFIG.items() if key != "TESTING"}
    app = create_app({**config, "SECRET_KEY": "browser-layout", "DATABASE_ENGINE": engine, "COOKIE_SECURE": False})
    Base.metadata.create_all(engine)  # once the app has imported every model (the drafts' too)
    with sessions(app)() as session:
        directory.seed(session)
    make_user(app, BU, "business-unit", "kirklees")
    make_user(app, ADMIN, "admin", None)
    first = submit_sample(app, "kirklees-appendix-5", now=MON)
    submit_sample(app, "kirklees-appendix-5", {"stage": "6"}, case=first.reference, now=MON + dt.timedelta(days=3))
    submit_sample(app, "kirklees-appendix-5", {"nature": ["assessment"]}, channel="email", now=MON, raw=b"x")
    nt = submit_sample(app, "nt-appendix-a", now=MON)
    with app.app_context(), sessions(app)() as session:
        quarantined = ingest.ingest(
            session, (LEGACY / "nt-appendix-a.docx").read_bytes(), channel="upload", filename="appendix-a.docx"
        )
        rows = [{"agency": "Greenfield High School", "agency_rep": "Not known", "reason": "non-attendance"}]
        answers = {"meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard", "rows": rows}
        conference = log.record(
            session,
            "kirklees",
            answers,
            recorded_by="chair@kirklees.example",
            link_for=str,
            now=dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC),
        )
        conference_id = conference.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "base": f"http://127.0.0.1:{server.server_port}",
        "case": first.reference,
        "tracking": nt.tracking_token,
        "item": quarantined.item_id,
        "conference": conference_id,
    }
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


def public_pages(site) -> list[str]:
    pages = ["/", "/about/privacy", "/no-such-page"]
    for pack in ("north-tyneside", "kirklees", "gloucestershire", "merton", "sscp"):
        pages += [
            f"/p/{pack}",
            f"/p/{pack}/start",
            f"/p/{pack}/privacy",
            f"/p/{pack}/accessibility",
            f"/p/{pack}/contact",
        ]
    pages += [f"/t/{site['tracking']}", f"/t/{site['tracking']}/confirmation"]
    return pages


def workspace_pages(site) -> list[str]:
    return [
        "/workspace/inbox",
        "/workspace/inbox?channel=email",
        f"/workspace/cases/{site['case']}",
        "/workspace/themes?year=all",
        "/workspace/annual-report",
        "/workspace/directory/kirklees",
        "/workspace/conference",
        f"/workspace/conference/{site['conference']}",
    ]


def violations(page) -> list[str]:
    """Every axe-core violation (any impact) of WCAG 2.2 A/AA and of the region rule."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => {
             const wcag = await axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', values: tags}});
             const region = await axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'rule', values: ['region']}});
             return wcag.violations.concat(region.violations);
           }""",
        WCAG,
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in found]


def overflow(page) -> int:
    """How many pixels the page, or a table inside a box that hides what does not fit, is wider than
    the window or its box (0: nothing scrolls sideways, nothing is cut off)."""
    return page.evaluate(
        """() => {
             const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;
             const tables = [...document.querySelectorAll('table')].map(t => {
               const box = t.parentElement.getBoundingClientRect();
               return Math.max(t.getBoundingClientRect().right - box.right, t.scrollWidth - t.clientWidth);
             });
             return Math.max(page, ...tables.map(Math.ceil), 0);
           }"""
    )


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/workspace/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/inbox**")


def _check(page, base: str, path: str, problems: list[str]) -> None:
    page.goto(base + path)
    wider = overflow(page)
    if wider > 0:
        problems.append(f"{path} at {page.viewport_size['width']} px: {wider} px wider than the screen")
    problems.extend(f"{path} at {page.viewport_size['width']} px: {v}" for v in violations(page))


def _shot(page, name: str, width: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_public_pages_fit_and_pass_axe(browser, site, width):
    context = browser.new_context(bypass_csp=True, viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    for path in public_pages(site):
        _check(page, site["base"], path, problems)
    page.goto(f"{site['base']}/p/kirklees")
    _shot(page, "guidance", width)
    page.goto(f"{site['base']}/p/kirklees/start")
    page.get_by_label("Complete the Professional Difference Escalation Record").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/s/**")
    _check(page, site["base"], page.url.removeprefix(site["base"]), problems)  # a question page
    if width == "phone":  # the immediate-risk route is first and short: within the first screen
        box = page.locator("#immediate-risk").bounding_box()
        assert box["y"] + box["height"] < WIDTHS[width][1] * 0.75
        # Where the policy gives no emergency number the route is longer (999 as this service's reading).
        for pack in ("north-tyneside", "gloucestershire", "merton", "sscp"):
            page.goto(f"{site['base']}/p/{pack}")
            box = page.locator("#immediate-risk").bounding_box()
            assert box["y"] + box["height"] < WIDTHS[width][1] * 0.75, pack
    context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_workspace_pages_fit_and_pass_axe(browser, site, width):
    context = browser.new_context(bypass_csp=True, viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    _check(page, site["base"], "/workspace/sign-in", problems)
    _sign_in(page, site["base"], BU)
    for path in workspace_pages(site):
        _check(page, site["base"], path, problems)
    page.goto(f"{site['base']}/workspace/inbox")
    _shot(page, "inbox", width)
    page.goto(f"{site['base']}/workspace/cases/{site['case']}")
    _shot(page, "case", width)
    context.close()
    admin = browser.new_context(bypass_csp=True, viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page = admin.new_page()
    page.set_default_timeout(30_000)
    _sign_in(page, site["base"], ADMIN)
    for path in ("/workspace/quarantine", f"/workspace/quarantine/{site['item']}"):
        _check(page, site["base"], path, problems)
    page.goto(f"{site['base']}/workspace/quarantine/{site['item']}")
    _shot(page, "quarantine-correction", width)
    admin.close()
    assert not problems, "\n".join(problems)
