"""The quarantine queue page: list, view (audited), download, fix the answers and run again through
the ingestion pipeline, choose the form; another partnership's item is not found."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from bs4 import BeautifulSoup
from sqlalchemy import select

from forms import registry
from service.casework.models import AuditEntry
from service.db import sessions
from service.intake import claims, ingest, jobs
from service.intake.models import ReceivedItem
from tests.parsers.test_docx import LEGACY
from tests.workspace.support import csrf_from, signed_in, ws_app_fixture, ws_session_fixture  # noqa: F401


def _quarantined(app, partnership: str | None = "north-tyneside") -> int:
    content = (LEGACY / "nt-appendix-a.docx").read_bytes()
    with sessions(app)() as session:
        outcome = ingest.ingest(session, content, channel="upload", filename="appendix-a.docx", partnership=partnership)
    assert outcome.status == "quarantined"
    return outcome.item_id


def test_fix_the_answers_by_the_form_and_run_again(ws_app, ws_session):
    item_id = _quarantined(ws_app)
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    listing = client.get("/workspace/quarantine").get_data(as_text=True)
    assert "appendix-a.docx" in listing and "is required" in listing
    response = client.get(f"/workspace/quarantine/{item_id}")
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert "JSON" not in page.get_text() and page.select_one("textarea.app-code") is None
    assert "by upload by staff" in page.get_text(" ", strip=True)  # the channel in words, not its key
    # Known by its file and when it came, as the list shows it: never the database's number for it.
    heading = page.select_one("h1").get_text(strip=True)
    assert re.fullmatch(r"appendix-a\.docx, received \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d UTC", heading), heading
    # The form's own questions, filled with what was read, each marked.
    assert page.select_one("h3").get_text(strip=True).startswith("Escalation Notification to the North Tyneside")
    marks = {tag.get_text(strip=True) for tag in page.select(".app-mark .govuk-tag")}
    assert marks == {"Read", "Missing"}  # nothing changed yet
    stage = page.select_one("input[name=stage]")
    assert stage is not None and "Stage of the policy reached" in page.get_text()
    assert page.select_one(".app-original-text") is not None  # the DOCX's text beside the form
    original = client.get(f"/workspace/quarantine/{item_id}/original")
    assert original.headers["Content-Disposition"].startswith("attachment;")
    token = csrf_from(response.get_data(as_text=True))
    item = ws_session.get(ReceivedItem, item_id)
    posted = _posted(item.parsed["data"], {"stage": "", "receiving_agency": "Children's Social Care"})
    bad = client.post(
        f"/workspace/quarantine/{item_id}/rerun",
        data={**posted, "rerun-form_id": "nt-appendix-a", "rerun-csrf_token": token},
    )
    bad_page = BeautifulSoup(bad.get_data(as_text=True), "html.parser")
    assert bad.status_code == 400 and bad_page.select_one(".govuk-error-summary a[href='#stage']") is not None
    assert bad_page.select_one("#stage-error") is not None  # the error at the question, too
    marked = {t.get_text(strip=True) for t in bad_page.select(".app-mark .govuk-tag")}
    assert "Changed" in marked
    posted["stage"] = "3"
    done = client.post(
        f"/workspace/quarantine/{item_id}/rerun",
        data={**posted, "rerun-form_id": "nt-appendix-a", "rerun-csrf_token": token},
    )
    assert done.status_code == 302 and "/workspace/cases/NT-" in done.headers["Location"]
    ws_session.expire_all()
    item = ws_session.get(ReceivedItem, item_id)
    assert item.status == "accepted" and item.reviewed_by == "bu@nt.example"
    case = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Children&#39;s Social Care" in case
    actions = ws_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "quarantine.view" in actions and "quarantine.fix" in actions
    assert "appendix-a.docx" not in client.get("/workspace/quarantine").get_data(as_text=True)


def _posted(data: dict, changes: dict) -> dict:
    """What a browser posts for the form filled with `data`, with `changes`."""
    from service.web import formbuild
    from service.web.answers import formdata_from_answers

    spec = registry().form("nt-appendix-a")
    answers = formbuild.web_answers_from_canonical(spec, {**data, **changes})
    whole = formbuild.whole_form_class(spec).section
    return dict(formdata_from_answers(whole, answers).items(multi=False))


def test_choosing_another_form_reads_the_original_again(ws_app):
    item_id = _quarantined(ws_app)
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    page = BeautifulSoup(client.get(f"/workspace/quarantine/{item_id}").get_data(as_text=True), "html.parser")
    choices = [o["value"] for o in page.select("select#as option")]
    assert "nt-appendix-a" in choices and all(not c.startswith("kirklees") for c in choices)
    assert page.select_one("select#as option[selected]")["value"] == "nt-appendix-a"


def test_a_pdf_original_is_shown_as_page_images(ws_app):
    """A PDF no form of the partnership recognises (another partnership's form) waits with its pages
    shown as images rendered on the server, and no form until one is chosen."""
    from service.documents import records
    from tests.conftest import sample

    spec = registry().form("kirklees-appendix-5")
    content = records.render(spec, sample(spec.id), "pdf")
    with sessions(ws_app)() as session:
        stored = ingest.ingest(session, content, channel="upload", filename="a5.pdf", partnership="north-tyneside")
    assert stored.status == "quarantined"
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    page = BeautifulSoup(client.get(f"/workspace/quarantine/{stored.item_id}").get_data(as_text=True), "html.parser")
    images = page.select("img.app-page-image")
    assert len(images) == 2 and images[0]["alt"] == "Page 1 of a5.pdf"
    assert page.select(".app-mark") == [] and "Choose the form it is" in page.get_text()
    png = client.get(images[0]["src"])
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert client.get(images[0]["src"].replace("page-1", "page-11")).status_code == 404
    as_a = BeautifulSoup(
        client.get(f"/workspace/quarantine/{stored.item_id}?as=nt-appendix-a").get_data(as_text=True), "html.parser"
    )
    assert as_a.select(".app-mark .govuk-tag")  # read again as Appendix A: its questions, marked


def test_another_partnerships_item_is_not_found(ws_app):
    item_id = _quarantined(ws_app)
    client = signed_in(ws_app)  # Kirklees
    assert "appendix-a.docx" not in client.get("/workspace/quarantine").get_data(as_text=True)
    for url in (f"/workspace/quarantine/{item_id}", f"/workspace/quarantine/{item_id}/original"):
        assert client.get(url).status_code == 404
    token = csrf_from(client.get("/workspace/quarantine").get_data(as_text=True))
    assert client.post(f"/workspace/quarantine/{item_id}/rerun", data={"rerun-csrf_token": token}).status_code == 404


def test_choosing_another_partnerships_form_is_refused(ws_app):
    item_id = _quarantined(ws_app)
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    token = csrf_from(client.get(f"/workspace/quarantine/{item_id}").get_data(as_text=True))
    refused = client.post(
        f"/workspace/quarantine/{item_id}/rerun",
        data={"rerun-form_id": "kirklees-appendix-5", "rerun-csrf_token": token},
    )
    assert refused.status_code == 400 and "Choose one of your partnerships" in refused.get_data(as_text=True)


def test_an_unattributed_item_is_for_a_service_admin_only(ws_app):
    """An input no partnership could be read from may be about any partnership's child."""
    with sessions(ws_app)() as session:
        outcome = ingest.ingest(session, b"Notes about a family, no form.", channel="smtp", filename="notes.txt")
    assert outcome.status == "quarantined"
    business_unit = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    assert "notes.txt" not in business_unit.get("/workspace/quarantine").get_data(as_text=True)
    assert business_unit.get(f"/workspace/quarantine/{outcome.item_id}").status_code == 404
    admin = signed_in(ws_app, "admin@service.example", "admin", None)
    assert "notes.txt" in admin.get("/workspace/quarantine").get_data(as_text=True)
    assert admin.get(f"/workspace/quarantine/{outcome.item_id}").status_code == 200


def test_an_input_whose_reading_was_cut_short_too_often_is_listed(ws_app, ws_session):
    """Its readers stopped part-way (workers killed) until no more tries are left: the sweep queues it
    again and its job quarantines it with the reason, so it is never left unseen; one still being
    read is left alone."""
    now = dt.datetime.now(dt.UTC)

    def stored(name: str, at: dt.datetime) -> ReceivedItem:
        content = name.encode() + (LEGACY / "nt-appendix-a.docx").read_bytes()
        item = ReceivedItem(
            received_at=at,
            channel="imap",
            filename=name,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            raw=content,
            status="received",
            partnership="north-tyneside",
        )
        ws_session.add(item)
        return item

    def reading(item: ReceivedItem, starts: int, lease_until: dt.datetime) -> ReceivedItem:
        item.status, item.claim, item.read_starts, item.lease_until = "reading", "a-worker", starts, lease_until
        return item

    # A reader stopped part-way on it (a worker killed) as many times as allowed, its lease now run out;
    # another is reading the second one right now.
    cut_short = reading(stored("cut-short.docx", now - dt.timedelta(minutes=20)), claims.MAX_STARTS, now)
    being_read = reading(stored("being-read.docx", now), 1, now + dt.timedelta(minutes=5))
    ws_session.commit()
    assert jobs.sweep(ws_app) == 1  # the stalled one is queued again; its job puts it before a person
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    listing = client.get("/workspace/quarantine").get_data(as_text=True)
    assert "cut-short.docx" in listing and "stopped part-way 3 times" in listing and "being-read.docx" not in listing
    ws_session.expire_all()
    assert ws_session.get(ReceivedItem, cut_short.id).status == "quarantined"
    assert ws_session.get(ReceivedItem, being_read.id).status == "reading"


def test_an_item_is_named_by_its_file_or_its_sender_never_its_number():
    from service.casework.wording import received_file

    at = dt.datetime(2026, 12, 3, 14, 5, tzinfo=dt.UTC)
    mail = ReceivedItem(id=42, channel="imap", filename="e-mail.eml", sender="zoe@riverside.example", received_at=at)
    assert received_file(mail, heading=True) == "An e-mail from zoe@riverside.example, received 03 Dec 2026 14:05 UTC"
    unread = ReceivedItem(id=42, channel="smtp", filename=None, sender=None, received_at=at)
    assert received_file(unread) == "an e-mail, received 03 Dec 2026 14:05 UTC"
    upload = ReceivedItem(id=42, channel="upload", filename="appendix-a.docx", received_at=at)
    assert received_file(upload, heading=True) == "appendix-a.docx, received 03 Dec 2026 14:05 UTC"


def test_an_email_held_for_anothers_message_id_is_released_as_its_own(ws_app, ws_session):
    """Held because an e-mail from another sender holds its Message-ID: it has no case to go to, so the
    release reads it as its own e-mail (which opens its own case)."""
    from tests.intake.test_ingest import document, email_with

    with sessions(ws_app)() as session:
        first = ingest.ingest(
            session, email_with(document("nt-appendix-a"), message_id="<one@x.example>"), channel="smtp"
        )
        forged = email_with(document("nt-appendix-a"), sender="someone@elsewhere.example", message_id="<one@x.example>")
        held = ingest.ingest(session, forged, channel="smtp")
    assert held.status == "held"
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    response = client.get(f"/workspace/quarantine/{held.item_id}")
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.select_one("#release").get_text(strip=True) == "I have checked the sender: read it as its own e-mail"
    assert "held for review" in page.get_text(" ", strip=True)
    assert "Sender check" in page.get_text(" ", strip=True)  # beside the button that says it was checked
    token = csrf_from(response.get_data(as_text=True))
    done = client.post(f"/workspace/quarantine/{held.item_id}/release", data={"csrf_token": token})
    assert done.status_code == 302 and "/workspace/cases/NT-" in done.headers["Location"]
    assert first.reference not in done.headers["Location"]
    ws_session.expire_all()
    assert ws_session.get(ReceivedItem, held.item_id).status == "accepted"
