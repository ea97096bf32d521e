"""Exactly once, enforced by the database: a stored item is claimed by one reader with an atomic
update, and its outcome is written only while the claim is still that reader's (inside the case's
transaction). Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from service.casework.models import Submission
from service.db import sessions
from service.intake import claims, ingest
from service.intake.models import ReceivedItem
from tests.intake.test_ingest import document


def stored(session, form_id: str = "kirklees-appendix-5") -> int:
    outcome = ingest.store(session, document(form_id), channel="upload", filename="k5.docx")
    assert outcome.status == "received" and outcome.reason is None
    return outcome.item_id


def submissions(session) -> int:
    return session.scalar(select(func.count()).select_from(Submission))


def test_an_item_read_twice_is_applied_once(db_session):
    item_id = stored(db_session)
    assert ingest.read(db_session, item_id, claim="job-a").status == "accepted"
    assert ingest.read(db_session, item_id, claim="job-a") is None  # the same job delivered again
    assert ingest.read(db_session, item_id, claim="job-b") is None  # another job for the same item
    assert submissions(db_session) == 1
    item = db_session.get(ReceivedItem, item_id, populate_existing=True)
    assert item.status == "accepted" and item.read_starts == 1 and item.read_at and item.lease_until is None


def test_only_one_reader_holds_an_item_and_a_retry_takes_it_back(db_session):
    item_id = stored(db_session)
    assert claims.claim(db_session, item_id, "job-a") is not None
    assert claims.claim(db_session, item_id, "job-b") is None  # held, lease running
    again = claims.claim(db_session, item_id, "job-a")  # the same job retried after a database fault
    assert again is not None and again.read_starts == 1


def test_a_reader_overtaken_after_its_lease_applies_nothing(db_app, db_session):
    item_id = stored(db_session)
    slow_session = sessions(db_app)()  # the slow worker's own connection
    slow = claims.claim(slow_session, item_id, "slow-job")
    assert slow is not None
    # Its lease runs out (the worker stalled); another worker takes the item over.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.execute(update(ReceivedItem).where(ReceivedItem.id == item_id).values(lease_until=past))
    db_session.commit()
    taken = claims.claim(db_session, item_id, "other-job")
    assert taken is not None and taken.read_starts == 2
    # The slow reader now tries to apply the item with its old claim: its case change is rolled back.
    assert slow.claim == "slow-job"
    with db_app.app_context():
        assert ingest._guarded(slow_session, slow, None, trusted=True) is None
    slow_session.close()
    assert submissions(db_session) == 0
    # The reader that holds it applies it, once.
    assert ingest._guarded(db_session, taken, None, trusted=True).status == "accepted"
    assert submissions(db_session) == 1


def test_a_document_fault_ends_in_quarantine_at_once(db_session):
    outcome = ingest.store(db_session, b"not a document at all", channel="upload", filename="notes.docx")
    read = ingest.read(db_session, outcome.item_id, claim="job-a")
    assert read.status == "quarantined" and read.reason  # never raised for a retry


def test_stalled_items_are_found_and_one_stopped_too_often_is_quarantined(db_session):
    now = dt.datetime.now(dt.UTC)
    waiting, stopped, fresh = (
        stored(db_session),
        stored(db_session, "nt-appendix-a"),
        stored(db_session, "merton-disagreement-record"),
    )
    earlier = now - dt.timedelta(minutes=1)
    db_session.execute(update(ReceivedItem).where(ReceivedItem.id.in_([waiting, stopped])).values(received_at=earlier))
    db_session.execute(
        update(ReceivedItem)
        .where(ReceivedItem.id == stopped)
        .values(status="reading", claim="dead", lease_until=earlier, read_starts=claims.MAX_STARTS)
    )
    db_session.commit()
    assert claims.stalled(db_session, now) == [waiting, stopped]  # the fresh one is left to its job
    assert claims.stalled(db_session, now) == []  # marked queued: not again straight away
    outcome = ingest.read(db_session, stopped, claim="sweep-job")
    assert outcome.status == "quarantined" and "stopped part-way 3 times" in outcome.reason
    claims.mark_queued(db_session, [fresh], now)  # its channel queued it: the sweep leaves it to that job
    assert claims.stalled(db_session, now + dt.timedelta(seconds=30)) == []
    assert fresh in claims.stalled(db_session, now + claims.requeue_after() + dt.timedelta(seconds=1))


def test_a_database_fault_retries_the_job_with_backoff(tmp_path):
    """The database refuses connections (nothing listens on its port): the job raises, and Huey puts
    it back on the queue's schedule to run again in RETRY_DELAY seconds, with one retry fewer."""
    from app import create_app
    from service.db import make_engine
    from service.intake import jobs
    from tests.support.ports import free_port

    down = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/escalate?connect_timeout=2")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": down,
            "INTAKE_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        }
    )
    huey = jobs.queue(app)
    assert jobs.enqueue(app, [7])  # queued (marking it queued in the database fails quietly)
    job = huey.dequeue()
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    huey.execute(job)  # as a worker runs it
    (retry,) = huey.scheduled()
    assert retry.id == job.id and retry.retries == jobs.RETRIES - 1  # the same job: it keeps its claim
    assert dt.timedelta(seconds=1) < retry.eta - before <= dt.timedelta(seconds=jobs.RETRY_DELAY + 1)
    assert huey.pending_count() == 0
    huey.storage.flush_schedule()
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    huey.execute(retry, retry.eta)  # its time came, still down: the next try waits twice as long
    (again,) = huey.scheduled()
    assert again.retries == jobs.RETRIES - 2
    assert (
        dt.timedelta(seconds=2 * jobs.RETRY_DELAY - 1)
        < again.eta - before
        <= dt.timedelta(seconds=2 * jobs.RETRY_DELAY + 1)
    )


def test_a_living_reader_renews_its_lease_until_max_hold_then_says_it_stopped(db_session, monkeypatch, caplog):
    """The heartbeat moves the lease on while the reader works; a reader still holding the item after
    max_hold() stops renewing (another may take it over), and the log says so rather than going quiet."""
    import logging
    import threading
    import time

    monkeypatch.setenv("INTAKE_LEASE_SECONDS", "0.6")  # a renewal every 0.2 s
    monkeypatch.setenv("INTAKE_MAX_HOLD_SECONDS", "1.5")
    item_id = stored(db_session)

    def lease_until():
        with db_session.get_bind().connect() as connection:  # not the reader's session: what is committed
            return connection.scalar(select(ReceivedItem.lease_until).where(ReceivedItem.id == item_id))

    def beating() -> bool:
        return any(t.name == f"lease-{item_id}" for t in threading.enumerate())

    with (
        caplog.at_level(logging.WARNING, logger="service.intake.claims"),
        claims.holding(db_session, item_id, "job-a") as item,
    ):
        assert item is not None
        first = lease_until()
        time.sleep(1.0)
        assert lease_until() > first  # renewed while the reader lives
        deadline = time.monotonic() + 10
        while beating() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not beating()  # past max_hold: it stopped, the block still running
    assert f"item {item_id} still held by its reader" in caplog.text and "no longer renewed" in caplog.text
