"""The pages a public service needs: privacy notice, accessibility statement and contact page filled
from the pack, the settings and the directory; the footer's links; the favicon; headings and form
descriptions in words for people."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from forms import registry
from tests.web.test_tracking_sent import web_client  # noqa: F401 - the `web` fixture

REGISTRY = registry()


def _page(web, url: str) -> BeautifulSoup:
    response = web.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.mark.parametrize("pack_id", [p.id for p in REGISTRY.packs])
def test_privacy_notice_names_controller_bases_retention_rights_and_contact(web, pack_id):
    pack = REGISTRY.pack(pack_id)
    page = _page(web, f"/p/{pack_id}/privacy")
    text = page.get_text(" ", strip=True)
    assert page.select_one("h1").get_text(strip=True) == "Privacy notice"
    assert f"The safeguarding partners of {pack.name}" in text  # the controller
    assert "article 6(1)(e)" in text and "article 9(2)(g)" in text and "Schedule 1 paragraph 18" in text
    assert "for 6 years after the case is closed" in text  # RETENTION_YEARS' default
    assert "ico.org.uk" in text and "to have it corrected" in text
    assert page.select("main a[href^='mailto:']"), "the partnership's contact from the directory"
    for spec in pack.forms:
        assert spec.short_title in text


def test_retention_comes_from_the_settings(tmp_path):
    from app import create_app
    from service.casework.models import Base
    from service.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_ENGINE": engine, "RETENTION_YEARS": "8"})
    Base.metadata.create_all(engine)  # after create_app, which imports every model
    text = BeautifulSoup(app.test_client().get("/p/kirklees/privacy").get_data(as_text=True), "html.parser").get_text()
    assert "for 8 years after the case is closed" in text


def test_accessibility_statement_follows_the_model(web):
    text = _page(web, "/p/north-tyneside/accessibility").get_text(" ", strip=True)
    for heading in (
        "How accessible this website is",
        "Feedback and contact information",
        "Enforcement procedure",
        "Technical information about this website's accessibility",
        "Compliance status",
        "Non-accessible content",
        "Preparation of this accessibility statement",
    ):
        assert heading in text
    assert "North Tyneside Safeguarding Children Partnership" in text and "WCAG" in text


def test_contact_page_and_footer_links(web):
    page = _page(web, "/p/kirklees/contact")
    assert "kscp" in page.select_one("main").get_text().lower()
    footer = {a.get_text(strip=True): a["href"] for a in page.select("footer a")}
    assert footer["Privacy"] == "/p/kirklees/privacy" and footer["Contact"] == "/p/kirklees/contact"
    start = _page(web, "/")
    links = {a.get_text(strip=True): a["href"] for a in start.select("footer a")}
    assert links["Accessibility statement"] == "/about/accessibility"
    chooser = _page(web, "/about/accessibility")
    assert {a["href"] for a in chooser.select("main a")} >= {"/p/kirklees/accessibility", "/p/merton/accessibility"}
    assert web.get("/about/nonsense").status_code == 404


def test_favicon(web):
    response = web.get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
    assert _page(web, "/").select_one("link[rel=icon]")["href"] == "/favicon.ico"


def test_guidance_shows_no_notes_for_implementers(web):
    page = _page(web, "/p/merton").get_text(" ", strip=True)
    spec = REGISTRY.form("merton-disagreement-record")
    assert spec.description[:40] not in page and "derived" not in page.lower()
    assert spec.provenance in page


def test_headings_written_in_capitals_read_in_sentence_case():
    from service.web.fields import sentence_case

    assert sentence_case("OUTCOME OF ESCALATION") == "Outcome of escalation"
    assert sentence_case("Child and escalation") == "Child and escalation"


def test_a_date_in_the_future_is_refused_where_the_question_is_about_the_past(web):
    import datetime as dt

    from service.web import formbuild
    from tests.conftest import sample
    from tests.web.test_web_views import csrf, section_post, start_form

    spec = REGISTRY.form("kirklees-appendix-5")
    assert spec.field("date_initial").past and not spec.field("actions").columns[2].past  # planned dates may be ahead
    answers = formbuild.web_answers_from_canonical(spec, sample(spec.id))
    answers["date_initial"] = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    url = start_form(web, spec.id)
    page = BeautifulSoup(web.get(url).get_data(as_text=True), "html.parser")
    section = spec.sections[0]
    response = web.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"}))
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert response.status_code == 200
    error = page.select_one(".govuk-error-summary a[href='#date_initial-day']")
    assert error is not None and error.get_text(strip=True) == "Date of initial escalation must be today or in the past"
    assert page.select_one("#date_initial-error") is not None
