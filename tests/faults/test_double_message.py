"""Copies of one e-mail (one Message-ID, different bytes: relayed twice, or fetched by IMAP and
delivered by SMTP) read at the same moment by different readers: one is applied, the others are
duplicates, and one case is made. The database decides, by a unique index over the items that are
not duplicates; a check before the write let each reader miss the other. On SQLite and PostgreSQL;
prints its FIGURE line."""

from __future__ import annotations

import threading
from email import policy

from sqlalchemy import func, select, update

from service.casework.models import Case
from service.db import sessions
from service.intake import claims, ingest, jobs
from service.intake.models import ReceivedItem
from service.intake.store import store
from tests.intake.test_ingest_mail import returned_form

COPIES = 4


def test_copies_of_one_email_read_at_once_make_one_case(db_app, capsys):
    raw = returned_form(message_id="<once@riverside.example>").as_bytes(policy=policy.SMTP)
    with sessions(db_app)() as session:  # each copy came by another relay: other bytes, one Message-ID
        ids = [
            store(session, f"Received: from relay{n}.example\r\n".encode() + raw, channel="smtp").item_id
            for n in range(COPIES)
        ]
    barrier = threading.Barrier(COPIES)
    outcomes: dict[int, str] = {}

    def read(item_id: int):
        with db_app.app_context(), sessions(db_app)() as session:
            barrier.wait()
            outcome = ingest.read(session, item_id, claim=claims.new_token())
            outcomes[item_id] = outcome.status if outcome else "not read"

    threads = [threading.Thread(target=read, args=(item_id,)) for item_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with sessions(db_app)() as session:
        made = session.scalar(select(func.count()).select_from(Case))
        items = session.scalars(select(ReceivedItem).order_by(ReceivedItem.id)).all()
        statuses = sorted(i.status for i in items)
        holders = {i.case_reference for i in items if i.status == "accepted"}
        pointed = {i.case_reference for i in items if i.status == "duplicate"}
        kept = {i.message_id for i in items}
    with capsys.disabled():
        print(
            f"\nFIGURE double message ({db_app.extensions['db_engine'].dialect.name}): {COPIES} copies of one "
            f"e-mail read at once: {statuses.count('accepted')} applied, {statuses.count('duplicate')} duplicates, "
            f"cases made {made}"
        )
    assert statuses == ["accepted"] + ["duplicate"] * (COPIES - 1), outcomes
    assert made == 1
    assert pointed == holders  # each duplicate names the case the applied copy made
    assert kept == {"<once@riverside.example>"}  # every copy keeps its Message-ID


def test_a_duplicate_left_without_its_case_is_given_it_by_the_sweep(db_app):
    """A database fault between a duplicate settling and the fill-in of its case leaves it naming no
    case; the intake sweep gives it the case the applied copy made, and writes no other row."""
    raw = returned_form(message_id="<lost@riverside.example>").as_bytes(policy=policy.SMTP)
    other = returned_form(message_id="<other@riverside.example>").as_bytes(policy=policy.SMTP)
    with db_app.app_context(), sessions(db_app)() as session:
        first, second, alone = (
            store(session, f"Received: from relay{n}.example\r\n".encode() + content, channel="smtp").item_id
            for n, content in enumerate((raw, raw, other))
        )
        for item_id in (first, second):
            ingest.read(session, item_id, claim=claims.new_token())
    with sessions(db_app)() as session:
        session.execute(update(ReceivedItem).where(ReceivedItem.id == second).values(case_reference=None))
        session.commit()
    jobs.sweep(db_app)
    with sessions(db_app)() as session:
        items = {i.id: i for i in session.scalars(select(ReceivedItem))}
    assert (items[first].status, items[second].status, items[alone].status) == ("accepted", "duplicate", "received")
    assert items[second].case_reference == items[first].case_reference is not None
    assert items[alone].case_reference is None
