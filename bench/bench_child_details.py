"""Child details refused on forms that carry none (issue 12): recall and false refusals.

The labelled set is tests/forms/child_details_sentences.tsv: sentences in a practitioner's voice,
each marked 1 (holds a child's or family's identifying detail) or 0 (holds none: agencies, roles,
professionals with their role, meeting dates). Recall: share of the 1s refused. False refusals:
share of the 0s refused. Also the time to check one answer, against a baseline of reading it.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import Figure, median_ms
from forms import child_details

ISSUE = 12
SET = Path(__file__).resolve().parent.parent / "tests" / "forms" / "child_details_sentences.tsv"


def labelled() -> list[tuple[bool, str]]:
    rows = []
    for line in SET.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, sentence = line.split("\t", 1)
            rows.append((label == "1", sentence))
    return rows


def scores(rows: list[tuple[bool, str]]) -> tuple[float, float]:
    """(recall, false refusal rate) of child_details.find on the labelled rows."""
    positives = [s for holds, s in rows if holds]
    negatives = [s for holds, s in rows if not holds]
    caught = sum(1 for s in positives if child_details.find(s))
    refused = sum(1 for s in negatives if child_details.find(s))
    return caught / len(positives), refused / len(negatives)


def run() -> list[Figure]:
    rows = labelled()
    recall, false_refusals = scores(rows)
    child_details.first_names()  # loaded once per process
    sentences = [s for _, s in rows]
    check = median_ms(lambda: [child_details.find(s) for s in sentences], repeat=10) / len(sentences)
    baseline = median_ms(lambda: [s.lower() for s in sentences], repeat=10) / len(sentences)
    return [
        Figure(
            ISSUE,
            f"child details refused: recall on {len(rows)} labelled sentences",
            recall * 100,
            "%",
            ">= 95",
            recall >= 0.95,
        ),
        Figure(
            ISSUE,
            "child details: false refusals of practitioners' own text",
            false_refusals * 100,
            "%",
            "<= 5",
            false_refusals <= 0.05,
        ),
        Figure(
            ISSUE,
            f"child details: time to check one answer (x{check / max(baseline, 1e-6):.0f} of lower-casing it)",
            check,
            "ms",
            "< 5",
            check < 5,
        ),
    ]
