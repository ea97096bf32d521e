"""The intake queue: every stored item is read by a job on Huey (MIT), never inside the request or
mail session that brought it.

The queue lives in SQLite in the instance folder by default (one machine, nothing to run besides a
worker) or in Redis (`INTAKE_QUEUE_URL=redis://host:6379/0`) when worker machines share the work.
A job carries only the item's number: the bytes are in the database, and the database, not the
queue, says what is done (service.intake.claims), so a job delivered twice, retried or lost costs
nothing. A database fault while reading raises and Huey retries it with backoff (2 s doubling,
about half an hour in all); the input's own faults end as quarantined inside the job. The sweep
(every worker runs it, every minute by default) queues again what the queue lost: items stored
while the queue was down, and items whose reader stopped part-way (its lease ran out).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey

from service import db
from service.intake import claims, uploads

log = logging.getLogger(__name__)
RETRIES = 10  # a database fault: tried again after 2, 4, 8 ... 1024 s
RETRY_DELAY = 2
READ = "intake.read"


def queue_url(app: Flask) -> str:
    url = app.config.get("INTAKE_QUEUE_URL") or os.environ.get("INTAKE_QUEUE_URL")
    return url or f"sqlite:///{Path(app.instance_path) / 'intake-queue.sqlite3'}"


def queue(app: Flask) -> Huey:
    """The app's intake queue, made on first use (so an app that never queues makes no file)."""
    found = app.extensions.get("intake_queue")
    if found is None:
        found = app.extensions["intake_queue"] = _make(app)
    return found


def _make(app: Flask) -> Huey:
    name = app.config.get("INTAKE_QUEUE_NAME") or os.environ.get("INTAKE_QUEUE_NAME") or "escalate-intake"
    url = queue_url(app)
    if app.config.get("INTAKE_QUEUE_IMMEDIATE"):
        # Tests: each job runs inside enqueue, in this process (Huey's immediate mode, in memory).
        huey = SqliteHuey(name, immediate=True, results=False)
    elif url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(name, url=url, results=False)
    elif url.startswith("sqlite:///"):
        huey = SqliteHuey(name, filename=url.removeprefix("sqlite:///"), results=False)
    else:
        raise ValueError(f"INTAKE_QUEUE_URL: {url!r} is neither redis://host:port/db nor sqlite:///path")
    _register(app, huey)
    return huey


def _register(app: Flask, huey: Huey) -> None:
    @huey.task(retries=RETRIES, retry_delay=RETRY_DELAY, retry_backoff=2, context=True, name=READ)
    def read(item_id: int, form_id: str | None = None, task=None):
        # The job's id is its claim: a retry of this job takes its own item back at once. Imported here:
        # a command that only queues (`flask ingest`) loads nothing of reading and applying.
        from service.intake import ingest

        with app.app_context(), db.sessions(app)() as session:
            outcome = ingest.read(session, item_id, claim=task.id, form_id=form_id)
        return None if outcome is None else outcome.status

    @huey.periodic_task(crontab(), name="intake.sweep")
    def periodic_sweep():
        sweep(app)

    @huey.on_startup()
    def fresh_connections():
        # A forked worker process must not share its parent's database connections.
        db.engine(app).dispose(close=False)

    @huey.on_startup()
    def reader_ready():
        # Each worker process starts its sandboxed reader now, not when its first job comes.
        from parsers import sandbox

        sandbox.warm()

    app.extensions["intake_read"] = read


def sweep(app: Flask) -> int:
    """Queue again what the queue lost (see claims.stalled); how many items. Old upload batches go
    too, and duplicates of an e-mail are given the case its applied copy made if they still lack it."""
    from service.intake import matching  # of reading: not loaded by a command that only queues

    with app.app_context(), db.sessions(app)() as session:
        stalled = claims.stalled(session)
        uploads.forget_old_batches(session)
        matching.share_case(session)
    if stalled:
        log.warning("intake sweep: %d items queued again", len(stalled))
        enqueue(app, stalled)
    return len(stalled)


def enqueue(app: Flask, item_ids: list[int], form_id: str | None = None) -> bool:
    """Put a reading job on the queue for each item; False when the queue cannot be reached (the items
    are stored all the same, and the sweep queues them once it can)."""
    item_ids = [i for i in item_ids if i is not None]
    if not item_ids:
        return True
    huey = queue(app)
    read = app.extensions["intake_read"]
    try:
        for item_id in item_ids:
            read(item_id, form_id) if form_id else read(item_id)
    except Exception as exc:  # Redis down, or the queue's file locked: the sweep will queue them
        log.warning("intake queue unreachable (%s); %d items wait for the sweep", type(exc).__name__, len(item_ids))
        return False
    if not huey.immediate:
        try:  # only spares the sweep a needless job: the items are queued whatever happens here
            with app.app_context(), db.sessions(app)() as session:
                claims.mark_queued(session, item_ids)
        except Exception as exc:
            log.warning("could not mark %d items queued (%s)", len(item_ids), type(exc).__name__)
    return True
