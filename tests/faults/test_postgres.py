"""PostgreSQL restarted in the middle of an ingest, on a server of the test's own (tests/pg_instance.py).

Returned DOCX documents go through the ingestion pipeline (service.intake.ingest: raw bytes stored first,
parsed in the limited worker, case created, routed, outbox written) one after another while the
server is restarted with every connection cut. Like a mail or upload channel, the caller keeps an
input until the pipeline has taken it: on a database error it waits and sends it again (the
pipeline knows the bytes by their hash, so a resend is never a second case; one whose reading the
cut interrupted is put in front of a person, who runs it again). After the restart the app
must answer again without being restarted itself. The FIGURE line gives inputs, faults survived,
items lost and doubled (both must be 0).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app import create_app
from forms import registry
from service import db
from service.casework import directory
from service.casework.models import Submission
from service.documents import records as documents
from service.intake import ingest as pipeline
from service.intake.models import ReceivedItem
from tests import pg_instance
from tests.conftest import sample

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
    """One document through the pipeline, sent again after a database fault until it is taken."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with db.sessions(app)() as session:
                outcomes.append(pipeline.ingest(session, content, channel="upload", filename="returned.docx").status)
            return
        except DBAPIError as exc:
            faults.append(type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
            assert time.monotonic() < deadline, "the database did not come back within 60 s"
            time.sleep(0.2)


def test_postgresql_restarted_mid_ingest(own_postgres, capsys):
    engine = db.make_engine(own_postgres.url)
    db.upgrade(engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": engine})
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

    worker = threading.Thread(target=run)
    worker.start()
    for _ in range(RESTART_AFTER):
        assert progress.acquire(timeout=120)
    own_postgres.restart()
    worker.join(300)
    assert not worker.is_alive()

    client = app.test_client()
    ready = client.get("/readyz")
    with db.sessions(app)() as session:
        # An input stored just before the cut, then sent again, is put in front of a person (quarantined,
        # with the reason); a person runs it again, as from the workspace's quarantine page.
        interrupted = pipeline.for_review(session)
        assert all("interrupted" in item.reason for item in interrupted)
        for item in interrupted:
            assert pipeline.reprocess(session, item.id, actor="bu@ntscp.example").status == "accepted"
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
            f"interrupted and run again from review {len(interrupted)}; pipeline answers {dict(Counter(outcomes))}"
        )
    assert lost == 0 and doubled == 0 and len(digests) == len(inputs)
    assert items == {"accepted": len(inputs)}
    assert ready.status_code == 200, ready.get_json()
