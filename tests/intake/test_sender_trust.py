"""Parties are exact addresses and senders are authenticated: each spoofing case of issue 14 is held.

A case raised by zoe.nowak@riverside.example (her address in the form's contact details) is answered
by crafted replies carrying its reference. Only the exact party address whose message passed DMARC at
the trusted receiving server (or whose DKIM signature verifies here) is applied; everything else is
held with its reason, and a person can release it."""

from __future__ import annotations

import base64
import collections
import json
from email import policy
from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from service.casework import cases
from service.casework.models import Contact, RoutingDecision
from service.intake import ingest, review, sender_auth
from service.intake.models import ReceivedItem
from tests.conftest import sample
from tests.intake.dns_server import TxtServer
from tests.intake.mailauth import MX, vouched
from tests.intake.test_ingest import document, email_with

RAISER = "zoe.nowak@riverside.example"


def raise_case(session) -> str:
    outcome = ingest.ingest(session, document("nt-appendix-a"), channel="upload", filename="a.docx")
    assert outcome.status == "accepted"
    return outcome.reference


def reply(reference: str, sender: str, dmarc: str | None = "pass", **headers) -> bytes:
    update = document("nt-appendix-a", stage="4", outcome="Escalated to the Assistant Director.")
    return email_with(update, subject=f"RE: [{reference}] Escalation", sender=sender, dmarc=dmarc, **headers)


def routed_to(session, reference: str) -> str:
    case = cases.get(session, reference)
    return session.scalar(select(RoutingDecision.email).where(RoutingDecision.case_id == case.id).limit(1))


@pytest.mark.parametrize("sender", ["e", "0191", "k@riverside.example", "nowak@riverside.example"])
def test_a_part_of_the_raisers_contact_text_is_not_a_party(db_session, trusted_mx, sender):
    reference = raise_case(db_session)
    outcome = ingest.ingest(db_session, reply(reference, sender), channel="smtp")
    assert outcome.status == "held"
    assert "not a party" in outcome.reason or "single sender" in outcome.reason
    assert cases.get(db_session, reference).current_stage == "3"


@pytest.mark.parametrize("sender", [RAISER, "Zoe.Nowak@Riverside.Example"])
def test_the_exact_party_address_with_dmarc_passing_is_applied(db_session, trusted_mx, sender):
    reference = raise_case(db_session)
    outcome = ingest.ingest(db_session, reply(reference, sender), channel="smtp")
    assert outcome.status == "accepted", outcome.reason
    assert cases.get(db_session, reference).current_stage == "4"
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert (item.sender_auth, item.sender_auth_detail) == ("pass", f"DMARC passed at {MX}")


def test_a_forged_party_address_is_held_when_dmarc_fails(db_session, trusted_mx):
    reference = raise_case(db_session)
    contact = routed_to(db_session, reference)  # a directory address the case was routed to
    outcome = ingest.ingest(db_session, reply(reference, contact, dmarc="fail"), channel="smtp")
    assert outcome.status == "held" and "sender not authenticated: DMARC fail at mx.test.example" in outcome.reason
    released = review.release(db_session, outcome.item_id, actor="bu@nt.example")
    assert released.status == "accepted" and cases.get(db_session, reference).current_stage == "4"


def test_a_party_address_hidden_in_an_encoded_word_is_not_credited_with_another_domains_pass(db_session, trusted_mx):
    """The From: line's text hides the raiser's address in an encoded word beside the attacker's own;
    the server's DMARC pass is for the attacker's domain, so it must not count for the raiser."""
    reference = raise_case(db_session)
    honest = reply(reference, "attacker@evil.example", dmarc=None)
    forged_from = b"From: =?utf-8?q?zoe.nowak=40riverside=2Eexample=2C?= attacker@evil.example"
    raw = honest.replace(b"From: attacker@evil.example", forged_from, 1)
    assert forged_from in raw
    outcome = ingest.ingest(db_session, vouched(raw, "pass", header_from="evil.example"), channel="smtp")
    assert outcome.status == "held", outcome.reason
    assert cases.get(db_session, reference).current_stage == "3"


