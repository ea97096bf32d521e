"""The ingestion pipeline: raw bytes first, then parse, validate, case, route; nothing dropped."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from forms import registry
from forms.schema import validate_data
from parsers.email import MAX_HEADER_CHARS
from service.casework import cases
from service.casework.models import OutboxMessage, RoutingDecision, Submission
from service.db import sessions
from service.documents.records import render
from service.intake import claims, ingest, review
from service.intake.models import ReceivedItem
from tests.conftest import sample
from tests.intake.mailauth import vouched
from tests.parsers.test_docx import LEGACY


def document(form_id: str, fmt: str = "docx", **changes) -> bytes:
    return render(registry().form(form_id), {**sample(form_id), **changes}, fmt)


def email_with(
    content: bytes | None, *, subject="Escalation", sender="zoe.nowak@riverside.example", dmarc="pass", **headers
):
    """An e-mail carrying `content`, as the receiving server hands it on with its DMARC verdict
    (believed only where the test trusts that server: the trusted_mx fixture)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "escalations@escalate.example"
    m["Subject"] = subject
    m["Message-ID"] = headers.pop("message_id", f"<{abs(hash((subject, sender, content)))}@riverside.example>")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("Form attached.")
    if content is not None:
        m.add_attachment(content, maintype="application", subtype="octet-stream", filename="form.docx")
    return vouched(m.as_bytes(), dmarc) if dmarc else m.as_bytes()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_returned_document_opens_a_routed_case(db_session):
    content = document("nt-appendix-a")
    outcome = ingest.ingest(db_session, content, channel="upload", filename="appendix-a.docx")
    assert outcome.status == "accepted", outcome.reason
    assert outcome.reference.startswith("NT-")
    assert outcome.routed and all(r["name"] for r in outcome.routed)
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert item.raw == content and item.case_reference == outcome.reference
    submission = db_session.get(Submission, item.submission_id)
    assert submission.data == validate_data(registry().form("nt-appendix-a"), sample("nt-appendix-a"))
    assert count(db_session, OutboxMessage) >= 1


def test_the_same_bytes_again_are_a_duplicate_not_a_second_case(db_session):
    content = document("kirklees-appendix-5", "pdf")
    first = ingest.ingest(db_session, content, channel="cli", filename="k5.pdf")
    again = ingest.ingest(db_session, content, channel="upload", filename="copy.pdf")
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert again.reference == first.reference
    assert again.reason.startswith("the same file was received before (k5.pdf, received ")
    assert again.reason.endswith("; read: applied to case)")  # what became of it, in the upload table's words
    assert count(db_session, Submission) == 1
    assert db_session.get(ReceivedItem, first.item_id).times_seen == 2


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("appendix-a.docx", "appendix-a.docx"),
        ("C:\\fakepath\\Appendix A.pdf", "Appendix A.pdf"),  # an old browser's folder path
        ("../../k5\x00\x1b[31m.docx", "k5[31m.docx"),  # control characters gone
        ("form\tcopy\n2.docx", "form copy 2.docx"),  # one line
        ("cafe\u0301 notes\udcff.pdf", "caf\u00e9 notes\ufffd.pdf"),  # NFC; half a UTF-16 pair mended
        ("\x00\x01", None),
    ],
)
def test_a_received_files_name_goes_through_the_normaliser(db_session, given, kept):
    outcome = ingest.store(db_session, f"{given!r}".encode(), channel="upload", filename=given)
    assert db_session.get(ReceivedItem, outcome.item_id).filename == kept


def test_a_long_file_name_keeps_its_ending():
    from service.intake.store import MAX_FILENAME, file_name

    name = file_name("minutes " * 60 + "final.docx")
    assert len(name) == MAX_FILENAME and name.endswith("….docx")


def test_the_same_bytes_brought_by_two_channels_at_once_are_counted_twice(db_app, db_session):
    """Each channel's session may hold the item as it read it earlier: the count is the database's."""
    from service.db import sessions

    content = document("kirklees-appendix-5", "pdf")
    smtp, upload = sessions(db_app)(), sessions(db_app)()
    with smtp, upload:
        first = ingest.store(smtp, content, channel="smtp")
        held = smtp.get(ReceivedItem, first.item_id)  # the SMTP session holds the item as it read it (seen once)
        ingest.store(upload, content, channel="upload")  # the same file uploaded: seen twice
        again = ingest.store(smtp, content, channel="smtp")  # sent again: its session's copy says once
    assert again.item_id == held.id
    assert db_session.get(ReceivedItem, first.item_id, populate_existing=True).times_seen == 3


