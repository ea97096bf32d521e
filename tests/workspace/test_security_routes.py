"""Security of the staff routes: every one needs its permission; no reach into another partnership's
cases by id, reference or file link; CSRF on every change; a new session at sign-in; the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from service.casework import audit
from service.casework.models import AuditEntry, CaseNote
from tests.workspace.support import (  # noqa: F401
    csrf_from,
    make_user,
    sign_in,
    submit_sample,
    ws_app_fixture,
    ws_session_fixture,
)

# Staff routes: the workspace's pages (with the conference log under it) and the JSON API. The few
# meant for anyone are named here, so a new route is a staff route unless someone decides otherwise.
STAFF_PREFIXES = ("/workspace", "/api")
PUBLIC = {
    "workspace.sign_in",  # the way in
    "api.post_submission",  # raising a concern is open to any professional (issue 3)
    "api.get_tracking",  # the raiser follows their case by its secret tracking token
    "api.get_openapi",  # the API's description, no data
}


def _staff_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(STAFF_PREFIXES)]


def test_every_staff_route_has_its_permission_check(ws_app):
    rules = _staff_rules(ws_app)
    assert len(rules) > 20
    missing = []
    for rule in rules:
        view = ws_app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", "missing")
        if permission == "missing" and rule.endpoint not in PUBLIC:
            missing.append(rule.rule)
        elif permission is None and rule.endpoint not in PUBLIC:
            missing.append(f"{rule.rule} (marked public)")
    assert not missing, f"staff routes without a permission check: {missing}"


def _example_url(rule) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__
        values[name] = (
            1 if "Integer" in converter else {"fmt": "pdf", "partnership": "kirklees"}.get(name, "KL-2026-0001")
        )
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


def test_every_staff_route_sends_a_stranger_to_sign_in(ws_app):
    client = ws_app.test_client()
    for rule in _staff_rules(ws_app):
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_example_url(rule), method=method)
            if rule.rule.startswith("/api"):
                # JSON: 401 "sign in"; a POST without a JSON body may be refused as such first.
                assert response.status_code in ((401,) if method == "GET" else (400, 401, 415)), (rule.rule, method)
                continue
            # A POST without a CSRF token is refused before anything else (400); every GET redirects.
            assert response.status_code in ((302,) if method == "GET" else (302, 400)), (rule.rule, method)
            if response.status_code == 302:
                assert "/workspace/sign-in" in response.headers["Location"], rule.rule


def test_a_role_without_the_permission_gets_403(ws_app):
    make_user(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    client = ws_app.test_client()
    sign_in(client, "chair@kirklees.example")
    assert client.get("/workspace/inbox").status_code == 200
    for url in ("/workspace/export.csv", "/workspace/directory/kirklees", "/workspace/annual-report"):
        assert client.get(url).status_code == 403, url


@pytest.fixture
def two_partnerships(ws_app):
    kirklees = submit_sample(ws_app, "kirklees-appendix-5", raw=b"%PDF-1.4 k", filename="k.pdf")
    merton = submit_sample(ws_app, "merton-disagreement-record", raw=b"%PDF-1.4 m", filename="m.pdf")
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    sign_in(client, "bu@kirklees.example")
    return client, kirklees, merton


def test_another_partnerships_case_cannot_be_read(two_partnerships):
    client, kirklees, merton = two_partnerships
    assert client.get(f"/workspace/cases/{kirklees.reference}").status_code == 200
    for url in (
        f"/workspace/cases/{merton.reference}",
        f"/workspace/cases/{merton.reference.lower()}",
        f"/workspace/cases/by-id/{merton.case_id}",
        f"/workspace/cases/{merton.reference}/submissions/{merton.submission_id}/original",
        # Its file reached through one's own case reference:
        f"/workspace/cases/{kirklees.reference}/submissions/{merton.submission_id}/original",
        "/workspace/export.csv?partnership=merton",
        "/workspace/directory/merton",
        "/workspace/directory/merton.csv",
        "/workspace/annual-report/merton/2026.pdf",
    ):
        assert client.get(url).status_code == 404, url
    # The JSON API, signed in with the same workspace session:
    assert client.get(f"/api/cases/{kirklees.reference}").status_code == 200
    assert client.get(f"/api/cases/{merton.reference}").status_code == 404
    inbox = client.get("/workspace/inbox").get_data(as_text=True)
    assert kirklees.reference in inbox and merton.reference not in inbox
    searched = client.get(f"/workspace/inbox?q={merton.reference}").get_data(as_text=True)
    assert f"/workspace/cases/{merton.reference}" not in searched and "No submissions match" in searched
    exported = client.get("/workspace/export.csv").get_data(as_text=True)
    assert kirklees.reference in exported and merton.reference not in exported


def test_another_partnerships_case_cannot_be_changed(two_partnerships, ws_session):
    client, kirklees, merton = two_partnerships
    token = csrf_from(client.get(f"/workspace/cases/{kirklees.reference}").get_data(as_text=True))
    changes = {
        "notes": {"text": "hello"},
        "outcome": {"outcome": "x", "resolution": "y", "learning": "z"},
        "close": {"resolution": "r", "debrief": "d", "learning": "l", "confirm": "y"},
    }
    for action, data in changes.items():
        response = client.post(f"/workspace/cases/{merton.reference}/{action}", data={**data, "csrf_token": token})
        assert response.status_code == 404, action
    assert ws_session.scalar(select(func.count()).select_from(CaseNote)) == 0
    from service.casework.models import Case

    assert ws_session.scalar(select(Case.status).where(Case.reference == merton.reference)) == "open"


def test_changes_need_the_csrf_token(two_partnerships, ws_session):
    client, kirklees, _ = two_partnerships
    response = client.post(f"/workspace/cases/{kirklees.reference}/notes", data={"text": "no token"})
    assert response.status_code == 400
    forged = client.post(f"/workspace/cases/{kirklees.reference}/notes", data={"text": "x", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert ws_session.scalar(select(func.count()).select_from(CaseNote)) == 0
    token = csrf_from(client.get(f"/workspace/cases/{kirklees.reference}").get_data(as_text=True))
    ok = client.post(f"/workspace/cases/{kirklees.reference}/notes", data={"text": "with token", "csrf_token": token})
    assert ok.status_code == 302
    assert ws_session.scalar(select(func.count()).select_from(CaseNote)) == 1


def test_sign_in_needs_the_csrf_token(ws_app):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    from tests.workspace.support import PASSWORD

    response = client.post("/workspace/sign-in", data={"email": "bu@kirklees.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/workspace/inbox").status_code == 302


def test_session_fixation_a_planted_session_is_not_signed_in(ws_app):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    attacker = ws_app.test_client()
    attacker.get("/workspace/sign-in")
    planted = attacker.get_cookie("session").value
    victim = ws_app.test_client()
    victim.set_cookie("session", planted)
    assert sign_in(victim, "bu@kirklees.example").status_code == 302
    after = victim.get_cookie("session").value
    assert after != planted
    # The attacker still holds the planted cookie: it gives no access.
    assert attacker.get("/workspace/inbox").status_code == 302
    with victim.session_transaction() as flask_session:
        first_id = flask_session["_user_id"]
    # Each sign-in gets a new session id.
    again = ws_app.test_client()
    sign_in(again, "bu@kirklees.example")
    with again.session_transaction() as flask_session:
        assert flask_session["_user_id"] != first_id
        assert len(flask_session["_user_id"]) >= 40


def test_viewing_a_case_with_child_details_is_audited(two_partnerships, ws_session):
    client, kirklees, _ = two_partnerships
    client.get(f"/workspace/cases/{kirklees.reference}")
    client.get(f"/workspace/cases/{kirklees.reference}/submissions/{kirklees.submission_id}/original")
    assert client.get(f"/api/cases/{kirklees.reference}").status_code == 200
    entries = ws_session.scalars(
        select(AuditEntry).where(AuditEntry.case_reference == kirklees.reference).order_by(AuditEntry.id)
    ).all()
    assert [(e.actor, e.action) for e in entries] == [
        ("bu@kirklees.example", "case.view"),
        ("bu@kirklees.example", "submission.download"),
        ("bu@kirklees.example", "case.view"),
    ]
    assert all(e.at is not None and e.partnership == "kirklees" for e in entries)


def test_the_audit_log_is_append_only(ws_app, ws_session):
    entry = audit.record(ws_session, "someone@kirklees.example", "case.view", case_reference="KL-2026-0001")
    ws_session.commit()
    entry.detail = "rewritten"
    with pytest.raises(audit.AuditLogIsAppendOnly):
        ws_session.flush()
    ws_session.rollback()
    ws_session.delete(entry)
    with pytest.raises(audit.AuditLogIsAppendOnly):
        ws_session.flush()
    ws_session.rollback()
    # Not even plain SQL can change or remove an entry: the database refuses.
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            ws_session.execute(text(statement))
        ws_session.rollback()
    assert ws_session.scalar(select(AuditEntry.actor)) == "someone@kirklees.example"