def test_correcting_a_quarantined_strangers_reply_does_not_vouch_for_its_sender(db_session, trusted_mx):
    """A reply that could not be read is quarantined before its sender is weighed; a person who then
    chooses its form or corrects its answers vouches for the answers, not the sender: it is held, and
    only a release ('I have checked the sender') applies it."""
    reference = raise_case(db_session)
    unreadable = email_with(
        None, subject=f"RE: [{reference}] Escalation", sender="mallory@elsewhere.example", dmarc="fail"
    )
    outcome = ingest.ingest(db_session, unreadable, channel="smtp")
    assert outcome.status == "quarantined"
    corrected = sample("nt-appendix-a") | {"stage": "4"}
    again = review.reprocess(
        db_session, outcome.item_id, actor="bu@nt.example", form_id="nt-appendix-a", data=corrected, case=reference
    )
    assert again.status == "held" and "not a party" in again.reason, again.reason
    assert cases.get(db_session, reference).current_stage == "3"
    released = review.release(db_session, outcome.item_id, actor="bu@nt.example")
    assert released.status == "accepted", released.reason
    assert cases.get(db_session, reference).current_stage == "4"


def test_a_directory_contact_the_case_was_not_routed_to_is_not_a_party(db_session, trusted_mx):
    reference = raise_case(db_session)
    case = cases.get(db_session, reference)
    other = "safeguarding.lead@police.example"  # in the directory, for a stage this case has not reached
    db_session.add(Contact(partnership=case.partnership, role="safeguarding-lead", stage="5", name="Lead", email=other))
    db_session.commit()
    outcome = ingest.ingest(db_session, reply(reference, other), channel="smtp")
    assert outcome.status == "held" and f"from {other.lower()}, who is not a party" in outcome.reason


def test_a_verdict_from_another_server_or_below_ours_is_not_believed(db_session, trusted_mx):
    reference = raise_case(db_session)
    # Only the sender's own claim, under a server name that is not ours: ignored.
    forged = reply(reference, RAISER, dmarc=None, message_id="<f1@riverside.example>")
    forged = vouched(forged, "pass", server="mx.elsewhere.example")
    outcome = ingest.ingest(db_session, forged, channel="smtp")
    assert outcome.status == "held" and "no Authentication-Results from mx.test.example" in outcome.reason
    # A claim in our server's name written by the sender sits below the one our server added on top.
    below = vouched(reply(reference, RAISER, dmarc=None, message_id="<f2@riverside.example>"), "pass")
    outcome = ingest.ingest(db_session, vouched(below, "fail"), channel="smtp")
    assert outcome.status == "held" and "DMARC fail" in outcome.reason


def test_exchange_onlines_header_without_a_server_name(db_session, monkeypatch):
    """Microsoft 365 writes "spf=pass ...; dmarc=pass ..." with no server name, above what the sender wrote."""
    monkeypatch.setenv("TRUSTED_AUTHSERV_ID", "microsoft-365")
    reference = raise_case(db_session)

    def stamped(raw: bytes, dmarc: str) -> bytes:
        header = (
            "Authentication-Results: spf=pass (sender IP is 192.0.2.25) smtp.mailfrom=riverside.example; "
            f"dkim=pass (signature was verified) header.d=riverside.example;dmarc={dmarc} action=none "
            "header.from=riverside.example;compauth=pass reason=100\r\n"
        )
        return header.encode() + raw

    good = stamped(reply(reference, RAISER, dmarc=None, message_id="<m1@riverside.example>"), "pass")
    outcome = ingest.ingest(db_session, good, channel="imap")
    assert outcome.status == "accepted", outcome.reason
    assert db_session.get(ReceivedItem, outcome.item_id).sender_auth_detail == "DMARC passed at Microsoft 365"
    # The sender's own "pass" sits below Exchange Online's verdict, which is read alone.
    forged = stamped(reply(reference, RAISER, dmarc=None, message_id="<m2@riverside.example>"), "pass")
    outcome = ingest.ingest(db_session, stamped(forged, "fail"), channel="imap")
    assert outcome.status == "held" and "DMARC fail at Microsoft 365" in outcome.reason
    unstamped = vouched(reply(reference, RAISER, dmarc=None, message_id="<m3@riverside.example>"), "pass")
    assert ingest.ingest(db_session, unstamped, channel="imap").status == "held"


def test_a_display_name_or_a_second_from_address_is_not_the_sender(db_session, trusted_mx):
    reference = raise_case(db_session)
    disguised = reply(reference, f'"{RAISER}" <mallory@elsewhere.example>', header_from="elsewhere.example")
    assert ingest.ingest(db_session, disguised, channel="smtp").status == "held"
    two = reply(reference, f"{RAISER}, mallory@elsewhere.example", message_id="<two@riverside.example>")
    outcome = ingest.ingest(db_session, two, channel="smtp")
    assert outcome.status == "held" and "2 addresses" in outcome.reason


