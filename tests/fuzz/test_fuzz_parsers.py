"""Hypothesis fuzzing of every parser: mutated DOCX (inside the zip), PDF and e-mail seeds.

Each kind runs a bounded number of examples (a few seconds); every input must give a ParseResult
or the parsers' own ParseError with a reason, inside the sandbox's time limit. A figure line per
kind reports inputs tried and crashes (which must be 0).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.corpus import MUTATORS, seeds
from tests.fuzz.harness import Tally, check

EXAMPLES = {"docx": 60, "pdf": 40, "email": 60, "office": 15, "image": 15}
TALLIES = {kind: Tally(kind) for kind in EXAMPLES}


class Input:
    """A mutated seed; shown as seed, mutation and size (the bytes are rebuilt from those)."""

    def __init__(self, kind: str, name: str, data: bytes, seed: int, rounds: int):
        self.name, self.seed, self.rounds = name, seed, rounds
        self.data = MUTATORS[kind](data, random.Random(seed), rounds)

    def __repr__(self) -> str:
        return f"Input({self.name!r}, seed={self.seed}, rounds={self.rounds}, {len(self.data)} bytes)"


@st.composite
def mutated(draw, kind: str) -> Input:
    name, data = draw(st.sampled_from(seeds()[kind]))
    return Input(kind, name, data, draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 6)))


def _fuzz(kind: str):
    @settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        database=None,
        print_blob=True,
        phases=(Phase.explicit, Phase.generate),  # no shrinking: the failing seed and mutation are printed
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=mutated(kind))
    def run(case):
        check(case.data, case.name, TALLIES[kind])

    return run


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_mutated_inputs_are_read_or_rejected_with_a_reason(kind, capsys):
    seeds()  # render the seeds outside the examples
    try:
        _fuzz(kind)()
    finally:
        with capsys.disabled():
            print(f"\n{TALLIES[kind].figure('hypothesis')}")
    assert TALLIES[kind].tried >= EXAMPLES[kind] // 2 and TALLIES[kind].crashes == []


@given(data=st.binary(max_size=4096), name=st.sampled_from(["x.docx", "x.pdf", "x.eml", "x.msg", "x.txt", None]))
@settings(max_examples=150, deadline=None, database=None)
def test_arbitrary_bytes_under_any_name(data, name):
    check(data, name)


@given(text=st.text(max_size=2000))
@settings(max_examples=50, deadline=None, database=None)
def test_arbitrary_text_as_an_email_or_a_text_file(text):
    check(f"From: a@b.example\nTo: c@d.example\nSubject: x\n\n{text}".encode(), "m.eml")
    check(text.encode("utf-8", "surrogatepass"), "t.txt")


def test_every_seed_is_read():
    """The seeds themselves are good inputs (otherwise the fuzzing would only ever test rejection);
    those of the public suites' kinds (tests/fuzz/public_kinds.py) are read or refused with a reason."""
    from tests.fuzz.public_kinds import public_seeds

    public = {name for items in public_seeds().values() for name, _ in items}
    for kind, items in seeds().items():
        for name, data in items:
            tally = Tally(kind)
            check(data, name, tally)
            assert tally.recognised == 1 or name in public, f"{name} was not recognised"


CRASHES = sorted((Path(__file__).parent / "crashes").iterdir())


@pytest.mark.parametrize("path", CRASHES, ids=[p.name for p in CRASHES])
def test_inputs_that_once_crashed_a_parser(path):
    """Every input a fuzzer found a crash with (kept in tests/fuzz/crashes/): now a result or a reason."""
    check(path.read_bytes(), path.name)
