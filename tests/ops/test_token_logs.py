"""Tokens never appear in any log: the development server (`flask run`, as `make run` serves) is
started for real, a whole journey goes through it (a draft started and answered, a form sent
through the API, its tracking page and record read, a mistyped link, a sign-in with a hostile
?next=), and everything the process wrote is searched for the draft and tracking tokens."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.conftest import sample
from tests.support.http_client import http_client
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_no_token_in_the_logs_of_a_whole_journey(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journey.sqlite3'}",
        "SECRET_KEY": "journey-test-key",
        "COOKIE_SECURE": "0",
        "LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(ROOT),
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db-prepare"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            tokens = _journey(base, server)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
    written = log_path.read_text(encoding="utf-8", errors="replace")
    assert "request" in written  # the app's own request lines were written
    for token in tokens:
        assert token not in written, f"a token was written to the log: {token[:6]}…"


def _journey(base: str, server) -> list[str]:
    browser = http_client()
    deadline = time.monotonic() + 60
    while True:
        try:
            browser.open(f"{base}/healthz", timeout=5)
            break
        except OSError:
            assert server.poll() is None, "flask run stopped"
            assert time.monotonic() < deadline, "flask run did not start"
            time.sleep(0.3)

    def fetch(path, data=None, headers=None):
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        request = urllib.request.Request(base + path, data=body, headers=headers or {})
        try:
            with browser.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode(errors="replace")

    _, _, page = fetch("/p/north-tyneside/start")
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    status, headers, _ = fetch("/p/north-tyneside/start", {"choice": "form:nt-appendix-a", "csrf_token": csrf})
    assert status == 302, status
    draft = re.search(r"/d/([^/]+)/", headers["Location"]).group(1)
    fetch(urllib.parse.urlsplit(headers["Location"]).path)
    fetch(f"/d/{draft}/check")
    fetch(f"/d/{draft}/no-such-page")
    body = json.dumps({"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}).encode()
    status, _, answer = fetch("/api/submissions", body, {"Content-Type": "application/json"})
    assert status == 201, answer
    tracking = json.loads(answer)["tracking_token"]
    for path in (f"/t/{tracking}", f"/t/{tracking}/record.pdf", f"/api/track/{tracking}", f"/t/{tracking}x"):
        fetch(path)
    fetch(f"/workspace/sign-in?next=/workspace/%0d%0aSet-Cookie:{tracking}")
    return [draft, tracking]