def test_the_same_email_again_by_message_id(db_session):
    content = document("nt-appendix-a")
    one = email_with(content, message_id="<same@riverside.example>")
    two = one.replace(b"Form attached.", b"Form attached. ")  # other bytes, same message
    assert ingest.ingest(db_session, one, channel="smtp").status == "accepted"
    outcome = ingest.ingest(db_session, two, channel="imap")
    assert outcome.status == "duplicate" and "Message-ID" in outcome.reason
    assert count(db_session, Submission) == 1


def test_an_email_reusing_anothers_message_id_is_held_not_filed_on_its_case(db_session):
    """A copy of an e-mail comes from its own sender: the same Message-ID from another is forged or
    misfiled. It is held for review, not given the first one's case; released, it is read as itself."""
    first = ingest.ingest(
        db_session, email_with(document("nt-appendix-a"), message_id="<same@riverside.example>"), channel="smtp"
    )
    forged = email_with(
        document("nt-appendix-a", name="Another Child"),
        sender="someone@elsewhere.example",
        message_id="<same@riverside.example>",
    )
    outcome = ingest.ingest(db_session, forged, channel="imap")
    assert first.status == "accepted" and outcome.status == "held"
    assert "Message-ID was received from zoe.nowak@riverside.example" in outcome.reason
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert (item.case_reference, item.message_id, item.sender) == (None, None, "someone@elsewhere.example")
    assert item.sender_auth is not None and item.sender_auth_detail  # the sender check, for who decides
    assert count(db_session, Submission) == 1
    released = review.release(db_session, outcome.item_id, actor="lead@ntscp.example")
    assert released.status == "accepted", released.reason
    assert released.reference != first.reference and count(db_session, Submission) == 2


@pytest.mark.parametrize("id_chars", [1_000, 1_000_000])
def test_an_over_long_message_id_or_sender_is_read_not_a_fault(db_session, id_chars):
    """Longer than the columns that keep them: the id stands in as its digest (a resend is still the same
    e-mail), and a From: longer than any address is no sender, so the reply is held with that reason."""
    long_id = "<" + "x" * id_chars + "@riverside.example>"
    one = email_with(document("nt-appendix-a"), message_id="<placeholder@riverside.example>")
    one = one.replace(b"<placeholder@riverside.example>", long_id.encode())
    first = ingest.ingest(db_session, one, channel="smtp")
    again = ingest.ingest(db_session, one.replace(b"Form attached.", b"Form attached. "), channel="imap")
    assert first.status == "accepted", first.reason
    if id_chars < MAX_HEADER_CHARS:  # longer than the header as read: it has no id, so nothing to match
        assert again.status == "duplicate" and "Message-ID" in again.reason
    long_sender = "z" * 300 + "@riverside.example"
    reply = email_with(None, subject=f"Re: [{first.reference}]", sender=long_sender, message_id="<r@riverside.example>")
    held = ingest.ingest(db_session, reply, channel="smtp")
    assert held.status in ("held", "quarantined") and "unexpected" not in held.reason
    assert db_session.get(ReceivedItem, held.item_id).sender is None


def test_unreadable_input_is_quarantined_with_its_reason_and_kept(db_session):
    junk = b"\x00\x01\x02 not a form at all" * 50
    outcome = ingest.ingest(db_session, junk, channel="upload", filename="form.docx")
    assert outcome.status == "quarantined"
    assert "not a document" in outcome.reason
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert item.raw == junk
    assert [i.id for i in review.for_review(db_session)] == [item.id]


