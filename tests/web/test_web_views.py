"""The web journey through Flask's test client, reading the pages with BeautifulSoup and CSS selectors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

import parsers
from forms import registry
from forms.schema import validate_data
from service import db
from service.casework.models import Case
from service.web import drafts, formbuild
from tests.conftest import ALL_FORMS, sample

REGISTRY = registry()


@pytest.fixture
def web_app(tmp_path):
    """The app on a fresh SQLite database with every table and the packs' sample directory."""
    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.db import make_engine, sessions

    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": engine})
    Base.metadata.create_all(engine)  # after create_app, which imports every model
    with sessions(app)() as session:
        directory.seed(session)
    yield app
    engine.dispose()


@pytest.fixture
def web(web_app):
    return web_app.test_client()


@pytest.fixture
def chair(web_app):
    """A Kirklees conference chair signed in: a conference escalation is sent by a chair (or the business unit)."""
    from tests.workspace.support import make_user, sign_in

    web_app.config.update(ARGON2_MEMORY_KIB=1024, ARGON2_TIME_COST=1)
    make_user(web_app, "chair@kirklees.example", "conference-chair", "kirklees")
    client = web_app.test_client()
    assert sign_in(client, "chair@kirklees.example").status_code == 302
    return client


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def csrf(page: BeautifulSoup) -> str:
    return page.select_one("input[name=csrf_token]")["value"]


def title(page: BeautifulSoup) -> str:
    return page.title.get_text(" ", strip=True)


# --- filling a form through the pages ------------------------------------------------------


def _pairs(spec_field, name: str, value) -> list[tuple[str, str]]:
    if spec_field.type == "date":
        parts = formbuild.date_parts(value)
        return [(f"{name}-{p}", parts[p]) for p in formbuild.DATE_PARTS]
    if spec_field.type == "ticks":
        return [(name, v) for v in value]
    if spec_field.type == "rows":
        out = []
        for i, row in enumerate(value or [{}]):
            for c in spec_field.columns:
                out.extend(_pairs(c, f"{name}-{i}-{c.key}", row.get(c.key, "")))
        return out
    return [(name, value)] if value else []


def section_post(section, answers: dict, token: str, **extra) -> MultiDict:
    pairs = [("csrf_token", token)]
    for f in section.fields:
        pairs.extend(_pairs(f, f.key, answers.get(f.key)))
    pairs.extend(extra.items())
    return MultiDict(pairs)


