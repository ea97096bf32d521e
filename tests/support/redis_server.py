"""A redis-server of the test's own on a free loopback port (the shared 6379 is left alone)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_for_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """redis-server on a free loopback port, its data appended to a file in `root` so a restart keeps
    the queue; stop() and start() again on the same port."""

    def __init__(self, root: Path):
        if not Path(REDIS).exists():
            pytest.skip("redis-server (apt-get install redis-server) is not installed")
        self.root, self.port, self.process = root, free_port(), None
        root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)]
        args += ["--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", str(self.root / "redis.log")]
        self.process = subprocess.Popen(args)
        try:
            wait_for_port(self.port, self.process, seconds=10)
        except RuntimeError as exc:
            pytest.fail(f"redis-server did not start ({exc}): " + (self.root / "redis.log").read_text(errors="replace"))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: redis writes what it holds, then exits
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
