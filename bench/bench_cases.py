"""Cases (issue 3): creating a case with routing and outbox on SQLite; the case list and the overdue
query over 100,000 cases on PostgreSQL.

PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server .ci/run uses. The
100,000 cases go into a schema of their own (COPY, a few seconds), dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import PG_DEFAULT, Figure, median_ms

ISSUE = 3
SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "forms"
CASES = 100_000


def _sample(form_id: str) -> dict:
    return json.loads((SAMPLES / f"{form_id}.json").read_text(encoding="utf-8"))


def _prepare(engine) -> None:
    from app import create_app
    from service import db
    from service.casework import directory

    create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})  # every model imported, as in the service
    db.upgrade(engine)
    with Session(engine) as session:
        directory.seed(session)


def _wall_and_cpu_ms(fn, repeat: int = 200, warmup: int = 10) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds: on a busy machine the two tell load from cost apart."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _create_case_figures() -> list[Figure]:
    from service.casework import cases
    from service.db import make_engine

    figures = []
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        _prepare(engine)
        with Session(engine, expire_on_commit=False) as session:
            for form_id, label in (
                ("nt-appendix-a", "NT stage 3, 1 recipient"),
                ("kirklees-appendix-3", "Kirklees Appendix 3, 4 recipients"),
            ):
                data = _sample(form_id)
                wall, cpu = _wall_and_cpu_ms(lambda d=data, f=form_id: cases.submit(session, f, d, channel="web"))
                name = f"create case + routing + outbox, SQLite ({label})"
                figures.append(Figure(ISSUE, name, wall, "ms", "< 20 ms median", wall < 20))
                figures.append(Figure(ISSUE, f"  CPU time of the same ({label})", cpu, "ms", "(context)", True))
        engine.dispose()
    return figures


def _copy_cases(engine, count: int, today: dt.date) -> float:
    """Bulk-load `count` cases with COPY; returns seconds taken."""
    from forms import registry

    packs = registry().packs
    rng = random.Random(3)
    counters: dict[tuple[str, int], int] = {}
    columns = (
        "reference",
        "tracking_hash",
        "partnership",
        "process",
        "status",
        "raising_agency",
        "receiving_agency",
        "category",
        "immediate_risk",
        "current_stage",
        "current_due",
        "created_at",
        "updated_at",
    )
    start = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY cases ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(count):
                pack = packs[i % len(packs)]
                created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                    minutes=int(i * (3 * 365 * 24 * 60) / count)
                )
                key = (pack.id, created.year)
                counters[key] = counters.get(key, 0) + 1
                stage = rng.choice(pack.stages)
                is_open = rng.random() < 0.2
                due = (
                    created.date() + dt.timedelta(days=rng.randint(1, 10))
                    if stage.timescale.kind == "working_days"
                    else None
                )
                copy.write_row(
                    (
                        f"{pack.reference_prefix}-{created.year}-{counters[key]:04d}",
                        hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
                        pack.id,
                        "escalation",
                        "open" if is_open else "resolved",
                        f"Fictional Agency {i % 97}",
                        f"Fictional Agency {i % 89}",
                        rng.choice(["referral-threshold", "assessment", "communication", "other"]),
                        False,
                        stage.id,
                        due if is_open else None,
                        created,
                        created,
                    )
                )
        cursor.execute("ANALYZE cases")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - start


def _postgres_figures() -> list[Figure]:
    from forms import registry
    from service.casework import cases
    from service.db import make_engine

    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: say so in the table rather than fail the whole bench run
        print(f"bench_cases: PostgreSQL at {url} not reachable ({type(exc).__name__}); skipped", file=sys.stderr)
        admin.dispose()
        return [Figure(ISSUE, "PostgreSQL not reachable: 100,000-case figures skipped", 0, "-", "< 200 ms", False)]
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        _prepare(engine)
        today = dt.date(2026, 12, 1)
        seconds = _copy_cases(engine, CASES, today)
        figures = [Figure(ISSUE, f"bulk load {CASES:,} cases into PostgreSQL (COPY)", seconds, "s", "(set-up)", True)]
        with Session(engine) as session:
            assert cases.count_cases(session) == CASES
            checks = {
                "case list, first page of 50 (all partnerships)": lambda: cases.list_cases(session, limit=50),
                "case list, first page of 50 (one partnership)": lambda: cases.list_cases(
                    session, partnership="kirklees", limit=50
                ),
                "overdue query (first 200, all partnerships)": lambda: cases.overdue(session, today=today),
                "overdue query (one partnership)": lambda: cases.overdue(session, today=today, partnership="merton"),
            }
            everyone = [p.id for p in registry().packs]
            checks["case list, first page as an admin of all five sees it (API)"] = lambda: cases.list_cases(
                session, limit=50, within=everyone
            )
            checks["overdue query as a Merton business unit sees it (API)"] = lambda: cases.overdue(
                session, today=today, within=["merton"]
            )
            page = cases.list_cases(session, limit=50)
            checks["case list, second page via cursor"] = lambda: cases.list_cases(
                session, limit=50, cursor=page.next_cursor
            )
            for name, query in checks.items():
                assert query(), name  # each query finds cases
                ms = median_ms(lambda q=query: (q(), session.expunge_all()), repeat=30)
                figures.append(
                    Figure(ISSUE, f"{name}, {CASES:,} cases, PostgreSQL", ms, "ms", "< 200 ms median", ms < 200)
                )
        return figures
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run() -> list[Figure]:
    print(f"bench_cases: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    return _create_case_figures() + _postgres_figures()