def test_a_later_reply_from_a_sender_accepted_before_is_a_party(db_session, trusted_mx):
    reference = raise_case(db_session)
    colleague = "sam.reid@riverside.example"
    first = ingest.ingest(db_session, reply(reference, colleague), channel="smtp")
    assert first.status == "held"
    review.release(db_session, first.item_id, actor="bu@nt.example")  # the business unit checked who it is
    later = document("nt-appendix-a", stage="5", outcome="Referred to the partnership.")
    again = email_with(later, subject=f"RE: [{reference}]", sender=colleague, message_id="<later@riverside.example>")
    assert ingest.ingest(db_session, again, channel="imap").status == "accepted"


# --- DKIM verified here (the built-in SMTP receiver, no receiving server to vouch) ------------------


@pytest.fixture(scope="module")
def key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


@pytest.fixture
def dns(key, monkeypatch):
    records = {"sel._domainkey.riverside.example": key[1], "sel._domainkey.elsewhere.example": key[1]}
    with TxtServer(records) as server:
        monkeypatch.delenv("TRUSTED_AUTHSERV_ID", raising=False)
        monkeypatch.setenv("DKIM_DNS_SERVERS", server.address)
        yield server


def signed(key, reference: str, sender: str, domain: str, message_id: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "escalations@escalate.example", f"RE: [{reference}] Escalation"
    m["Message-ID"] = message_id
    m.set_content("Form attached.")
    update = document("nt-appendix-a", stage="4", outcome="Escalated to the Assistant Director.")
    m.add_attachment(update, maintype="application", subtype="octet-stream", filename="form.docx")
    raw = m.as_bytes(policy=policy.SMTP)
    headers = [b"from", b"to", b"subject", b"message-id"]
    return dkim.sign(raw, b"sel", domain.encode(), key[0], include_headers=headers) + raw


def test_signatures_that_could_not_make_the_sender_authentic_cost_no_key_look_up(db_session, key, dns):
    """Many signatures by another domain, then a few by the sender's: only the sender's are looked up
    (at most sender_auth.MAX_DKIM_CHECKS), so the check's time is bounded whatever the message holds."""
    from service.intake import sender_auth

    reference = raise_case(db_session)
    raw = signed(key, reference, "someone@elsewhere.example", "elsewhere.example", "<m1@e.example>")
    for _ in range(20):  # the same foreign signature again and again
        raw = dkim.sign(raw, b"sel", b"elsewhere.example", key[0], include_headers=[b"from"]) + raw
    verdict = sender_auth.check(raw, sender="someone@elsewhere.example")
    assert verdict.passed  # its own domain's signature verifies
    dns.queries.clear()
    forged = raw.replace(b"From: someone@elsewhere.example", b"From: zoe.nowak@riverside.example")
    verdict = sender_auth.check(forged, sender="zoe.nowak@riverside.example")
    assert not verdict.passed and "elsewhere.example (not the sender)" in verdict.detail
    assert dns.queries == []  # none of the 21 foreign signatures was looked up


def test_dkim_verified_here_applies_the_reply(db_session, key, dns):
    reference = raise_case(db_session)
    outcome = ingest.ingest(
        db_session, signed(key, reference, RAISER, "riverside.example", "<d1@r.example>"), channel="smtp"
    )
    assert outcome.status == "accepted", outcome.reason
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert item.sender_auth_detail == "DKIM signature of riverside.example verified"
    assert "sel._domainkey.riverside.example" in dns.queries


def test_dkim_failures_are_held(db_session, key, dns):
    reference = raise_case(db_session)
    tampered = signed(key, reference, RAISER, "riverside.example", "<d2@r.example>").replace(
        b"Form attached.", b"Form attacked."
    )
    outcome = ingest.ingest(db_session, tampered, channel="smtp")
    assert outcome.status == "held" and "did not verify" in outcome.reason
    # Signed, and valid, but by the attacker's own domain: not the sender's.
    theirs = signed(key, reference, RAISER, "elsewhere.example", "<d3@r.example>")
    outcome = ingest.ingest(db_session, theirs, channel="smtp")
    assert outcome.status == "held" and "elsewhere.example (not the sender)" in outcome.reason
    unsigned = reply(reference, RAISER, dmarc=None, message_id="<d4@r.example>")
    outcome = ingest.ingest(db_session, unsigned, channel="smtp")
    assert outcome.status == "held" and "not signed" in outcome.reason


def test_alignment_is_relaxed_but_whole():
    assert sender_auth.aligned("riverside.example", "riverside.example")
    assert sender_auth.aligned("mail.riverside.example", "riverside.example")
    assert sender_auth.aligned("riverside.example", "staff.riverside.example")
    assert not sender_auth.aligned("side.example", "riverside.example")
    assert not sender_auth.aligned("example", "riverside.example")


# --- flask ingest applies the same rules; --trusted is a person vouching, audited ------------------


def test_flask_ingest_holds_a_strangers_reply_unless_a_person_vouches(db_app, tmp_path, trusted_mx):
    from service.casework.models import AuditEntry
    from service.db import sessions

    with db_app.app_context(), sessions(db_app)() as session:
        reference = raise_case(session)
    path = tmp_path / "reply.eml"
    path.write_bytes(reply(reference, "someone@elsewhere.example"))
    runner = db_app.test_cli_runner()
    queued = json.loads(runner.invoke(args=["ingest", str(path)]).output)
    assert queued["status"] == "received"  # stored and queued; the job (run as queued here) reads it
    with sessions(db_app)() as session:
        item = session.get(ReceivedItem, queued["item"])
        assert item.status == "held" and "not a party" in item.reason
    refused = runner.invoke(args=["ingest", "--trusted", str(path)])
    assert refused.exit_code != 0 and "--by" in refused.output
    other = tmp_path / "again.eml"
    other.write_bytes(reply(reference, "someone@elsewhere.example", message_id="<vouched@elsewhere.example>"))
    result = runner.invoke(args=["ingest", "--trusted", "--by", "bu@nt.example", str(other)])
    assert json.loads(result.output)["status"] == "accepted", result.output
    with sessions(db_app)() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "ingest.trusted"))
        assert entry.actor == "bu@nt.example" and entry.case_reference == reference


