"""Returned documents as they really come back (issue 16).

- OCR: seconds per page (A4 at 300 dpi, processor time of this process and Tesseract together,
  and wall time), and per form the share of typed values read exactly and within one character,
  for scans made by tests/parsers/scans.py: clean at 300 dpi, a copier's (200 dpi, skewed, blurred,
  speckled, JPEG) and a phone photo's (first page only: on a desk, at an angle, turned, shaded,
  blurred, JPEG), with the photo's share of the values a clean scan of the same page reads; and a
  two-page form photographed page by page and e-mailed, its photos read together against one at a time.
- .doc to data: seconds per document, LibreOffice's conversion and the reading together.
- A text PDF page of 2,000 ruled table cells: processor seconds, and the ratio to a page of 200
  (10 when the cost grows with the cells, 100 when it grows with their square); beside it, in the
  same run, pdfplumber reading that page's characters and ruled tables on its own pages and on the
  service's (parsers.pdf_objects, which copy the objects pdfplumber would resolve), and the service's
  part above the latter.
- `flask parse` and `flask ingest` start-up: processor time and peak memory from the start to the
  first byte read (the file is a named pipe: the bench reads the command's /proc figures while it waits
  there), against a command that builds the whole app (`flask routes`) and the floor any such command
  pays (flask's command line, its plugin commands, SQLAlchemy's ORM); `flask ingest FILE`'s whole
  run (stored and queued) and `flask ingest --now` (which reads in its own process: the whole app) beside.
  The service's code is compiled to bytecode first, as installed (`make bench` runs `make bytecode`).
"""

from __future__ import annotations

import errno
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure

ISSUE = 16
ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _ocr_figures() -> list[Figure]:
    if shutil.which("tesseract") is None:
        return [Figure(ISSUE, "OCR: Tesseract not installed (make test-tools)", 0, "s", "< 10", False)]
    from forms import registry
    from forms.schema import validate_data
    from parsers import parse
    from service.documents.records import render
    from tests.conftest import ALL_FORMS, sample
    from tests.parsers.scans import CLEAN, COPIER, PHONE, read_back, scanned

    conditions = [
        ("clean scan 300 dpi", CLEAN, "pdf", ">= 90"),
        ("copier 200 dpi", COPIER, "tiff", ">= 90"),
        ("phone photo (desk, angle, shade; 1st page)", PHONE, "jpeg", "(info)"),
        ("clean scan of the 1st page", CLEAN, "png", "(info)"),
    ]
    figures, timing, read = [], {}, {}
    for label, how, fmt, target in conditions:
        totals, pages, cpu, wall = [0, 0, 0], 0, 0.0, 0.0
        for form_id in ALL_FORMS:
            spec = registry().form(form_id)
            want = validate_data(spec, sample(form_id))
            content = scanned(render(spec, want, "pdf"), how, fmt)
            cpu_start, wall_start = _cpu(), time.perf_counter()
            result = parse(content, f"scan.{fmt}")
            cpu += _cpu() - cpu_start
            wall += time.perf_counter() - wall_start
            pages += _pages(result)
            got = result.canonical(spec)[0] if result.form_id == form_id else {}
            exact, near, total = read_back(want, got)
            read[(fmt, form_id)] = (want, got)
            totals = [totals[0] + exact, totals[1] + near, totals[2] + total]
            figures.append(
                Figure(
                    ISSUE,
                    f"  {label}: {form_id}, typed values exact / within 1 char",
                    100 * exact / total,
                    "%",
                    f"(near {100 * near / total:.0f}%)",
                    True,
                )
            )
        timing[label] = (cpu / pages, wall / pages)
        exact_share, near_share = 100 * totals[0] / totals[2], 100 * totals[1] / totals[2]
        ok = target == "(info)" or exact_share >= float(target.split()[1])
        figures.append(
            Figure(ISSUE, f"OCR {label}: typed values read exactly, all forms", exact_share, "%", target, ok)
        )
        figures.append(
            Figure(ISSUE, f"OCR {label}: typed values within one character", near_share, "%", "(info)", True)
        )
    figures.append(_photo_against_scan(read))
    figures.append(_pages_photographed())
    cpu, wall = timing["clean scan 300 dpi"]
    photo_cpu, _ = timing["phone photo (desk, angle, shade; 1st page)"]
    return [
        Figure(ISSUE, "OCR: processor seconds per page (A4 300 dpi, incl. Tesseract)", cpu, "s", "< 10", cpu < 10),
        Figure(ISSUE, "OCR: wall seconds per page (shared machine)", wall, "s", "(info)", True),
        Figure(ISSUE, "OCR: processor seconds per phone photo", photo_cpu, "s", "< 10", photo_cpu < 10),
        *figures,
    ]


