"""One fuzz input through the parsers: a ParseResult or the parsers' own ParseError, nothing else."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field

import parsers
from parsers import ParseError, ParseResult
from parsers.sandbox import TIME_LIMIT


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
    started = time.perf_counter()
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
    elapsed = time.perf_counter() - started
    if tally is not None:
        tally.tried += 1
        setattr(tally, outcome, getattr(tally, outcome) + 1)
        tally.slowest = max(tally.slowest, elapsed)
    # The service parses in a child process that is stopped after TIME_LIMIT s; in-process it must finish well inside.
    assert elapsed < TIME_LIMIT, f"{filename}: {elapsed:.1f} s (the sandbox stops a parse after {TIME_LIMIT} s)"
