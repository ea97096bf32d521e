"""Returned files read as background jobs (issue 18): real `flask --app app worker` processes on the
intake queue (a Redis of the bench's own; the SQLite queue when redis-server is missing) and the
database (PostgreSQL, the scaling path, in a schema of its own: BENCH_DATABASE_URL, else
TEST_DATABASE_URL, else the local server .ci/run uses; a SQLite file when none answers, where the
2-processes ratio is context: its one write lock serialises the workers).

- Items read per second with 1, 2 and 3 worker processes: the same 240 mixed documents (DOCX, PDF,
  e-mails with either attached, typed answers) queued at once into a warmed-up worker, each run on a
  fresh database. The ratios show how reading scales on this machine's cores; a machine more gives
  about its cores × the one-process rate, since workers share only Redis and the database.
- Queue wait p95 (stored → a worker starts reading it) in those bursts, and for an upload of 40.
- The first document a worker reads, stored once it has started and sat idle: whether its reader
  was ready for it or started (and loaded its libraries) only then.
- An upload of 40 typed documents (stored and queued as the upload page does): how long until the
  page answers, and until the last one is read, with 2 worker processes.
- An upload of 40 scans (the issue's measure: a copier's 200 dpi scan-to-PDF or TIFF of each form
  in turn, made by tests/intake/workers.py, OCR by Tesseract at 300 dpi, 1-2 pages each): until
  the page answers, and until the last one is read with 1 and with 2 worker processes. Each scan's
  reading is almost all Tesseract's processor time, so this shows how the workers share the cores
  when reading is the work, where the typed burst shows the database's share.
On a SQLite database (one writer at a time) a typed document spends about two thirds of its time
inside write transactions (its claim; then the case's, from taking the reference number to the
commit), so a second process gains little; on PostgreSQL, the database worker machines share, the
processes wait for each other only on a partnership's reference counter. The machine's other load
moves these ratios by more than the processes do: read them with the load average beside them.
LibreOffice-converted Word forms are not among the kinds read here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import PG_DEFAULT, Figure
from tests.intake.workers import returns
from tests.support.ports import free_port, wait_for_port
from tests.support.schema import stamp_what_create_all_makes

ISSUE = 18
ROOT = Path(__file__).resolve().parent.parent
BURST = 240
UPLOAD = 40
SCANS = 40
IDLE = 8  # seconds a fresh worker waits before its first document (its processes started by then)


@contextlib.contextmanager
def _redis(workdir: Path):
    """A redis-server of our own on a free port (never the shared one), or None without the binary."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, seconds=10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def _database(workdir: Path, n: int, server: str | None):
    """An empty database with every table and the sample directory, and its URL for the workers: a
    schema of its own on `server` (PostgreSQL), or a SQLite file when there is none."""
    from sqlalchemy import create_engine, text

    from app import create_app
    from service import db
    from service.casework import directory
    from service.casework.models import Base

    schema, admin = f"bench_intake_{uuid.uuid4().hex[:10]}", None
    if server:
        admin = create_engine(server)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{workdir / f'intake-{n}.sqlite3'}"
    engine = db.make_engine(url)
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_ENGINE": engine})  # every model
        stamp_what_create_all_makes()  # its workers start only on a database at this version
        Base.metadata.create_all(engine)
        with db.sessions(app)() as session:
            directory.seed(session)
        yield engine, url
    finally:
        engine.dispose()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


class _Worker:
    def __init__(self, url: str, queue_url: str, name: str, processes: int, log: Path):
        env = {**os.environ, "DATABASE_URL": url, "INTAKE_QUEUE_URL": queue_url, "INTAKE_QUEUE_NAME": name}
        env["LOG_LEVEL"] = "WARNING"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--processes", str(processes)],
            cwd=ROOT, env=env, stdout=self.log, stderr=self.log, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


def _store(app, files, queue: bool = True) -> list[int]:
    from service import db
    from service.intake import ingest, jobs

    with app.app_context(), db.sessions(app)() as session:
        ids = [ingest.store(session, c, channel="cli", filename=n).item_id for n, c in files]
    if queue:
        jobs.enqueue(app, ids)
    return ids


