"""PDF (issue 2): median ms per completed PDF for each form, and 1,000 mixed completed records.

The per-form figure times `render_pdf` on the form's canonical sample (validation is timed in the
mixed run). The mixed run is what a business unit's batch would do: 1,000 records through
`service.documents.render` (validation and rendering), alternating DOCX and PDF over every form,
each record with its own name (Latin, Vietnamese, Arabic) so nothing is served from a cache. Both
run in this one process, on one core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.common import Figure, median_ms
from forms import registry
from forms.schema import validate_data
from service.documents import render
from service.pdf_render import render_pdf

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "forms"
PDF_TARGET_MS = 30.0
MIXED_RECORDS, MIXED_TARGET_S = 1000, 30.0
NAMES = ["Zoë Łukasiewicz", "Siobhán O'Connell", "Nguyễn Văn An", "أحمد الراشد"]


def _sample(form_id: str) -> dict:
    return json.loads((SAMPLES / f"{form_id}.json").read_text(encoding="utf-8"))


def _records(count: int) -> list[tuple]:
    """(spec, raw data, format) for `count` records: every form, DOCX and PDF in turn."""
    specs = [registry().form(form_id) for form_id in sorted(registry().forms)]
    records = []
    for i in range(count):
        spec = specs[i % len(specs)]
        fmt = ("pdf", "docx")[(i // len(specs)) % 2]
        data = _sample(spec.id)
        name_field = spec.field_for("raiser_name")
        if name_field is not None:
            data[name_field.key] = f"{NAMES[i % len(NAMES)]} {i}"
        records.append((spec, data, fmt))
    return records


def _mixed_seconds(records: list[tuple]) -> float:
    start = time.perf_counter()
    for spec, data, fmt in records:
        render(spec, data, fmt)
    return time.perf_counter() - start


def run() -> list[Figure]:
    figures = []
    for form_id in sorted(registry().forms):
        spec = registry().form(form_id)
        data = validate_data(spec, _sample(form_id))
        ms = median_ms(lambda spec=spec, data=data: render_pdf(spec, data))
        figures.append(
            Figure(2, f"PDF completed {form_id}", ms, "ms", f"median < {PDF_TARGET_MS:g}", ms < PDF_TARGET_MS)
        )
    records = _records(MIXED_RECORDS)
    for spec, data, fmt in records[:16]:  # warm up both renderers (fonts, templates) first
        render(spec, data, fmt)
    seconds = _mixed_seconds(records)
    figures.append(
        Figure(
            2,
            f"{MIXED_RECORDS:,} mixed completed records (DOCX and PDF, all forms)",
            seconds,
            "s",
            f"< {MIXED_TARGET_S:g}",
            seconds < MIXED_TARGET_S,
        )
    )
    return figures
