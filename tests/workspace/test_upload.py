"""The upload page: files stored and queued at once, then each file's state and the batch's progress,
refreshing itself (no JavaScript) while any is unread; the inbox shows what is being read; what cannot
be read is in the quarantine as soon as its job ends."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from sqlalchemy import select

from app import create_app
from forms import registry
from forms.schema import validate_data
from service.casework import directory
from service.db import sessions
from service.documents.records import render
from service.intake import claims, jobs
from service.intake.models import ReceivedItem
from tests.conftest import sample
from tests.intake.test_ingest import document
from tests.workspace.support import csrf_from, signed_in, ws_app_fixture, ws_session_fixture  # noqa: F401


def upload(client, files: list[tuple[str, bytes]], **fields):
    token = csrf_from(client.get("/workspace/upload").get_data(as_text=True))
    data = {"csrf_token": token, "files": [(io.BytesIO(content), name) for name, content in files], **fields}
    return client.post("/workspace/upload", data=data, content_type="multipart/form-data")


def rows(page) -> list[list[str]]:
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    return [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select("table.app-upload tbody tr")]


def refresh_of(page) -> str | None:
    found = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one('meta[http-equiv="refresh"]')
    return found["content"] if found else None


def test_upload_answers_at_once_and_lists_each_files_outcome(ws_app):
    client = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    good = document("kirklees-appendix-5")
    answer = upload(client, [("k5.docx", good), ("notes.docx", b"not a form"), ("copy.docx", good)])
    assert answer.status_code == 302 and "/workspace/upload/" in answer.headers["Location"]
    page = client.get(answer.headers["Location"])
    found = rows(page)
    assert [r[0] for r in found] == ["k5.docx", "notes.docx", "copy.docx"]
    assert found[0][2] == "Read: applied to case" and found[0][3].startswith("KL-")
    assert found[1][2] == "Quarantined" and found[1][3]
    assert found[2][1].endswith("(received before)") and found[2][1].startswith(found[0][1])
    assert "All 3 read." in page.get_data(as_text=True) and refresh_of(page) is None
    listing = client.get("/workspace/quarantine").get_data(as_text=True)
    assert "notes.docx" in listing  # at once, not after a quarter of an hour
    other = signed_in(ws_app, "bu2@kirklees.example", "business-unit", "kirklees")
    assert other.get(answer.headers["Location"]).status_code == 404  # a batch is its uploader's


def test_upload_needs_a_file(ws_app):
    client = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    page = upload(client, [])
    assert page.status_code == 400 and "Choose the returned forms to upload" in page.get_data(as_text=True)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_photos_of_one_forms_pages_uploaded_together_are_read_as_that_form(ws_app):
    """Appendix 5 photographed page by page: uploaded with the box ticked, the photos are kept as one
    item, every photo's bytes as they came, shown by their names, and read together as the form's
    pages (page 2's answers joined to page 1's), in the order of their names."""
    from parsers.photoset import unpack
    from tests.parsers.scans import COPIER, on_page, photos, read_as_text, typed_values

    spec = registry().form("kirklees-appendix-5")
    want = validate_data(spec, sample(spec.id))
    pdf = render(spec, want, "pdf")
    first, second = photos(pdf, COPIER)
    client = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    answer = upload(client, [("IMG_10.jpg", second), ("IMG_9.jpg", first)], pages="y")  # IMG_9 is page 1
    found = rows(client.get(answer.headers["Location"]))
    assert [r[0] for r in found] == ["2 photos: IMG_9.jpg, IMG_10.jpg"] and found[0][2] == "Quarantined"
    with sessions(ws_app)() as session:
        item = session.scalars(select(ReceivedItem)).one()
        assert unpack(item.raw) == [("IMG_9.jpg", first), ("IMG_10.jpg", second)]  # byte for byte
        assert item.form_id == spec.id and item.parsed["confirm"], item.reason
        got = read_as_text(item.parsed["data"])
    typed = typed_values(want)
    page_two = on_page(pdf, want, 2)
    assert sum(got.get(k) == typed[k] for k in page_two) >= len(page_two) - 1, {k: got.get(k) for k in page_two}
    page = client.get(f"/workspace/quarantine/{item.id}").get_data(as_text=True)
    assert "Download 2 photos: IMG_9.jpg, IMG_10.jpg</a> (together in one zip file" in page
    original = client.get(f"/workspace/quarantine/{item.id}/original")
    assert original.headers["Content-Disposition"].endswith(f"received-{item.id}-photos.zip")
    assert original.mimetype == "application/zip" and unpack(original.get_data())[1] == ("IMG_10.jpg", second)


def test_files_that_are_not_one_forms_photos_are_refused_with_the_box_ticked(ws_app):
    client = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    out = io.BytesIO()
    Image.new("L", (40, 40), 255).save(out, format="PNG")
    photo = out.getvalue()
    for files, error in [
        (
            [("IMG_1.png", photo), ("notes.docx", document("kirklees-appendix-5"))],
            "notes.docx is not a photo or scan (JPEG, PNG, TIFF or HEIC): choose only the photos of one "
            "form's pages, or untick the box",
        ),
        ([(f"IMG_{n}.png", photo) for n in range(11)], "Choose at most 10 photos of one form's pages (you chose 11)"),
        (
            [("IMG_1.png", photo), ("IMG_2.png", photo + b"\0" * (20 * 1024 * 1024))],
            "IMG_2.png is larger than 20 MB: send a smaller photo of the page",
        ),
    ]:
        page = upload(client, files, pages="y")
        soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
        assert page.status_code == 400
        summary = soup.select_one(".govuk-error-summary a")
        assert summary.get_text(strip=True) == error and summary["href"] == "#files"
        assert soup.select_one("#pages").has_attr("checked")  # the person's choice kept
    with sessions(ws_app)() as session:
        assert session.scalars(select(ReceivedItem)).first() is None  # nothing stored


@pytest.fixture
def queued_app(db_engine, tmp_path):
    """The app with a real (SQLite) intake queue and no worker yet: jobs wait until the test runs them."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": db_engine,
            "INTAKE_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
            "INTAKE_QUEUE_NAME": "upload-test",
        }
    )
    with sessions(app)() as session:
        directory.seed(session)
    return app


