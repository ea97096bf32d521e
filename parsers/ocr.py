"""Scans and photos read by OCR: a page image cleaned, straightened and read by Tesseract.

Tesseract (Debian's tesseract-ocr and tesseract-ocr-eng) runs as a program of its own, once per
page, from the parsing worker, with its own limits (parsers.convert.run_limited): address space,
processor time, a wall-clock limit, one thread. It is called directly rather than through a Python
wrapper because the wrappers cannot set a child's limits; its TSV output (each word with its box
and confidence) is read with the csv module. Before reading, a page is turned upright as its EXIF
says (a phone photo), made grey, scaled to about 300 dpi, evened out (autocontrast), cleared of
speckle (a median filter) and deskewed (the angle at which its rows of text line up best).
"""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from parsers.result import ParseError, plain

MEMORY_LIMIT = 768 * 1024 * 1024
PAGE_SECONDS = 20  # processor time for one page (an A4 page at 300 dpi takes 1-4 s here)
DOCUMENT_SECONDS = 50  # wall-clock time for every page of one input together
MAX_PAGES = 10
MAX_PIXELS = 60_000_000  # a 300 dpi A3 page is 17.5 million; anything larger is not a page
TARGET_LONG_SIDE = 3508  # A4's long side at 300 dpi
MAX_SKEW = 6.0  # degrees tried either way when straightening


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
    """The pages of an image file (a TIFF or a HEIC may hold several), as Pillow images, within bounds."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

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
            pages.append(frame.copy())
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


def prepare(image):
    """The page upright, grey, about 300 dpi, evened out, without speckle, straightened and made
    black and white (at the threshold that best separates ink from paper: Otsu's)."""
    from PIL import ImageFilter, ImageOps

    image = ImageOps.exif_transpose(image)
    image = image.convert("L")
    scale = TARGET_LONG_SIDE / max(image.size)
    if not 0.95 <= scale <= 1.05:  # a phone photo is larger, a 150 or 200 dpi scan smaller
        image = image.resize((round(image.width * scale), round(image.height * scale)), resample=3)
    image = ImageOps.autocontrast(image, cutoff=(0.05, 0.5))  # a dim photo; a page of little ink keeps its shapes
    image = image.filter(ImageFilter.MedianFilter(3))
    angle = skew(image)
    if abs(angle) >= 0.2:
        image = image.rotate(angle, resample=3, expand=False, fillcolor=255)
    threshold = otsu(image.histogram())
    return image.point(lambda v: 255 if v > threshold else 0)


def otsu(histogram: list[int]) -> int:
    """The grey level that divides a histogram into two classes with the most variance between them."""
    total = sum(histogram)
    weighted = sum(i * n for i, n in enumerate(histogram))
    best, level, below, below_sum = -1.0, 128, 0, 0.0
    for i, n in enumerate(histogram):
        below += n
        below_sum += i * n
        above = total - below
        if below == 0 or above == 0:
            continue
        between = below * above * (below_sum / below - (weighted - below_sum) / above) ** 2
        if between > best:
            best, level = between, i
    return level


def skew(image) -> float:
    """The angle (degrees) that turns the page's lines of text level: the one at which the rows of
    a reduced, black-and-white copy are most unequal (text rows dark, the gaps between them white)."""
    small = image.resize((max(image.width // 4, 1), max(image.height // 4, 1)), 4)
    ink = small.point(lambda v: 255 if v < 160 else 0)

    def spread(angle: float) -> float:
        turned = ink.rotate(angle, expand=False, fillcolor=0)
        rows = list(turned.resize((1, turned.height), 4).tobytes())  # each row's mean ink (a box filter)
        mean = sum(rows) / len(rows)
        return sum((r - mean) ** 2 for r in rows)

    best = max((spread(a / 2), a / 2) for a in range(int(-MAX_SKEW * 2), int(MAX_SKEW * 2) + 1))[1]
    fine = max((spread(best + d / 10), best + d / 10) for d in range(-4, 5))[1]
    return fine


def tesseract() -> str:
    found = shutil.which("tesseract")
    if found is None:
        raise ParseError("not readable here: a scan or photo needs OCR (Tesseract), which this server does not have")
    return found


def read_words(image, page: int = 0, deadline: float | None = None) -> list[Word]:
    """Every word Tesseract reads on the page, with its box and confidence."""
    from parsers.convert import run_limited

    program = tesseract()
    left = (deadline - time.monotonic()) if deadline else DOCUMENT_SECONDS
    if left <= 1:
        raise ParseError(f"refused: reading the scan by OCR took longer than {DOCUMENT_SECONDS} s")
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


def _words(tsv: str, page: int) -> list[Word]:
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        try:
            box = [int(row[k]) for k in ("left", "top", "width", "height")]
            conf = float(row["conf"])
        except (KeyError, TypeError, ValueError):
            continue
        words.append(Word(text, conf, *box, page=page))
    return words