def _photo_against_scan(read: dict) -> Figure:
    """Of the values a clean scan of a page reads exactly, the share a phone photo of it reads exactly."""
    from tests.parsers.scans import misread, typed_values

    on_page, exact = 0, 0
    for (fmt, form_id), (want, clean) in read.items():
        if fmt != "png":
            continue
        page = set(typed_values(want)) - set(misread(want, clean))
        photo_want, photo = read[("jpeg", form_id)]
        on_page += len(page)
        exact += len(page - set(misread(photo_want, photo)))
    share = 100 * exact / max(on_page, 1)
    return Figure(
        ISSUE,
        "OCR phone photo: of the values a clean scan of its page reads, read exactly",
        share,
        "%",
        ">= 90",
        share >= 90,
    )


def _pages_photographed() -> Figure:
    """Appendix 5 (its answers run onto page 2) photographed page by page, each a JPEG attached to one
    e-mail: typed values read exactly with the photos read together as the form's pages, beside the
    best of the photos read one at a time (as e-mails were read before)."""
    from email.message import EmailMessage

    from forms import registry
    from forms.schema import validate_data
    from parsers import parse
    from service.documents.records import render
    from tests.conftest import sample
    from tests.parsers.scans import PHONE, photos, read_back

    spec = registry().form("kirklees-appendix-5")
    want = validate_data(spec, sample(spec.id))
    shots = photos(render(spec, want, "pdf"), PHONE)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@health.example", "b@escalate.example", "photos"
    for n, shot in enumerate(shots, 1):
        message.add_attachment(shot, maintype="image", subtype="jpeg", filename=f"IMG_{n}.jpg")

    def share(result) -> float:
        exact, _, total = read_back(want, result.canonical(spec)[0] if result.form_id == spec.id else {})
        return 100 * exact / total

    alone = max(share(parse(shot, f"IMG_{n}.jpg")) for n, shot in enumerate(shots, 1))
    joined = share(parse(message.as_bytes(), "photos.eml"))
    name = f"OCR phone photos of {spec.id}'s {len(shots)} pages e-mailed: values read exactly, joined"
    return Figure(ISSUE, name, joined, "%", f">= 90 (one at a time {alone:.0f}%)", joined >= 90)


def _pages(result) -> int:
    """The pages OCR read, from the result's first warning ("read by OCR from N page images")."""
    first = result.warnings[0] if result.warnings else ""
    return int(first.split()[4]) if "OCR" in first else 1


def _doc_figures() -> list[Figure]:
    soffice = shutil.which("soffice")
    if soffice is None:
        return [Figure(ISSUE, ".doc to data: LibreOffice not installed", 0, "s", "< 10", False)]
    from forms import registry
    from parsers import parse
    from service.documents.records import render
    from tests.conftest import ALL_FORMS, sample

    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for form_id in ALL_FORMS:
            path = Path(tmp) / f"{form_id}.docx"
            path.write_bytes(render(registry().form(form_id), sample(form_id), "docx"))
            sources.append(path)
        profile = (Path(tmp) / "profile").as_uri()
        subprocess.run(
            [soffice, "--headless", f"-env:UserInstallation={profile}", "--convert-to", "doc", "--outdir", tmp]
            + [str(s) for s in sources],
            check=True,
            capture_output=True,
            timeout=300,
        )
        docs = [(p.stem, p.read_bytes()) for p in sorted(Path(tmp).glob("*.doc"))]
    start, read = time.perf_counter(), 0
    for form_id, content in docs:
        read += parse(content, f"{form_id}.doc").form_id == form_id
    seconds = (time.perf_counter() - start) / len(docs)
    return [
        Figure(
            ISSUE,
            ".doc to data: seconds per document (LibreOffice conversion + reading)",
            seconds,
            "s",
            "< 10",
            seconds < 10,
        ),
        Figure(
            ISSUE,
            f"  .doc documents recognised as their form (of {len(docs)})",
            read,
            "docs",
            f"= {len(docs)}",
            read == len(docs),
        ),
    ]


