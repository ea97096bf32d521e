"""atheris (libFuzzer) on every parser, a few seconds per kind, from the seed corpus.

Each run is bounded in time (-max_total_time), per input (-timeout, the sandbox's limit) and in
memory (-rss_limit_mb); a figure line per kind reports inputs tried and crashes (which must be 0).
The suite gates every landing, so it fuzzes from a fixed seed for a fixed number of inputs (the same
inputs every run, or the first of them on a slow machine); `FUZZ_SEED=0 FUZZ_RUNS=100000
FUZZ_SECONDS=600` explores afresh, and a crash it finds becomes a test of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from parsers.sandbox import TIME_LIMIT
from tests.fuzz.corpus import seeds

pytest.importorskip("atheris", reason="atheris is installed by `make test` (pip wheel); none for this Python")

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("FUZZ_SECONDS", 3))
SEED = int(os.environ.get("FUZZ_SEED", 1))  # 0: libFuzzer picks one
RUNS = int(os.environ.get("FUZZ_RUNS", 300))
RSS_MB = 1024  # the whole fuzzing process (Python, libraries, libFuzzer's corpus); the sandbox caps a parse at 300 MB


@pytest.mark.parametrize("kind", ["docx", "pdf", "email"])
def test_atheris_finds_no_crash(kind, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, (_, data) in enumerate(seeds()[kind]):
        (corpus / f"seed-{i}").write_bytes(data)
    crashes = tmp_path / "crashes"
    crashes.mkdir()
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.atheris_parsers",
        kind,
        str(corpus),
        f"-seed={SEED}",
        f"-runs={RUNS}",
        f"-max_total_time={SECONDS}",
        f"-timeout={TIME_LIMIT}",
        f"-rss_limit_mb={RSS_MB}",
        "-max_len=2000000",
        f"-artifact_prefix={crashes}/",
        "-print_final_stats=1",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SECONDS + 120)
    output = run.stderr + run.stdout
    executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    found = sorted(p.name for p in crashes.iterdir())
    with capsys.disabled():
        tried = executed.group(1) if executed else "?"
        print(f"\nFIGURE fuzz {kind} (atheris, {SECONDS} s): inputs tried {tried}, crashes {len(found)}")
    assert run.returncode == 0 and not found, output[-3000:]
    assert executed and int(executed.group(1)) > 0, output[-2000:]
