"""Parse in a child process with limits, so no input can take the service down.

A worker process (`python -m parsers.worker`) with only the parsers loaded reads one input at a
time. Its address space is capped at MEMORY_LIMIT; before each input its processor-time limit is
set to what it has used plus TIME_LIMIT seconds (the kernel stops it past that); the parent waits at
most three times that in wall-clock time (a loaded machine is slower, never a reason to refuse a
good document) and then kills it. A worker that failed or was killed is
replaced for the next input. Whatever happens, the caller gets a ParseResult or a ParseError
whose message says what was wrong.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

from parsers.result import ParseError, ParseResult

MEMORY_LIMIT = 300 * 1024 * 1024
TIME_LIMIT = 10
# Helper programs the worker runs (LibreOffice converting a .doc, Tesseract reading a scan) have
# their own limits; their time counts against this, not the worker's own processor time.
HELPERS_SECONDS = 60
ROOT = Path(__file__).resolve().parent.parent


def send_frame(stream, header: dict, content: bytes = b"") -> None:
    head = json.dumps(header).encode("utf-8")
    stream.write(struct.pack(">II", len(head), len(content)) + head + content)
    stream.flush()


def read_exactly(stream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(stream) -> tuple[dict, bytes]:
    head_size, body_size = struct.unpack(">II", read_exactly(stream, 8))
    return json.loads(read_exactly(stream, head_size)), read_exactly(stream, body_size)


class Worker:
    def __init__(self, memory: int = MEMORY_LIMIT, seconds: int = TIME_LIMIT):
        self.memory, self.seconds = memory, seconds
        self.preload = False  # the reader loads every kind's libraries as it starts (see warm)
        self.wall = 3 * seconds + HELPERS_SECONDS
        self.cpu_seconds = 0.0  # processor time the workers spent reading, over all of them
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        preload = ["preload"] if self.preload else []
        return subprocess.Popen(
            [sys.executable, "-m", "parsers.worker", str(self.seconds), str(self.memory), *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )

    def start(self) -> None:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def parse(
        self, content: bytes, filename: str | None, form_id: str | None, partnership: str | None = None
    ) -> ParseResult:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()
            process = self.process
            try:
                send_frame(
                    process.stdin, {"filename": filename, "form_id": form_id, "partnership": partnership}, content
                )
            except (BrokenPipeError, OSError):
                self.stop()
                raise ParseError("refused: the reader stopped before it could take the input") from None
            # The kernel stops the worker after `seconds` of processor time; the wall-clock backstop is
            # longer, so a busy machine (or the worker's start-up) never refuses a good document.
            ready, _, _ = select.select([process.stdout], [], [], self.wall)
            if not ready:
                self.stop()
                raise ParseError(f"refused: reading it took longer than {self.wall} s (a damaged or hostile file?)")
            try:
                reply, _ = read_frame(process.stdout)
            except (EOFError, struct.error, ValueError):
                code = process.wait(5)
                self.process = None
                if code == -signal.SIGXCPU:
                    raise ParseError(f"refused: reading it used more than {self.seconds} s of processor time") from None
                raise ParseError(
                    f"refused: the reader stopped (exit {code}), most likely beyond its {self.memory // 1048576} MB memory"
                ) from None
            self.cpu_seconds += reply.get("cpu", 0.0)
            if reply.get("restart"):
                self.stop()
                if self.preload:  # the next one loads while this input is applied, not when the next comes
                    self.process = self._start()
            if reply["status"] == "ok":
                return ParseResult.from_json(reply["result"])
            raise ParseError(reply["reason"])


_worker = Worker()


def parse_safely(
    content: bytes, filename: str | None = None, *, form_id: str | None = None, partnership: str | None = None
) -> ParseResult:
    """parse() in the limited worker process; a ParseError names what went wrong."""
    return _worker.parse(content, filename, form_id, partnership)


def warm() -> None:
    """Start the reader now, its libraries loaded, and again at once whenever it is replaced: a
    process that reads all day (an intake worker) has no first input that waits about 1.5 s for it.
    A command reading one file does not call this (it loads only what that file needs)."""
    _worker.preload = True
    _worker.start()
