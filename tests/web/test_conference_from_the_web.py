"""A signed-in chair (or business unit) sends the Appendix 3 table from the public pages (nobody else
may send a conference escalation: service.casework.access): agencies chosen from the directory, "Not
listed" routed to the CPRU, each row its own case in the chair's log with its response
deadline, and no agency sent another's row."""

from __future__ import annotations

from sqlalchemy import select, update

from forms import registry
from service import db
from service.casework.models import Case, Contact, OutboxMessage
from service.conference.models import ConferenceIssue
from service.web import formbuild
from tests.conftest import sample
from tests.web.test_tracking_sent import web_client  # noqa: F401 - the `web` fixture
from tests.web.test_web_views import csrf, fill, soup
from tests.workspace.support import make_user, sign_in

CHAIR = "chair@kirklees.example"

SPEC = registry().form("kirklees-appendix-3")


def _send(web, rows: list[dict]):
    web.application.config.update(ARGON2_MEMORY_KIB=1024, ARGON2_TIME_COST=1)
    make_user(web.application, CHAIR, "conference-chair", "kirklees")
    assert sign_in(web, CHAIR).status_code == 302
    check_url = fill(web, SPEC.id, formbuild.web_answers_from_canonical(SPEC, {"rows": rows}))
    page = soup(web.get(check_url))
    return web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)})


def test_each_row_is_its_own_case_in_the_log_with_its_deadline(web):
    rows = sample(SPEC.id)["rows"]
    response = _send(web, rows)
    page = soup(response)
    assert response.status_code == 200
    sent = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in page.select("#rows tbody tr")]
    assert [row[1] for row in sent] == [r["agency"] for r in rows]
    assert all(row[0].startswith("KL-") for row in sent) and len({row[0] for row in sent}) == 3
    app = web.application
    with app.app_context():
        session = db.session()
        issues = list(session.scalars(select(ConferenceIssue).order_by(ConferenceIssue.position)))
        assert [i.agency for i in issues] == [r["agency"] for r in rows] and all(i.case_id for i in issues)
        assert all(i.conference.recorded_by == CHAIR for i in issues)
        assert issues[0].reason == "non-attendance" and issues[2].reason == "report-late"
        for issue in issues:
            assert sent[issue.position - 1][2]  # its response due date is on the page
            case = session.get(Case, issue.case_id)
            assert [s.data["rows"][0]["agency"] for s in case.submissions] == [issue.agency]  # its row only
            for message in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)):
                others = {r["agency"] for r in rows} - {issue.agency}
                assert not any(other in message.body for other in others), message.to_email


def test_the_confirmation_says_whose_the_response_time_is(web):
    """Appendix 3 sets no response time: the confirmation gives §2's words and labels the 5 working days
    as this service's reading, not as "the policy's timescale"; who is copied is the pack's role."""
    response = _send(web, sample(SPEC.id)["rows"][:1])
    said = " ".join(soup(response).select_one("#what-happens").get_text().split())
    assert "policy's timescale" not in said
    assert "“each step in this process should not exceed 5 working days” (the policy’s words" in said
    assert "this service’s reading: Appendix 3 sets no time for the agency's response" in said
    assert "with a copy to the CPRU" in said


def test_an_agency_not_listed_goes_to_the_cp_review_unit(web):
    rows = [{**sample(SPEC.id)["rows"][0], "agency": "Not listed: Hilltop Nursery"}]
    response = _send(web, rows)
    assert response.status_code == 200
    with web.application.app_context():
        session = db.session()
        issue = session.scalar(select(ConferenceIssue))
        messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == issue.case_id)))
        assert [m.to_email for m in messages] == ["cpru@kscp.example"]
        assert "not in the partnership's directory" in messages[0].body and "/conference/respond/" in messages[0].body


def test_a_row_refused_at_sending_is_named_by_conference_row_and_question(web):
    """The directory lost the agency's lead between the question page and Send: the page names the
    conference, the row and the question in words, never an answer's key."""
    rows = [sample(SPEC.id)["rows"][0]]
    web.application.config.update(ARGON2_MEMORY_KIB=1024, ARGON2_TIME_COST=1)
    make_user(web.application, CHAIR, "conference-chair", "kirklees")
    assert sign_in(web, CHAIR).status_code == 302
    check_url = fill(web, SPEC.id, formbuild.web_answers_from_canonical(SPEC, {"rows": rows}))
    page = soup(web.get(check_url))
    with web.application.app_context():
        session = db.session()
        session.execute(update(Contact).where(Contact.agency == rows[0]["agency"]).values(email=None))
        session.commit()
    response = web.post(check_url.replace("/check", "/submit"), data={"csrf_token": csrf(page)})
    assert response.status_code == 422
    text = " ".join(soup(response).get_text(" ").split())
    assert f"Row 1, agency: the directory has no e-mail address for the lead of '{rows[0]['agency']}'" in text
    assert text.count("Conference 1 (") == 1 and "rows.0" not in text
    with web.application.app_context():
        assert db.session().scalar(select(ConferenceIssue)) is None
