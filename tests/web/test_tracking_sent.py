"""The raiser's tracking page shows what they sent: each web submission's answers under the form's
labels and its completed record; stages read as a summary on a phone (data labels on each cell)."""

from __future__ import annotations

import io

import docx
import pytest

from forms import registry
from service.web import formbuild
from tests.conftest import sample
from tests.web.test_web_views import csrf, fill, soup

REGISTRY = registry()


@pytest.fixture(name="web")
def web_client(tmp_path):
    """A client of the app on a fresh SQLite database with every table and the sample directory."""
    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.db import make_engine, sessions

    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": engine})
    Base.metadata.create_all(engine)  # after create_app, which imports every model
    with sessions(app)() as session:
        directory.seed(session)
    yield app.test_client()
    engine.dispose()


def _sent(client, form_id: str) -> str:
    spec = REGISTRY.form(form_id)
    check_url = fill(client, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    page = soup(client.get(check_url))
    done = soup(
        client.get(client.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location)
    )
    return done.select_one("#tracking-link")["href"]


def test_tracking_page_shows_the_answers_sent_and_their_record(web):
    tracking_url = _sent(web, "kirklees-appendix-5")
    page = soup(web.get(tracking_url))
    sent = page.select_one("#sent")
    assert sent is not None
    rows = {
        r.select_one("dt").get_text(strip=True): r.select_one("dd").get_text(" ", strip=True)
        for r in page.select(".govuk-details .govuk-summary-list__row")
    }
    assert rows["Agency Initiating Escalation"] == "Kirklees Health Visiting Service"
    assert rows["Stage of escalation"] == "Stage 5"
    link = next(a["href"] for a in page.select("a") if a.get_text(strip=True) == "Download this record (DOCX)")
    record = web.get(link)
    assert record.status_code == 200
    document = docx.Document(io.BytesIO(record.data))
    cells = " ".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "Kirklees Health Visiting Service" in cells + " ".join(p.text for p in document.paragraphs)
    other = link.replace("/sent/", "/sent/9999")
    assert web.get(other).status_code == 404


def test_stage_cells_carry_their_labels_for_small_screens(web):
    page = soup(web.get(_sent(web, "kirklees-appendix-5")))
    cells = page.select("#stages tbody td")
    assert cells and all(c.get("data-label") for c in cells)
    assert "app-table--responsive" in page.select_one("#stages")["class"]


def test_tracking_page_says_who_it_went_to_and_whether_the_email_went(web):
    page = soup(web.get(_sent(web, "kirklees-appendix-5")))
    sent_to = [li.get_text(" ", strip=True) for li in page.select(".app-sent-to li")]
    assert sent_to and all(item.endswith("E-mail waiting to be sent") for item in sent_to)
    assert "KSCP Business Unit Manager" in sent_to[0] and "@" not in " ".join(sent_to)  # no addresses


def test_what_another_party_sent_to_the_case_is_not_the_raisers_record(web):
    """An agency's returned form (here by e-mail) lands on the same case; the tracking link's 'latest
    record' and 'update' stay on what the raiser sent, never the other party's answers."""
    from sqlalchemy import select

    from service.casework import cases
    from service.casework.models import Case
    from service.db import sessions

    tracking_url = _sent(web, "kirklees-appendix-5")
    theirs = {**sample("kirklees-appendix-5"), "agency_initiating": "Another Agency Entirely"}
    with sessions(web.application)() as session:
        reference = session.scalar(select(Case.reference))
        cases.submit(session, "kirklees-appendix-5", theirs, channel="email", case=reference)
    latest = web.get(f"{tracking_url}/record.docx")
    assert latest.status_code == 200
    document = docx.Document(io.BytesIO(latest.data))
    text = " ".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "Kirklees Health Visiting Service" in text and "Another Agency Entirely" not in text
    page = soup(web.get(tracking_url))
    assert "Another Agency Entirely" not in page.get_text()
