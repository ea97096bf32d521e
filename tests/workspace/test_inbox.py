"""The inbox of normalised submissions, and the case page: timeline, originals, notes, closing."""

from __future__ import annotations

import datetime as dt

from bs4 import BeautifulSoup
from sqlalchemy import select

from service.casework import inbox
from service.casework.models import AuditEntry, Case, CaseNote, OutboxMessage
from tests.workspace.support import (  # noqa: F401
    csrf_from,
    signed_in,
    submit_sample,
    ws_app_fixture,
    ws_session_fixture,
)

MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _day(n: int) -> dt.datetime:
    return MON + dt.timedelta(days=n)


def test_every_channel_lands_in_one_normalised_list(ws_app, ws_session):
    first = submit_sample(ws_app, "kirklees-appendix-5", channel="web", now=MON)
    submit_sample(
        ws_app,
        "kirklees-appendix-5",
        {"stage": "6"},
        channel="email",
        case=first.reference,
        now=_day(3),
        raw=b"From: x@y.example\r\n\r\nbody",
        filename="reply.eml",
    )
    submit_sample(ws_app, "kirklees-appendix-3", channel="upload", now=_day(1), raw=b"PK..", filename="a3.docx")
    page = inbox.page(ws_session, ["kirklees"], {"page": 1}, dt.date(2026, 3, 4))
    assert page.total == 3
    assert [r.channel for r in page.rows] == ["email", "upload", "web"]  # newest first
    email = page.rows[0]
    assert email.reference == first.reference and email.partnership == "kirklees"
    assert email.stage == "6" and email.current_stage == "6"
    assert email.raising_agency == "Kirklees Health Visiting Service"
    assert email.receiving_agency == "Children's Social Care"
    assert email.category == "plan-effectiveness"
    assert email.routed_to, "routed to the business unit manager"
    assert email.status == "open" and email.due is None  # Kirklees step 6: "referred urgently", no number of days
    assert len(email.export()) == len(inbox.COLUMNS)


def test_filters_search_and_overdue(ws_app, ws_session):
    a = submit_sample(ws_app, "kirklees-appendix-5", channel="web", now=MON)
    b = submit_sample(
        ws_app, "kirklees-appendix-5", {"agency_initiating": "West Yorkshire Police"}, channel="api", now=_day(7)
    )
    today = dt.date(2026, 3, 10)  # a's stage 5 was due 9 March; b's is due 16 March

    def refs(**filters):
        return [r.reference for r in inbox.page(ws_session, ["kirklees"], {"page": 1, **filters}, today).rows]

    assert refs(channel="api") == [b.reference]
    assert refs(overdue=True) == [a.reference]
    assert refs(q="west yorkshire") == [b.reference]
    assert refs(q=a.reference.lower()) == [a.reference]
    assert refs(q="100%_") == []
    assert refs(category="assessment") == []
    assert refs(status="resolved") == []
    assert refs(partnership="merton") == []


def test_inbox_page_filters_and_pages(ws_app):
    for n in range(inbox.PAGE_SIZE + 2):
        submit_sample(ws_app, "kirklees-appendix-5", now=MON + dt.timedelta(minutes=n))
    client = signed_in(ws_app)
    first = client.get("/workspace/inbox").get_data(as_text=True)
    assert f"{inbox.PAGE_SIZE + 2} found" in first and "Page 1 of 2" in first
    assert "KL-2026-0027" in first and "KL-2026-0002" not in first
    assert '<span class="app-partnership">KSCP</span>' in first  # the partnership as people name it
    second = client.get("/workspace/inbox?page=2").get_data(as_text=True)
    assert "KL-2026-0002" in second and "KL-2026-0001" in second
    bad = client.get("/workspace/inbox?category=nonsense&channel=fax")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "category: Must be one of" in text and "channel: Must be one of" in text


