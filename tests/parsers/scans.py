"""Scans and photos made here: a filled form printed to page images and spoiled as a copier or a
phone spoils them (lower resolution, a skewed sheet, blur, speckle, JPEG compression).

Each form's completed PDF from this service is drawn by PDFium (its fields with their values),
then every page is changed with Pillow. The result is an image file (JPEG, PNG or a many-page
TIFF) or a PDF of page images, as a copier's "scan to PDF" makes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Spoil:
    dpi: int = 300
    skew: float = 0.0  # degrees
    blur: float = 0.0  # Gaussian radius, pixels
    noise: float = 0.0  # share of pixels turned black or white
    quality: int | None = None  # JPEG quality, or None for lossless
    seed: int = 7

    def label(self) -> str:
        return f"{self.dpi}dpi-skew{self.skew}-blur{self.blur}-noise{self.noise}-q{self.quality}"


CLEAN = Spoil(dpi=300)
COPIER = Spoil(dpi=200, skew=1.5, blur=0.6, noise=0.002, quality=75)
PHONE = Spoil(dpi=150, skew=-2.5, blur=0.8, noise=0.004, quality=60)


def pages_of(pdf: bytes, dpi: int) -> list[Image.Image]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    document.init_forms()  # draw the fields' values, as a printer does
    try:
        return [
            document[i].render(scale=dpi / 72, may_draw_forms=True).to_pil().convert("L") for i in range(len(document))
        ]
    finally:
        document.close()


def spoil(page: Image.Image, how: Spoil) -> Image.Image:
    rng = random.Random(how.seed)
    if how.skew:
        page = page.rotate(how.skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if how.blur:
        page = page.filter(ImageFilter.GaussianBlur(how.blur))
    if how.noise:
        pixels = page.load()
        for _ in range(int(page.width * page.height * how.noise)):
            pixels[rng.randrange(page.width), rng.randrange(page.height)] = rng.choice((0, 255))
    if how.quality:
        out = io.BytesIO()
        page.save(out, format="JPEG", quality=how.quality)
        page = Image.open(io.BytesIO(out.getvalue()))
        page.load()
    return page


def scanned(pdf: bytes, how: Spoil, fmt: str) -> bytes:
    """The document as a scan: fmt is jpeg, png or heic (the first page: heic is an iPhone's photo,
    written by pillow-heif), tiff (every page) or pdf."""
    pages = [spoil(p, how) for p in pages_of(pdf, how.dpi)]
    out = io.BytesIO()
    if fmt == "jpeg":
        pages[0].save(out, format="JPEG", quality=how.quality or 90, dpi=(how.dpi, how.dpi))
    elif fmt == "png":
        pages[0].save(out, format="PNG", dpi=(how.dpi, how.dpi))
    elif fmt == "tiff":
        pages[0].save(out, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    elif fmt == "heic":
        import pillow_heif

        # x265's fastest preset: 2 s for a page here, where its default takes 15.
        pillow_heif.from_pillow(pages[0]).save(out, quality=how.quality or 90, enc_params={"preset": "ultrafast"})
    elif fmt == "pdf":
        pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=how.dpi)
    else:
        raise ValueError(fmt)
    return out.getvalue()


# --- how much came back --------------------------------------------------------------------------


def typed_values(data: dict) -> dict[str, str]:
    """Each answer as text (a row's cells each on their own), leaving out the empty ones and those
    written in letters Tesseract's English model has not got (ễ, ś, Arabic): what OCR must read."""
    return {k: v for k, v in _all_values(data).items() if v and all(ord(c) < 128 for c in v)}


def distance(a: str, b: str) -> int:
    """Levenshtein distance: letters to insert, delete or change to make one the other."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def read_back(want: dict, got: dict) -> tuple[int, int, int]:
    """(values read exactly, read within one character, values) of the typed values in `want`."""
    expected, found = typed_values(want), _all_values(got)
    exact = sum(found.get(k) == v for k, v in expected.items())
    near = sum(distance(found.get(k, ""), v) <= 1 for k, v in expected.items())
    return exact, near, len(expected)


def _all_values(data: dict) -> dict[str, str]:
    out = {}
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for n, row in enumerate(value, 1):
                out.update({f"{key}.{n}.{k}": str(v) for k, v in row.items()})
        elif isinstance(value, list):
            out[key] = ", ".join(value)
        else:
            out[key] = str(value or "")
    return out


def misread(want: dict, got: dict) -> dict[str, tuple[str, str]]:
    """The typed values not read exactly: {key: (typed, read)}."""
    found = _all_values(got)
    return {k: (v, found.get(k, "")) for k, v in typed_values(want).items() if found.get(k) != v}
