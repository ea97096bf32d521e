"""PostgreSQL restarted in the middle of an ingest, on a server of the test's own (tests/pg_instance.py).

Returned DOCX documents are stored one after another, as a channel does (service.intake.ingest.store),
and queued; a real worker process (`flask --app app worker`) reads them (parsed in the limited
worker, case created, routed, outbox written) while the server is restarted with every connection
cut. Like a mail or upload channel, the caller keeps an input until it is stored: on a database
error it waits and sends it again (the bytes are known by their hash, so a resend is never a second
item). A job cut by the restart is retried with backoff and takes its item back (its claim), so
nothing waits for a person. After the restart the app must answer again without being restarted
itself. The FIGURE line gives inputs, faults survived, items lost and doubled (both must be 0).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from forms import registry
from service import db
from service.casework import directory
from service.casework.models import Submission
from service.documents import records as documents
from service.intake import ingest as pipeline
from service.intake import jobs, review
from service.intake.models import ReceivedItem
from tests import pg_instance
from tests.conftest import sample
from tests.intake.workers import Shared, Worker, queue_name, wait_until_read

FORM = "nt-appendix-a"
COUNT = 30
RESTART_AFTER = 10
own_postgres = pg_instance.own_postgres  # the fixture: a server of this module's own


def documents_to_ingest() -> list[bytes]:
    spec = registry().form(FORM)
    text_key = next(f.key for f in spec.fields if f.type == "textarea")
    out = []
    for i in range(COUNT):
        data = {**sample(FORM), text_key: f"{sample(FORM)[text_key]} (return {i})"}
        out.append(documents.render(spec, data, "docx"))
    return out


def ingest(app, content: bytes, faults: list, outcomes: list) -> None:
    """One document stored and queued, sent again after a database fault until it is stored."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with db.sessions(app)() as session:
                stored = pipeline.store(session, content, channel="upload", filename="returned.docx")
            outcomes.append(stored.status)
            jobs.enqueue(app, [stored.item_id])
            return
        except DBAPIError as exc:
            faults.append(type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
            assert time.monotonic() < deadline, "the database did not come back within 60 s"
            time.sleep(0.2)


def test_postgresql_restarted_mid_ingest(own_postgres, capsys, tmp_path):
    engine = db.make_engine(own_postgres.url)
    db.upgrade(engine)
    shared = Shared(engine, own_postgres.url, f"sqlite:///{tmp_path / 'queue.sqlite3'}", queue_name())
    app = shared.app()
    with db.sessions(app)() as session:
        directory.seed(session)
    inputs = documents_to_ingest()
    faults: list[str] = []
    outcomes: list[str] = []
    progress = threading.Semaphore(0)

    def run():
        for content in inputs:
            ingest(app, content, faults, outcomes)
            progress.release()

    reader = Worker(shared, 1, tmp_path / "worker.log")
    try:
        worker = threading.Thread(target=run)
        worker.start()
        for _ in range(RESTART_AFTER):
            assert progress.acquire(timeout=120)
        own_postgres.restart()
        worker.join(300)
        assert not worker.is_alive()
        wait_until_read(engine, len(inputs), timeout=300)
    finally:
        reader.stop()

    client = app.test_client()
    ready = client.get("/readyz")
    with db.sessions(app)() as session:
        waiting_for_a_person = len(review.for_review(session))  # none: the cut jobs were retried
        starts = Counter(session.scalars(select(ReceivedItem.read_starts)))
        digests = [hashlib.sha256(raw).hexdigest() for raw in session.scalars(select(Submission.raw)) if raw]
        items = Counter(session.scalars(select(ReceivedItem.status)))
    expected = {hashlib.sha256(c).hexdigest() for c in inputs}
    lost = len(expected - set(digests))
    doubled = len(digests) - len(set(digests))
    engine.dispose()
    with capsys.disabled():
        print(
            f"\nFIGURE fault postgresql restarted mid-ingest: inputs {len(inputs)}, restarts 1, "
            f"faults survived {len(faults)} ({', '.join(sorted(set(faults))) or 'none'}), "
            f"items lost {lost}, doubled {doubled}, ready after restart {ready.status_code == 200}; "
            f"left for a person {waiting_for_a_person}; store answers {dict(Counter(outcomes))}; "
            f"reading starts {dict(starts)}"
        )
    assert lost == 0 and doubled == 0 and len(digests) == len(inputs)
    assert items == {"accepted": len(inputs)} and waiting_for_a_person == 0
    assert ready.status_code == 200, ready.get_json()