def start_form(client, form_id: str) -> str:
    """Choose the partnership's "complete this form" option; returns the first question's URL."""
    spec = REGISTRY.form(form_id)
    page = soup(client.get(f"/p/{spec.partnership}/start"))
    response = client.post(f"/p/{spec.partnership}/start", data={"csrf_token": csrf(page), "choice": f"form:{form_id}"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def fill(client, form_id: str, answers: dict) -> str:
    """Answer every question page with canonical answers; returns the check page's URL."""
    spec = REGISTRY.form(form_id)
    url = start_form(client, form_id)
    for section in spec.sections:
        assert url.endswith(f"/s/{section.key}"), url
        page = soup(client.get(url))
        for f in section.fields:
            if f.type == "rows":  # "Add another" until there is a row for every answer row
                for _ in range(len(answers[f.key]) - 1):
                    page = soup(client.post(url, data=section_post(section, {}, csrf(page), add_row=f.key)))
        response = client.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"}))
        assert response.status_code == 302, soup(response).select(".govuk-error-message")
        url = response.location
    assert url.endswith("/check")
    return url


# --- pages ---------------------------------------------------------------------------------


def test_start_page_offers_every_partnership(web):
    page = soup(web.get("/"))
    values = [i["value"] for i in page.select("input[type=radio][name=choice]")]
    assert values == [p.id for p in REGISTRY.packs]
    assert page.select_one("form[method=post]").has_attr("novalidate")
    assert page.select_one(".govuk-service-navigation__service-name").get_text(strip=True).startswith("Escalate")
    assert not page.select(".govuk-header__logotype, .govuk-logo, svg.govuk-header__logotype")  # no crown


def test_start_page_requires_a_choice_with_govuk_errors(web):
    page = soup(web.get("/"))
    response = web.post("/", data={"csrf_token": csrf(page)})
    page = soup(response)
    assert response.status_code == 200
    assert title(page).startswith("Error: ")
    summary = page.select_one(".govuk-error-summary")
    assert summary.select_one("[role=alert]") is not None
    assert [a.get_text(strip=True) for a in summary.select("a")] == ["Select the partnership"]
    assert page.select_one(".govuk-error-message").get_text(" ", strip=True) == "Error: Select the partnership"


@pytest.mark.parametrize("pack", REGISTRY.packs, ids=lambda p: p.id)
def test_guidance_page_shows_stages_forms_and_immediate_risk(web, pack):
    page = soup(web.get(f"/p/{pack.id}"))
    assert page.select_one(".govuk-service-navigation__service-name").get_text(strip=True) == pack.name
    rows = page.select(".app-stage-table tbody tr")
    assert len(rows) == len(pack.stages)
    for row, stage in zip(rows, pack.stages, strict=True):
        text = row.get_text(" ", strip=True)
        assert stage.who_acts in text
        assert stage.timescale.describe().capitalize() in text
    risk = page.select_one("#immediate-risk").get_text(" ", strip=True)
    for phone in pack.immediate_risk.phones:
        assert phone.number in risk
    links = {a["href"] for a in page.select("a[download]")}
    for spec in pack.forms:
        assert f"/p/{pack.id}/forms/{spec.id}.docx" in links
        assert f"/p/{pack.id}/forms/{spec.id}.pdf" in links


def test_immediate_risk_notice_is_on_every_question_page(web):
    url = start_form(web, "nt-appendix-a")
    page = soup(web.get(url))
    assert "999" in page.select_one("#immediate-risk").get_text()


@pytest.mark.parametrize("fmt,magic", [("docx", b"PK"), ("pdf", b"%PDF")])
def test_blank_forms_download(web, fmt, magic):
    for spec in REGISTRY.forms.values():
        response = web.get(f"/p/{spec.partnership}/forms/{spec.id}.{fmt}")
        assert response.status_code == 200
        assert response.data.startswith(magic)
        assert f"{spec.id}-blank.{fmt}" in response.headers["Content-Disposition"]


def test_unknown_partnership_form_or_format_is_not_found(web):
    assert web.get("/p/nowhere").status_code == 404
    assert web.get("/p/merton/forms/nt-appendix-a.docx").status_code == 404
    assert web.get("/p/merton/forms/merton-disagreement-record.exe").status_code == 404


def test_choose_what_to_do_offers_stages_outcome_and_each_form(web):
    page = soup(web.get("/p/north-tyneside/start"))
    values = [i["value"] for i in page.select("input[name=choice]")]
    assert values == [
        "raise:1",
        "raise:2",
        "raise:3",
        "raise:4",
        "raise:5",
        "outcome",
        "form:nt-appendix-a",
        "form:nt-early-disagreement",
    ]
    assert page.select_one("h1 legend, legend h1") is not None


def test_the_conference_form_points_chairs_to_their_log(web):
    page = soup(web.get("/p/kirklees/start"))
    option = page.select_one("input[value='form:kirklees-appendix-3']")
    hint = page.select_one(f"#{option['aria-describedby']}").get_text(" ", strip=True)
    assert "record conferences in the conference log" in hint


def test_raising_at_a_stage_answers_the_stage_question(web):
    page = soup(web.get("/p/north-tyneside/start"))
    response = web.post("/p/north-tyneside/start", data={"csrf_token": csrf(page), "choice": "raise:4"})
    token = response.location.split("/d/")[1].split("/")[0]
    page = soup(web.get(f"/d/{token}/s/escalation"))
    assert page.select_one("input[name=stage][checked]")["value"] == "4"


# --- question pages ------------------------------------------------------------------------


def test_question_page_uses_govuk_components(web):
    url = start_form(web, "kirklees-appendix-5")
    page = soup(web.get(url))
    assert page.select_one("form").has_attr("novalidate")
    assert [i["name"] for i in page.select(".govuk-date-input input")][:3] == ["dob-day", "dob-month", "dob-year"]
    assert page.select_one("input[name=child_name].govuk-input")
    page = soup(web.get(url.replace("/s/child", "/s/nature")))
    assert len(page.select(".govuk-checkboxes input[name=nature]")) == 7
    details = page.select_one(".govuk-character-count textarea[name=details]")
    assert details is not None
    assert page.select_one(".govuk-character-count")["data-maxlength"] == "6000"


def test_errors_summary_inline_title_and_answers_kept(web):
    url = start_form(web, "merton-disagreement-record")
    spec = REGISTRY.form("merton-disagreement-record")
    section = spec.sections[0]
    page = soup(web.get(url))
    first = section.fields[0]
    response = web.post(url, data={"csrf_token": csrf(page), first.key: "Kept answer", "continue": "1"})
    page = soup(response)
    assert response.status_code == 200
    assert title(page).startswith("Error: ")
    summary = [(a.get_text(strip=True), a["href"]) for a in page.select(".govuk-error-summary a")]
    required = [f for f in section.fields[1:] if f.required]
    assert len(summary) == len(required)
    for text, href in summary:
        assert text.startswith(("Enter ", "Select ")), text
        assert page.select_one(href) is not None, href  # each link lands on the input to fix
    assert page.select_one(f"input[name={first.key}]")["value"] == "Kept answer"
    assert len(page.select(".govuk-form-group--error")) >= len(required)


def test_date_errors_follow_govuk_patterns(web):
    url = start_form(web, "merton-disagreement-record")
    spec = REGISTRY.form("merton-disagreement-record")
    section = next(s for s in spec.sections if any(f.key == "date_raised" for f in s.fields))
    url = url.rsplit("/", 1)[0] + f"/{section.key}"
    answers = {**formbuild.web_answers_from_canonical(spec, sample(spec.id))}
    answers["date_raised"] = {"day": "3", "month": "", "year": "2026"}
    page = soup(web.get(url))
    page = soup(web.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"})))
    assert (
        page.select_one(".govuk-error-summary a[href='#date_raised-month']")
        .get_text(strip=True)
        .endswith("must include a month")
    )
    assert page.select_one("input[name=date_raised-day]")["value"] == "3"
    assert "govuk-input--error" in page.select_one("input[name=date_raised-month]")["class"]
    assert "govuk-input--error" not in page.select_one("input[name=date_raised-day]")["class"]
    answers["date_raised"] = {"day": "30", "month": "2", "year": "2026"}
    page = soup(web.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"})))
    assert page.select_one(".govuk-error-summary a").get_text(strip=True).endswith("must be a real date")
    answers["date_raised"] = {"day": "3", "month": "11", "year": "26"}
    page = soup(web.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"})))
    assert page.select_one(".govuk-error-summary a").get_text(strip=True) == "Year must include 4 numbers"


def test_long_answer_over_its_limit_is_refused(web):
    spec = REGISTRY.form("nt-appendix-a")
    section = next(s for s in spec.sections if s.key == "worry")
    url = start_form(web, spec.id).rsplit("/", 1)[0] + "/worry"
    page = soup(web.get(url))
    answers = {"worry": "x" * 4001, "done": "Talked to the manager."}
    page = soup(web.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"})))
    assert page.select_one(".govuk-error-summary a").get_text(strip=True) == (
        "Brief description of your worry about a decision made must be 4,000 characters or fewer"
    )
    assert page.select_one("textarea[name=worry]").get_text() == "x" * 4001


def test_rows_add_another_and_remove_without_javascript(chair):
    web = chair
    spec = REGISTRY.form("kirklees-appendix-3")
    section = spec.sections[-1]
    rows_field = next(f for f in section.fields if f.type == "rows")
    url = start_form(web, spec.id).rsplit("/", 1)[0] + f"/{section.key}"
    page = soup(web.get(url))
    assert len(page.select(".app-row")) == 1
    answers = {rows_field.key: sample(spec.id)["rows"][:1]}
    web_rows = formbuild.web_answers_from_canonical(spec, {**sample(spec.id), "rows": answers["rows"]})
    page = soup(web.post(url, data=section_post(section, web_rows, csrf(page), add_row=rows_field.key)))
    assert len(page.select(".app-row")) == 2
    assert page.select_one(f"input[name={rows_field.key}-0-family]")["value"] == "Family B"  # kept
    page = soup(web.post(url, data=section_post(section, web_rows, csrf(page), remove_row=f"{rows_field.key}:0")))
    assert len(page.select(".app-row")) == 1
    assert not page.select(".govuk-error-summary")


def test_child_details_are_refused_on_a_form_that_carries_none(web):
    spec = REGISTRY.form("nt-appendix-a")
    section = next(s for s in spec.sections if s.key == "worry")
    url = start_form(web, spec.id).rsplit("/", 1)[0] + "/worry"
    page = soup(web.get(url))
    cases = [
        ("The child, DOB 12/03/2015, was sent home.", "date of birth"),
        ("Jayden Smith was sent home from school.", "a name (Jayden)"),
        ("The family live at 14 Acacia Avenue, NE29 6QD.", "postcode"),
        ("Her NHS number is 943 476 5919.", "NHS number"),
    ]
    for worry, found in cases:
        answers = {"worry": worry, "done": "Spoke to the team manager."}
        page = soup(web.post(url, data=section_post(section, answers, csrf(page), **{"continue": "1"})))
        assert title(page).startswith("Error"), worry  # refused: the form must not hold it
        error = page.select_one("#worry-error").get_text(" ", strip=True)
        assert found in error and "Brief description of your worry" in error, error
        assert page.select_one(".govuk-error-summary a[href='#worry']")
    clean = {"worry": "Children's social care closed the referral; Sam Lee, duty social worker, agreed on 12/03/2026."}
    again = web.post(
        url, data=section_post(section, clean | {"done": "Spoke to the team manager."}, csrf(page), **{"continue": "1"})
    )
    assert again.status_code == 302
    from service.web import child_details

    assert child_details.errors(REGISTRY.form("kirklees-appendix-5"), {"details": "DOB 12/03/2015"}) == {}


def test_a_childs_details_are_not_kept_by_save_for_later_nor_sent_from_an_older_draft(web, web_app):
    spec = REGISTRY.form("nt-appendix-a")
    section = next(s for s in spec.sections if s.key == "worry")
    url = start_form(web, spec.id).rsplit("/", 1)[0] + "/worry"
    token = url.split("/d/")[1].split("/")[0]
    page = soup(web.get(url))
    held = {"worry": "The child, DOB 12/03/2015, was sent home.", "done": "Spoke to the team manager."}
    refused = web.post(url, data=section_post(section, held, csrf(page), save="later"))
    assert refused.status_code == 200 and "date of birth" in soup(refused).select_one("#worry-error").get_text()
    with web_app.app_context():
        kept = drafts.find(db.session(), token).answers
        assert "DOB" not in str(kept)  # nothing of it was saved
        # A draft saved before this check holding one: sending it goes back to the page to remove it.
        whole = formbuild.web_answers_from_canonical(spec, sample(spec.id)) | {"worry": held["worry"]}
        old_token, old = drafts.create(db.session(), partnership=spec.partnership, form_id=spec.id, answers=whole)
        drafts.save(db.session(), old, answers=old.answers, done=[s.key for s in spec.sections])
    check = web.get(f"/d/{old_token}/check")
    assert check.status_code == 302 and check.location.endswith("/s/worry")
    page = soup(web.get(check.location))
    assert "date of birth" in page.select_one("#worry-error").get_text()  # the page says why at once
    sent = web.post(f"/d/{old_token}/submit", data={"csrf_token": csrf(page)})
    assert sent.status_code == 302 and sent.location.endswith(f"/d/{old_token}/check")  # not sent, no 500
    with web_app.app_context():
        assert db.session().scalar(select(Case)) is None


# --- the whole journey ---------------------------------------------------------------------


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_every_form_end_to_end(web_app, form_id, request):
    spec = REGISTRY.form(form_id)
    web = request.getfixturevalue("chair" if spec.process == "cp-conference" else "web")
    pack = REGISTRY.pack(spec.partnership)
    data = sample(form_id)
    expected = validate_data(spec, data)
    check_url = fill(web, form_id, formbuild.web_answers_from_canonical(spec, data))

    page = soup(web.get(check_url))
    assert title(page).startswith("Check your answers")
    assert len(page.select(".govuk-summary-list__row")) == len(spec.fields)
    pages = {}
    for link in page.select(".govuk-summary-list__actions a"):
        assert "/s/" in link["href"] and "change=1" in link["href"]
        # Each Change link lands on its question: the anchor names an element of the page it opens.
        url, anchor = link["href"].split("#")
        target = pages.setdefault(url, soup(web.get(url)))
        assert target.find(id=anchor) is not None, link["href"]

    # Download (nothing stored) and read it back with the parsers: the answers as given.
    docx = web.get(check_url.replace("/check", "/download.docx"))
    assert docx.status_code == 200 and docx.headers["Cache-Control"] == "no-store"
    parsed, problems = parsers.parse(docx.data, "form.docx", form_id=form_id).canonical(spec)
    assert problems == {} and parsed == expected
    pdf = web.get(check_url.replace("/check", "/download.pdf"))
    assert pdf.data.startswith(b"%PDF")

    # Submit: confirmation with reference, recipients, next step, record and tracking link.
    response = web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)})
    if spec.process == "cp-conference":  # each row its own case in the chair's log (test_conference_from_the_web)
        sent = soup(response)
        assert response.status_code == 200 and len(sent.select("#rows tbody tr")) == len(data["rows"])
        return
    assert response.status_code == 302 and "/t/" in response.location
    page = soup(web.get(response.location))
    reference = page.select_one("#reference").get_text(strip=True)
    assert reference.startswith(f"{pack.reference_prefix}-")
    assert page.select_one("#next-step").get_text(strip=True).startswith(reference)
    tracking = page.select_one("#tracking-link")["href"]
    record = web.get(page.select_one("a[href$='record.docx']")["href"])
    assert record.headers["Content-Disposition"].endswith(f'{reference}-{form_id}.docx"')
    result = parsers.parse(record.data, "record.docx", form_id=form_id)
    assert result.canonical(spec) == (expected, {})

    # The draft is gone once sent; the tracking page shows the case.
    assert web.get(check_url).status_code == 404
    page = soup(web.get(tracking))
    assert reference in title(page)
    assert page.select("#stages tbody tr") and page.select_one("#no-stages") is None
    with web_app.app_context():
        assert db.session().scalar(select(Case).where(Case.reference == reference)) is not None


def test_routed_contacts_are_shown_on_confirmation(web):
    spec = REGISTRY.form("nt-appendix-a")
    check_url = fill(web, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    page = soup(web.get(check_url))
    page = soup(web.get(web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location))
    assert page.select("#routed li"), "Appendix A goes to the NTSCP Business Manager"
    assert "Business Manager" in page.select_one("#routed").get_text()
    # The link also went by e-mail with a receipt (tests/web/test_receipts.py), to the address on the form.
    receipt = page.select_one("#receipt")
    assert "e-mailed it, with a receipt, to zoe.nowak@riverside.example" in receipt.get_text(" ", strip=True)
    assert receipt.select_one("a")["href"] == "/lost-link"


def test_stage_update_from_the_tracking_page_moves_the_case(web, web_app):
    spec = REGISTRY.form("nt-appendix-a")
    check_url = fill(web, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    page = soup(web.get(check_url))
    tracking = soup(web.get(web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location))
    tracking_url = tracking.select_one("#tracking-link")["href"]
    page = soup(web.get(tracking_url))
    forms = page.select(f"form[action$='/update'] input[name=form_id][value={spec.id}]")
    assert forms
    response = web.post(f"{tracking_url}/update", data={"csrf_token": csrf(page), "form_id": spec.id})
    draft_url = response.location
    page = soup(web.get(draft_url))
    assert page.select_one("input[name=name]")["value"] == sample(spec.id)["name"]  # last answers filled in
    page = soup(web.get(draft_url.rsplit("/", 1)[0] + "/escalation"))
    assert page.select_one("input[name=stage][checked]")["value"] == "4"  # the next stage
    token = draft_url.split("/d/")[1].split("/")[0]
    page = soup(web.get(f"/d/{token}/check"))
    response = web.post(f"/d/{token}/submit", data={"csrf_token": csrf(page)})
    page = soup(response)
    assert response.status_code == 200 and title(page).startswith("Stage update sent")
    assert page.select_one("#tracking-link") is None  # the token is never shown again
    page = soup(web.get(tracking_url))
    assert [r.select_one("th").get_text(strip=True)[:2] for r in page.select("#stages tbody tr")] == [
        "1:",
        "2:",
        "3:",
        "4:",
    ]
    with web_app.app_context():
        case = db.session().scalar(select(Case))
        assert case.current_stage == "4" and len(case.submissions) == 2


def test_update_refuses_a_form_the_case_cannot_use(web):
    spec = REGISTRY.form("nt-appendix-a")
    check_url = fill(web, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    page = soup(web.get(check_url))
    tracking = soup(web.get(web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location))
    tracking_url = tracking.select_one("#tracking-link")["href"]
    page = soup(web.get(tracking_url))
    response = web.post(f"{tracking_url}/update", data={"csrf_token": csrf(page), "form_id": "kirklees-appendix-5"})
    assert response.status_code == 400


# --- drafts --------------------------------------------------------------------------------


def test_save_and_come_back_later(web_app):
    first = web_app.test_client()
    url = start_form(first, "merton-disagreement-record")
    page = soup(first.get(url))
    response = first.post(url, data={"csrf_token": csrf(page), "raiser_name": "Priya Example", "save": "later"})
    page = soup(first.get(response.location))
    link = page.select_one("#draft-link")["href"]
    assert "28 days" in page.get_text()
    # A new browser (no cookies) with the private link resumes the same answers.
    other = web_app.test_client()
    response = other.get(link)
    assert response.status_code == 302
    page = soup(other.get(response.location))
    assert page.select_one("input[name=raiser_name]")["value"] == "Priya Example"
    with web_app.app_context():
        draft = db.session().scalar(select(drafts.Draft))
        assert draft.answers.get("raiser_name") == "Priya Example"
        assert draft.token_hash not in link  # only the hash is stored


def test_a_working_copy_lasts_a_day_and_a_saved_draft_28_days(web_app):
    """Going through the pages (perhaps only to download the form) keeps the answers 24 hours;
    "Save and come back later" keeps them 28 days, and going on afterwards does not shorten that."""
    client = web_app.test_client()
    url = start_form(client, "merton-disagreement-record")

    def days_left() -> float:
        with web_app.app_context():
            draft = db.session().scalar(select(drafts.Draft))
            return (draft.expires_at - dt.datetime.now(dt.UTC)).total_seconds() / 86400

    assert 0.99 < days_left() <= 1
    client.post(url, data={"csrf_token": csrf(soup(client.get(url))), "raiser_name": "Priya Example", "save": "later"})
    assert 27.99 < days_left() <= 28
    client.post(url, data={"csrf_token": csrf(soup(client.get(url))), "raiser_name": "Priya Example"})
    assert 27.99 < days_left() <= 28


def test_draft_links_are_unguessable_and_expire(web_app, web):
    url = start_form(web, "nt-appendix-a")
    token = url.split("/d/")[1].split("/")[0]
    assert len(token) >= 43  # 256 bits
    assert web.get(f"/d/{token[:-1]}x/check").status_code == 404
    assert web.get("/d/" + "A" * 500).status_code == 404
    with web_app.app_context():
        session = db.session()
        draft = drafts.find(session, token)
        draft.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.commit()
    assert web.get(url).status_code == 404
    with web_app.app_context():
        assert db.session().scalar(select(drafts.Draft)) is None  # deleted on sight


def test_purge_expired_drafts(web_app):
    with web_app.app_context():
        session = db.session()
        _, old = drafts.create(session, partnership="merton", form_id="merton-disagreement-record", answers={})
        _, new = drafts.create(session, partnership="merton", form_id="merton-disagreement-record", answers={})
        old.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        session.commit()
        assert drafts.purge_expired(session) == 1
        assert [d.id for d in session.scalars(select(drafts.Draft))] == [new.id]


def test_delete_answers(web):
    spec = REGISTRY.form("sscp-outcome-resolution-notice")
    check_url = fill(web, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    page = soup(web.get(check_url))
    response = web.post(check_url.replace("/check", "/delete"), data={"csrf_token": csrf(page)})
    assert "deleted" in title(soup(response))
    assert web.get(check_url).status_code == 404


def test_check_page_sends_back_to_unanswered_questions(web):
    url = start_form(web, "merton-outcome-confirmation")
    token = url.split("/d/")[1].split("/")[0]
    response = web.get(f"/d/{token}/check")
    assert response.status_code == 302 and response.location == url
    assert web.post(f"/d/{token}/submit", data={"csrf_token": csrf(soup(web.get(url)))}).status_code == 302


# --- security ------------------------------------------------------------------------------


def test_security_headers(web):
    response = web.get("/p/merton")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    page = soup(response)
    assert all(s.get("nonce") == nonce for s in page.select("script:not([src])"))


def test_every_post_needs_its_csrf_token(web):
    url = start_form(web, "nt-appendix-a")
    token = url.split("/d/")[1].split("/")[0]
    for target in ("/", "/p/merton/start", url, f"/d/{token}/submit", f"/d/{token}/delete"):
        response = web.post(target, data={"choice": "merton", "continue": "1"})
        assert response.status_code == 400, target


def test_request_size_is_capped(web):
    url = start_form(web, "nt-appendix-a")
    response = web.post(url, data={"name": "x" * 300_000})
    assert response.status_code == 413


def test_tracking_links_are_scoped_to_one_case(web):
    links = []
    for form_id in ("nt-appendix-a", "merton-disagreement-record"):
        spec = REGISTRY.form(form_id)
        check_url = fill(web, form_id, formbuild.web_answers_from_canonical(spec, sample(form_id)))
        page = soup(web.get(check_url))
        page = soup(web.get(web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location))
        links.append((page.select_one("#reference").get_text(strip=True), page.select_one("#tracking-link")["href"]))
    (ref_a, link_a), (ref_b, _link_b) = links
    page_a = soup(web.get(link_a)).get_text()
    assert ref_a in page_a and ref_b not in page_a
    assert sample("merton-disagreement-record")["raiser_name"] not in page_a
    assert web.get(link_a[:-2] + "xx").status_code == 404
    assert web.get("/t/" + "B" * 43).status_code == 404


@pytest.mark.parametrize(
    "template,params",
    [
        ("govuk_frontend_wtf/input.html", {"id": "a", "name": "a", "label": {"text": "A"}, "value": "VALUE"}),
        ("govuk_frontend_wtf/textarea.html", {"id": "b", "name": "b", "label": {"text": "B"}, "value": "VALUE"}),
        (
            "govuk_frontend_wtf/charactercount.html",
            {"id": "c", "name": "c", "label": {"text": "C"}, "value": "VALUE", "maxlength": 10},
        ),
        (
            "govuk_frontend_wtf/date.html",
            {
                "id": "d",
                "namePrefix": "d",
                "fieldset": {"legend": {"text": "D"}},
                "items": [{"name": "day", "value": "VALUE"}],
            },
        ),
    ],
)
def test_shape_cache_renders_exactly_what_the_macro_renders(web_app, template, params):
    """The shape cache puts a person's text where the macro would, escaped the same way."""
    from flask import render_template

    for value in ('<b>"Zoë" & O\'Neil</b>', "line one\nline two", "\ue0000\ue001 and \ue000", "0", "x" * 500):
        filled = json.loads(json.dumps(params).replace("VALUE", json.dumps(value)[1:-1]))
        with web_app.test_request_context("/"):
            direct = render_template(template, params=filled)
            cached = formbuild.render_shape(template, filled)
            again = formbuild.render_shape(template, filled)  # from the cache this time
        assert str(cached) == str(direct) == str(again), value


def test_purge_drafts_command(web_app):
    with web_app.app_context():
        session = db.session()
        _, old = drafts.create(session, partnership="sscp", form_id="sscp-outcome-resolution-notice", answers={})
        old.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.commit()
    result = web_app.test_cli_runner().invoke(args=["purge-drafts"])
    assert result.output == "deleted 1 expired drafts\n"


def test_outcome_route_explains_the_tracking_link_and_starts_an_outcome_form(web):
    page = soup(web.get("/p/merton/start"))
    response = web.post("/p/merton/start", data={"csrf_token": csrf(page), "choice": "outcome"})
    page = soup(web.get(response.location))
    assert "tracking link" in page.get_text()
    values = [i["value"] for i in page.select("input[name=choice]")]
    assert values == ["merton-outcome-confirmation"]
    response = web.post(response.location, data={"csrf_token": csrf(page), "choice": values[0]})
    assert "/d/" in response.location


def test_an_agency_missing_from_the_directory_is_refused_at_its_row(chair, web_app):
    web = chair
    spec = REGISTRY.form("kirklees-appendix-3")  # sent to each agency's safeguarding lead in the directory
    rows = [{**row, "agency": "Nowhere Agency"} for row in sample(spec.id)["rows"][:1]]
    answers = formbuild.web_answers_from_canonical(spec, {"rows": rows})
    url = start_form(web, spec.id)
    page = soup(web.get(url))
    assert "Greenfield High School" in [o["value"] for o in page.select("datalist#directory-agencies option")]
    assert page.select_one("input[name=rows-0-agency]")["list"] == "directory-agencies"
    # Who finds a missing agency's lead is the pack's role, with the policy's words (tests/web/test_agencies.py).
    inset = page.select_one(".govuk-inset-text:-soup-contains('Not listed')").get_text(" ", strip=True)
    assert (
        "CPRU to find its lead (this service’s reading; the policy, Appendix 3: “Please contact the CPRU at”)" in inset
    )
    response = web.post(url, data=section_post(spec.sections[0], answers, csrf(page), **{"continue": "1"}))
    page = soup(response)
    assert response.status_code == 200
    error = page.select_one(".govuk-error-summary a[href='#rows-0-agency']").get_text(strip=True)
    assert error.startswith("Nowhere Agency is not in the KSCP directory")
    assert error.endswith("for the CPRU to find its lead")
    assert page.select_one("#rows-0-agency-error") is not None
    with web_app.app_context():
        assert db.session().scalar(select(Case)) is None


def test_an_agency_s_name_is_named_back_as_it_is_kept_without_control_characters(chair):
    """A pasted name holding control characters (a bell, a terminal colour code) is named in the error as
    the form keeps it, cleaned (forms.normalise), and compared with the directory the same way."""
    spec = REGISTRY.form("kirklees-appendix-3")
    url = start_form(chair, spec.id)
    for value, named in (
        ("Nowhere\x07 Agency\x1b[31m", "Nowhere Agency[31m is not in the KSCP directory"),
        ("Greenfield\x00 High School", None),  # the directory's agency, once cleaned
    ):
        rows = [{**row, "agency": value} for row in sample(spec.id)["rows"][:1]]
        answers = formbuild.web_answers_from_canonical(spec, {"rows": rows})
        page = soup(chair.get(url))
        response = chair.post(url, data=section_post(spec.sections[0], answers, csrf(page), **{"continue": "1"}))
        if named is None:
            assert response.status_code == 302, soup(response).select_one(".govuk-error-summary")
            continue
        error = soup(response).select_one(".govuk-error-summary a[href='#rows-0-agency']").get_text(strip=True)
        assert error.startswith(named) and "\x07" not in error and "\x1b" not in error


def test_journey_and_stage_update_on_each_database(db_app):
    """Draft, submission and stage update on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""
    client = db_app.test_client()
    spec = REGISTRY.form("nt-appendix-a")
    check_url = fill(client, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    page = soup(client.get(check_url))
    page = soup(
        client.get(client.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location)
    )
    tracking_url = page.select_one("#tracking-link")["href"]
    page = soup(client.get(tracking_url))
    draft_url = client.post(f"{tracking_url}/update", data={"csrf_token": csrf(page), "form_id": spec.id}).location
    token = draft_url.split("/d/")[1].split("/")[0]
    page = soup(client.get(f"/d/{token}/check"))
    assert client.post(f"/d/{token}/submit", data={"csrf_token": csrf(page)}).status_code == 200
    with db_app.app_context():
        case = db.session().scalar(select(Case))
        assert case.current_stage == "4"
        assert db.session().scalar(select(drafts.Draft)) is None


def test_a_saved_draft_resumes_at_the_first_page_not_yet_completed(web):
    spec = REGISTRY.form("nt-appendix-a")
    answers = formbuild.web_answers_from_canonical(spec, sample(spec.id))
    url = start_form(web, spec.id)
    first = spec.sections[0]
    page = soup(web.get(url))
    response = web.post(url, data=section_post(first, answers, csrf(page), **{"continue": "1"}))
    second = response.location
    page = soup(web.get(second))
    web.post(second, data=section_post(spec.sections[1], {}, csrf(page), save="later"))
    token = url.split("/d/")[1].split("/")[0]
    assert web.get(f"/d/{token}").location.endswith(f"/s/{spec.sections[1].key}")


def test_posted_rows_are_bounded(chair):
    web = chair
    spec = REGISTRY.form("kirklees-appendix-3")
    section = spec.sections[-1]
    url = start_form(web, spec.id).rsplit("/", 1)[0] + f"/{section.key}"
    page = soup(web.get(url))
    rows = [{**sample(spec.id)["rows"][0], "family": f"Family {i}"} for i in range(60)]
    web_rows = formbuild.web_answers_from_canonical(spec, {"rows": rows})
    page = soup(web.post(url, data=section_post(section, web_rows, csrf(page), add_row="rows")))
    assert len(page.select(".app-row")) == 50  # at most 50 rows, and "Add another" stops there


@pytest.mark.parametrize("pack", REGISTRY.packs, ids=lambda p: p.id)
def test_how_this_service_follows_the_policy_lists_every_rule_with_its_words(web, pack):
    from forms import quotes

    page = soup(web.get(f"/p/{pack.id}/policy"))
    text = page.get_text(" ", strip=True)
    assert title(page).startswith(f"How this service follows the {pack.short_name} policy")
    rules = quotes.rules(pack)
    assert len(page.select(".govuk-summary-list__row")) == len(rules)
    for rule in rules:
        assert rule.quote[0].split()[0] in text and rule.source in text
    assert "_" not in " ".join(dt.get_text() for dt in page.select("dt"))  # no ids reach a person
    guidance = soup(web.get(f"/p/{pack.id}")).get_text(" ", strip=True)
    assert "stages may be skipped" not in guidance
    if pack.id == "merton":
        assert "does not apply" in guidance and "LADO" in guidance and "bypassed" in guidance
    else:
        assert "gives no way to skip a stage" in guidance


def test_policy_words_come_before_the_services_reading_on_the_guidance_page(web):
    text = soup(web.get("/p/north-tyneside")).get_text(" ", strip=True)
    assert text.index("“within 5 days”") < text.index("5 working days, counted from the day after")
    assert "Stage 1: Stage One" not in soup(web.get("/p/gloucestershire")).get_text(" ", strip=True)


def test_an_emergency_number_the_policy_does_not_give_is_shown_as_the_services(web):
    """SSCP's briefing is silent on an emergency route: the banner's policy words say nothing of 999,
    and 999 comes after them as this service's reading, on every page and on the policy page."""
    banner = soup(web.get("/p/sscp")).select_one("#immediate-risk")
    words = banner.select_one(".app-immediate-risk__policy:not(#immediate-risk-reading)").get_text(" ", strip=True)
    assert words == "Disagreements must be resolved swiftly with no cost to the child's wellbeing or safety."
    reading = banner.select_one("#immediate-risk-reading").get_text(" ", strip=True)
    assert reading.startswith("This service’s reading: The briefing names no emergency route") and "999" in reading
    policy = (
        soup(web.get("/p/sscp/policy")).select_one("#if-a-child-is-at-immediate-risk + dl").get_text(" ", strip=True)
    )
    assert "This service’s reading: The briefing names no emergency route" in policy
    kirklees = soup(web.get("/p/kirklees")).select_one("#immediate-risk")  # the protocol gives 999 itself
    assert kirklees.select_one("#immediate-risk-reading") is None and "999" in kirklees.get_text()


def test_what_closing_needs_is_the_policys_words_then_the_services_reading(web):
    """Merton §3.13 asks for written confirmation; that a case waits for it to close is the service's reading."""
    need = REGISTRY.pack("merton").closing_needs
    section = soup(web.get("/p/merton/policy")).select_one("#before-a-case-is-closed + dl").get_text(" ", strip=True)
    words, reading = f"“{need.quote[0]}”", "This service’s reading: a case is closed as resolved only once"
    assert words in section and reading in section and section.index(words) < section.index(reading)
    refusal = need.describe("MSCB")
    assert refusal.startswith(words) and "the policy’s words; this service’s reading: a case is closed" in refusal


def test_the_tracking_page_records_the_emergency_route_and_moves_nothing(web):
    check_url = fill(web, "nt-appendix-a", sample("nt-appendix-a"))
    page = soup(web.get(check_url))
    tracking = soup(web.get(web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)}).location))
    tracking_url = tracking.select_one("#tracking-link")["href"]
    page = soup(web.get(tracking_url))
    assert page.select_one("#immediate-risk") and not page.select_one("#emergency-recorded")
    rows = [r.get_text(" ", strip=True) for r in page.select("#stages tbody tr")]
    assert "Before this record" in rows[0] and "Before this record" in rows[1]
    response = web.post(f"{tracking_url}/emergency", data={"csrf_token": csrf(page)})
    assert response.status_code == 302
    page = soup(web.get(tracking_url))
    assert page.select_one("#emergency-recorded")
    assert len(page.select("#stages tbody tr")) == 3  # still at stage 3: immediate risk moves nothing