def run_queued_jobs(app) -> int:
    """What a worker does, in this process: take each job off the queue and run it."""
    huey, ran = jobs.queue(app), 0
    while (job := huey.dequeue()) is not None:
        huey.execute(job)
        ran += 1
    return ran


def test_the_batch_page_refreshes_while_files_wait_and_the_inbox_shows_them(queued_app):
    client = signed_in(queued_app, "bu@kirklees.example", "business-unit", "kirklees")
    answer = upload(
        client, [("k5.docx", document("kirklees-appendix-5")), ("k5.pdf", document("kirklees-appendix-5", "pdf"))]
    )
    batch = answer.headers["Location"]
    page = client.get(batch)
    assert [r[2] for r in rows(page)] == ["Received, waiting to be read"] * 2
    assert refresh_of(page) == "3" and "0 of 2 read; 2 still to read" in page.get_data(as_text=True)
    # The person can stop the page reloading itself (WCAG 2.2.1), and start it again.
    stop = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one("#stop-refresh")["href"]
    stopped = client.get(stop)
    assert refresh_of(stopped) is None and "0 of 2 read" in stopped.get_data(as_text=True)
    start = BeautifulSoup(stopped.get_data(as_text=True), "html.parser").select_one("#start-refresh")["href"]
    assert refresh_of(client.get(start)) == "3"
    inbox = BeautifulSoup(client.get("/workspace/inbox").get_data(as_text=True), "html.parser")
    assert "Being read: 2 returned files" in inbox.select_one("#being-read").get_text(" ", strip=True)

    status = json.loads(queued_app.test_cli_runner().invoke(args=["intake-status"]).output)
    assert status["waiting"] == 2 and status["jobs_queued"] == 2 and status["readers_stopped"] == 0

    assert run_queued_jobs(queued_app) == 2
    page = client.get(batch)
    assert [r[2] for r in rows(page)] == ["Read: applied to case"] * 2 and refresh_of(page) is None
    inbox = BeautifulSoup(client.get("/workspace/inbox").get_data(as_text=True), "html.parser")
    assert inbox.select_one("#being-read") is None


def test_running_a_quarantined_file_again_is_a_job_too(queued_app):
    """The person's choices are kept on the item, so the job that reads it (here the sweep's, as if the
    first job were lost) applies them; meanwhile the item's page says so and refreshes itself."""
    from service.intake.models import ReceivedItem
    from tests.parsers.test_docx import LEGACY
    from tests.workspace.support import csrf_from

    client = signed_in(queued_app, "bu@nt.example", "business-unit", "north-tyneside")
    upload(client, [("appendix-a.docx", (LEGACY / "nt-appendix-a.docx").read_bytes())])
    assert run_queued_jobs(queued_app) == 1
    with sessions(queued_app)() as session:
        item = session.scalars(select(ReceivedItem)).one()
    assert item.status == "quarantined"
    page = client.get(f"/workspace/quarantine/{item.id}").get_data(as_text=True)
    from tests.workspace.test_quarantine import _posted  # the correction form as a browser posts it

    corrected = _posted(item.parsed["data"], {"stage": "3", "receiving_agency": "Children's Social Care"})
    done = client.post(
        f"/workspace/quarantine/{item.id}/rerun",
        data={**corrected, "rerun-form_id": "", "rerun-csrf_token": csrf_from(page)},
    )
    assert done.headers["Location"].endswith(f"/workspace/quarantine/{item.id}")  # not read yet: its page
    waiting = client.get(done.headers["Location"])
    assert refresh_of(waiting) == "3" and "It is being read again" in waiting.get_data(as_text=True)
    jobs.queue(queued_app).flush()  # the job is lost (say Redis restarted without its data)
    later = dt.datetime.now(dt.UTC) + claims.requeue_after() + dt.timedelta(seconds=1)
    with sessions(queued_app)() as session:
        assert claims.stalled(session, later) == [item.id]
    jobs.enqueue(queued_app, [item.id])  # what the sweep does with what it found
    assert run_queued_jobs(queued_app) == 1
    with sessions(queued_app)() as session:
        again = session.get(ReceivedItem, item.id)
        assert again.status == "accepted" and again.reviewed_by == "bu@nt.example" and again.rerun is None
    assert refresh_of(client.get(f"/workspace/quarantine/{item.id}")) is None
