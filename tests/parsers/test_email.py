"""E-mails: attachments (also inside a forwarded message), pasted answers, threading, auto-replies."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from forms import registry
from forms.schema import validate_data
from parsers import parse
from parsers.email import answers_text
from service.documents.records import render
from tests.conftest import sample


def message(subject="Escalation form", body="Form attached.", sender="amira.haddad@health.example", **headers):
    m = EmailMessage()
    m["From"] = f"Amira Haddad <{sender}>"
    m["To"] = "escalations@escalate.example"
    m["Subject"] = subject
    m["Message-ID"] = headers.pop("message_id", "<m1@health.example>")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


def attach(m: EmailMessage, form_id: str, fmt: str = "docx") -> EmailMessage:
    content = render(registry().form(form_id), sample(form_id), fmt)
    subtype = "pdf" if fmt == "pdf" else "vnd.openxmlformats-officedocument.wordprocessingml.document"
    m.add_attachment(content, maintype="application", subtype=subtype, filename=f"{form_id}.{fmt}")
    return m


def test_reference_tag_and_threading_headers_are_kept():
    m = attach(
        message(subject="RE: [NT-2026-0007] Escalation", in_reply_to="<case-NT-2026-0007@escalate.example>"),
        "nt-appendix-a",
    )
    result = parse(m.as_bytes(), "reply.eml")
    assert result.form_id == "nt-appendix-a"
    assert result.reference == "NT-2026-0007"
    assert result.email["in_reply_to"] == "<case-NT-2026-0007@escalate.example>"
    assert result.email["from"] == "amira.haddad@health.example"
    assert result.email["message_id"] == "<m1@health.example>"


def test_form_inside_a_forwarded_message():
    inner = attach(message(subject="Escalation", message_id="<inner@school.example>"), "kirklees-appendix-5", "pdf")
    outer = message(
        subject="FW: Escalation", body="Forwarding this for the business unit.", message_id="<outer@x.example>"
    )
    outer.add_attachment(inner)
    result = parse(outer.as_bytes(), "fw.eml")
    assert result.form_id == "kirklees-appendix-5"
    data, errors = result.canonical(registry().form("kirklees-appendix-5"))
    assert not errors
    assert data == validate_data(registry().form("kirklees-appendix-5"), sample("kirklees-appendix-5"))


def test_a_forwarded_message_with_a_damaged_header_is_still_read():
    """A byte that is not UTF-8 in a long header of a forwarded message's part (found by atheris):
    the message is still read, its form found by the attachment's name."""
    inner = attach(message(subject="Escalation", message_id="<inner@school.example>"), "nt-appendix-a", "docx")
    outer = message(subject="FW: Escalation", body="Forwarding.", message_id="<outer@x.example>")
    outer.add_attachment(inner)
    raw = outer.as_bytes().replace(b"application/vnd.openxml", b"applic\x9btion/vnd.openxml")
    assert raw.count(b"applic\x9btion/") == 1
    result = parse(raw, "fw.eml")
    assert result.form_id == "nt-appendix-a"


def test_answers_typed_into_the_body_by_a_person():
    body = (
        "Hi,\n\nHere are our details for the North Tyneside escalation notification.\n\n"
        "Name: Zoë Example\nRole: DSL\nAgency: Riverside Primary Academy\nContact details: zoe@riverside.example\n"
        "Stage of the policy reached: Stage 3\nAgency that made the decision: Children's Social Care\n"
        "Brief description of your worry about a decision made: The referral was closed.\n"
        "We think the threshold is met.\n\n"
        "Brief description of what has been done to resolve the issue: Discussed with the team manager.\n"
        "Brief description of the outcome of these actions: Unresolved.\n\nThanks\nZoë\n"
        "> On 3 Nov someone wrote:\n> Name: Old Quoted Name\n"
    )
    result = parse(message(body=body).as_bytes(), "answers.eml")
    assert result.form_id == "nt-appendix-a"
    data, errors = result.canonical(registry().form("nt-appendix-a"))
    assert not errors, errors
    assert data["name"] == "Zoë Example"
    assert data["stage"] == "3"
    assert data["worry"] == "The referral was closed.\nWe think the threshold is met."
    assert data["outcome"] == "Unresolved."


def test_html_only_body_with_answers():
    spec = registry().form("kirklees-appendix-3")
    text = answers_text(spec, validate_data(spec, sample("kirklees-appendix-3")))
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@b.example", "c@d.example", "Appendix 3"
    html = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    m.set_content(f"<html><body>{html}</body></html>", subtype="html")
    result = parse(m.as_bytes(), "html.eml")
    assert result.form_id == "kirklees-appendix-3"
    assert result.canonical(spec)[0] == validate_data(spec, sample("kirklees-appendix-3"))


@pytest.mark.parametrize(
    ("headers", "subject", "kind"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Re: Escalation", "automatic reply"),
        ({"X_Autoreply": "yes"}, "Re: Escalation", "automatic reply"),
        ({"Precedence": "auto_reply"}, "Re: Escalation", "automatic reply"),
        ({}, "Automatic reply: Escalation", "automatic reply"),
        ({}, "Out of Office: [NT-2026-0007] Escalation", "automatic reply"),
        ({}, "Undeliverable: Escalation", "bounce"),
    ],
)
def test_auto_replies_and_bounces_are_not_forms(headers, subject, kind):
    m = attach(message(subject=subject, body="I am out of the office until Monday.", **headers), "nt-appendix-a")
    result = parse(m.as_bytes(), "auto.eml")
    assert result.form_id is None
    assert kind in result.reason


def test_delivery_status_report_is_a_bounce():
    report = EmailMessage()
    report["From"] = "MAILER-DAEMON@mail.example"
    report["To"] = "escalations@escalate.example"
    report["Subject"] = "Mail delivery failed"
    report.set_content("This message was created automatically by mail delivery software.")
    report.make_mixed()
    status = EmailMessage()
    status.set_content("Reporting-MTA: dns; mail.example\n\nFinal-Recipient: rfc822; x@y.example\nAction: failed\n")
    report.attach(status)
    report.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"')
    result = parse(report.as_bytes(), "bounce.eml")
    assert result.form_id is None
    assert "bounce" in result.reason


def test_email_with_no_form():
    result = parse(message(body="Please call me about the case tomorrow.").as_bytes(), "note.eml")
    assert result.form_id is None
    assert result.reason.startswith("the e-mail carries no form")