def test_case_page_timeline_with_met_and_overdue(ws_app):
    first = submit_sample(ws_app, "kirklees-early-disagreement", {"step": "4"}, now=MON)
    submit_sample(ws_app, "kirklees-appendix-5", {"stage": "5"}, case=first.reference, now=_day(3))
    client = signed_in(ws_app)
    page = client.get(f"/workspace/cases/{first.reference}").get_data(as_text=True)
    assert "Stage 5: Escalation to Head of Service" in page
    assert ">Met<" in page  # stage 4 ended on 5 March, due 9 March
    assert ">Overdue<" in page  # stage 5 was due 12 March and is still open
    assert "Not tracked here" in page and "Before this record" in page  # steps 1 to 3
    assert "Siobhán O&#39;Connell-Adeyemi" in page


def test_a_case_on_no_stage_says_it_has_no_stage_deadlines(ws_app):
    made = submit_sample(ws_app, "kirklees-appendix-3", now=MON)
    page = signed_in(ws_app).get(f"/workspace/cases/{made.reference}").get_data(as_text=True)
    assert "not one of the policy's escalation stages" in page and "no stage deadlines" in page


def test_original_is_only_a_download_with_a_safe_type(ws_app):
    made = submit_sample(
        ws_app,
        "kirklees-appendix-5",
        raw=b"<script>alert(1)</script>",
        filename="../../evil<x>.html",
        content_type="text/html",
    )
    client = signed_in(ws_app)
    response = client.get(f"/workspace/cases/{made.reference}/submissions/{made.submission_id}/original")
    assert response.status_code == 200
    assert response.data == b"<script>alert(1)</script>"  # the bytes exactly as received
    assert response.mimetype == "application/octet-stream"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "evil_x_.html" in disposition and ".." not in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    docx = submit_sample(ws_app, "kirklees-appendix-5", raw=b"PK", filename="record.DOCX", content_type="text/html")
    typed = client.get(f"/workspace/cases/{docx.reference}/submissions/{docx.submission_id}/original")
    assert typed.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_notes_and_closing_with_the_debrief(ws_app, ws_session):
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    client = signed_in(ws_app)
    url = f"/workspace/cases/{made.reference}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    assert (
        client.post(f"{url}/notes", data={"text": "Phoned the head of service.", "csrf_token": token}).status_code
        == 302
    )
    refused = client.post(f"{url}/close", data={"close-resolution": "Agreed", "close-csrf_token": token})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Enter what the de-brief found" in text and "Confirm before closing" in text
    closed = client.post(
        f"{url}/close",
        data={
            "close-resolution": "Review held on 20 March.",
            "close-debrief": "Restorative debrief held with both teams.",
            "close-learning": "Diarise review dates when a plan is made.",
            "close-confirm": "y",
            "close-csrf_token": token,
        },
    )
    assert closed.status_code == 302
    case = ws_session.scalar(select(Case).where(Case.reference == made.reference))
    assert case.status == "resolved" and case.learning == "Diarise review dates when a plan is made."
    assert case.resolution == "Review held on 20 March."
    notes = ws_session.scalars(select(CaseNote).order_by(CaseNote.id)).all()
    assert [(n.kind, n.text) for n in notes] == [
        ("note", "Phoned the head of service."),
        ("debrief", "Restorative debrief held with both teams."),
    ]
    actions = ws_session.scalars(select(AuditEntry.action).where(AuditEntry.case_reference == made.reference)).all()
    assert "case.note" in actions and "case.close" in actions
    page = client.get(url).get_data(as_text=True)
    assert "Resolved" in page and "Restorative debrief held" in page and "Close the case" not in page
    again = client.post(
        f"{url}/close",
        data={
            "close-resolution": "x",
            "close-debrief": "y",
            "close-learning": "z",
            "close-confirm": "y",
            "close-csrf_token": token,
        },
    )
    assert again.status_code == 409


