"""A reader renews its lease while it lives: a reading longer than the lease (OCR of a scan, a Word
97-2003 file converted by LibreOffice) is read once by real `flask --app app worker` processes whose
sweep runs every second, and a reader killed part-way is still taken over once its lease runs out."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
from sqlalchemy import select

from forms import registry
from forms.schema import validate_data
from service.intake.models import ReceivedItem
from tests.conftest import sample
from tests.intake.workers import Shared, Worker, queue_name, shared_database, store_all, tally, wait_until_read

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed (make test-tools)"),
]
# Seconds: the 6-page scan takes 9 to 18 s to read on these machines, the .doc 1 to 4 s. Renewed every
# third of it, the lease outlives a renewal late by two thirds of it: with 2 s, one late by 1.4 s on a
# loaded machine (three readers doing OCR on two cores) let the sweep hand the scan to a second reader.
LEASE = 4
# Forms of two pages each: the scan ends quarantined, read by OCR (a person confirms what it read).
PAGES = ("nt-appendix-a", "merton-disagreement-record", "sscp-early-disagreement")
POSTGRES = [False, pytest.param(True, marks=pytest.mark.postgres)]


def scan(*form_ids: str) -> bytes:
    """A copier's scan (PDF of page images) of the forms' records, one after the other."""
    import io

    import pypdfium2 as pdfium

    from service.documents.records import render
    from tests.parsers.scans import CLEAN, scanned

    pages = pdfium.PdfDocument.new()
    for form_id in form_ids:
        spec = registry().form(form_id)
        pages.import_pages(pdfium.PdfDocument(render(spec, validate_data(spec, sample(form_id)), "pdf")))
    out = io.BytesIO()
    pages.save(out)
    return scanned(out.getvalue(), CLEAN, "pdf")


def word_97(form_id: str, tmp_path) -> bytes:
    from service.documents.records import render
    from tests.parsers.test_docx import soffice_convert

    source = tmp_path / f"{form_id}.docx"
    source.write_bytes(render(registry().form(form_id), sample(form_id), "docx"))
    return soffice_convert([source], "doc", tmp_path)[0].read_bytes()


def item(engine, item_id: int):
    with engine.connect() as connection:
        return connection.execute(select(ReceivedItem).where(ReceivedItem.id == item_id)).one()


@pytest.mark.parametrize("postgres", POSTGRES, ids=["sqlite", "pg"])
def test_a_reading_longer_than_the_lease_is_read_once(tmp_path, capsys, postgres):
    files = [("scan.pdf", scan(*PAGES)), ("returned.doc", word_97("kirklees-appendix-5", tmp_path))]
    with shared_database(tmp_path, postgres) as (engine, url):
        shared = Shared(engine, url, f"sqlite:///{tmp_path / 'queue.sqlite3'}", queue_name())
        ids = store_all(shared.app(), files)
        # Three processes and a sweep every second: an item whose lease ran out would be read again at once.
        worker = Worker(shared, 3, tmp_path / "worker.log", lease=LEASE)
        try:
            wait_until_read(engine, len(files), timeout=120)
        finally:
            worker.stop()
        found = tally(engine)
        read = [item(engine, i) for i in ids]
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert [r.read_starts for r in read] == [1, 1], log  # never taken over while its reader lived
    assert read[0].status == "quarantined" and "OCR" in read[0].reason  # a scan waits for a person
    assert read[1].status == "accepted" and found["per_file"]["returned.doc"] == 1  # applied once
    assert found["submissions"] == 1 and max(found["outbox"].values()) == 1
    seconds = [(r.read_at - r.read_started_at).total_seconds() for r in read]
    # The scan outlasted its lease and two sweeps after it (else this proves nothing).
    assert seconds[0] > LEASE + 2
    with capsys.disabled():
        print(
            f"\nFIGURE intake lease renewed ({'PostgreSQL' if postgres else 'SQLite'}): lease {LEASE} s, scan read in "
            f"{seconds[0]:.1f} s, .doc in {seconds[1]:.1f} s, each read once"
        )


@pytest.mark.parametrize("postgres", POSTGRES, ids=["sqlite", "pg"])
def test_a_reader_killed_while_renewing_is_taken_over(tmp_path, postgres):
    with shared_database(tmp_path, postgres) as (engine, url):
        shared = Shared(engine, url, f"sqlite:///{tmp_path / 'queue.sqlite3'}", queue_name())
        (item_id,) = store_all(shared.app(), [("scan.pdf", scan(*reversed(PAGES)))])
        first = Worker(shared, 1, tmp_path / "first.log", lease=LEASE)
        try:
            renewed, deadline = None, time.monotonic() + 60
            while renewed is None and time.monotonic() < deadline:
                now = item(engine, item_id)
                if now.status != "reading":
                    assert now.status == "received", (tmp_path / "first.log").read_text(errors="replace")
                # Renewed: held for more than a lease, its lease still running past the first one.
                elif now.lease_until > now.read_started_at + dt.timedelta(seconds=LEASE * 1.2) and (
                    dt.datetime.now(dt.UTC) > now.read_started_at + dt.timedelta(seconds=LEASE * 1.2)
                ):
                    renewed = now
                time.sleep(0.05)
            assert renewed is not None, (tmp_path / "first.log").read_text(errors="replace")
            first.kill()  # SIGKILL to the reader, its lease thread and its OCR: nothing renews it now
        finally:
            first.stop()
        assert item(engine, item_id).status == "reading"
        second = Worker(shared, 1, tmp_path / "second.log", lease=LEASE)
        try:
            wait_until_read(engine, 1, timeout=120)
        finally:
            second.stop()
        again = item(engine, item_id)
    assert renewed.read_starts == 1
    assert again.read_starts == 2 and again.status == "quarantined" and "OCR" in again.reason
