"""A burst of 500 concurrent form posts to the app served as in production: gunicorn with
deploy/gunicorn.conf.py on loopback, PostgreSQL (a server of the test's own).

All 500 connections are opened and their POST /api/submissions sent at once; each must be answered
201 with a case reference (none dropped, none 5xx), and the database must hold exactly the cases
answered. The per-address rate limit is raised for the test: the burst comes from one address, as
it would from one office behind a proxy (the limit itself is tested in tests/ops/test_limits.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from service import db
from service.casework import directory
from service.casework.models import Case
from tests import pg_instance
from tests.conftest import sample
from tests.support.gunicorn import gunicorn

BURST = 500
own_postgres = pg_instance.own_postgres  # the fixture: a server of this module's own


async def _post(port: int, body: bytes) -> tuple[int, dict | None]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /api/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=180)
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    status = int(status_line.split()[1])
    _, _, payload = rest.partition(b"\r\n\r\n")
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None


async def _burst(port: int, bodies: list[bytes]) -> list:
    return await asyncio.gather(*(_post(port, body) for body in bodies), return_exceptions=True)


def test_a_burst_of_500_concurrent_form_posts(own_postgres, capsys):
    engine = db.make_engine(own_postgres.url)
    db.upgrade(engine)

    with sessionmaker(engine)() as session:
        directory.seed(session)
    settings = {
        "DATABASE_URL": own_postgres.url,
        "SECRET_KEY": "burst-test-key-0123456789abcdef0123456789",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "8",
        "PUBLIC_POST_RATE_LIMIT": "100000 per minute",
    }
    with gunicorn(settings) as port:
        body = json.dumps({"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}).encode()
        started = time.perf_counter()
        # In a thread of its own: another test's library (playwright, aiosmtpd) may have left a loop in this one.
        with ThreadPoolExecutor(max_workers=1) as runner:
            answers = runner.submit(lambda: asyncio.run(_burst(port, [body] * BURST))).result()
        elapsed = time.perf_counter() - started
    errors = [a for a in answers if isinstance(a, BaseException)]
    statuses = [a[0] for a in answers if not isinstance(a, BaseException)]
    references = {a[1]["reference"] for a in answers if not isinstance(a, BaseException) and a[0] == 201}
    with sessionmaker(engine)() as session:
        stored = session.scalar(select(func.count()).select_from(Case))
        found = set(session.scalars(select(Case.reference)))
    engine.dispose()
    held = statuses.count(201)
    lost = len(references - found) + (held - len(references))
    with capsys.disabled():
        print(
            f"\nFIGURE load burst: concurrent form posts {BURST}, requests held {held} "
            f"(5xx {sum(s >= 500 for s in statuses)}, connection errors {len(errors)}), cases stored {stored}, "
            f"items lost {lost}, drained in {elapsed:.1f} s ({BURST / elapsed:.0f}/s)"
        )
    assert errors == [], errors[:3]
    assert held == BURST and lost == 0 and stored == BURST == len(found)
