"""Faults in mail delivery, on a real local SMTP server (aiosmtpd, loopback only).

- The server refuses some messages for a while (451), then goes away entirely, then comes back:
  every message arrives exactly once.
- The worker process is killed (SIGKILL) while the server holds a message: after the lease, a new
  worker sends the rest; the one in flight may arrive twice, with the same Message-ID (the window
  service/casework/outbox.py documents), and nothing is lost.
Each test prints a FIGURE line: messages, faults survived, delivered, doubled, lost (must be 0).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app import create_app
from service import db
from service.casework import cases, directory, outbox
from service.casework.models import Base, OutboxMessage
from tests.conftest import sample
from tests.support.smtp import SMTPServer

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
FORMS = ("nt-appendix-a", "kirklees-appendix-5", "merton-disagreement-record", "gloucestershire-dispute-record")


def figure(capsys, text: str) -> None:
    with capsys.disabled():
        print(f"\nFIGURE {text}")


def submit_many(app, count: int) -> list[str]:
    """`count` submissions spread over the partnerships; returns the outbox rows' Message-IDs."""
    with db.sessions(app)() as session:
        for i in range(count):
            form_id = FORMS[i % len(FORMS)]
            cases.submit(session, form_id, sample(form_id), channel="web", now=NOW)
        return list(session.scalars(select(OutboxMessage.message_id).order_by(OutboxMessage.id)))


class Flaky:
    """Accepts a message only on every other attempt at it: 451 (try again later) the first time."""

    def __init__(self):
        self.seen: Counter = Counter()
        self.accepted: list[email.message.EmailMessage] = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.seen[message["Message-ID"]] += 1
        if self.seen[message["Message-ID"]] % 2:
            self.refused += 1
            return "451 4.3.0 Temporary failure, try again later"
        self.accepted.append(message)
        return "250 OK"


def test_smtp_refusing_then_down_then_up_loses_and_doubles_nothing(db_app, capsys):
    ids = submit_many(db_app, 16)
    factory = db.sessions(db_app)
    server = SMTPServer()  # a port, nothing listening yet
    flaky = Flaky()
    settings = outbox.MailSettings(host="127.0.0.1", port=server.port, timeout=5, attachment_format="docx")
    faults = 0
    now = NOW

    # Phase 1: the server answers 451 to the first try of each message.
    controller = Controller(flaky, hostname="127.0.0.1", port=server.port)
    controller.start()
    report = outbox.deliver(factory, settings, now=now, limit=100)
    faults += report.failed
    controller.stop()
    # Phase 2: down for a while: several rounds, each after the backoff, all refused at connect.
    for _ in range(4):
        now += dt.timedelta(hours=1)
        report = outbox.deliver(factory, settings, now=now, limit=100)
        assert report.sent == 0
        faults += report.failed
    # Phase 3: up again (same flaky server: what it refused once it now takes).
    controller = Controller(flaky, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        for _ in range(6):
            now += dt.timedelta(hours=1)
            report = outbox.deliver(factory, settings, now=now, limit=100)
            faults += report.failed
            if report.claimed == 0:
                break
    finally:
        controller.stop()

    delivered = Counter(m["Message-ID"] for m in flaky.accepted)
    lost = len(set(ids) - set(delivered))
    doubled = sum(n - 1 for n in delivered.values())
    with db.sessions(db_app)() as session:
        pending = session.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
    figure(
        capsys,
        f"fault smtp refusing/down/up: messages {len(ids)}, faults survived {faults} "
        f"({flaky.refused} refused with 451, rest refused at connect), delivered {len(delivered)}, "
        f"doubled {doubled}, items lost {lost}",
    )
    assert faults >= len(ids) * 2
    assert lost == 0 and doubled == 0 and pending == 0 and len(delivered) == len(ids)


class Holding:
    """Accepts every message; the `hold_at`-th is stored, then its 250 reply is held back until the worker dies."""

    def __init__(self, hold_at: int):
        self.hold_at = hold_at
        self.received: list[email.message.EmailMessage] = []
        self.holding = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        if len(self.received) == self.hold_at:
            self.holding.set()
            await asyncio.sleep(20)  # the worker is killed while it waits for this reply
        return "250 OK"


def test_worker_killed_mid_delivery_loses_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    engine = db.make_engine(url)
    Base.metadata.create_all(engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": engine})
    with db.sessions(app)() as session:
        directory.seed(session)
    ids = submit_many(app, 12)
    server = SMTPServer()
    holding = Holding(hold_at=4)
    controller = Controller(holding, hostname="127.0.0.1", port=server.port)
    controller.start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(server.port),
        "MAIL_ATTACHMENT_FORMAT": "docx",
        "PYTHONPATH": str(ROOT),
    }
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "outbox", "deliver"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert holding.holding.wait(120), "the worker never reached the fourth message"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        assert worker.returncode == -signal.SIGKILL
        with db.sessions(app)() as session:
            leased = session.scalar(select(func.count()).where(OutboxMessage.claimed_by.is_not(None)))
            sent_before = session.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
        # A new worker, once the dead one's leases have run out.
        later = dt.datetime.now(dt.UTC) + outbox.LEASE + dt.timedelta(seconds=1)
        report = outbox.deliver(db.sessions(app), outbox.MailSettings(host="127.0.0.1", port=server.port), now=later)
    finally:
        controller.stop()
    delivered = Counter(m["Message-ID"] for m in holding.received)
    lost = len(set(ids) - set(delivered))
    copies = sum(n - 1 for n in delivered.values())
    with db.sessions(app)() as session:
        pending = session.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
    engine.dispose()
    figure(
        capsys,
        f"fault worker killed mid-delivery: messages {len(ids)}, sent before the kill {sent_before}, "
        f"left leased {leased}, sent by the next worker {report.sent}, faults survived 1, "
        f"resent with the same Message-ID {copies}, items lost {lost}",
    )
    assert sent_before == 3 and leased == len(ids) - 3
    assert lost == 0 and pending == 0
    assert copies <= 1  # only the message whose reply the kill cut off; it keeps its Message-ID
    resent = [m for m in holding.received if delivered[m["Message-ID"]] > 1]
    assert len({(m["Message-ID"], m["Subject"], m["Date"]) for m in resent}) <= 1