@pytest.mark.skipif(not LEGACY.exists(), reason="the partnerships' sample forms are not on this machine")
def test_published_form_missing_answers_is_quarantined_then_corrected_and_run_again(db_session):
    content = (LEGACY / "nt-appendix-a.docx").read_bytes()
    outcome = ingest.ingest(db_session, content, channel="upload", filename="appendix-a.docx")
    assert outcome.status == "quarantined"
    assert "'Stage of the policy reached' is required" in outcome.reason
    item = db_session.get(ReceivedItem, outcome.item_id)
    corrected = {**item.parsed["data"], "stage": "3", "receiving_agency": "Children's Social Care"}
    again = review.reprocess(db_session, item.id, actor="bu@nt.example", data=corrected)
    assert again.status == "accepted", again.reason
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert item.reviewed_by == "bu@nt.example" and item.case_reference == again.reference


def test_a_person_chooses_the_form_for_an_unrecognised_document(db_session):
    spec = registry().form("kirklees-appendix-5")
    from parsers.email import answers_text

    text = answers_text(spec, validate_data(spec, sample("kirklees-appendix-5")))
    # Without its title and section headings, and with most labels reworded, it is not recognised...
    lines = [
        line for line in text.split("\n") if line.startswith(("Child/Family", "Agency Initiating", "Date of init"))
    ]
    content = "\n".join(lines).encode()
    outcome = ingest.ingest(db_session, content, channel="upload", filename="notes.txt")
    assert outcome.status == "quarantined" and "not a recognised form" in outcome.reason
    # ... until a person says which form it is; then what it lacks is named.
    again = review.reprocess(db_session, outcome.item_id, actor="bu@kirklees.example", form_id="kirklees-appendix-5")
    assert again.status == "quarantined" and "'Stage of escalation' is required" in again.reason


def test_reply_threaded_by_reference_tag_from_a_party_updates_the_case(db_session, trusted_mx):
    first = ingest.ingest(db_session, document("nt-appendix-a"), channel="upload")
    update = document("nt-appendix-a", stage="4", outcome="Escalated to the Assistant Director.")
    reply = email_with(update, subject=f"RE: [{first.reference}] Escalation")
    outcome = ingest.ingest(db_session, reply, channel="smtp")
    assert outcome.status == "accepted", outcome.reason
    assert outcome.reference == first.reference and not outcome.created
    assert cases.get(db_session, first.reference).current_stage == "4"


def test_reply_from_someone_outside_the_case_is_held_then_released(db_session, trusted_mx):
    first = ingest.ingest(db_session, document("nt-appendix-a"), channel="upload")
    reply = email_with(
        document("nt-appendix-a", stage="4"), subject=f"[{first.reference}]", sender="someone@elsewhere.example"
    )
    outcome = ingest.ingest(db_session, reply, channel="smtp")
    assert outcome.status == "held"
    assert "not a party to the case" in outcome.reason
    assert cases.get(db_session, first.reference).current_stage == "3"
    released = review.release(db_session, outcome.item_id, actor="bu@nt.example")
    assert released.status == "accepted" and released.reference == first.reference


def test_reply_threaded_by_in_reply_to_one_of_our_messages(db_session, trusted_mx):
    first = ingest.ingest(db_session, document("nt-appendix-a"), channel="upload")
    ours = db_session.scalar(select(OutboxMessage).where(OutboxMessage.to_email.is_not(None)).limit(1))
    routed_to = db_session.scalar(select(RoutingDecision.email).where(RoutingDecision.email.is_not(None)).limit(1))
    reply = email_with(
        document("nt-appendix-a", stage="4"), subject="Re: your message", sender=routed_to, in_reply_to=ours.message_id
    )
    outcome = ingest.ingest(db_session, reply, channel="imap")
    assert outcome.status == "accepted", outcome.reason
    assert outcome.reference == first.reference


def test_auto_reply_is_kept_and_ignored(db_session):
    auto = email_with(None, subject="Automatic reply: [NT-2026-0001] Escalation", Auto_Submitted="auto-replied")
    outcome = ingest.ingest(db_session, auto, channel="smtp")
    assert outcome.status == "ignored" and "automatic reply" in outcome.reason
    assert count(db_session, Submission) == 0


