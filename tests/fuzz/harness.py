"""One fuzz input through the parsers: a ParseResult or the parsers' own ParseError, nothing else."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field

import parsers
from parsers import ParseError, ParseResult
from parsers.sandbox import HELPERS_SECONDS, TIME_LIMIT


@dataclass
class Tally:
    kind: str
    tried: int = 0
    recognised: int = 0
    rejected: int = 0
    slowest: float = 0.0
    crashes: list[str] = field(default_factory=list)

    def figure(self, how: str) -> str:
        return (
            f"FIGURE fuzz {self.kind} ({how}): inputs tried {self.tried}, recognised {self.recognised}, "
            f"rejected with a reason {self.rejected}, crashes {len(self.crashes)}, slowest {self.slowest:.2f} s"
        )


class Crash(AssertionError):
    pass


def check(data: bytes, filename: str, tally: Tally | None = None) -> None:
    """Parse in this process; raise Crash for anything but a result or a clear ParseError."""
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        result = parsers.parse(data, filename)
        assert isinstance(result, ParseResult)
        outcome = "recognised" if result.recognised else "rejected"
        if not result.recognised:
            assert result.reason, "an unrecognised document must say why"
    except ParseError as exc:
        assert str(exc).strip(), "a rejection must give a reason"
        outcome = "rejected"
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"{type(exc).__name__} at {where.filename.rsplit('site-packages/', 1)[-1]}:{where.lineno}: {exc}"
        if tally is not None:
            tally.crashes.append(message[:300])
        raise Crash(f"{filename}: {message[:300]}") from exc
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if tally is not None:
        tally.tried += 1
        setattr(tally, outcome, getattr(tally, outcome) + 1)
        tally.slowest = max(tally.slowest, elapsed)
    # The service parses in a child process stopped after TIME_LIMIT s of processor time (its helper programs,
    # Tesseract and LibreOffice, have their own limits and HELPERS_SECONDS more of wall-clock time).
    assert cpu < TIME_LIMIT, (
        f"{filename}: {cpu:.1f} s of processor time (the sandbox stops a parse after {TIME_LIMIT} s)"
    )
    assert elapsed < 3 * TIME_LIMIT + HELPERS_SECONDS, f"{filename}: {elapsed:.1f} s"