def test_figures_replies_tried_applied_held(db_session, trusted_mx):
    """Every crafted reply of this file's kinds, once more, counted."""
    reference = raise_case(db_session)
    contact = routed_to(db_session, reference)
    tries = [
        (RAISER, "pass"),
        ("ZOE.NOWAK@riverside.example", "pass"),
        ("e", "pass"),
        ("0191", "pass"),
        ("k@riverside.example", "pass"),
        ("nowak@riverside.example", "pass"),
        (contact, "fail"),
        (RAISER, "fail"),
        (RAISER, None),
        ("someone@elsewhere.example", "pass"),
        (f"{RAISER}, mallory@elsewhere.example", "pass"),
    ]
    outcomes = []
    for n, (sender, dmarc) in enumerate(tries):
        raw = reply(reference, sender, dmarc, message_id=f"<try{n}@riverside.example>")
        outcomes.append(ingest.ingest(db_session, raw, channel="smtp"))
    statuses = collections.Counter(o.status for o in outcomes)
    reasons = collections.Counter(
        next(k for k in ("single sender", "not a party", "not authenticated") if k in o.reason)
        for o in outcomes
        if o.status == "held"
    )
    assert statuses == {"accepted": 2, "held": 9}
    print(
        f"FIGURE mail trust: replies tried {len(tries)}, applied {statuses['accepted']}, held {statuses['held']} "
        f"(not a party {reasons['not a party']}, sender not authenticated {reasons['not authenticated']}, "
        f"no single sender {reasons['single sender']})"
    )


