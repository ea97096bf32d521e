"""The JSON API under /api and its OpenAPI document."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app import create_app
from service.api.schemas import CaseOut, TrackingOut
from service.casework import cases, directory
from service.casework.models import AuditEntry, Case, Submission
from service.db import sessions
from tests.conftest import sample
from tests.workspace.support import make_user, sign_in

# Real argon2id at a low cost, as the workspace tests do; CSRF on, as in the service.
CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test",
    "WTF_CSRF_ENABLED": True,
    "ARGON2_MEMORY_KIB": 1024,
    "ARGON2_TIME_COST": 1,
}


@pytest.fixture
def db_app(db_engine):
    """The app on db_engine with the sample directory, and a Kirklees and a North Tyneside business unit."""
    app = create_app({**CONFIG, "DATABASE_ENGINE": db_engine})
    with sessions(app)() as session:
        directory.seed(session)
    make_user(app, "bu@ntscp.example", "business-unit", "north-tyneside")
    make_user(app, "bu@kscp.example", "business-unit", "kirklees")
    return app


def staff_client(app, email="bu@ntscp.example"):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, url, body):
    return client.post(url, json=body)


def test_submit_then_read_the_case(db_app):
    client = staff_client(db_app)
    created = post(
        db_app.test_client(), "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["reference"].startswith("NT-") and len(body["tracking_token"]) >= 43
    assert body["routes"] == [
        {
            "name": "Business Manager, NTSCP",
            "email": "business.manager@ntscp.example",
            "phone": None,
            "role": "business-manager",
            "agency": None,
            "rule_id": "ntscp-notified-from-stage-3",
            "reason": "Business Manager, NTSCP, at Stage 3 (§5 Stage 3; §6)",
        }
    ]
    assert body["next_step"]["next_stage"] == "4" and body["next_step"]["form_id"] == "nt-appendix-a"
    case = client.get(f"/api/cases/{body['reference']}").json
    assert case["stages"][-1]["stage"] == "3" and case["stages"][-1]["due"] == body["due"]
    assert [s["stage"] for s in case["stages"] if s["skipped"]] == ["1", "2"]  # before this record
    assert case["submissions"][0]["channel"] == "api" and case["submissions"][0]["raw_bytes"] > 0
    listed = client.get("/api/cases?partnership=north-tyneside").json
    assert [c["reference"] for c in listed["cases"]] == [body["reference"]]
    tracked = client.get(f"/api/track/{body['tracking_token']}").json
    assert tracked["reference"] == body["reference"] and "submissions" not in tracked


def test_stage_and_outcome_endpoints(db_app):
    client = staff_client(db_app)
    ref = post(
        db_app.test_client(), "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}
    ).json["reference"]
    moved = post(
        client, f"/api/cases/{ref}/stage", {"stage": "4", "outcome": "Not agreed at stage 3", "reason": "No agreement"}
    )
    assert moved.status_code == 200 and moved.json["current_stage"] == "4"
    # A move through the API is routed and notified as the policy names for stage 4.
    stage4 = [r for r in moved.json["routing"] if "Stage 4" in r["reason"]]
    assert [r["role"] for r in stage4] == ["business-manager"] and "No agreement" in stage4[0]["reason"]
    risk = post(client, f"/api/cases/{ref}/emergency-route", {})
    assert risk.status_code == 200 and risk.json["emergency_route_shown_at"] and risk.json["current_stage"] == "4"
    with sessions(db_app)() as session:  # recorded in the audit log like every change through the API
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.case_reference == ref)).all()
        assert "case.emergency-route" in actions and "case.stage" in actions
    skipped = post(client, f"/api/cases/{ref}/stage", {"stage": "5", "immediate_risk": True})
    assert skipped.status_code == 200  # 4 -> 5 is the next stage: allowed
    assert post(client, f"/api/cases/{ref}/stage", {"stage": "5"}).status_code == 409
    refused = post(client, f"/api/cases/{ref}/stage", {"stage": "3"})
    assert refused.status_code == 409 and "cannot move back" in refused.json["error"]
    skip = post(client, f"/api/cases/{ref}/stage", {"stage": "9"})
    assert skip.status_code == 400 and "no stage '9'" in skip.json["error"]
    done = post(
        client,
        f"/api/cases/{ref}/outcome",
        {"resolution": "Agreed", "debrief": "Held", "learning": "Share guidance", "resolved": True},
    )
    assert done.status_code == 200 and done.json["status"] == "resolved"
    assert client.get("/api/cases/overdue").json == {"cases": [], "next_cursor": None}


def test_case_and_tracking_bodies_are_the_views_dumped_whole(db_app):
    """CaseOut and TrackingOut name every key the views hold: dumping a case through them drops
    nothing and changes nothing, so the bodies are the views as before they were dumped."""
    client = staff_client(db_app)
    made = post(db_app.test_client(), "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")})
    ref, token = made.json["reference"], made.json["tracking_token"]
    post(client, f"/api/cases/{ref}/stage", {"stage": "4", "outcome": "Not agreed", "reason": "No agreement"})
    post(client, f"/api/cases/{ref}/emergency-route", {})
    with sessions(db_app)() as session:
        case = cases.get(session, ref)
        view, tracking = cases.case_view(session, case), cases.tracking_view(session, case)
    assert CaseOut().dump(view) == view and TrackingOut().dump(tracking) == tracking
    assert view["routing"] and view["submissions"] and view["emergency_route_shown_at"] and tracking["stages"]
    assert client.get(f"/api/cases/{ref}").json == json.loads(json.dumps(view))
    assert client.get(f"/api/track/{token}").json == json.loads(json.dumps(tracking))


def test_bad_requests_get_clear_errors_and_store_nothing(db_app):
    client = staff_client(db_app)
    invalid = post(
        client, "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a") | {"name": ""}}
    )
    assert invalid.status_code == 400 and "name" in invalid.json["messages"]
    unknown_form = post(client, "/api/submissions", {"form_id": "nope", "data": {}})
    assert unknown_form.status_code == 400 and "unknown form 'nope'" in unknown_form.json["error"]
    extra = post(client, "/api/submissions", {"form_id": "nt-appendix-a", "data": {}, "colour": "red"})
    assert extra.status_code == 400 and "colour" in extra.json["messages"]
    not_json = client.post("/api/submissions", data="form_id=x")
    assert not_json.status_code == 400 and "JSON object" in str(not_json.json["messages"])
    agency = sample("kirklees-appendix-3")
    agency["rows"][0]["agency"] = "Nowhere Agency"
    kirklees = staff_client(db_app, "bu@kscp.example")  # a conference escalation is sent signed in
    unknown_agency = post(kirklees, "/api/submissions", {"form_id": "kirklees-appendix-3", "data": agency})
    assert unknown_agency.status_code == 400 and "Nowhere Agency" in unknown_agency.json["error"]
    assert client.get("/api/cases/NT-2026-0404").status_code == 404
    assert client.get("/api/track/not-a-token").status_code == 404
    assert client.get("/api/cases?partnership=atlantis").status_code == 400
    assert client.get("/api/cases?limit=0").status_code == 400
    assert client.get("/api/directory/atlantis").status_code == 400
    with db_app.app_context():
        from service.db import sessions

        with sessions(db_app)() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 0
            assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_directory_endpoint(db_app):
    make_user(db_app, "bu@mscb.example", "business-unit", "merton")
    contacts = staff_client(db_app, "bu@mscb.example").get("/api/directory/merton").json
    assert {c["role"] for c in contacts} == {"appendix-b-contact", "qa-sub-group-chair", "independent-chair"}
    assert staff_client(db_app).get("/api/directory/merton").status_code == 403
    unknown = staff_client(db_app).get("/api/directory/atlantis")  # found in the packs, not in the cases
    assert unknown.status_code == 400 and unknown.json["error"].startswith("unknown partnership 'atlantis' (one of")


def test_cases_need_a_staff_sign_in_and_stay_in_their_partnership(db_app):
    public = db_app.test_client()
    outcome = post(public, "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}).json
    ref = outcome["reference"]
    for url in ("/api/cases", "/api/cases/overdue", f"/api/cases/{ref}", "/api/directory/north-tyneside"):
        assert public.get(url).status_code == 401, url
    assert post(public, f"/api/cases/{ref}/stage", {"stage": "4"}).status_code == 401
    assert post(public, f"/api/cases/{ref}/outcome", {"resolved": True}).status_code == 401
    # Adding to a case: by reference only for staff; anyone with the tracking token may.
    again = {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a") | {"stage": "4"}}
    assert post(public, "/api/submissions", again | {"case": ref}).status_code == 401
    added = post(public, "/api/submissions", again | {"tracking_token": outcome["tracking_token"]})
    assert added.status_code == 201 and added.json["reference"] == ref and added.json["stage"] == "4"
    # Kirklees staff do not see a North Tyneside case: "not found", as for a wrong reference.
    kirklees = staff_client(db_app, "bu@kscp.example")
    assert kirklees.get(f"/api/cases/{ref}").status_code == 404
    assert post(kirklees, f"/api/cases/{ref}/stage", {"stage": "5"}).status_code == 404
    assert post(kirklees, "/api/submissions", again | {"case": ref}).status_code == 404
    assert kirklees.get("/api/cases").json["cases"] == []
    assert [c["reference"] for c in staff_client(db_app).get("/api/cases").json["cases"]] == [ref]


def test_every_api_view_declares_who_may_use_it(db_app):
    open_to_all = {"api.post_submission", "api.get_tracking", "api.get_openapi"}
    for rule in db_app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint not in open_to_all:
            assert getattr(db_app.view_functions[rule.endpoint], "required_permission", None), rule.rule


def test_openapi_document(db_app):
    doc = db_app.test_client().get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert {"/api/submissions", "/api/cases", "/api/cases/{reference}", "/api/track/{token}"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert {"SubmissionIn", "SubmissionOut", "CaseOut", "ErrorOut"} <= set(schemas)
    assert schemas["SubmissionIn"]["required"] == ["data", "form_id"]
    post_op = doc["paths"]["/api/submissions"]["post"]
    assert post_op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmissionIn"
    }
    assert "201" in post_op["responses"]
    params = doc["paths"]["/api/cases"]["get"]["parameters"]
    assert {p["name"] for p in params} >= {"partnership", "status", "limit", "cursor"}


def test_every_api_route_is_in_the_openapi_document(db_app):
    """Walks the app's routes, not the document's own list: a view added to the API is documented."""
    doc = db_app.test_client().get("/api/openapi.json").json
    routes = [r for r in db_app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(routes) >= 10 and any(r.rule.endswith("/emergency-route") for r in routes)
    for rule in routes:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][path].get(method.lower())
            assert operation is not None, f"{method} {rule.rule}"
            assert {"200", "201"} & set(operation["responses"]), f"{method} {rule.rule}"


def test_child_details_on_a_form_that_carries_none_are_refused_with_422(db_app):
    data = sample("nt-appendix-a") | {"worry": "Maisie (4), DOB 02/11/2021, 14 Acacia Avenue, NHS 943 476 5919."}
    refused = post(db_app.test_client(), "/api/submissions", {"form_id": "nt-appendix-a", "data": data})
    assert refused.status_code == 422
    assert "must not include a child's or family's details" in refused.json["messages"]["worry"][0]
    early = sample("nt-early-disagreement") | {"worry": "Her brother Liam is 15 and has been excluded."}
    assert (
        post(db_app.test_client(), "/api/submissions", {"form_id": "nt-early-disagreement", "data": early}).status_code
        == 422
    )
    kept = sample("kirklees-appendix-5")  # a form for child details takes them
    assert (
        post(db_app.test_client(), "/api/submissions", {"form_id": "kirklees-appendix-5", "data": kept}).status_code
        == 201
    )


def test_a_body_larger_than_any_form_is_refused_before_it_is_read(db_app):
    """An anonymous caller cannot make the service read (and normalise) tens of megabytes."""
    big = {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a") | {"worry": "x" * (2 * 1024 * 1024)}}
    answer = post(db_app.test_client(), "/api/submissions", big)
    assert answer.status_code == 413 and "larger than the API takes" in answer.json["error"]
