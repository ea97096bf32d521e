"""Chasers are sent once: runs of `chase` at the same moment (cron on two servers, a retry) each
find the overdue rows, and the database lets only one claim each row's chaser (a conditional UPDATE),
on SQLite and PostgreSQL. Real threads, each with its own connection."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from service.casework.models import OutboxMessage
from service.conference import log
from service.conference.models import ConferenceIssue
from service.db import sessions
from tests.conference.test_log import ROWS, answers, conference_app, conference_session, link_for, record  # noqa: F401

RUNS = 6
LATE = dt.datetime(2026, 11, 17, 8, tzinfo=dt.UTC)  # the rows recorded on the 9th were due on the 16th


def _chase_at_once(app, now: dt.datetime) -> tuple[list[log.chasers.Chased], list[BaseException]]:
    barrier = threading.Barrier(RUNS)
    chased, failures = [], []

    def run():
        try:
            with app.app_context(), sessions(app)() as session:
                log.overdue_count(session, now.date(), ["kirklees"])  # each connection open before the start
                barrier.wait(30)
                chased.extend(log.chase(session, now=now, link_for=link_for))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return chased, failures


def _reminders(session) -> list[OutboxMessage]:
    return [m for m in session.scalars(select(OutboxMessage)) if "Reminder: response overdue" in m.subject]


def test_runs_at_the_same_moment_send_each_chaser_once(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    chased, failures = _chase_at_once(ws_app, LATE)
    assert failures == []
    assert sorted(c.agency for c in chased) == sorted(i.agency for i in conference.issues)  # one run each
    ws_session.expire_all()
    # Each row's lead, and the CPRU copied once per row: one chaser per row, not one per run.
    assert len(_reminders(ws_session)) == 2 * len(conference.issues)
    assert [i.chasers for i in ws_session.scalars(select(ConferenceIssue).order_by(ConferenceIssue.id))] == [1, 1, 1]
    # The next round, once the new due date has passed, is again sent once.
    chased, failures = _chase_at_once(ws_app, dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC))
    assert failures == [] and len(chased) == len(conference.issues)
    ws_session.expire_all()
    assert len(_reminders(ws_session)) == 4 * len(conference.issues)
    assert {i.chasers for i in ws_session.scalars(select(ConferenceIssue))} == {2}


def test_a_chaser_that_cannot_be_written_does_not_hold_back_the_others(ws_app, ws_session):
    """The first overdue row's chaser fails while it is written: that row is reported with the reason
    and left unclaimed for the next run, and the other rows are still chased."""
    conference = record(ws_app, ws_session, answers(rows=ROWS[:2]))
    calls = []

    def first_link_fails(token: str) -> str:
        calls.append(token)
        if len(calls) == 1:
            raise RuntimeError("the link could not be made")
        return link_for(token)

    with ws_app.app_context():
        chased = log.chase(ws_session, now=LATE, link_for=first_link_fails)
    assert [(c.agency, c.chasers, c.failed) for c in chased] == [
        (ROWS[0]["agency"], 0, "the link could not be made"),
        (ROWS[1]["agency"], 1, None),
    ]
    ws_session.expire_all()
    assert [i.chasers for i in conference.issues] == [0, 1]
    assert len(_reminders(ws_session)) == 2  # the second row's lead and its copy
    with ws_app.app_context():
        again = log.chase(ws_session, now=LATE, link_for=link_for)
    assert [(c.agency, c.chasers, c.failed) for c in again] == [(ROWS[0]["agency"], 1, None)]
