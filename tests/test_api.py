"""The JSON API under /api and its OpenAPI document."""

from __future__ import annotations

from sqlalchemy import func, select

from service.models import Case, Submission
from tests.conftest import sample


def post(client, url, body):
    return client.post(url, json=body)


def test_submit_then_read_the_case(db_app):
    client = db_app.test_client()
    created = post(client, "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")})
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
            "reason": "Business Manager, NTSCP",
        }
    ]
    assert body["next_step"]["next_stage"] == "4" and body["next_step"]["form_id"] == "nt-appendix-a"
    case = client.get(f"/api/cases/{body['reference']}").json
    assert case["stages"][0]["stage"] == "3" and case["stages"][0]["due"] == body["due"]
    assert case["submissions"][0]["channel"] == "api" and case["submissions"][0]["raw_bytes"] > 0
    listed = client.get("/api/cases?partnership=north-tyneside").json
    assert [c["reference"] for c in listed["cases"]] == [body["reference"]]
    tracked = client.get(f"/api/track/{body['tracking_token']}").json
    assert tracked["reference"] == body["reference"] and "submissions" not in tracked


def test_stage_and_outcome_endpoints(db_app):
    client = db_app.test_client()
    ref = post(client, "/api/submissions", {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}).json[
        "reference"
    ]
    moved = post(client, f"/api/cases/{ref}/stage", {"stage": "4", "outcome": "Not agreed at stage 3"})
    assert moved.status_code == 200 and moved.json["current_stage"] == "4"
    refused = post(client, f"/api/cases/{ref}/stage", {"stage": "3"})
    assert refused.status_code == 409 and "cannot move back" in refused.json["error"]
    skip = post(client, f"/api/cases/{ref}/stage", {"stage": "9"})
    assert skip.status_code == 400 and "no stage '9'" in skip.json["error"]
    done = post(
        client, f"/api/cases/{ref}/outcome", {"resolution": "Agreed", "learning": "Share guidance", "resolved": True}
    )
    assert done.status_code == 200 and done.json["status"] == "resolved"
    assert client.get("/api/cases/overdue").json == {"cases": [], "next_cursor": None}


def test_bad_requests_get_clear_errors_and_store_nothing(db_app):
    client = db_app.test_client()
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
    unknown_agency = post(client, "/api/submissions", {"form_id": "kirklees-appendix-3", "data": agency})
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
    contacts = db_app.test_client().get("/api/directory/merton").json
    assert {c["role"] for c in contacts} == {"appendix-b-contact", "qa-sub-group-chair", "independent-chair"}


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
