"""Returned files read by real `flask --app app worker` processes: a worker killed in the middle of a job
(another finishes it, nothing doubled), Redis stopped and started (jobs wait, then run), and 500 mixed
documents through 3 worker processes on Redis and through one on the SQLite queue (none lost or
doubled), 50 of them scans whose answers OCR read wait, prefilled, for a person to confirm. Each prints a
FIGURE line."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import select

from forms import registry
from parsers.scan import CONFIRM
from service.intake import jobs
from service.intake.models import ReceivedItem
from tests.intake.workers import (
    Shared,
    Worker,
    queue_name,
    returns,
    scans,
    shared_database,
    store_all,
    tally,
    wait_until_read,
    with_scans,
)
from tests.support.redis_server import own_redis

own_redis = own_redis  # the fixture: a redis-server of the test's own
pytestmark = pytest.mark.slow


def check_none_lost_or_doubled(engine, files) -> dict:
    """From the database: every readable file applied once (one submission, each recipient told once),
    every unreadable one quarantined, every scan waiting for a person with its own answers."""
    found = tally(engine)
    names = {name for name, _ in files}
    scanned = {name for name in names if "-scan." in name}
    unreadable = {name for name in names if "unreadable" in name}
    applied = names - scanned - unreadable
    assert +found["states"] == +Counter(accepted=len(applied), quarantined=len(unreadable) + len(scanned)), found
    assert found["submissions"] == len(applied) and max(found["per_file"].values()) == 1  # none doubled
    assert set(found["per_file"]) == applied  # none lost
    assert max(found["outbox"].values()) == 1  # each recipient told once of each submission (a notification, a receipt)
    if scanned:
        check_scans_wait_for_a_person(engine, scanned)
    return found


def check_scans_wait_for_a_person(engine, names: set[str]) -> None:
    """Each scan read once and held for a person to confirm (never applied unseen), its answers prefilled:
    the form it is and the name written on it, not another scan's."""
    made = scans(len(names), one_page=True)
    item = ReceivedItem
    with engine.connect() as connection:
        rows = connection.execute(
            select(item.filename, item.status, item.reason, item.form_id, item.parsed, item.submission_id)
            .add_columns(item.case_reference, item.read_starts)
            .where(item.filename.in_(names))
        ).all()
    assert sorted(r.filename for r in rows) == sorted(names)  # each stored once
    for row in rows:
        _, form_id, person = made[row.filename]
        assert (row.status, row.form_id, row.submission_id, row.case_reference) == ("quarantined", form_id, None, None)
        assert row.reason.startswith(CONFIRM) and row.parsed["confirm"] == CONFIRM, row.reason
        assert row.parsed["data"][registry().form(form_id).field_for("raiser_name").key] == person, row.filename
        assert row.read_starts == 1, row.filename


@pytest.mark.parametrize("postgres", [False, pytest.param(True, marks=pytest.mark.postgres)], ids=["sqlite", "pg"])
def test_a_worker_killed_mid_job_another_finishes_it(tmp_path, capsys, postgres):
    files = returns(12, junk_every=1000)
    with shared_database(tmp_path, postgres) as (engine, url):
        shared = Shared(engine, url, f"sqlite:///{tmp_path / 'queue.sqlite3'}", queue_name())
        app = shared.app()
        store_all(app, files)
        first = Worker(shared, 1, tmp_path / "first.log", lease=3)
        try:
            killed = None  # the item the first worker was reading (its parser starting) when it was killed
            deadline = time.monotonic() + 60
            while killed is None and time.monotonic() < deadline:
                with engine.connect() as connection:
                    killed = connection.scalar(select(ReceivedItem.id).where(ReceivedItem.status == "reading"))
                time.sleep(0.005)
            assert killed is not None, (tmp_path / "first.log").read_text()
            first.kill()
        finally:
            first.stop()
        killed_at = time.monotonic()
        with engine.connect() as connection:
            assert connection.scalar(select(ReceivedItem.status).where(ReceivedItem.id == killed)) == "reading"
        second = Worker(shared, 2, tmp_path / "second.log", lease=3)
        try:
            wait_until_read(engine, len(files), timeout=120)
        finally:
            second.stop()
        taken_over = time.monotonic() - killed_at
        found = check_none_lost_or_doubled(engine, files)
        with engine.connect() as connection:
            again = connection.execute(select(ReceivedItem).where(ReceivedItem.id == killed)).one()
    assert again.status == "accepted" and again.read_starts == 2  # read by another, after the first stopped
    with capsys.disabled():
        print(
            f"\nFIGURE fault intake worker killed mid-job ({'PostgreSQL' if postgres else 'SQLite'}): items {len(files)}, "
            f"killed while reading item {killed}, all read {taken_over:.1f} s later (lease 3 s), "
            f"lost 0, doubled 0, reading starts {dict(found['starts'])}"
        )


