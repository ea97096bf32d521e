"""Parsing and ingestion (issue 5), per core (one process, one thread).

- DOCX parsed per second: this service's completed documents and the partnerships' published forms.
- Fillable PDFs parsed per second: this service's completed PDFs (AcroForm values).
- Text PDF pages per second: Word forms saved as PDF by LibreOffice (no fields), read from text and
  ruled tables with pdfplumber.
- 1,000 mixed returned documents (DOCX, PDF, e-mails with either attached, pasted answers) ingested
  end to end through the limited worker: stored, parsed, validated, case created, routed, outbox
  written, on SQLite. Every document differs (a number in the raiser's name), so none is a duplicate.
Both the in-process parser and the sandboxed one (a worker process, as ingestion uses) are reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import Figure

ISSUE = 5
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "forms"
LEGACY = Path("/work/shared/samples/legacy-forms")


def _sample(form_id: str) -> dict:
    return json.loads((SAMPLES / f"{form_id}.json").read_text(encoding="utf-8"))


def _rate(fn, items: list, seconds: float = 3.0, clock=time.process_time) -> float:
    """Items per second over at least `seconds` (whole passes over the items). In process the clock
    is this process's CPU time: per core, whatever else the machine runs; for the worker, wall time."""
    for item in items[:3]:
        fn(item)
    done, start = 0, clock()
    while clock() - start < seconds:
        for item in items:
            fn(item)
        done += len(items)
    return done / (clock() - start)


def _documents(fmt: str) -> list[bytes]:
    from forms import registry
    from service.documents.records import render

    return [render(spec, _sample(spec.id), fmt) for spec in registry().forms.values()]


def _text_pdfs() -> list[tuple[bytes, int]]:
    """The published Word forms and this service's DOCX, saved as PDF by LibreOffice."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return []
    import pypdf

    with tempfile.TemporaryDirectory() as tmp:
        sources = sorted(LEGACY.glob("*.docx")) if LEGACY.exists() else []
        for n, content in enumerate(_documents("docx")):
            path = Path(tmp) / f"rendered-{n}.docx"
            path.write_bytes(content)
            sources.append(path)
        out = Path(tmp) / "pdf"
        profile = (Path(tmp) / "profile").as_uri()
        subprocess.run(
            [soffice, "--headless", f"-env:UserInstallation={profile}", "--convert-to", "pdf", "--outdir", str(out)]
            + [str(s) for s in sources],
            check=True,
            capture_output=True,
            timeout=300,
        )
        pdfs = [p.read_bytes() for p in sorted(out.glob("*.pdf"))]
    import io

    return [(pdf, len(pypdf.PdfReader(io.BytesIO(pdf)).pages)) for pdf in pdfs]


def _parse_figures() -> list[Figure]:
    from parsers import parse
    from parsers.sandbox import parse_safely

    figures = []
    docx = _documents("docx") + ([p.read_bytes() for p in sorted(LEGACY.glob("*.docx"))] if LEGACY.exists() else [])
    rate = _rate(lambda c: parse(c, "x.docx"), docx)
    figures.append(Figure(ISSUE, "DOCX parsed per second per core (in process)", rate, "docs/s", ">= 100", rate >= 100))
    rate = _rate(lambda c: parse_safely(c, "x.docx"), docx, clock=time.perf_counter)
    figures.append(Figure(ISSUE, "DOCX parsed per second (limited worker process)", rate, "docs/s", "(info)", True))

    pdfs = _documents("pdf")
    rate = _rate(lambda c: parse(c, "x.pdf"), pdfs)
    figures.append(
        Figure(ISSUE, "fillable PDFs parsed per second per core (in process)", rate, "docs/s", ">= 100", rate >= 100)
    )
    rate = _rate(lambda c: parse_safely(c, "x.pdf"), pdfs, clock=time.perf_counter)
    figures.append(Figure(ISSUE, "fillable PDFs parsed per second (limited worker)", rate, "docs/s", "(info)", True))

    text_pdfs = _text_pdfs()
    if text_pdfs:
        pages = sum(n for _, n in text_pdfs)
        start = time.process_time()
        for content, _ in text_pdfs:
            parse(content, "x.pdf")
        rate = pages / (time.process_time() - start)
        figures.append(
            Figure(
                ISSUE, "text PDF pages parsed per second per core (pdfplumber)", rate, "pages/s", ">= 10", rate >= 10
            )
        )
    else:
        figures.append(
            Figure(ISSUE, "text PDF pages per second: LibreOffice not installed", 0, "pages/s", ">= 10", False)
        )
    return figures


def _worker_cpu() -> float:
    """Processor seconds the parsing workers have spent reading inputs (each reply says its own)."""
    from parsers import sandbox

    return sandbox._worker.cpu_seconds


def _ingest_figures(count: int = 1000) -> list[Figure]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app import create_app
    from service import db
    from service.casework import directory
    from service.casework.models import OutboxMessage
    from service.intake.ingest import ingest_many
    from tests.intake.workers import returns

    inputs = returns(count, junk_every=count + 1)  # DOCX, PDF, e-mails with either attached, pasted answers
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
        db.upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            directory.seed(session)
            from parsers.sandbox import parse_safely

            parse_safely(inputs[0][1], inputs[0][0])  # the worker started before the clock does
            worker_before = _worker_cpu()
            start, cpu_start = time.perf_counter(), time.process_time()
            statuses: dict[str, int] = {}
            for outcome in ingest_many(session, inputs, channel="cli"):
                statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            worker_cpu = _worker_cpu() - worker_before
            queued = session.scalar(select(func.count()).select_from(OutboxMessage))
        engine.dispose()
    accepted = statuses.get("accepted", 0)
    ok = elapsed < 60 and accepted == count and queued > 0
    load = os.getloadavg()[0]
    return [
        Figure(ISSUE, f"{count} mixed documents ingested end to end (SQLite, wall)", elapsed, "s", "< 60", ok),
        Figure(ISSUE, "  machine load average while ingesting (2 cores)", load, "", "(context)", True),
        Figure(ISSUE, "  CPU seconds: pipeline and cases (this process)", cpu, "s", "(context)", True),
        Figure(ISSUE, "  CPU seconds: parsing (worker process, on the other core)", worker_cpu, "s", "(context)", True),
        Figure(ISSUE, f"  of which accepted (others: {statuses})", accepted, "docs", f"= {count}", accepted == count),
    ]


def run() -> list[Figure]:
    return _parse_figures() + _ingest_figures()
