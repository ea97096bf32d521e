"""Structured logs: JSON lines with identifiers and counts, and none of the sample's personal data.

Forms are submitted through the web journey and the API, the outbox delivers to a real local SMTP
server, a staff sign-in fails, and a view fails with personal data in its exception; every log
record of every logger is captured through the service's formatter and searched for the names,
e-mail addresses and answers of the samples.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from forms import registry
from service import db
from service.casework import outbox
from service.casework.models import Contact
from service.ops.logs import JsonFormatter, scrub
from service.web import formbuild
from tests.conftest import sample
from tests.support.smtp import SMTPServer
from tests.web.test_web_views import csrf, fill, soup

REGISTRY = registry()
FORMS = ["kirklees-appendix-5", "nt-appendix-a", "merton-disagreement-record"]


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def personal_strings(form_id: str) -> set[str]:
    """Free-text answers of a sample (names, agencies' people, accounts of the disagreement)."""
    spec = REGISTRY.form(form_id)
    found = set()

    def add(field, value):
        if field.type in ("text", "textarea") and isinstance(value, str) and len(value) >= 6 and " " in value:
            found.add(value.split("\n")[0][:40])

    data = sample(form_id)
    for field in spec.fields:
        value = data.get(field.key)
        if field.type == "rows":
            for row in value or []:
                for column in field.columns:
                    add(column, row.get(column.key))
        else:
            add(field, value)
    return found


def test_no_personal_data_in_logs_of_a_submission(tmp_path, captured):
    from app import create_app
    from service.casework import directory
    from service.casework.models import Base

    engine = db.make_engine(f"sqlite:///{tmp_path / 'logs.sqlite3'}")
    Base.metadata.create_all(engine)
    smtp = SMTPServer()
    smtp.start()
    try:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "DATABASE_ENGINE": engine,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": smtp.port,
            }
        )

        @app.get("/_fails")
        def fails():
            raise ValueError("could not file the record of Jo Bloggs <jo.bloggs@family.example>")

        with db.sessions(app)() as session:
            directory.seed(session)
            emails = {e for e in session.scalars(select(Contact.email)) if e}
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "198.51.100.23"  # a browser's address, never to be logged
        secrets = set()
        for form_id in FORMS:
            spec = REGISTRY.form(form_id)
            secrets |= personal_strings(form_id)
            check = fill(client, form_id, formbuild.web_answers_from_canonical(spec, sample(form_id)))
            page = soup(client.get(check))
            response = client.post(check.replace("/check", "/submit"), data={"csrf_token": csrf(page)})
            if spec.process == "cp-conference":  # each row its own case in the conference log: no tracking link
                assert response.status_code == 200
                continue
            assert response.status_code == 302
            tracking = response.location
            assert client.get(tracking).status_code == 200
        api = client.post("/api/submissions", json={"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")})
        assert api.status_code == 201
        report = outbox.deliver(db.sessions(app), outbox.MailSettings.from_config(app.config))
        assert report.sent >= 1 and report.failed == 0 and smtp.inbox.messages
        client.post("/workspace/sign-in", data={"email": "jo.bloggs@family.example", "password": "wrong"})
        with pytest.raises(ValueError):
            app.test_client().get("/_fails")  # TESTING propagates, so log it as Flask does in production
        app.testing = False
        assert app.test_client().get("/_fails").status_code == 500
    finally:
        smtp.stop()
        engine.dispose()

    text = "\n".join(captured.lines)
    lines = [json.loads(line) for line in captured.lines]
    requests = [line for line in lines if line["event"] == "request"]
    # The logs say what happened, by identifier: every request, its rule, status and the case reference.
    assert len(requests) > 30
    assert {"request_id", "method", "rule", "endpoint", "status", "duration_ms"} <= set(requests[0])
    assert any(line.get("rule", "").startswith("/t/<tracking>") and line["status"] == 200 for line in requests)
    assert any(line.get("endpoint") == "api.post_submission" and line["status"] == 201 for line in requests)
    failure = next(line for line in lines if line.get("error") == "ValueError")
    assert failure["where"] and any("fails" in where for where in failure["where"])
    # ...and nothing about anyone: no answer, no name, no e-mail address, no token, no client address.
    assert secrets and emails
    for secret in secrets | emails | {"Jo Bloggs", "jo.bloggs@family.example"}:
        assert secret not in text, f"personal data in the logs: {secret!r}"
    assert not re.search(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.example", text)
    assert tracking.split("/t/", 1)[1].split("/")[0] not in text
    assert "198.51.100.23" not in text


def test_only_listed_fields_are_written():
    record = logging.LogRecord("escalate.test", logging.INFO, __file__, 1, "submitted", None, None)
    record.reference = "NT-2026-0007"
    record.count = 3
    record.raiser_name = "Jo Bloggs"  # not a listed field: dropped
    record.body = "Dear Jo"
    line = json.loads(JsonFormatter().format(record))
    assert line["reference"] == "NT-2026-0007" and line["count"] == 3
    assert "raiser_name" not in line and "body" not in line and "Jo" not in json.dumps(line)


def test_library_messages_are_masked():
    assert scrub("sent to jo.bloggs@family.example from 203.0.113.5") == "sent to [e-mail] from [address]"
    assert scrub("from 2001:db8::8a2e:370:7334 at 19:36:44") == "from [address] at 19:36:44"
    assert scrub(" * Running on http://127.0.0.1:5000") == " * Running on http://127.0.0.1:5000"
    assert scrub("x" * 1000).endswith("…") and len(scrub("x" * 1000)) == 301


def test_development_server_access_lines_are_dropped_and_its_banner_kept():
    from service.ops.logs import configure

    configure()
    werkzeug = logging.getLogger("werkzeug")
    access = logging.LogRecord(
        "werkzeug", logging.INFO, "", 1, '%s - - [%s] "GET /t/abc?q=Jo HTTP/1.1" 200 -', ("192.0.2.1", "now"), None
    )
    banner = logging.LogRecord("werkzeug", logging.INFO, "", 1, " * Running on http://127.0.0.1:5000", None, None)
    assert not werkzeug.filter(access) and werkzeug.filter(banner)


class Refusing:
    """An SMTP server that refuses every recipient (550), so smtplib's error quotes the address."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 mailbox unavailable"


def test_the_outbox_worker_prints_and_logs_no_address(db_app, captured):
    from aiosmtpd.controller import Controller

    from service.casework import cases

    with db.sessions(db_app)() as session:
        cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web")
        recipients = {e for e in session.scalars(select(outbox.OutboxMessage.to_email)) if e}
    smtp = SMTPServer()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=smtp.port)
    controller.start()
    try:
        db_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
        result = db_app.test_cli_runner().invoke(args=["outbox", "deliver"])
    finally:
        controller.stop()
    output = result.output + (result.stderr if hasattr(result, "stderr") else "")
    assert "failed 2" in output and "SMTPRecipientsRefused" in output  # the notification and the receipt
    assert recipients and not any(r in output for r in recipients)
    assert "[e-mail]" in output
    [line] = [json.loads(x) for x in captured.lines if '"outbox.round"' in x]
    assert (line["claimed"], line["sent"], line["failed"]) == (2, 0, 2)


def test_a_streamed_body_is_logged_without_being_read(app, captured):
    """The request log must not measure a streamed body (an export of every case) by reading it."""
    from flask import Response

    pulled = []

    def chunks():
        for n in range(3):
            pulled.append(n)
            yield b"a,b\n"

    app.add_url_rule("/stream-probe", "stream_probe", lambda: Response(chunks(), mimetype="text/csv"))
    response = app.test_client().get("/stream-probe", buffered=False)
    assert pulled == [0]  # the test client takes the first chunk; the log took none
    assert b"".join(response.response) == b"a,b\n" * 3
    line = next(json.loads(x) for x in captured.lines if '"stream_probe"' in x)
    assert line.get("bytes") is None  # unknown, not measured