def test_a_conference_chair_may_note_but_not_close(ws_app):
    made = submit_sample(ws_app, "kirklees-appendix-3", now=MON)  # a chair reads conference escalations
    client = signed_in(ws_app, "chair@kirklees.example", "conference-chair")
    url = f"/workspace/cases/{made.reference}"
    page = client.get(url).get_data(as_text=True)
    assert "Add note" in page and "Close the case" not in page
    token = csrf_from(page)
    assert client.post(f"{url}/notes", data={"text": "Seen.", "csrf_token": token}).status_code == 302
    assert client.post(f"{url}/close", data={"csrf_token": token}).status_code == 403


def test_outcome_and_learning_saved_while_open(ws_app, ws_session):
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    client = signed_in(ws_app)
    url = f"/workspace/cases/{made.reference}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="outcome-learning"' in page and 'id="close-learning"' in page  # one id per field on the page
    token = csrf_from(page)
    saved = client.post(
        f"{url}/outcome",
        data={"outcome-outcome": "Review booked", "outcome-learning": "Diarise reviews", "outcome-csrf_token": token},
    )
    assert saved.status_code == 302
    case = ws_session.scalar(select(Case).where(Case.reference == made.reference))
    assert (case.outcome, case.learning, case.status) == ("Review booked", "Diarise reviews", "open")


def test_a_merton_case_is_not_closed_before_the_written_confirmation_to_both_parties(ws_app):
    case = submit_sample(ws_app, "merton-disagreement-record")
    client = signed_in(ws_app, "bu@merton.example", partnership="merton")
    url = f"/workspace/cases/{case.reference}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    close = {
        "close-resolution": "Agreed at the line manager discussion.",
        "close-debrief": "Both practitioners met.",
        "close-learning": "None.",
        "close-confirm": "y",
        "close-csrf_token": token,
    }
    refused = client.post(f"{url}/close", data=close)
    assert refused.status_code == 409
    assert (
        "written confirmation of the agreed outcome is recorded on the case; recording it sends it to both parties"
        in refused.get_data(as_text=True)
    )
    submit_sample(ws_app, "merton-outcome-confirmation", {"stage": "2"}, case=case.reference)
    assert client.post(f"{url}/close", data=close).status_code == 302


def test_a_staff_move_on_the_case_page_tells_whom_the_policy_names(ws_app, ws_session):
    made = submit_sample(ws_app, "gloucestershire-resolution-group-referral")
    client = signed_in(ws_app, "bu@gscp.example", partnership="gloucestershire")
    url = f"/workspace/cases/{made.reference}"
    page = client.get(url).get_data(as_text=True)
    assert "Move to Referral to the Chair of the GSCP Executive" in page
    token = csrf_from(page)
    refused = client.post(f"{url}/stage", data={"move-reason": "", "move-csrf_token": token})
    assert refused.status_code == 400 and "Say why the case moves" in refused.get_data(as_text=True)
    moved = client.post(
        f"{url}/stage", data={"move-reason": "The Resolution Group could not resolve it", "move-csrf_token": token}
    )
    assert moved.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="moves"' in page and "executive.chair@gscp.example" in page
    # The moves' table is the submissions' table (one macro): who, why, and the delivery in words.
    soup = BeautifulSoup(page, "html.parser")
    moves, sent_table = soup.select_one("table#moves"), soup.select_one(".moj-timeline__item table")
    assert moves.select_one("caption").get_text(strip=True) == "Stage moves made without a form: who was told"
    headers = [th.get_text(strip=True) for th in moves.select("thead th")]
    assert headers == [th.get_text(strip=True) for th in sent_table.select("thead th")] == ["Who", "Why", "Delivery"]
    cells = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in moves.select("tbody tr")]
    assert cells and all(len(row) == 3 and row[2].startswith("E-mail waiting to be sent") for row in cells)
    assert "The Resolution Group could not resolve it" in page
    sent = ws_session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_email == "executive.chair@gscp.example")
    ).all()
    assert len(sent) == 1 and "Chair of the GSCP Executive" in sent[0].body
