"""Shared helpers for the benchmarks: timing, and the figure rows every bench returns."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Figure:
    issue: int
    name: str
    value: float
    unit: str
    target: str
    ok: bool

    def row(self) -> str:
        mark = "ok" if self.ok else "MISSED"
        return f"#{self.issue:<3} {self.name:<90} {self.value:>10.2f} {self.unit:<8} {self.target:<22} {mark}"


def median_ms(fn: Callable[[], object], repeat: int = 30, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# The local PostgreSQL .ci/run uses: the benches that need a server take it when none is named.
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
