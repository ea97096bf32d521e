"""A poisoned directory: contact names and addresses holding line breaks, bells, header syntax, right-
to-left overrides and 100,000 characters. Every message to them is delivered (its headers built
safely) or dead-lettered with its reason, never pending for ever. On SQLite and PostgreSQL; prints
its FIGURE line."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from service.casework import cases, outbox
from service.casework.models import Contact, OutboxMessage
from service.db import sessions
from tests.casework import test_outbox
from tests.casework.test_outbox import NOW, NT, settings

smtp = test_outbox.smtp  # the fixture: a local SMTP server the test starts

POISONED_NAMES = [
    "Business Manager\r\nBcc: intruder@elsewhere.example",
    "Business\x07Manager\x1b[31m",
    '"Manager" <other@elsewhere.example>, ',
    "=?utf-8?b?SW50cnVkZXI=?=",
    "\u202eregaNam ssenisuB",
    "M" * 100_000,
    "Zoë Łukasiewicz 👩‍⚕️",
]
POISONED_ADDRESSES = ["not an address\r\n", "business.manager@ntscp.example\r\nBcc: x@elsewhere.example"]


def test_a_poisoned_directory_never_leaves_a_message_pending(db_app, db_session, smtp, capsys):
    contact = db_session.scalar(select(Contact).where(Contact.email == "business.manager@ntscp.example"))
    smtp.start()
    factory = sessions(db_app)
    poisons = [("name", value) for value in POISONED_NAMES] + [("email", value) for value in POISONED_ADDRESSES]
    rounds = 0
    for attribute, value in poisons:
        # The directory as it is when the message is sent (it is read then): one poison at a time.
        contact.name, contact.email = "Business Manager", "business.manager@ntscp.example"
        setattr(contact, attribute, value)
        db_session.commit()
        cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
        moment = NOW
        for _ in range(outbox.MAX_ATTEMPTS + 2):
            rounds += 1
            if outbox.deliver(factory, settings(smtp), now=moment).claimed == 0:
                break
            moment += outbox.BACKOFF_MAX
    db_session.expire_all()
    statuses = Counter(db_session.scalars(select(OutboxMessage.status)))
    headers_ok = all(
        m["Bcc"] is None and len(m["To"].addresses) == 1 and "\n" not in str(m["To"]) for m in smtp.inbox.messages
    )
    with capsys.disabled():
        print(
            f"\nFIGURE poisoned directory ({db_app.extensions['db_engine'].dialect.name}): messages "
            f"{sum(statuses.values())}, delivered {statuses['sent']}, dead-lettered {statuses['dead']}, "
            f"pending {statuses['pending']} after {rounds} delivery rounds, headers safe {'yes' if headers_ok else 'no'}"
        )
    assert statuses["pending"] == 0
    assert statuses["sent"] == len(POISONED_NAMES) and statuses["dead"] == len(POISONED_ADDRESSES)
    assert headers_ok
    reasons = db_session.scalars(select(OutboxMessage.last_error).where(OutboxMessage.status == "dead")).all()
    assert all("not an e-mail address" in reason for reason in reasons)
