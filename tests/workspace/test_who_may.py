"""Who may do what: a conference escalation (Kirklees Appendix 3) is sent only by a signed-in chair
or business unit of that partnership, through the API or the journey; the conference chair reads
their partnership's conference escalations, not every case. On SQLite and PostgreSQL."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.conftest import sample
from tests.workspace.support import signed_in, submit_sample, ws_app_fixture  # noqa: F401

CONFERENCE = "kirklees-appendix-3"


def test_a_conference_escalation_needs_a_signed_in_chair_or_business_unit(ws_app):
    body = {"form_id": CONFERENCE, "data": sample(CONFERENCE)}
    anonymous = ws_app.test_client().post("/api/submissions", json=body)
    assert anonymous.status_code == 403
    assert "conference chair" in anonymous.json["error"]
    elsewhere = signed_in(ws_app, "bu@merton.example", "business-unit", "merton")
    assert elsewhere.post("/api/submissions", json=body).status_code == 403
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    assert chair.post("/api/submissions", json=body).status_code == 201
    unit = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    assert unit.post("/api/submissions", json=body).status_code == 201


def test_the_public_journey_does_not_start_a_conference_escalation_for_anyone(ws_app):
    client = ws_app.test_client()
    page = client.get("/p/kirklees/start")
    token = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one("[name=csrf_token]")["value"]
    refused = client.post("/p/kirklees/start", data={"choice": f"form:{CONFERENCE}", "csrf_token": token})
    assert refused.status_code == 403
    assert "sign in" in refused.get_data(as_text=True).lower()


def test_the_chair_reads_conference_escalations_only(ws_app):
    escalation = submit_sample(ws_app, "kirklees-appendix-5")
    conference = submit_sample(ws_app, CONFERENCE)
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    inbox = chair.get("/workspace/inbox").get_data(as_text=True)
    assert conference.reference in inbox and escalation.reference not in inbox
    assert chair.get(f"/workspace/cases/{escalation.reference}").status_code == 404
    assert chair.get(f"/workspace/cases/{conference.reference}").status_code == 200
    listed = chair.get("/api/cases").json["cases"]
    assert [c["reference"] for c in listed] == [conference.reference]
    assert chair.get(f"/api/cases/{escalation.reference}").status_code == 404
    # The business unit still reads every case of its partnership.
    unit = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    assert {c["reference"] for c in unit.get("/api/cases").json["cases"]} == {
        escalation.reference,
        conference.reference,
    }
