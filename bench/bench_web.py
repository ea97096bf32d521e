"""Web forms under load: gunicorn on loopback, 20 concurrent clients, p95 of a question page GET and
of a valid POST of its answers (issue 4: both under 100 ms).

Two phases against the same server: "paced", where each client pauses about half a second between
requests as a person (quickly) filling in pages would, which is what the target is judged on; and
"no pause", each client sending its next request the moment the last one is answered, which only
measures this machine's ceiling (20 requests always in flight on 2 shared cores) and is reported
as context. The load average is printed with the figures: other work on the machine shows in them.

Each client is a separate browser session (its own cookie, CSRF token and draft). It opens the
Kirklees Appendix 5 "Child and escalation" page (text boxes, two GOV.UK date inputs, radios) and
posts valid answers to it, over and over. The rate limit of the public journey is switched off
for the run: it would (rightly) stop one address sending this much. Plain http on loopback, so the
session cookie is not marked Secure (COOKIE_SECURE=0).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from werkzeug.datastructures import MultiDict

from bench.common import Figure, median_ms
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 20
ROUNDS = 25  # per client, after one warm-up round, with no pause between requests
ROUNDS_PACED = 15  # per client, pausing about THINK seconds after each request
THINK = 0.5
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
FORM_ID = "kirklees-appendix-5"
SECTION = "child"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _database(workdir: Path):
    """PostgreSQL (what production runs) in a fresh schema when BENCH_DATABASE_URL or
    TEST_DATABASE_URL names a server, else a SQLite file; and how to drop it afterwards."""
    server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not server:
        return f"sqlite:///{workdir / 'web.sqlite3'}", lambda: None
    from sqlalchemy import create_engine, text

    schema = f"bench_web_{os.getpid()}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{schema}", drop


def _prepare_database(url: str) -> None:
    from sqlalchemy.orm import Session

    from service import db
    from service.casework import directory

    engine = db.make_engine(url)
    db.upgrade(engine)  # the real migrations, as `make db` runs them
    with Session(engine) as session:
        directory.seed(session)
    engine.dispose()


def _answers() -> list[tuple[str, str]]:
    from forms import registry

    spec = registry().form(FORM_ID)
    data = json.loads((ROOT / "samples" / "forms" / f"{FORM_ID}.json").read_text(encoding="utf-8"))
    section = next(s for s in spec.sections if s.key == SECTION)
    pairs = []
    for f in section.fields:
        value = data[f.key]
        if f.type == "date":
            year, month, day = value.split("-")
            pairs += [(f"{f.key}-day", day), (f"{f.key}-month", month), (f"{f.key}-year", year)]
        else:
            pairs.append((f.key, value))
    return pairs


class Client(threading.Thread):
    """One browser session: opens its own draft, then GETs the page and POSTs valid answers, `rounds`
    times, waiting `think` seconds (a random pause up to twice that) after each request."""

    def __init__(self, base: str, answers: list[tuple[str, str]], start: threading.Barrier, rounds: int, think: float):
        super().__init__(daemon=True)
        self.base, self.answers, self.start_together = base, answers, start
        self.rounds, self.think = rounds, think
        self.random = random.Random(id(self))
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )
        self.gets: list[float] = []
        self.posts: list[float] = []
        self.errors: list[str] = []

    def _open(self, url: str, data: list[tuple[str, str]] | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + url, body, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as exc:  # 302s arrive here (redirects are not followed)
            return exc.code, exc.read().decode(errors="replace"), exc.headers

    def _pause(self):
        if self.think:
            time.sleep(self.random.uniform(0, 2 * self.think))

    def run(self):
        try:
            status, html, _ = self._open("/p/kirklees/start")
            status, _, headers = self._open(
                "/p/kirklees/start", [("csrf_token", TOKEN.search(html)[1]), ("choice", f"form:{FORM_ID}")]
            )
            page = urllib.parse.urlsplit(headers["Location"]).path
            assert status == 302 and page.endswith(f"/s/{SECTION}"), (status, page)
            self.start_together.wait()
            for round_ in range(self.rounds + 1):
                began = time.perf_counter()
                status, html, _ = self._open(page)
                got = time.perf_counter()
                if status != 200:
                    self.errors.append(f"GET {status}")
                    continue
                self._pause()
                data = [("csrf_token", TOKEN.search(html)[1]), *self.answers, ("continue", "1")]
                posted_at = time.perf_counter()
                status, _, _ = self._open(page, data)
                done = time.perf_counter()
                if status != 302:
                    self.errors.append(f"POST {status}")
                if round_:  # the first round warms up
                    self.gets.append((got - began) * 1000)
                    self.posts.append((done - posted_at) * 1000)
                self._pause()
        except Exception as exc:  # reported, not hidden
            self.errors.append(repr(exc))


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


def _phase(base: str, rounds: int, think: float) -> tuple[list[float], list[float], float]:
    answers = _answers()
    barrier = threading.Barrier(CLIENTS)
    clients = [Client(base, answers, barrier, rounds, think) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    elapsed = time.perf_counter() - began
    errors = [e for c in clients for e in c.errors]
    if errors:
        raise RuntimeError(f"bench_web: {len(errors)} failed requests, e.g. {errors[:3]}")
    gets = [t for c in clients for t in c.gets]
    posts = [t for c in clients for t in c.posts]
    return gets, posts, (len(gets) + len(posts)) / elapsed


def _start_server(url: str, workdir: Path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-web",
        "RATELIMIT_ENABLED": "false",
        "COOKIE_SECURE": "0",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (workdir / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [str(gunicorn), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--backlog", "256", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            return server, log, base
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                log.close()
                raise RuntimeError(f"gunicorn did not start; see {workdir / 'gunicorn.log'}") from None
            time.sleep(0.2)


def _in_process(url: str) -> tuple[float, float]:
    """Median time the app itself takes for the page GET and the POST (Flask test client, one at a
    time): what a request costs when it has a core to itself."""
    import logging

    from app import create_app

    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench-web", "RATELIMIT_ENABLED": False, "COOKIE_SECURE": False}
    )
    logging.disable(logging.INFO)  # the per-request log lines go to the terminal otherwise
    try:
        client = app.test_client()
        html = client.get("/p/kirklees/start").get_data(as_text=True)
        data = {"csrf_token": TOKEN.search(html)[1], "choice": f"form:{FORM_ID}"}
        page = urllib.parse.urlsplit(client.post("/p/kirklees/start", data=data).location).path
        token = TOKEN.search(client.get(page).get_data(as_text=True))[1]
        answers = MultiDict([("csrf_token", token), *_answers(), ("continue", "1")])
        get_ms = median_ms(lambda: client.get(page), repeat=100, warmup=10)
        post_ms = median_ms(lambda: client.post(page, data=answers), repeat=100, warmup=10)
    finally:
        logging.disable(logging.NOTSET)
    return get_ms, post_ms


def run() -> list[Figure]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    url, drop = _database(workdir)
    try:
        _prepare_database(url)
        alone_get, alone_post = _in_process(url)
        server, log, base = _start_server(url, workdir)
        try:
            # Paced: 20 people filling in the form, each pausing about THINK seconds between pages.
            paced = _phase(base, ROUNDS_PACED, THINK)
            # Saturated: the same 20 clients with no pause at all, to show the ceiling of this machine.
            flat_out = _phase(base, ROUNDS, 0.0)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    finally:
        drop()
    shutil.rmtree(workdir, ignore_errors=True)
    figures = []
    load = os.getloadavg()[0]
    for label, (gets, posts, rate) in (("paced", paced), ("no pause", flat_out)):
        print(
            f"bench_web ({label}): {url.split(':', 1)[0]}, {WORKERS} gunicorn workers, {CLIENTS} clients, "
            f"{len(gets)} GETs and {len(posts)} POSTs; median GET {statistics.median(gets):.1f} ms, "
            f"POST {statistics.median(posts):.1f} ms; {rate:.0f} requests/s; load average {load:.1f}",
            file=sys.stderr,
        )
    gets, posts, _rate = paced
    get_p95, post_p95 = _p95(gets), _p95(posts)
    figures += [
        Figure(
            4,
            f"web: question page GET p95 ({CLIENTS} clients, ~{THINK}s pauses)",
            get_p95,
            "ms",
            "< 100 ms",
            get_p95 < 100,
        ),
        Figure(
            4,
            f"web: valid answers POST p95 ({CLIENTS} clients, ~{THINK}s pauses)",
            post_p95,
            "ms",
            "< 100 ms",
            post_p95 < 100,
        ),
    ]
    gets, posts, rate = flat_out
    figures += [
        Figure(4, f"web: question page GET p95 ({CLIENTS} clients, no pause)", _p95(gets), "ms", "(context)", True),
        Figure(4, f"web: valid answers POST p95 ({CLIENTS} clients, no pause)", _p95(posts), "ms", "(context)", True),
        Figure(4, "web: requests per second, no pause (GET + POST)", rate, "req/s", "(context)", True),
        Figure(4, "web: question page GET, one request alone (in-process median)", alone_get, "ms", "(context)", True),
        Figure(
            4, "web: valid answers POST, one request alone (in-process median)", alone_post, "ms", "(context)", True
        ),
    ]
    return figures
