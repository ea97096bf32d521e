"""The directory page (edit, add, remove, CSV import and export) and the retention purge."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select, update

from service.casework import retention
from service.casework.models import AuditEntry, Case, CaseNote, Contact, Submission
from tests.workspace.support import (  # noqa: F401
    csrf_from,
    signed_in,
    submit_sample,
    ws_app_fixture,
    ws_session_fixture,
)


def test_edit_add_and_remove_contacts(ws_app, ws_session):
    client = signed_in(ws_app)
    contact = ws_session.scalar(select(Contact).where(Contact.partnership == "kirklees").order_by(Contact.id))
    page = client.get(f"/workspace/directory/kirklees?edit={contact.id}").get_data(as_text=True)
    assert "Edit the contact" in page and contact.name in page
    token = csrf_from(page)
    form = {c: getattr(contact, c) or "" for c in ("role", "agency", "sector", "stage", "title", "phone", "source")}
    saved = client.post(
        f"/workspace/directory/kirklees/contacts/{contact.id}",
        data={**form, "name": "Jo Example", "email": "jo@kirklees.example", "csrf_token": token},
    )
    assert saved.status_code == 302
    ws_session.expire_all()
    assert ws_session.get(Contact, contact.id).name == "Jo Example"
    bad = client.post(
        "/workspace/directory/kirklees/contacts",
        data={**form, "role": "wizard", "name": "X", "email": "not-an-address", "csrf_token": token},
    )
    assert bad.status_code == 400 and "Not a valid email address" in bad.get_data(as_text=True)
    wizard = client.post(
        "/workspace/directory/kirklees/contacts",
        data={**form, "role": "wizard", "name": "X", "email": "x@kirklees.example", "csrf_token": token},
    )
    assert wizard.status_code == 400 and "KSCP has no role &#39;wizard&#39;" in wizard.get_data(as_text=True)
    before = ws_session.scalar(select(func.count()).select_from(Contact).where(Contact.partnership == "kirklees"))
    removed = client.post(f"/workspace/directory/kirklees/contacts/{contact.id}/delete", data={"csrf_token": token})
    assert removed.status_code == 302
    after = ws_session.scalar(select(func.count()).select_from(Contact).where(Contact.partnership == "kirklees"))
    assert after == before - 1
    actions = ws_session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "directory.edit")).all()
    assert len(actions) == 2


def test_import_and_export_beside_the_page(ws_app, ws_session):
    client = signed_in(ws_app)
    exported = client.get("/workspace/directory/kirklees.csv")
    assert exported.mimetype == "text/csv"
    text = exported.get_data(as_text=True)
    assert text.startswith("partnership,role,agency")
    token = csrf_from(client.get("/workspace/directory/kirklees").get_data(as_text=True))
    lines = text.strip().split("\n")
    smaller = "\n".join(lines[:2]) + "\n"
    ok = client.post(
        "/workspace/directory/kirklees/import",
        data={"file": (io.BytesIO(smaller.encode()), "d.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    assert ws_session.scalar(select(func.count()).select_from(Contact).where(Contact.partnership == "kirklees")) == 1
    wrong = lines[0] + "\nmerton" + lines[1][len("kirklees") :] + "\n"
    refused = client.post(
        "/workspace/directory/kirklees/import",
        data={"file": (io.BytesIO(wrong.encode()), "d.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "row 2" in refused.get_data(as_text=True)


def _close(ws_session, reference: str, when: dt.datetime) -> None:
    ws_session.execute(
        update(Case).where(Case.reference == reference).values(status="resolved", updated_at=when, closed_at=when)
    )
    ws_session.commit()


def test_retention_purge_dry_run_then_purge_audited(ws_app, ws_session):
    old = submit_sample(ws_app, "kirklees-appendix-5", raw=b"%PDF old", filename="old.pdf")
    recent = submit_sample(ws_app, "kirklees-appendix-5")
    still_open = submit_sample(ws_app, "merton-disagreement-record")
    now = dt.datetime.now(dt.UTC)
    _close(ws_session, old.reference, now - dt.timedelta(days=365 * 7))
    _close(ws_session, recent.reference, now - dt.timedelta(days=365 * 2))
    ws_session.add(CaseNote(case_id=old.case_id, kind="note", author_email="a@b.example", at=now, text="n"))
    ws_session.commit()
    runner = ws_app.test_cli_runner()
    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert old.reference in dry.output and recent.reference not in dry.output and "1 case(s)" in dry.output
    assert ws_session.scalar(select(func.count()).select_from(Case)) == 3
    shorter = runner.invoke(args=["retention", "purge", "--dry-run", "--years", "1"])
    assert old.reference in shorter.output and recent.reference in shorter.output
    assert still_open.reference not in shorter.output
    done = runner.invoke(args=["retention", "purge"])
    assert done.exit_code == 0 and f"purged {old.reference}" in done.output
    ws_session.expire_all()
    references = set(ws_session.scalars(select(Case.reference)))
    assert references == {recent.reference, still_open.reference}
    assert ws_session.scalar(select(func.count()).select_from(Submission).where(Submission.case_id == old.case_id)) == 0
    assert ws_session.scalar(select(func.count()).select_from(CaseNote)) == 0
    entry = ws_session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.purge"))
    assert entry.case_reference == old.reference and entry.actor == "system: retention purge"
    assert runner.invoke(args=["retention", "purge", "--years", "0"]).exit_code != 0


def test_retention_cutoff_on_29_february():
    leap = dt.datetime(2028, 2, 29, tzinfo=dt.UTC)
    assert retention.cutoff(leap, 6) == dt.datetime(2022, 2, 28, tzinfo=dt.UTC)


def test_roles_sectors_and_stages_are_chosen_by_name(ws_app):
    from bs4 import BeautifulSoup

    client = signed_in(ws_app)
    page = BeautifulSoup(client.get("/workspace/directory/kirklees").get_data(as_text=True), "html.parser")
    roles = {o["value"]: o.get_text() for o in page.select("select#role option")}
    assert roles["safeguarding-lead"] == "Agency safeguarding lead" and roles["cp-review-unit"] == "CPRU"
    assert page.select_one("input#role") is None  # no role ids typed by hand
    stages = [o.get_text() for o in page.select("select#stage option")]
    assert stages[0] == "Any stage" and any(s.startswith("Stage 5: ") for s in stages)
    cells = [td.get_text(strip=True) for td in page.select("tbody td[data-label=Role]")]
    assert cells and "safeguarding-lead" not in cells
    token = page.select_one("input[name=csrf_token]")["value"]
    bad = client.post(
        "/workspace/directory/kirklees/contacts",
        data={"role": "", "name": "Someone", "email": "someone@kirklees.example", "csrf_token": token},
    )
    inline = BeautifulSoup(bad.get_data(as_text=True), "html.parser").select_one("#role-error")
    assert bad.status_code == 400 and inline.get_text(" ", strip=True) == "Error: Choose the role"