def _cells_figures() -> list[Figure]:
    import pdfplumber

    from parsers import parse
    from parsers.pdf_objects import ContentPage
    from tests.parsers.test_kinds import cells_pdf

    def seconds(content: bytes) -> float:
        parse(content, "cells.pdf")
        start = time.process_time()
        parse(content, "cells.pdf")
        return time.process_time() - start

    def library(content: bytes, page_of=lambda page: page) -> float:
        """pdfplumber reading the page's characters and ruled tables: what any reader built on it pays."""
        start = time.process_time()
        with pdfplumber.open(io.BytesIO(content)) as pdf:
            page = page_of(pdf.pages[0])
            assert page.chars and page.find_tables()
        return time.process_time() - start

    content = cells_pdf(2000)
    many, few = seconds(content), seconds(cells_pdf(200))
    plumber = min(library(content) for _ in range(2))
    floor = min(library(content, ContentPage.of) for _ in range(2))
    return [
        Figure(ISSUE, "text PDF page of 2,000 table cells: processor seconds", many, "s", "< 1", many < 1),
        Figure(
            ISSUE,
            "  same run: pdfplumber alone reading that page's characters and ruled tables",
            plumber,
            "s",
            "(context)",
            True,
        ),
        Figure(
            ISSUE, "  the same on the service's pages (objects copied, not resolved)", floor, "s", "(context)", True
        ),
        Figure(ISSUE, "  the page above the latter (the service's own part)", many - floor, "s", "(context)", True),
        Figure(
            ISSUE,
            "  ratio to a page of 200 cells (10: linear; 100: quadratic)",
            many / few,
            "x",
            "< 20",
            many / few < 20,
        ),
    ]


def _flask(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "flask"), "--app", "app", *args]