def test_flask_ingest_stores_queues_and_answers_with_the_item(db_app, tmp_path):
    good = tmp_path / "k5.docx"
    good.write_bytes(document("kirklees-appendix-5"))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated")
    result = db_app.test_cli_runner().invoke(args=["ingest", str(good), str(bad), str(good)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["status"] for line in lines] == ["received"] * 3
    assert lines[0]["item"] == lines[2]["item"] != lines[1]["item"]  # the same bytes are the same item
    assert lines[0]["reason"] == f"received as item {lines[0]['item']}; queued to be read"
    from service.db import sessions

    with sessions(db_app)() as session:  # the jobs (run as queued here) read and applied them
        first, second = session.get(ReceivedItem, lines[0]["item"]), session.get(ReceivedItem, lines[1]["item"])
        assert first.status == "accepted" and first.case_reference.startswith("KL-") and first.read_at
        assert second.status == "quarantined" and second.reason
        assert count(session, Submission) == 1


def test_flask_ingest_now_reads_in_the_command(db_app, tmp_path):
    good = tmp_path / "k5.docx"
    good.write_bytes(document("kirklees-appendix-5"))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated")
    result = db_app.test_cli_runner().invoke(args=["ingest", "--now", str(good), str(bad), str(good)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["status"] for line in lines] == ["accepted", "quarantined", "duplicate"]
    assert lines[0]["reference"].startswith("KL-") and lines[0]["routed"]
    assert lines[1]["reason"] and lines[1]["reference"] is None


# Run as an operator runs it: `flask --app app ingest`, in a process of its own, printing the modules it
# loaded as it exits (the command finds `ingest` without building the app: pyproject's flask.commands).
_RUN_FLASK = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules))))\n"
    "from flask.cli import main\n"
    "sys.argv = ['flask', '--app', 'app', *sys.argv[1:]]\n"
    "main()\n"
)
WHOLE_APP = ("service.web", "service.workspace", "service.conference", "service.casework.cases", "forms.loader")


def _flask(db_engine, tmp_path, *args, **environ) -> tuple[list[dict], set[str]]:
    """The JSON lines `flask --app app ARGS` printed and the modules it loaded, on db_engine's database."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import text

    url = db_engine.url
    if db_engine.dialect.name == "postgresql":  # the test's own schema, as its engine is given it
        with db_engine.connect() as connection:
            schema = connection.scalar(text("select current_schema()"))
        url = url.set(query={"options": f"-csearch_path={schema}"})
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "INTAKE_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        **environ,
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _RUN_FLASK, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    modules = set(done.stderr.rpartition("MODULES ")[2].split()) if "MODULES " in done.stderr else set()
    if done.returncode:
        return [
            {"exit": done.returncode, "stderr": done.stderr.partition("MODULES ")[0], "stdout": done.stdout}
        ], modules
    return _json_values(done.stdout), modules


def _json_values(text: str) -> list:
    """Each JSON value printed, whether one a line (ingest) or indented over many (parse)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        at += len(text[at:]) - len(text[at:].lstrip())  # the line break between two values
    return values


def test_flask_ingest_that_queues_stores_and_queues_without_the_whole_app(db_engine, tmp_path):
    from huey import SqliteHuey
    from sqlalchemy.orm import Session

    path = tmp_path / "k5.docx"
    path.write_bytes(document("kirklees-appendix-5"))
    lines, modules = _flask(db_engine, tmp_path, "ingest", str(path))
    assert [line["status"] for line in lines] == ["received"]
    assert lines[0]["reason"] == f"received as item {lines[0]['item']}; queued to be read"
    with Session(db_engine) as session:
        item = session.get(ReceivedItem, lines[0]["item"])
        assert item.status == "received" and item.raw == path.read_bytes() and item.channel == "cli"
        assert item.queued_at is not None  # marked queued: the sweep leaves it to its job
    assert SqliteHuey("escalate-intake", filename=str(tmp_path / "queue.sqlite3")).pending_count() == 1
    # Only the settings, the tables and the queue: none of the pages, packs, cases or mail.
    assert "service.intake.jobs" in modules and "service.intake.store" in modules
    assert not [name for name in WHOLE_APP if name in modules]
    assert "service.intake.ingest" not in modules and "cairosvg" not in modules


def test_every_flask_command_loads_no_plugin_command_but_the_services_own():
    """flask imports every installed plugin command before it runs any command, so a dependency that
    brings one slows every `flask` command (issue 16: Flask-Limiter's cost 0.1-0.2 s of each start-up).
    The service's own two import nothing at their top but click and Flask."""
    from importlib.metadata import entry_points

    found = {entry.name: entry.value for entry in entry_points(group="flask.commands")}
    assert found == {"parse": "service.intake.parse_cli:parse_command", "ingest": "service.intake.cli:ingest_command"}


