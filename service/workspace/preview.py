"""A preview of a received original beside its correction form: a PDF's pages as images rendered on
the server (PDFium, through pypdfium2), a Word document's or an e-mail's text.

Originals are untrusted, so they are opened only in a child process with the parsers' limits (address
space and processor time, and a wall-clock timeout): a hostile file ends in "no preview", never in a
stalled workspace. Run as `python -m service.workspace.preview <mode> [page]` with the bytes on stdin.
"""

from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
from pathlib import Path

MEMORY_LIMIT = 300 * 1024 * 1024
TIME_LIMIT = 10
MAX_PAGES = 10
PAGE_WIDTH = 900  # pixels: sharp at the half-width column of a 1280 px screen
MAX_TEXT = 60_000
ROOT = Path(__file__).resolve().parents[2]


def _limit() -> None:  # pragma: no cover - runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (TIME_LIMIT, TIME_LIMIT))


def _run(content: bytes, *args: str) -> bytes | None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "service.workspace.preview", *args],
            input=content,
            capture_output=True,
            timeout=TIME_LIMIT * 3,
            preexec_fn=_limit,
            cwd=ROOT,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None


def page_count(content: bytes) -> int:
    """How many pages of a PDF the preview shows (0 when it cannot be opened)."""
    out = _run(content, "count")
    return min(int(out or b"0"), MAX_PAGES)


def page_png(content: bytes, number: int) -> bytes | None:
    """Page `number` (from 1) of a PDF as a PNG, or None."""
    if not 1 <= number <= MAX_PAGES:
        return None
    return _run(content, "page", str(number))


def text_of(content: bytes, kind: str) -> str | None:
    """The text of a Word document or an e-mail, as a person would read it, or None."""
    out = _run(content, kind)
    return out.decode("utf-8", "replace") if out is not None else None


# --- the child ------------------------------------------------------------------------------


def _pdf(content: bytes, mode: str, number: int) -> bytes:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(content)
    if mode == "count":
        return str(len(document)).encode()
    page = document[number - 1]
    image = page.render(scale=PAGE_WIDTH / page.get_width()).to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _docx(content: bytes) -> str:
    from parsers.blocks import Para
    from parsers.docx import docx_blocks

    blocks, _extra = docx_blocks(content)
    lines = []
    for block in blocks:
        if isinstance(block, Para):
            lines.append(block.text)
        else:
            lines.extend(" | ".join(cell for cell in row if cell) for row in block.rows)
    return "\n".join(line for line in lines if line.strip())


def _email(content: bytes) -> str:
    from parsers import sniff
    from parsers.email import read_eml, read_msg

    mail = read_msg(content) if sniff(content) == "msg" else read_eml(content)
    head = [f"{name}: {value}" for name, value in (("From", mail.sender), ("Subject", mail.subject)) if value]
    attached = [f"Attached: {name}" for name, _ in mail.attachments]
    return "\n".join([*head, *attached, "", mail.body])


def main(argv: list[str]) -> int:  # pragma: no cover - exercised through the functions above
    content = sys.stdin.buffer.read()
    mode = argv[0]
    if mode in ("count", "page"):
        out = _pdf(content, mode, int(argv[1]) if len(argv) > 1 else 1)
    elif mode == "docx":
        out = _docx(content)[:MAX_TEXT].encode("utf-8")
    elif mode == "email":
        out = _email(content)[:MAX_TEXT].encode("utf-8")
    else:
        return 2
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