def test_the_built_in_smtp_receiver_verifies_dkim_itself(db_app, key, dns):
    """No receiving server vouches: a signed reply from the party is applied, a forged one held."""
    import smtplib

    from service.db import sessions
    from service.intake.channels import smtp_controller
    from tests.support.ports import free_port

    with db_app.app_context(), sessions(db_app)() as session:
        reference = raise_case(session)
    port = free_port()
    controller, handler = smtp_controller(db_app, "127.0.0.1", port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            good = signed(key, reference, RAISER, "riverside.example", "<s1@r.example>")
            smtp.sendmail(RAISER, ["escalations@escalate.example"], good)
            forged = reply(reference, RAISER, dmarc=None, message_id="<s2@r.example>").replace(b"\n", b"\r\n")
            smtp.sendmail(RAISER, ["escalations@escalate.example"], forged)
    finally:
        controller.stop()
    assert [o.status for o in handler.outcomes] == ["received", "received"]  # SMTP's answer does not wait
    with sessions(db_app)() as session:  # the jobs (run as queued here) read them
        good_item, forged_item = (session.get(ReceivedItem, o.item_id) for o in handler.outcomes)
        assert (good_item.status, forged_item.status) == ("accepted", "held")
        assert "not signed" in forged_item.reason


@pytest.mark.parametrize(
    ("results", "passed", "words"),
    [
        ("dmarc=pass header.from=riverside.example", True, "DMARC passed at mx.test.example"),
        ("dmarc=pass header.from=elsewhere.example", False, "DMARC pass at mx.test.example"),  # another From:
        ("dmarc=fail header.from=riverside.example", False, "DMARC fail at mx.test.example"),
        ("dkim=pass header.d=mail.riverside.example", True, "DKIM signature of mail.riverside.example verified"),
        ("dkim=pass header.d=elsewhere.example", False, "neither DKIM nor SPF passed"),
        ("spf=pass smtp.mailfrom=bounces@riverside.example", True, "SPF passed for riverside.example"),
        ("spf=pass smtp.mailfrom=bounces@mailer.example", False, "neither DKIM nor SPF passed"),
        ("none", False, "neither DKIM nor SPF passed"),
    ],
)
def test_the_receiving_servers_verdict_needs_alignment_with_the_from_domain(results, passed, words):
    raw = f"Authentication-Results: {MX}; {results}\r\nFrom: {RAISER}\r\nSubject: x\r\n\r\nx\r\n".encode()
    verdict = sender_auth.check(raw, sender_auth.Settings(authserv_ids=(MX,)))
    assert verdict.passed is passed and verdict.detail.startswith(words), verdict.detail


def test_several_receiving_servers_each_vouch_and_no_other_does():
    """Mail arrives through either of two gateways: the topmost header either added is read."""
    settings = sender_auth.Settings(authserv_ids=("mx1.test.example", "MX2.test.example"))

    def verdict(*headers: str):
        lines = "".join(f"Authentication-Results: {h}\r\n" for h in headers)
        return sender_auth.check(f"{lines}From: {RAISER}\r\nSubject: x\r\n\r\nx\r\n".encode(), settings)

    second = verdict("mx2.test.example; dmarc=pass header.from=riverside.example")
    assert second.passed and second.detail == "DMARC passed at MX2.test.example"
    assert not verdict("mx1.test.example; dmarc=fail", "mx2.test.example; dmarc=pass").passed  # the topmost
    other = verdict("mx.elsewhere.example; dmarc=pass header.from=riverside.example")
    assert not other.passed
    assert other.detail == "no Authentication-Results from mx1.test.example or MX2.test.example, the receiving server"


def test_microsoft_365_beside_another_server_is_refused_at_start(tmp_path):
    from app import create_app
    from service.ops.settings import UnsafeSettings

    config = {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}"}
    with pytest.raises(UnsafeSettings, match="TRUSTED_AUTHSERV_ID: microsoft-365 must be the only name"):
        create_app({**config, "TRUSTED_AUTHSERV_ID": "microsoft-365, mx.test.example"})
    assert create_app({**config, "TRUSTED_AUTHSERV_ID": "mx1.test.example,mx2.test.example"})


def test_thousands_of_foreign_signatures_make_a_short_verdict_in_words():
    """A message carrying 5,000 signatures by other domains (one with a control character, one 1 MB
    long): the verdict a person reads names a few, once each, counts the rest and stays short."""
    from service.intake import sender_auth

    signature = "DKIM-Signature: v=1; a=rsa-sha256; d={}; s=sel; h=from; bh=YQ==; b=YQ==\r\n"
    foreign = [f"s{n}.elsewhere.example" for n in range(5000)] + ["s1.elsewhere.example"] * 10
    foreign[1] = "bell\x07.elsewhere.example"
    foreign[2] = "x" * 1_000_000 + ".example"
    raw = "".join(signature.format(d) for d in foreign).encode() + (
        b"From: zoe.nowak@riverside.example\r\nTo: escalations@escalate.example\r\nSubject: RE\r\n\r\nHello\r\n"
    )
    verdict = sender_auth.check(raw, sender_auth.Settings(), sender="zoe.nowak@riverside.example")
    assert not verdict.passed
    assert "s0.elsewhere.example (not the sender)" in verdict.detail
    assert verdict.detail.endswith(f" and {len(set(foreign)) - sender_auth.MAX_NAMED} more"), verdict.detail[-200:]
    assert len(verdict.detail) < 1000 and verdict.detail.isprintable()
