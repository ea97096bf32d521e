"""Workspace (issue 6), with 100,000 cases in PostgreSQL: the inbox's first page and the themes
dashboard (targets: under 300 ms), and the CSV export of every submission, streamed (under 10 s,
with flat memory).

The cases span January 2024 to mid-2026. The dashboard opens on the current year (as the annual
report counts); it is timed computed afresh (its one-minute cache off), for the current year and for
all years, and within its cache.

PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server .ci/run uses. The
cases go into a schema of their own (COPY, a few seconds) that is dropped afterwards. Requests go
through the real app (Flask test client, signed in: session check, permission, query, template).

Memory: the export is read in keyset batches, so its peak Python allocation (tracemalloc) should not
grow with the number of rows. It is measured for the whole export and for a tenth of it (one
partnership's one month); "flat" means the two peaks are within a factor of 2, while the rows
differ tenfold or more.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid

from sqlalchemy import create_engine, text

from bench.common import PG_DEFAULT, Figure

ISSUE = 6
CASES = 100_000
PASSWORD = "bench password, not a secret"
AGENCIES = [
    "Children's Social Care",
    "Health Visiting Service",
    "Police",
    "Primary School",
    "Adult Mental Health Service",
    "Housing",
    "Early Help",
    "GP Practice",
]
CHANNELS = ("web", "email", "upload", "api")


def _url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT


def _rows(registry, rng: random.Random):
    """Cases over three years, 1–3 stages each (earlier ones ended), one submission per stage."""
    from forms.taxonomy import CATEGORIES
    from service.casework.workdays import Calendar

    calendar = Calendar()
    packs = list(registry.packs)
    categories = list(CATEGORIES)
    start = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)
    cases, stages, submissions, routes = [], [], [], []
    stage_id = submission_id = 0
    for case_id in range(1, CASES + 1):
        pack = packs[case_id % len(packs)]
        created = start + dt.timedelta(minutes=case_id * 13 + rng.randint(0, 10))
        day = created.date()
        raising, receiving = rng.sample(AGENCIES, 2)
        count = min(len(pack.stages), rng.choice((1, 1, 2, 2, 3)))
        resolved = created < dt.datetime(2026, 6, 1, tzinfo=dt.UTC) and rng.random() < 0.7
        last_due = None
        for index in range(count):
            stage = pack.stages[index]
            due = calendar.due_date(day, stage.timescale)
            ended = index < count - 1 or resolved
            left = day + dt.timedelta(days=rng.randint(1, 12)) if ended else None
            stage_id += 1
            stages.append(
                (stage_id, case_id, stage.id, False, day, due, stage.timescale.kind, stage.timescale.days, left)
            )
            submission_id += 1
            received = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC) + dt.timedelta(minutes=case_id % 600)
            submissions.append((submission_id, case_id, pack.forms[0].id, rng.choice(CHANNELS), stage.id, received))
            routes.append(
                (submission_id, case_id, submission_id, "bench", "business-unit", f"{pack.short_name} business unit")
            )
            last_due, day = due, left or day
        cases.append(
            (
                case_id,
                f"{pack.reference_prefix}-{created.year}-{case_id:06d}",
                uuid.uuid4().hex + uuid.uuid4().hex,
                pack.id,
                "resolved" if resolved else "open",
                raising,
                receiving,
                rng.choice(categories),
                pack.stages[count - 1].id,
                None if resolved else last_due,
                created,
                created + dt.timedelta(days=30) if resolved else created,
            )
        )
    return cases, stages, submissions, routes


def _load(engine, registry) -> int:
    cases, stages, submissions, routes = _rows(registry, random.Random(6))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        copies = (
            (
                "COPY cases (id, reference, tracking_hash, partnership, status, raising_agency, receiving_agency,"
                " category, current_stage, current_due, created_at, updated_at, process, immediate_risk) FROM STDIN",
                [(*row, "escalation", False) for row in cases],
            ),
            (
                "COPY case_stages (id, case_id, stage, skipped, entered_on, due, timescale, days, left_on) FROM STDIN",
                stages,
            ),
            (
                "COPY submissions (id, case_id, form_id, channel, stage, received_at, data) FROM STDIN",
                [(*row, "{}") for row in submissions],
            ),
            (
                "COPY routing_decisions (id, case_id, submission_id, rule_id, role, name, reason) FROM STDIN",
                [(*row, "bench") for row in routes],
            ),
        )
        for statement, rows in copies:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        for table in ("cases", "case_stages", "submissions", "routing_decisions"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
    return len(submissions)


def _timed_get(client, url: str, repeat: int = 15) -> tuple[float, int]:
    times, size = [], 0
    for n in range(repeat + 2):
        start = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
        if n >= 2:  # two warm-up requests
            times.append(elapsed)
        size = len(body)
    return statistics.median(times), size


def _export(client, url: str, trace: bool) -> tuple[float, int, float]:
    """(seconds, data lines, peak MiB of Python allocations or 0) for one streamed CSV export.

    Timed without tracemalloc (which slows Python several times); memory is a second, traced run."""
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    response = client.get(url, buffered=False)
    lines = 0
    for chunk in response.response:
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    seconds = time.perf_counter() - start
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
        tracemalloc.stop()
    return seconds, lines - 1, peak


def _sign_in(app, email: str):
    import re

    client = app.test_client()
    page = client.get("/workspace/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    response = client.post("/workspace/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed: HTTP {response.status_code}")
    return client


def measure(app, submissions: int) -> list[Figure]:
    """Every figure, on an app whose database already holds the cases (`submissions` of them)."""
    from service.db import sessions
    from service.workspace import auth

    figures: list[Figure] = []
    partnerships = {p.id for p in app.extensions["registry"].packs}
    with app.app_context(), sessions(app)() as session:
        auth.create_user(session, "bu@kirklees.example", "BU", PASSWORD, "business-unit", "kirklees", partnerships)
        auth.create_user(session, "admin@escalate.example", "Admin", PASSWORD, "admin", None, partnerships)
        session.commit()
    business_unit, everyone = _sign_in(app, "bu@kirklees.example"), _sign_in(app, "admin@escalate.example")
    for who, client in (("business unit, 1 partnership", business_unit), ("admin, all 5 partnerships", everyone)):
        ms, _ = _timed_get(client, "/workspace/inbox")
        figures.append(Figure(ISSUE, f"inbox first page, 100k cases ({who})", ms, "ms", "< 300 ms median", ms < 300))
        app.config["WORKSPACE_THEMES_CACHE_SECONDS"] = 0
        ms, _ = _timed_get(client, "/workspace/themes", repeat=5)
        figures.append(
            Figure(ISSUE, f"themes dashboard, this year, computed ({who})", ms, "ms", "< 300 ms median", ms < 300)
        )
        ms, _ = _timed_get(client, "/workspace/themes?year=all", repeat=5)
        figures.append(Figure(ISSUE, f"  themes dashboard, all years, computed ({who})", ms, "ms", "(context)", True))
        app.config["WORKSPACE_THEMES_CACHE_SECONDS"] = 60
        ms, _ = _timed_get(client, "/workspace/themes")
        figures.append(Figure(ISSUE, f"  themes dashboard, within its 60 s cache ({who})", ms, "ms", "(context)", True))
    ms, _ = _timed_get(everyone, "/workspace/inbox?overdue=true&q=police", repeat=7)
    figures.append(Figure(ISSUE, "inbox filtered (overdue + search), admin", ms, "ms", "(context)", True))
    seconds, rows, _ = _export(everyone, "/workspace/export.csv", trace=False)
    ok = seconds < 10 and rows == submissions
    figures.append(Figure(ISSUE, f"CSV export streamed, all {rows} submissions", seconds, "s", "< 10 s", ok))
    _, rows, peak_all = _export(everyone, "/workspace/export.csv", trace=True)
    _, few, peak_few = _export(everyone, "/workspace/export.csv?partnership=kirklees&status=open", trace=True)
    flat = peak_all < 2 * peak_few + 1
    figures.append(Figure(ISSUE, f"  export peak Python memory, all {rows} rows", peak_all, "MiB", "flat (< 2x)", flat))
    figures.append(Figure(ISSUE, f"  export peak Python memory, {few} rows", peak_few, "MiB", "(baseline)", True))
    return figures


def run() -> list[Figure]:
    from app import create_app
    from service.casework.models import Base
    from service.db import make_engine

    url = _url()
    schema = f"bench_ws_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(
            f"bench_workspace: PostgreSQL at {url} not reachable ({exc.__class__.__name__}); skipped", file=sys.stderr
        )
        return []
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, pool_size=5)
    figures: list[Figure] = []
    try:
        app = create_app(
            {"SECRET_KEY": "bench", "DATABASE_ENGINE": engine, "COOKIE_SECURE": False, "RATELIMIT_ENABLED": False}
        )
        Base.metadata.create_all(engine)
        start = time.perf_counter()
        submissions = _load(engine, app.extensions["registry"])
        print(
            f"bench_workspace: loaded {CASES} cases, {submissions} submissions in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        figures += measure(app, submissions)
        load = os.getloadavg()[0]
        figures.append(Figure(ISSUE, "  load average (1 min) while measuring", load, "", "(context)", True))
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return figures