def test_flask_ingest_in_production_refuses_a_database_local_to_one_machine(tmp_path):
    from service.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'local.sqlite3'}")
    path = tmp_path / "notes.txt"
    path.write_text("Nothing here is a form.\n")
    (refused,), _ = _flask(engine, tmp_path, "ingest", str(path), ESCALATE_ENV="production")
    assert refused["exit"] == 1
    assert "DATABASE_URL must point at PostgreSQL: a SQLite file is local to one server" in refused["stderr"]
    assert "Traceback" not in refused["stderr"]


@pytest.mark.parametrize("now", [(), ("--now",)], ids=["queue", "now"])
def test_flask_ingest_on_a_database_never_prepared_says_so(tmp_path, now):
    from service.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    path = tmp_path / "notes.txt"
    path.write_text("Nothing here is a form.\n")
    (refused,), _ = _flask(engine, tmp_path, "ingest", *now, str(path))
    assert refused["exit"] == 1 and "Traceback" not in refused["stderr"]
    said = "was never prepared for the service: run `flask --app app db-prepare`, then ingest the files again"
    assert said in refused["stderr"]


def test_flask_ingest_on_an_older_versions_database_names_the_revision_it_lacks(tmp_path):
    from alembic.script import ScriptDirectory

    from service.db import alembic_config, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    script = ScriptDirectory.from_config(alembic_config(engine))
    head, older = script.get_current_head(), script.get_revision(script.get_current_head()).down_revision
    upgrade(engine, older)
    path = tmp_path / "notes.txt"
    path.write_text("Nothing here is a form.\n")
    (refused,), _ = _flask(engine, tmp_path, "ingest", str(path))
    assert refused["exit"] == 1 and "Traceback" not in refused["stderr"]
    assert f"prepared by an older version of the service (at {older}; this version needs {head})" in refused["stderr"]