def _wait(engine, ids: list[int], timeout: float = 600) -> list:
    """(received_at, read_started_at, read_at) of `ids` once every one of them is read."""
    from sqlalchemy import select

    from service.intake.models import ReceivedItem

    deadline = time.monotonic() + timeout
    item = ReceivedItem
    query = select(item.received_at, item.read_started_at, item.read_at).where(item.id.in_(ids))
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            rows = connection.execute(query.where(item.read_at.is_not(None))).all()
        if len(rows) == len(ids):
            return rows
        time.sleep(0.1)
    raise TimeoutError(f"only {len(rows)} of {len(ids)} read in {timeout} s")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def _upload(app, engine, files, label: str) -> dict:
    """Stored and queued as the upload page does: until it answers, until the last one is read, wait p95."""
    from service import db
    from service.intake import jobs, uploads

    start = time.perf_counter()
    with app.app_context(), db.sessions(app)() as session:
        _, outcomes = uploads.store_upload(
            session, [(n, c, None) for n, c in files], uploaded_by="bench@bu.example", partnership=None
        )
    jobs.enqueue(app, [o.item_id for o in outcomes])
    answered = time.perf_counter() - start
    rows = _wait(engine, [o.item_id for o in outcomes])
    return {
        f"{label}_answered": answered,
        f"{label}_last_read": time.perf_counter() - start,
        f"{label}_wait_p95": _p95([(r.read_started_at - r.received_at).total_seconds() for r in rows]),
    }


def _scans() -> list[tuple[str, bytes]]:
    from tests.intake.workers import scans

    return [(name, made[0]) for name, made in scans(SCANS).items()]


def _run(workdir: Path, server: str | None, queue_url: str | None, processes: int, burst, upload=None, scans=None):
    from app import create_app

    with _database(workdir, processes, server) as (engine, url):
        queue = queue_url or f"sqlite:///{workdir / f'queue-{processes}.sqlite3'}"
        name = f"bench{uuid.uuid4().hex[:10]}"
        app = create_app(
            {"TESTING": True, "DATABASE_ENGINE": engine, "INTAKE_QUEUE_URL": queue, "INTAKE_QUEUE_NAME": name}
        )
        worker = _Worker(url, queue, name, processes, workdir / f"worker-{processes}.log")
        try:
            time.sleep(IDLE)  # started and idle, as a worker waits for the day's first upload
            start = time.perf_counter()
            _wait(engine, _store(app, burst[:1]), timeout=120)
            first = time.perf_counter() - start
            _wait(engine, _store(app, burst[1 : processes * 3]), timeout=120)  # every process and its parser up
            from service.intake import jobs

            ids = _store(app, burst[processes * 3 :], queue=False)  # stored first, then all queued at once
            queued_at, start = dt.datetime.now(dt.UTC), time.perf_counter()
            jobs.enqueue(app, ids)
            rows = _wait(engine, ids)
            elapsed = time.perf_counter() - start
            result = {
                "load": os.getloadavg()[0],
                "first": first,
                "rate": len(ids) / elapsed,
                "wait_p95": _p95([(r.read_started_at - queued_at).total_seconds() for r in rows]),
            }
            for label, files in (("upload", upload), ("scans", scans)):
                if files is not None:
                    result.update(_upload(app, engine, files, label))
            return result
        finally:
            worker.stop()


def _server() -> str | None:
    """PostgreSQL, the scaling path (docs/operations.md: worker machines share one Redis and one
    PostgreSQL): BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server .ci/run uses, as the
    cases and workspace benches; a SQLite file when none answers (its one write lock serialises the
    workers, so its ratio is context, not the scaling target)."""
    from sqlalchemy import create_engine, text

    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return url
    except Exception as exc:  # no server here: the embedded default instead, said in the table
        print(
            f"bench_intake: PostgreSQL at {url} not reachable ({type(exc).__name__}); SQLite instead", file=sys.stderr
        )
        return None
    finally:
        engine.dispose()


