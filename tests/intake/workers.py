"""Real parts for the intake queue's tests: a database the worker processes share, a Redis server of
the test's own, `flask --app app worker` processes, and returned documents of every existing kind,
scans among them."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from app import create_app
from forms import registry
from forms.schema import validate_data
from service import db
from service.casework import directory
from service.casework.models import Base, OutboxMessage, Submission
from service.intake import jobs
from service.intake.models import ReceivedItem
from service.intake.store import store
from tests.conftest import postgres_schema, sample, schema_url
from tests.parsers.scans import Spoil, pages_of, scanned

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Shared:
    """A database and a queue that this process and worker processes share."""

    engine: Engine
    url: str  # the database, as a worker process reaches it
    queue_url: str
    queue_name: str

    def app(self):
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "DATABASE_ENGINE": self.engine,
                "INTAKE_QUEUE_URL": self.queue_url,
                "INTAKE_QUEUE_NAME": self.queue_name,
            }
        )


@contextlib.contextmanager
def shared_database(tmp_path: Path, postgres: bool):
    """Every table and the sample directory: a PostgreSQL schema of its own, or a SQLite file."""
    if postgres:
        with postgres_schema() as engine:
            _prepare(engine)
            yield engine, schema_url(engine)
        return
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    engine = db.make_engine(url)
    _prepare(engine)
    yield engine, url
    engine.dispose()


def _prepare(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": engine})
    with db.sessions(app)() as session:
        directory.seed(session)


class Worker:
    """`flask --app app worker --processes N` in a process group of its own (so a kill takes all of it)."""

    def __init__(self, shared: Shared, processes: int, log: Path, lease: float = 300, sweep: int = 1):
        env = {
            **os.environ,
            "DATABASE_URL": shared.url,
            "INTAKE_QUEUE_URL": shared.queue_url,
            "INTAKE_QUEUE_NAME": shared.queue_name,
            "INTAKE_LEASE_SECONDS": str(lease),
            "INTAKE_REQUEUE_SECONDS": "30",
            "LOG_LEVEL": "WARNING",
        }
        args = [sys.executable, "-m", "flask", "--app", "app", "worker", "--processes", str(processes)]
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [*args, "--sweep-every", str(sweep)], cwd=ROOT, env=env, stdout=self.log, stderr=self.log,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL to the consumer and every process it started: no chance to finish or tidy up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def store_all(app, files) -> list[int]:
    """What every channel does: store each file, queue it, answer with the item."""
    with app.app_context(), db.sessions(app)() as session:
        stored = [
            store(session, content, channel="smtp" if name.endswith(".eml") else "upload", filename=name)
            for name, content in files
        ]
    jobs.enqueue(app, [s.item_id for s in stored if s.status == "received"])
    return [s.item_id for s in stored]


def queue_name() -> str:
    return f"test{uuid.uuid4().hex[:12]}"  # each test its own queue, on a Redis other tests may share


def wait_until_read(engine: Engine, count: int, timeout: float = 300) -> float:
    """Seconds until `count` items are stored and none waits or is being read; fails after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with engine.connect() as connection:
            states = Counter(
                {s: n for s, n in connection.execute(select(ReceivedItem.status, func.count()).group_by("status"))}
            )
        if sum(states.values()) >= count and not states["received"] and not states["reading"]:
            return time.monotonic() - start
        time.sleep(0.2)
    pytest.fail(f"not read within {timeout} s: {dict(states)}")


def tally(engine: Engine) -> dict:
    """What the database holds: item states, submissions per original file, notifications per
    (submission, recipient), how many times readers started on the items."""
    with engine.connect() as connection:
        states = Counter(
            {s: n for s, n in connection.execute(select(ReceivedItem.status, func.count()).group_by("status"))}
        )
        per_file = Counter(connection.scalars(select(Submission.filename)).all())
        submissions = connection.scalar(select(func.count()).select_from(Submission))
        outbox = Counter(
            connection.execute(
                select(OutboxMessage.case_id, OutboxMessage.submission_id, OutboxMessage.kind, OutboxMessage.to_email)
            ).all()
        )
        starts = Counter(connection.scalars(select(ReceivedItem.read_starts)).all())
    return {"states": states, "submissions": submissions, "per_file": per_file, "outbox": outbox, "starts": starts}


def forms_with_a_name() -> list:
    return [s for s in registry().forms.values() if s.field_for("raiser_name") is not None]


@functools.cache  # the same documents for every test that asks (the caller must not change the list)
def returns(count: int, junk_every: int = 20) -> list[tuple[str, bytes]]:
    """`count` different returned files of every kind read today: DOCX and PDF forms, e-mails with either
    attached or the answers typed, and one in `junk_every` a file no form can be read from."""
    from parsers.email import answers_text
    from service.documents.records import render

    forms = forms_with_a_name()
    out = []
    for n in range(count):
        if n % junk_every == junk_every - 1:
            out.append((f"{n}-unreadable.docx", f"not a document {n}".encode()))
            continue
        spec = forms[n % len(forms)]
        data = validate_data(spec, {**sample(spec.id), spec.field_for("raiser_name").key: f"Returned Person {n}"})
        kind = n % 5
        if kind in (0, 1):
            fmt = "docx" if kind == 0 else "pdf"
            out.append((f"{n}.{fmt}", render(spec, data, fmt)))
            continue
        message = EmailMessage()
        message["From"], message["To"] = f"sender{n}@agency.example", "escalations@escalate.example"
        message["Subject"], message["Message-ID"] = f"Returned form {n}", f"<return-{n}@agency.example>"
        if kind == 4:
            message.set_content(answers_text(spec, data))
        else:
            fmt = "docx" if kind == 2 else "pdf"
            message.set_content("Form attached.")
            message.add_attachment(render(spec, data, fmt), maintype="application", subtype=fmt, filename=f"form.{fmt}")
        out.append((f"{n}.eml", message.as_bytes()))
    return out


SCAN = Spoil(dpi=200, quality=85)  # a copier's scan; OCR scales every page to 300 dpi whatever it came at


@functools.cache
def scans(count: int, one_page: bool = False) -> dict[str, tuple[bytes, str, str]]:
    """`count` scans of filled forms, every form in turn (only those of one page with `one_page`: OCR
    takes 1-2 s of processor time a page), a PDF of page images or a many-page TIFF each:
    {filename: (bytes, form id, the name written on it)}; each names a person of its own, so a scan's
    answers kept on another's item would show."""
    from service.documents.records import render

    forms, out = forms_with_a_name(), {}
    if one_page:
        forms = [s for s in forms if len(pages_of(render(s, sample(s.id), "pdf"), 10)) == 1]
    for n in range(count):
        spec, name, fmt = forms[n % len(forms)], f"Scanned Person {n}", ("pdf", "tiff")[n % 2]
        data = validate_data(spec, {**sample(spec.id), spec.field_for("raiser_name").key: name})
        out[f"{n}-scan.{fmt}"] = (scanned(render(spec, data, "pdf"), SCAN, fmt), spec.id, name)
    return out


def with_scans(count: int, scanned_count: int) -> list[tuple[str, bytes]]:
    """`count` returned files, `scanned_count` of them scans (of one-page forms) spread evenly among the others."""
    typed = iter(returns(count - scanned_count))
    scan = iter((name, s[0]) for name, s in scans(scanned_count, one_page=True).items())
    every = count // scanned_count
    return [next(scan) if n % every == every - 1 else next(typed) for n in range(every * scanned_count)] + list(typed)