def test_redis_stopped_and_started_jobs_wait_then_run(tmp_path, own_redis, capsys):
    files = returns(30, junk_every=1000)
    first, second, third = files[:10], files[10:20], files[20:]
    with shared_database(tmp_path, False) as (engine, url):
        shared = Shared(engine, url, own_redis.url, queue_name())
        app = shared.app()
        worker = Worker(shared, 2, tmp_path / "worker.log")
        try:
            store_all(app, first)
            wait_until_read(engine, 10, timeout=120)
            own_redis.stop()
            stopped_at = time.monotonic()
            store_all(app, second)  # stored, answered; the queue is down, so they wait for the sweep
            assert not jobs.enqueue(app, [1])  # (the queue says it cannot take a job)
            time.sleep(3)
            with engine.connect() as connection:
                waiting = connection.scalar(select(ReceivedItem.id).where(ReceivedItem.status == "received").limit(1))
            assert waiting is not None  # nothing read while Redis is down
            own_redis.start()
            down = time.monotonic() - stopped_at
            store_all(app, third)
            took = wait_until_read(engine, 30, timeout=120)
        finally:
            worker.stop()
        check_none_lost_or_doubled(engine, files)
    with capsys.disabled():
        print(
            f"\nFIGURE fault redis stopped and started under the intake workers: down {down:.1f} s, "
            f"items stored while down 10 (read {took:.1f} s after it came back), lost 0, doubled 0"
        )


@pytest.mark.parametrize(
    "queue, processes, postgres",
    [
        pytest.param("redis", 3, True, marks=pytest.mark.postgres, id="redis-3-workers-postgresql"),
        pytest.param("redis", 3, False, id="redis-3-workers-sqlite"),
        pytest.param("sqlite", 1, False, id="sqlite-queue-1-worker"),
    ],
)
def test_500_mixed_documents_with_50_scans_none_lost_or_doubled(tmp_path, request, capsys, queue, processes, postgres):
    files = with_scans(500, 50)
    with shared_database(tmp_path, postgres) as (engine, url):
        redis = request.getfixturevalue("own_redis") if queue == "redis" else None
        queue_url = redis.url if redis else f"sqlite:///{tmp_path / 'queue.sqlite3'}"
        shared = Shared(engine, url, queue_url, queue_name())
        app = shared.app()
        worker = Worker(shared, processes, tmp_path / "worker.log")
        try:
            start = time.monotonic()
            store_all(app, files)
            stored = time.monotonic() - start
            took = wait_until_read(engine, len(files), timeout=600) + stored
        finally:
            worker.stop()
        found = check_none_lost_or_doubled(engine, files)
    assert found["starts"] == Counter({1: len(files)})  # each item read once: none taken up twice
    with capsys.disabled():
        print(
            f"\nFIGURE intake 500 mixed documents with 50 scans, {processes} worker process(es), {queue} queue, "
            f"{'PostgreSQL' if postgres else 'SQLite'}: stored in {stored:.1f} s, all read in {took:.1f} s "
            f"({len(files) / took:.1f}/s), {dict(found['states'])} (50 scans waiting to be confirmed), lost 0, "
            f"doubled 0, reading starts {dict(found['starts'])}"
        )