def run() -> list[Figure]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    count = BURST + 9 + UPLOAD
    inputs = returns(count, junk_every=count + 1)  # DOCX, PDF, e-mails with either attached, pasted answers
    burst, upload, scans = inputs[: BURST + 9], inputs[BURST + 9 :], _scans()
    server = _server()  # asked once: each run of 1, 2 and 3 processes on the same database server
    database = "PostgreSQL" if server else "SQLite"
    try:
        with _redis(workdir) as redis_url:
            where = f"{'Redis' if redis_url else 'SQLite'} queue, {database}"
            runs = {
                n: _run(workdir, server, redis_url, n, burst, upload if n == 2 else None, scans if n < 3 else None)
                for n in (1, 2, 3)
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    one, two, three = runs[1], runs[2], runs[3]
    cores = os.cpu_count() or 1
    return [
        Figure(ISSUE, f"items read per second, 1 worker process ({where})", one["rate"], "items/s", ">= 10", one["rate"] >= 10),
        Figure(ISSUE, "items read per second, 2 worker processes", two["rate"], "items/s", "(context)", True),
        Figure(ISSUE, "items read per second, 3 worker processes", three["rate"], "items/s", "(context)", True),
        _scaling(two["rate"] / one["rate"], cores, database),
        Figure(ISSUE, "  3 processes / 1 (more processes than cores: no further gain expected)", three["rate"] / one["rate"], "x", "(context)", True),
        Figure(ISSUE, f"  on paper: N machines of {cores} cores, per machine", one["rate"] * cores, "items/s", "(context)", True),
        Figure(ISSUE, f"  machine load average during the runs (1, 2, 3 processes; {cores} cores, shared)", max(r["load"] for r in runs.values()), "", "(context)", True),
        Figure(ISSUE, f"first document read by a worker started {IDLE} s before (1 process)", one["first"], "s", "(context)", True),
        Figure(ISSUE, f"queue wait p95, burst of {BURST} queued at once, 2 processes", two["wait_p95"], "s", "(context)", True),
        Figure(ISSUE, f"upload of {UPLOAD} typed documents: page answers (stored and queued)", two["upload_answered"], "s", "< 2", two["upload_answered"] < 2),
        Figure(ISSUE, f"upload of {UPLOAD} typed documents: until the last one is read (2 processes)", two["upload_last_read"], "s", "< 20", two["upload_last_read"] < 20),
        Figure(ISSUE, f"  queue wait p95 of the {UPLOAD}", two["upload_wait_p95"], "s", "< 15", two["upload_wait_p95"] < 15),
        Figure(ISSUE, f"upload of {SCANS} scans: page answers (stored and queued)", two["scans_answered"], "s", "< 2", two["scans_answered"] < 2),
        Figure(ISSUE, f"upload of {SCANS} scans: until the last one is read, 2 processes", two["scans_last_read"], "s", "(context)", True),
        Figure(ISSUE, f"upload of {SCANS} scans: until the last one is read, 1 process", one["scans_last_read"], "s", "(context)", True),
        Figure(ISSUE, "  scans: 1 process's time / 2 processes'", one["scans_last_read"] / two["scans_last_read"], "x", "> 1.3", one["scans_last_read"] / two["scans_last_read"] > 1.3),
        Figure(ISSUE, f"  queue wait p95 of the {SCANS} scans, 2 processes", two["scans_wait_p95"], "s", "(context)", True),
    ]  # fmt: skip


def _scaling(ratio: float, cores: int, database: str) -> Figure:
    if database == "PostgreSQL":
        return Figure(ISSUE, f"  2 processes / 1 ({cores} cores here)", ratio, "x", "> 1.3", ratio > 1.3)
    # One write lock for every worker: SQLite is one machine's embedded default, not the scaling path.
    return Figure(
        ISSUE, f"  2 processes / 1 ({cores} cores here; SQLite's one write lock)", ratio, "x", "(context)", True
    )
