"""Ten concurrent sends of one draft to the app served as in production (gunicorn with
deploy/gunicorn.conf.py, several worker processes, PostgreSQL): one case and one set of e-mails,
every send answered with the same confirmation. Prints its FIGURE line."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from forms import registry
from service import db
from service.casework import directory
from service.casework.models import Case, OutboxMessage
from service.web import drafts
from service.web.answers import web_answers_from_canonical
from tests.conftest import postgres_schema, sample, schema_url
from tests.support.gunicorn import gunicorn
from tests.support.http_client import http_client

SENDS = 10
FORM = "kirklees-appendix-5"


def test_ten_concurrent_sends_to_several_gunicorn_workers(capsys):
    with postgres_schema() as engine:
        db.upgrade(engine)
        spec = registry().form(FORM)
        with sessionmaker(engine, expire_on_commit=False)() as session:
            directory.seed(session)
            token, draft = drafts.create(
                session,
                partnership=spec.partnership,
                form_id=spec.id,
                answers=web_answers_from_canonical(spec, sample(FORM)),
            )
            drafts.save(session, draft, answers=draft.answers, done=[s.key for s in spec.sections])
        settings = {
            "DATABASE_URL": schema_url(engine),
            "SECRET_KEY": "double-send-test-key-0123456789abcdef0123",
            "GUNICORN_WORKERS": "3",
            "GUNICORN_THREADS": "4",
            "PUBLIC_POST_RATE_LIMIT": "100000 per minute",
            "COOKIE_SECURE": "0",
        }
        with gunicorn(settings) as port:
            answers = _send_at_once(f"http://127.0.0.1:{port}", token)
        with sessionmaker(engine)() as session:
            made = session.scalar(select(func.count()).select_from(Case))
            mails = session.scalar(select(func.count()).select_from(OutboxMessage))
            recipients = session.scalar(select(func.count(func.distinct(OutboxMessage.to_email))))
    with capsys.disabled():
        print(
            f"\nFIGURE double send (gunicorn, 3 workers, postgresql): concurrent sends of one draft {SENDS}, "
            f"answered {len(answers)} (5xx {sum(s >= 500 for s, _ in answers)}), cases made {made}, "
            f"e-mails queued {mails} to {recipients} recipients, confirmations alike {len(set(answers))}"
        )
    assert made == 1 and mails == recipients
    assert [s for s, _ in answers] == [302] * SENDS and len(set(answers)) == 1


def _send_at_once(base: str, token: str) -> list[tuple[int, str]]:
    senders = []
    for _ in range(SENDS):
        browser = http_client()
        page = browser.open(f"{base}/d/{token}/check", timeout=30).read().decode()
        csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        senders.append((browser, f"csrf_token={csrf}".encode()))
    barrier = threading.Barrier(SENDS)
    answers: list[tuple[int, str]] = []

    def send(browser, body):
        barrier.wait()
        try:
            with browser.open(urllib.request.Request(f"{base}/d/{token}/submit", data=body), timeout=60) as r:
                answers.append((r.status, r.headers.get("Location", "")))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, exc.headers.get("Location", "")))

    threads = [threading.Thread(target=send, args=pair) for pair in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers
