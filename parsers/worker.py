"""The parsing worker: `python -m parsers.worker SECONDS MEMORY`, driven by parsers.sandbox over a pipe.

Reads frames (JSON header, then the input's bytes) from stdin and answers each with one frame on
stdout. It caps its own address space at MEMORY bytes as it starts, before the readers are loaded
(so the parent needs no pre-exec hook, which is unsafe in a threaded server); its processor-time cap
is renewed before each input. After running out of memory it answers and exits, so the next input gets a
fresh process.
"""

from __future__ import annotations

import resource
import sys

if __name__ == "__main__" and len(sys.argv) > 2:
    # The hard limit leaves room for the helper programs the worker runs (LibreOffice, Tesseract),
    # which set their own, larger limits (parsers.convert), up to 1.5 GB.
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), max(int(sys.argv[2]), 1536 * 1024 * 1024)))

from parsers import parse
from parsers.result import ParseError, plain
from parsers.sandbox import read_frame, send_frame

RESTART_AFTER = 500  # inputs, so fragmentation never builds up
# What parse() imports on first use of each typed kind (about 0.5 s here), loaded at once when the
# reader is started to read all day (parsers.sandbox.warm). Not OCR's: a scan takes seconds anyway,
# nor pdfplumber (a printed PDF): theirs would take 20-40 MB more of the address space from the start.
PRELOAD = (
    "parsers.docx", "parsers.pdf", "parsers.pdf_fields", "parsers.pdf_page", "parsers.email", "parsers.layout",
    "parsers.blocks", "pikepdf", "lxml.html",
)  # fmt: skip


def _preload() -> None:
    import contextlib
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # an optional one: loaded (and its absence reported) when needed
            importlib.import_module(name)
    from forms import registry

    registry()  # the forms' specs, read from their files


def _answer(content: bytes, header: dict) -> dict:
    try:
        result = parse(
            content, header.get("filename"), form_id=header.get("form_id"), partnership=header.get("partnership")
        )
        return {"status": "ok", "result": result.to_json()}
    except ParseError as exc:
        return {"status": "error", "reason": str(exc)}
    except MemoryError:
        return {"status": "error", "reason": "refused: reading it needs more memory than allowed", "restart": True}
    except RecursionError:
        return {"status": "error", "reason": "refused: the file nests or refers to itself too deeply (a loop?)"}
    except Exception as exc:  # whatever a damaged or hostile file makes a library raise
        return {"status": "error", "reason": f"not readable: {plain(exc)}", "restart": True}


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if sys.argv[3:4] == ["preload"]:
        _preload()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library that prints must not corrupt the frames
    for n in range(1, RESTART_AFTER + 1):
        try:
            header, content = read_frame(stdin)
        except EOFError:
            return 0
        used = resource.getrusage(resource.RUSAGE_SELF)
        budget = int(used.ru_utime + used.ru_stime) + seconds
        resource.setrlimit(resource.RLIMIT_CPU, (budget, resource.RLIM_INFINITY))
        reply = _answer(content, header)
        after = resource.getrusage(resource.RUSAGE_SELF)
        reply["cpu"] = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
        if n == RESTART_AFTER:
            reply["restart"] = True
        send_frame(stdout, reply)
        if reply.get("restart"):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
