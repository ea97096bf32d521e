"""Reading answers from a document's layout by the form's own labels: which form, then its answers.

Every reader (DOCX, text PDF, e-mail body) reduces its input to the same blocks (parsers.blocks).
This module recognises which form the blocks are (by how many of each form's labels they contain,
parsers.labels), has a Reader (parsers.reader) read the answers, and finds a case reference in text.
"""

from __future__ import annotations

import re

from forms.model import FormSpec
from parsers.blocks import Para
from parsers.labels import labels_of
from parsers.reader import Reader
from parsers.result import ParseResult, norm, squash

MIN_SCORE = 0.3
MIN_LABELS = 2


def _snippets(blocks: list) -> tuple[set[str], str]:
    """Every text a label could be: whole cells and lines, and the words before each colon (the
    last one to eight of them, for "Signature: A. Haddad   Date: 11/11/2026")."""
    found: set[str] = set()
    lines: list[str] = []
    for block in blocks:
        texts = [block.text] if isinstance(block, Para) else [c for row in block.rows for c in row]
        for text in texts:
            found.add(squash(text))
            for line in text.split("\n"):
                lines.append(line)
                found.add(squash(line))
                if ":" in line:
                    for segment in line.split(":")[:-1]:
                        words = segment.split()
                        for n in range(1, min(len(words), 8) + 1):
                            found.add(squash(" ".join(words[-n:])))
    return found, norm("\n".join(lines).replace("\n", " \n "))


def score(spec: FormSpec, found: set[str], full: str) -> tuple[float, int]:
    """(share of the form's labels present, how many), counting fields, columns, sections, title."""
    lab = labels_of(spec)
    hits = sum(any(name in found for name in names) for names in lab.scored)
    hits += sum(title in found for title in lab.sections)
    total = len(lab.scored) + len(lab.sections)
    return (hits + 2 * _titled(spec, full)) / (total + 2), hits


def _titled(spec: FormSpec, full: str) -> bool:
    return labels_of(spec).title in full or norm(spec.short_title) in full


def first_page_of(blocks: list, specs) -> FormSpec | None:
    """The form these blocks begin (a form's first page): its title printed on them, and at least
    MIN_LABELS of its labels; of several, the one whose labels they carry best. A later page, which
    carries no title, begins none."""
    found, full = _snippets(blocks)
    titled = [(score(s, found, full), s) for s in specs if _titled(s, full)]
    (_, hits), spec = max(titled, key=lambda x: x[0][0], default=((0.0, 0), None))
    return spec if hits >= MIN_LABELS else None


def recognise(blocks: list, specs) -> tuple[FormSpec | None, float, str]:
    """The form whose labels the blocks carry best, its score, and a reason when none fits."""
    found, full = _snippets(blocks)
    ranked = sorted(((score(s, found, full), s) for s in specs), key=lambda x: x[0][0], reverse=True)
    if not ranked:
        return None, 0.0, "no forms are loaded"
    (best, hits), spec = ranked[0]
    if best >= MIN_SCORE and hits >= MIN_LABELS:
        return spec, best, ""
    return (
        None,
        best,
        (
            f"not a recognised form: it carries too few of any form's labels "
            f"(closest is {spec.id} with {hits} labels, {best:.0%})"
        ),
    )


REFERENCE = re.compile(r"\[?\b([A-Z]{2})-(\d{4})-(\d{4,6})\b\]?")


def find_reference(text: str, prefixes: set[str]) -> str | None:
    for m in REFERENCE.finditer(text):
        if m.group(1) in prefixes:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return None


def read_blocks(blocks: list, kind: str, specs, *, continuation: bool = False, form_id: str | None = None):
    """A ParseResult for blocks: recognise the form (or use form_id a person chose) and read it."""
    specs = list(specs)
    if form_id is not None:
        chosen = [s for s in specs if s.id == form_id]
        if not chosen:
            return ParseResult(kind=kind, reason=f"no form '{form_id}'")
        spec, best = chosen[0], 1.0
    else:
        spec, best, reason = recognise(blocks, specs)
        if spec is None:
            return ParseResult(kind=kind, score=best, reason=reason)
    reader = Reader(spec, continuation=continuation)
    reader.read(blocks)
    return reader.result(kind, best)
