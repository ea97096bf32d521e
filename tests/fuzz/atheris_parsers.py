"""atheris (libFuzzer, coverage-guided) target for the parsers.

    python -m tests.fuzz.atheris_parsers KIND CORPUS_DIR [libFuzzer flags, e.g. -max_total_time=5]

KIND is docx, pdf or email. The parsers package is instrumented for coverage. Any exception other
than the parsers' own ParseError is a crash: libFuzzer stops, writes the input (-artifact_prefix)
and exits non-zero. For DOCX a custom mutator mutates inside the zip (the XML members), since
flipped bytes in a deflated stream only ever test the zip's checksum.
"""

from __future__ import annotations

import contextlib
import io
import sys
import zipfile

import atheris

with atheris.instrument_imports(include=["parsers"]):
    import parsers
    from parsers import ParseError

NAMES = {"docx": "returned.docx", "pdf": "returned.pdf", "email": "returned.eml"}
KIND = sys.argv[1] if len(sys.argv) > 1 else "docx"


def one_input(data: bytes) -> None:
    with contextlib.suppress(ParseError):  # the parsers' own rejection is a good answer; anything else crashes
        parsers.parse(data, NAMES[KIND])


def docx_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            members = [(info.filename, source.read(info)) for info in source.infolist()]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return atheris.Mutate(data, max_size)
    names = [name for name, _ in members]
    target = "word/document.xml" if seed % 4 and "word/document.xml" in names else names[seed % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as result:
        for name, content in members:
            if name == target:
                content = atheris.Mutate(content, len(content) + 512)
            result.writestr(name, content)
    return out.getvalue()


def main() -> None:
    from forms import registry

    registry()  # load the packs before fuzzing, so start-up is not counted as a slow input
    argv = [sys.argv[0], *sys.argv[2:]]
    if KIND == "docx":
        atheris.Setup(argv, one_input, custom_mutator=docx_mutator)
    else:
        atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
