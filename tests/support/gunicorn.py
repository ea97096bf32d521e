"""The app served as in production: gunicorn with deploy/gunicorn.conf.py on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def gunicorn(settings: dict[str, str], seconds: float = 90) -> Iterator[int]:
    """Yields the port once /readyz answers 200 there; `settings` are added to this process's environment
    (GUNICORN_BIND is chosen here). Every gunicorn process is stopped afterwards."""
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), **settings}
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, so the stop reaches every worker
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5) as ready:
                    assert ready.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not become ready"
                time.sleep(0.5)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
