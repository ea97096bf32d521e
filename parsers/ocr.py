"""Scans and photos read by OCR: a page image cleaned, straightened and read by Tesseract.

Tesseract (Debian's tesseract-ocr and tesseract-ocr-eng) runs as a program of its own, once per
page, from the parsing worker, with its own limits (parsers.convert.run_limited): address space,
processor time, a wall-clock limit, one thread. It is called directly rather than through a Python
wrapper because the wrappers cannot set a child's limits; its TSV output (each word with its box
and confidence) is read with the csv module. Before reading, a page is turned upright as its EXIF
says (a phone photo), made grey and cleaned by parsers.ocr_clean (OpenCV), also a helper program
with the same limits: a photo's page found and its perspective undone, light evened out, speckle
removed, the page straightened and its ruled lines removed (their cells kept for the layout reader).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from parsers.result import ParseError, plain

ROOT = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 768 * 1024 * 1024
PAGE_SECONDS = 20  # processor time for one page (an A4 page at 300 dpi takes 1-4 s here)
DOCUMENT_SECONDS = 50  # wall-clock time for every page of one input together
MAX_PAGES = 10
MAX_PIXELS = 60_000_000  # a 300 dpi A3 page is 17.5 million; anything larger is not a page


@dataclass
class Word:
    text: str
    conf: float  # Tesseract's confidence, 0-100
    left: int
    top: int
    width: int
    height: int
    page: int = 0

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


def open_image(content: bytes, *, heic: bool = False) -> list:
    """The pages of an image file (a TIFF or a HEIC may hold several), within bounds, each turned upright
    as its EXIF says (a phone photo) and grey as it is read: ten phone photos in colour would not fit the
    reader's memory."""
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    if heic:
        _read_heic()
    try:
        image = Image.open(io.BytesIO(content))
        pages = []
        for n, frame in enumerate(ImageSequence.Iterator(image)):
            if n >= MAX_PAGES:
                raise ParseError(f"refused: the image has more than {MAX_PAGES} pages")
            if frame.width * frame.height > MAX_PIXELS:
                raise ParseError("refused: the image is larger than any scanned page")
            pages.append(ImageOps.exif_transpose(frame).convert("L"))
    except ParseError:
        raise  # a bound above, said as it is (not as damage)
    except Image.DecompressionBombError:
        raise ParseError("refused: the image is larger than any scanned page (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, TypeError, KeyError, IndexError) as exc:
        # Pillow's decoders raise any of these for a damaged file (TypeError for a TIFF without dimensions: found by fuzzing)
        raise ParseError(f"not readable: the image is damaged or of a kind not read ({plain(exc)})") from None
    return pages


@functools.cache
def _read_heic() -> None:
    """Pillow opens HEIC through pillow-heif (libheif and libde265) from here on: registered only where
    a HEIC photo is read (the parsing worker), never by the app. The same pixel bound as any image
    (Pillow checks MAX_IMAGE_PIXELS on opening, before decoding), libheif's own limits kept on, one
    decoding thread (the worker has one), and only the primary images: no thumbnails, depth maps or
    auxiliary images."""
    import pillow_heif

    pillow_heif.options.DISABLE_SECURITY_LIMITS = False
    pillow_heif.register_heif_opener(decode_threads=1, thumbnails=False, depth_images=False, aux_images=False)


@dataclass
class Page:
    """A page made ready for OCR (parsers.ocr_clean), at about 300 dpi."""

    image: object  # the page as Pillow's image, ruled lines kept (tick boxes are read from it)
    text: object  # the page in grey, evened out, without its ruled lines: what Tesseract reads
    tables: list[list[list[int]]]  # cells the ruled lines enclose, [left, top, right, bottom], per table


def prepare(image, deadline: float | None = None) -> Page:
    """The page (grey, upright: open_image) cleaned by parsers.ocr_clean in a helper program with its
    own limits: perspective undone, light evened out, speckle removed, straightened, ruled lines found
    and removed from the copy to be read."""
    from PIL import Image

    from parsers.convert import run_limited

    image = image.convert("L")  # a no-op for open_image's pages; a rendered PDF page comes in colour
    left = _left(deadline)
    with tempfile.TemporaryDirectory(prefix="escalate-ocr-") as tmp:
        source, out = Path(tmp) / "photo.pgm", Path(tmp) / "clean"
        image.save(source)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
        command = [sys.executable, "-s", "-m", "parsers.ocr_clean", str(source), str(out)]
        code, _ = run_limited(command, cwd=str(ROOT), memory=MEMORY_LIMIT, seconds=PAGE_SECONDS, wall=left, env=env)
        if code is None or code < 0:
            raise ParseError(f"refused: cleaning the scan for OCR went beyond its limits ({PAGE_SECONDS} s per page)")
        if code != 0:
            raise ParseError("not readable: the page image could not be cleaned for OCR")
        page, text = Image.open(f"{out}.page.pgm"), Image.open(f"{out}.text.pgm")
        page.load()
        text.load()
        tables = json.loads(Path(f"{out}.json").read_text(encoding="utf-8"))["tables"]
    return Page(page, text, tables)


def _left(deadline: float | None) -> float:
    """Seconds left of the document's wall-clock time; ParseError when they are spent."""
    left = (deadline - time.monotonic()) if deadline else DOCUMENT_SECONDS
    if left <= 1:
        raise ParseError(f"refused: reading the scan by OCR took longer than {DOCUMENT_SECONDS} s")
    return left


def tesseract() -> str:
    found = shutil.which("tesseract")
    if found is None:
        raise ParseError("not readable here: a scan or photo needs OCR (Tesseract), which this server does not have")
    return found


def read_words(image, page: int = 0, deadline: float | None = None) -> list[Word]:
    """Every word Tesseract reads on the page, with its box and confidence."""
    from parsers.convert import run_limited

    program = tesseract()
    left = _left(deadline)
    with tempfile.TemporaryDirectory(prefix="escalate-ocr-") as tmp:
        source = Path(tmp) / "page.png"
        image.save(source, dpi=(300, 300))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1", "HOME": tmp}
        command = [program, str(source), str(Path(tmp) / "words"), "-l", "eng", "--psm", "3", "tsv"]
        code, _ = run_limited(command, cwd=tmp, memory=MEMORY_LIMIT, seconds=PAGE_SECONDS, wall=left, env=env)
        if code is None or code < 0:
            raise ParseError(f"refused: reading the scan by OCR went beyond its limits ({PAGE_SECONDS} s per page)")
        out = Path(tmp) / "words.tsv"
        if code != 0 or not out.exists():
            raise ParseError("not readable: OCR could not read the page image")
        return _words(out.read_text(encoding="utf-8", errors="replace"), page)


# Tesseract chooses between straight and curly quotes by the glyph's slant, which a blurred photo
# changes; what was typed cannot be told from the page, so OCR gives the straight ones.
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _words(tsv: str, page: int) -> list[Word]:
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip().translate(QUOTES)
        if row.get("level") != "5" or not text:
            continue
        try:
            box = [int(row[k]) for k in ("left", "top", "width", "height")]
            conf = float(row["conf"])
        except (KeyError, TypeError, ValueError):
            continue
        words.append(Word(text, conf, *box, page=page))
    return words
