"""PostgreSQL restarted in the middle of an ingest, on a server of the test's own (tests/pg_instance.py).

Returned DOCX documents are read (parsers) and recorded (cases.submit, channel "upload", the raw bytes
kept) one after another while the server is restarted with every connection cut. Like a mail or
upload channel, the ingest keeps an input until it is stored: on a database error it waits and tries
again, first checking by content whether the input was in fact stored. After the restart the app
must answer again without being restarted itself. The FIGURE line gives inputs, faults survived,
items lost and doubled (both must be 0).
"""

from __future__ import annotations

import hashlib
import threading
import time

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

import parsers
from app import create_app
from forms import registry
from service import cases, db, directory, documents
from service.models import Submission
from tests import pg_instance
from tests.conftest import sample

FORM = "nt-appendix-a"
COUNT = 40
RESTART_AFTER = 12
own_postgres = pg_instance.own_postgres  # the fixture: a server of this module's own


def documents_to_ingest() -> list[bytes]:
    spec = registry().form(FORM)
    text_key = next(f.key for f in spec.fields if f.type == "textarea")
    out = []
    for i in range(COUNT):
        data = {**sample(FORM), text_key: f"{sample(FORM)[text_key]} (return {i})"}
        out.append(documents.render(spec, data, "docx"))
    return out


def stored(app, digest: str) -> bool:
    with db.sessions(app)() as session:
        return any(hashlib.sha256(raw).hexdigest() == digest for raw in session.scalars(select(Submission.raw)) if raw)


def ingest(app, content: bytes, faults: list) -> None:
    """Read and record one document, retrying through database faults until it is stored once."""
    spec = registry().form(FORM)
    result = parsers.parse(content, "returned.docx")
    data, problems = result.canonical(spec)
    assert result.form_id == FORM and problems == {}
    digest = hashlib.sha256(content).hexdigest()
    deadline = time.monotonic() + 60
    while True:
        try:
            if faults and stored(app, digest):  # after a fault: the commit may have happened before the cut
                return
            with db.sessions(app)() as session:
                cases.submit(session, FORM, data, channel="upload", raw=content, filename="returned.docx")
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
    progress = threading.Semaphore(0)

    def run():
        for content in inputs:
            ingest(app, content, faults)
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
        digests = [hashlib.sha256(raw).hexdigest() for raw in session.scalars(select(Submission.raw)) if raw]
    expected = {hashlib.sha256(c).hexdigest() for c in inputs}
    lost = len(expected - set(digests))
    doubled = len(digests) - len(set(digests))
    engine.dispose()
    with capsys.disabled():
        print(
            f"\nFIGURE fault postgresql restarted mid-ingest: inputs {len(inputs)}, restarts 1, "
            f"faults survived {len(faults)} ({', '.join(sorted(set(faults))) or 'none'}), "
            f"items lost {lost}, doubled {doubled}, ready after restart {ready.status_code == 200}"
        )
    assert lost == 0 and doubled == 0 and len(digests) == len(inputs)
    assert ready.status_code == 200, ready.get_json()