def test_flask_ingest_now_builds_the_whole_app_and_reads_in_the_command(db_engine, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Nothing here is a form.\n")
    lines, modules = _flask(db_engine, tmp_path, "ingest", "--now", str(path))
    assert [line["status"] for line in lines] == ["quarantined"]
    assert "not a recognised form" in lines[0]["reason"]
    assert all(name in modules for name in WHOLE_APP)  # cases, their e-mails' links and the conference log


def test_flask_parse_loads_the_packs_only_for_a_form(db_engine, tmp_path):
    """The packs name a form's answers; a file that is no form gets its reason without the command
    loading them (its reader, in the sandbox, recognises forms with its own)."""
    path = tmp_path / "notes.txt"
    path.write_text("Nothing here is a form.\n")
    (refused,), modules = _flask(db_engine, tmp_path, "parse", str(path))
    assert refused["exit"] == 1 and "not a recognised form" in _json_values(refused["stdout"])[0]["reason"]
    assert "forms.loader" not in modules and "yaml" not in modules
    form = tmp_path / "k5.docx"
    form.write_bytes(document("kirklees-appendix-5"))
    (parsed,), modules = _flask(db_engine, tmp_path, "parse", str(form))
    assert parsed["form_id"] == "kirklees-appendix-5" and parsed["fields"]["child_name"]["label"]
    assert "forms.loader" in modules


def test_flask_parse_prints_the_result_and_stores_nothing(db_app, tmp_path):
    path = tmp_path / "k5.docx"
    path.write_bytes(document("kirklees-appendix-5"))
    result = db_app.test_cli_runner().invoke(args=["parse", str(path)])
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    assert parsed["form_id"] == "kirklees-appendix-5" and parsed["claimed_stage"] == "5"
    assert parsed["fields"]["child_name"]["label"] == "Child/Family's name"
    assert parsed["data"]["dob"] == sample("kirklees-appendix-5")["dob"]
    from service.db import sessions

    with sessions(db_app)() as session:
        assert count(session, ReceivedItem) == 0


def test_upload_of_many_files_for_one_partnership(db_session):
    files = [
        ("a.docx", document("kirklees-appendix-5"), None),
        ("b.docx", document("nt-appendix-a"), None),  # another partnership's form: not Kirklees's
    ]
    first, second = ingest.ingest_files(db_session, files, partnership="kirklees")
    assert first.status == "accepted" and first.reference.startswith("KL-")
    assert second.status == "quarantined" and "not a recognised form" in second.reason


def test_ingest_many_reads_ahead_and_gives_outcomes_in_order(db_session):
    one, two = document("kirklees-appendix-5"), document("nt-appendix-a", "pdf")
    inputs = [("1.docx", one), ("junk.docx", b"not a document"), ("2.pdf", two), ("again.docx", one)]
    outcomes = list(ingest.ingest_many(db_session, inputs, channel="cli"))
    assert [o.status for o in outcomes] == ["accepted", "quarantined", "accepted", "duplicate"]
    assert outcomes[0].reference.startswith("KL-") and outcomes[2].reference.startswith("NT-")
    assert outcomes[3].reference == outcomes[0].reference
    items = db_session.scalars(select(ReceivedItem).order_by(ReceivedItem.id)).all()
    assert [i.status for i in items] == ["accepted", "quarantined", "accepted"]
    assert all(i.submission_id for i in items if i.status == "accepted")


def test_ingest_many_keeps_the_lease_of_the_item_it_reads_ahead(db_app, db_session, monkeypatch):
    """The item read ahead waits while the one before it is applied: its lease is renewed meanwhile,
    so no worker takes it over however long that takes."""
    monkeypatch.setenv("INTAKE_LEASE_SECONDS", "1.5")  # renewed every 0.5 s: a renewal may be 1 s late
    inputs = [("1.docx", document("kirklees-appendix-5")), ("2.docx", document("nt-appendix-a"))]
    outcomes = ingest.ingest_many(db_session, inputs, channel="cli")
    first = next(outcomes)  # by now 2.docx is claimed and being read ahead
    time.sleep(5)  # more than three leases
    ahead = db_session.scalar(select(ReceivedItem.id).where(ReceivedItem.filename == "2.docx"))
    with sessions(db_app)() as worker:
        assert claims.claim(worker, ahead, claims.new_token()) is None  # still this reader's
    second = next(outcomes)
    assert (first.status, second.status) == ("accepted", "accepted"), second.reason
    assert db_session.get(ReceivedItem, ahead, populate_existing=True).read_starts == 1


def test_child_details_on_a_form_that_carries_none_are_quarantined_with_the_reason(db_session):
    spec = registry().form("nt-appendix-a")
    answers = sample("nt-appendix-a") | {"worry": "Jayden Smith, DOB 01/02/2015, lives at 14 Acacia Avenue."}
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "zoe.nowak@riverside.example", "escalations@escalate.example", spec.title
    m["Message-ID"] = "<child-details-1@riverside.example>"
    m.set_content("\n".join(f"{f.label}: {answers[f.key]}" for f in spec.fields if "\n" not in str(answers[f.key])))
    outcome = ingest.ingest(db_session, m.as_bytes(), channel="smtp")
    assert outcome.status == "quarantined", outcome
    assert "must not include a child's or family's details" in outcome.reason
    assert "date of birth" in outcome.reason
    assert count(db_session, Submission) == 0


def test_flask_ingest_refuses_a_partnership_or_form_it_does_not_have_before_storing(db_app, tmp_path):
    path = tmp_path / "k5.docx"
    path.write_bytes(document("kirklees-appendix-5"))
    runner = db_app.test_cli_runner()
    mistyped = runner.invoke(args=["ingest", "--partnership", "kirkless", str(path)])
    assert (
        mistyped.exit_code == 2
        and "no partnership 'kirkless' here (one of: gloucestershire, kirklees" in mistyped.output
    )
    elsewhere = runner.invoke(args=["ingest", "--partnership", "sscp", "--form", "kirklees-appendix-5", str(path)])
    assert elsewhere.exit_code == 2 and "no form 'kirklees-appendix-5' of sscp here" in elsewhere.output
    with sessions(db_app)() as session:
        assert session.scalar(select(func.count()).select_from(ReceivedItem)) == 0
    stored = runner.invoke(args=["ingest", "--partnership", "kirklees", "--form", "kirklees-appendix-5", str(path)])
    assert stored.exit_code == 0, stored.output
