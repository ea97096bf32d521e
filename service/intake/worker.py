"""The intake worker: Huey's consumer reading stored items, `flask --app app worker --processes N`.

Each worker process takes one job at a time and reads in its own sandboxed parser (parsers.sandbox:
300 MB, 10 s of processor time). Start as many as the machine has cores, on as many machines as
needed: with `INTAKE_QUEUE_URL` pointing at one Redis and `DATABASE_URL` at one PostgreSQL they
share the queue. A process that dies is replaced by the consumer; the job it held is read again by
another once its lease runs out (service.intake.claims). SIGTERM (systemd stop) lets the jobs in
hand finish first, up to a minute.
"""

from __future__ import annotations

from flask import Flask
from huey.consumer import Consumer, Scheduler

from service.intake import jobs

SWEEP_SECONDS = 60


class IntakeConsumer(Consumer):
    """Huey's consumer, its periodic tasks (the sweep) run every `sweep_seconds` instead of each minute."""

    def __init__(self, huey, *, sweep_seconds: int = SWEEP_SECONDS, **options):
        self.scheduler_class = type("IntakeScheduler", (Scheduler,), {"periodic_task_seconds": sweep_seconds})
        super().__init__(huey, **options)


def consumer(app: Flask, processes: int = 1, sweep_seconds: int = SWEEP_SECONDS, threads: bool = False) -> Consumer:
    huey = jobs.queue(app)
    if huey.immediate:
        raise ValueError("the intake queue runs its jobs immediately here (INTAKE_QUEUE_IMMEDIATE): no worker needed")
    return IntakeConsumer(
        huey,
        sweep_seconds=sweep_seconds,
        workers=processes,
        worker_type="thread" if threads else "process",
        max_delay=1.0,  # an idle worker looks at the SQLite queue at least once a second
        backoff=1.5,
        graceful_signal="TERM",
        shutdown_timeout=60,
    )
