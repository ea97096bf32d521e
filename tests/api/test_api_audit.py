"""Every read or change of a case through the API is audited as the case page audits it, and the
API closes a case only with what the page requires (resolution, de-brief and learning). The CLI's
`flask --app app case` read is audited too. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from service.casework.models import AuditEntry, Case, CaseNote
from service.db import sessions
from tests.api import test_api
from tests.api.test_api import staff_client
from tests.conftest import sample

db_app = test_api.db_app  # the fixture: the app with the sample directory and two business units
FORM = "nt-appendix-a"


def opened(app, form: str = FORM) -> str:
    return app.test_client().post("/api/submissions", json={"form_id": form, "data": sample(form)}).json["reference"]


def entries(app, reference: str) -> list[tuple[str, str, str | None]]:
    with sessions(app)() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.case_reference == reference).order_by(AuditEntry.id))
        return [(e.actor, e.action, e.detail) for e in rows]


def test_moving_a_stage_and_recording_an_outcome_are_audited(db_app):
    reference = opened(db_app)
    client = staff_client(db_app)
    moved = client.post(f"/api/cases/{reference}/stage", json={"stage": "4", "outcome": "Not resolved at stage 3"})
    assert moved.status_code == 200, moved.json
    assert client.post(f"/api/cases/{reference}/outcome", json={"outcome": "Agreed plan"}).status_code == 200
    assert entries(db_app, reference) == [
        ("bu@ntscp.example", "case.stage", "API: moved to stage 4"),
        ("bu@ntscp.example", "case.outcome", "API"),
    ]


def test_the_api_closes_a_case_only_with_the_de_brief_the_page_requires(db_app):
    reference = opened(db_app)
    client = staff_client(db_app)
    refused = client.post(f"/api/cases/{reference}/outcome", json={"resolved": True})
    assert refused.status_code == 400
    assert set(refused.json["messages"]) == {"resolution", "debrief", "learning"}
    with sessions(db_app)() as session:
        assert session.scalar(select(Case.status).where(Case.reference == reference)) == "open"
    closed = client.post(
        f"/api/cases/{reference}/outcome",
        json={
            "resolved": True,
            "resolution": "Assessment agreed",
            "debrief": "Held on 3 December",
            "learning": "None identified",
        },
    )
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "resolved"
    with sessions(db_app)() as session:
        note = session.scalar(select(CaseNote).where(CaseNote.kind == "debrief"))
        assert note.text == "Held on 3 December" and note.author_email == "bu@ntscp.example"
    assert entries(db_app, reference)[-1][:2] == ("bu@ntscp.example", "case.close")


def test_a_read_through_the_command_line_is_audited(db_app):
    reference = opened(db_app, "kirklees-appendix-5")  # names a child: every read of it is audited
    result = db_app.test_cli_runner().invoke(args=["case", reference])
    assert result.exit_code == 0
    assert entries(db_app, reference) == [("system: flask case", "case.view", "command line")]