def _at_first_byte(args: list[str], env: dict) -> tuple[float, float]:
    """(processor seconds, peak MB) of `flask ARGS FILE` at the moment it opens FILE to read it: FILE is
    a named pipe, so the command waits there until this process, which opened the other end, has read
    the command's /proc figures; then it is given a small text and runs to its end."""
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Path(tmp) / "returned.txt"
        os.mkfifo(pipe)
        process = subprocess.Popen([*args, str(pipe)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        try:
            with os.fdopen(_writer(pipe, process), "wb") as writer:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
                status = Path(f"/proc/{process.pid}/status").read_text()
                peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
                writer.write(f"Returned form {time.time_ns()}\n".encode())  # new bytes: stored each time
        finally:
            process.wait(timeout=120)
    return cpu, peak / 1024  # measured at the open: `flask parse` then exits 1 (the text is no form)


def _writer(pipe: Path, process: subprocess.Popen) -> int:
    """The pipe's writing end, once the command has opened its reading end (a blocking open would wait
    for ever for a command that failed before reading its file)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while no reader has it open
        except OSError as exc:
            if exc.errno != errno.ENXIO or process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{' '.join(map(str, process.args))} never opened its file to read") from None
            time.sleep(0.001)
            continue
        os.set_blocking(fd, True)
        return fd


def _whole(args: list[str], env: dict) -> tuple[float, float]:
    """(processor seconds, peak MB) of the whole `flask ARGS` run, to its end."""
    measure = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(r.ru_utime + r.ru_stime, r.ru_maxrss)\n"
        "sys.exit(code)\n"
    )
    out = subprocess.run([sys.executable, "-c", measure, *args], capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:  # a command that failed early would look fast
        raise RuntimeError(f"{' '.join(args)} failed (exit {out.returncode}): {out.stderr[-500:]}")
    cpu, rss = out.stdout.split()
    return float(cpu), int(rss) / 1024


# What any `flask` command that stores to the database costs before it runs a line of the service:
# flask's command line, which loads every installed plugin command (the service's own two only: see
# tests/intake/test_ingest.py) before it looks up the one asked for, and SQLAlchemy's ORM. It tells
# this machine's speed apart from the service's own start-up.
FLOOR = (
    "import flask.cli, sqlalchemy.orm\n"
    "from importlib.metadata import entry_points\n"
    "[e.load() for e in entry_points(group='flask.commands')]\n"
)


def _best(measure, *args) -> tuple[float, float]:
    return min(measure(*args) for _ in range(3))


def _startup_figures() -> list[Figure]:
    """`flask parse` and `flask ingest` from their start to the first byte they read, on a database and
    intake queue of their own (SQLite files, as a single-machine install keeps them)."""
    from service import db

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        env = {**os.environ, "DATABASE_URL": url, "INTAKE_QUEUE_URL": f"sqlite:///{tmp}/queue.sqlite3"}
        ingest_cpu, ingest_mb = _best(_at_first_byte, _flask("ingest"), env)
        now_cpu, now_mb = _best(_at_first_byte, _flask("ingest", "--now"), env)
        parse_cpu, parse_mb = _best(_at_first_byte, _flask("parse"), env)
        sample = Path(tmp) / "returned.txt"
        sample.write_text("Returned form\n")
        whole_cpu, whole_mb = _best(_whole, _flask("ingest", str(sample)), env)
        app_cpu, app_mb = _best(_whole, _flask("routes"), env)
        floor_cpu, _ = _best(_whole, [sys.executable, "-c", FLOOR], env)
    return [
        Figure(
            ISSUE,
            "`flask ingest` start-up to its first byte read: processor seconds",
            ingest_cpu,
            "s",
            "< 0.5",
            ingest_cpu < 0.5,
        ),
        Figure(
            ISSUE,
            "  floor, same run: flask's command line with its plugin commands and SQLAlchemy's ORM imported",
            floor_cpu,
            "s",
            "(context)",
            True,
        ),
        Figure(
            ISSUE,
            "  `flask ingest` start-up above that floor (the service's own part)",
            ingest_cpu - floor_cpu,
            "s",
            "(context)",
            True,
        ),
        Figure(
            ISSUE,
            "`flask ingest` start-up to its first byte read: peak memory",
            ingest_mb,
            "MB",
            "< 80",
            ingest_mb < 80,
        ),
        Figure(
            ISSUE,
            "  `flask ingest FILE` whole run: stored and queued (processor seconds)",
            whole_cpu,
            "s",
            f"({whole_mb:.0f} MB)",
            True,
        ),
        Figure(
            ISSUE,
            "  `flask ingest --now` to its first byte (reads here: the whole app)",
            now_cpu,
            "s",
            f"({now_mb:.0f} MB)",
            True,
        ),
        Figure(
            ISSUE,
            "`flask parse` start-up to its first byte read: processor seconds",
            parse_cpu,
            "s",
            "< 0.5",
            parse_cpu < 0.5,
        ),
        Figure(
            ISSUE, "`flask parse` start-up to its first byte read: peak memory", parse_mb, "MB", "< 80", parse_mb < 80
        ),
        Figure(
            ISSUE,
            "  baseline: a command that builds the whole app (`flask routes`)",
            app_cpu,
            "s",
            f"({app_mb:.0f} MB)",
            True,
        ),
        Figure(
            ISSUE, "  ratio of the whole app's start-up to `flask ingest`'s", app_cpu / ingest_cpu, "x", "(info)", True
        ),
    ]


def run() -> list[Figure]:
    return _startup_figures() + _cells_figures() + _doc_figures() + _ocr_figures()
