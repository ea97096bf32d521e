"""Scans and photos made here: a filled form printed to page images and spoiled as a copier or a
phone spoils them (lower resolution, a skewed sheet, blur, speckle, JPEG compression; a photo's
page lies on a desk, seen at an angle, lit unevenly, in colour).

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
    # A phone photo: the page fills `frame` of the photo's height, on a desk; seen at an angle (its
    # far edge `tilt` narrower than its near one); light falling off by `shade` across the photo.
    frame: float = 1.0
    tilt: float = 0.0
    shade: float = 0.0

    def label(self) -> str:
        return (
            f"{self.dpi}dpi-skew{self.skew}-blur{self.blur}-noise{self.noise}-q{self.quality}"
            f"-frame{self.frame}-tilt{self.tilt}-shade{self.shade}"
        )


CLEAN = Spoil(dpi=300)
COPIER = Spoil(dpi=200, skew=1.5, blur=0.6, noise=0.002, quality=75)
# A page photographed on a desk: about 200 dpi where the page is, its far edge 12% narrower, turned
# 2.5 degrees, a shadow across it (a third less light at one corner), slightly out of focus, a phone's JPEG.
PHONE = Spoil(dpi=200, skew=-2.5, blur=0.9, noise=0.002, quality=80, frame=0.84, tilt=0.12, shade=0.35)


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
    if how.frame < 1:
        return photographed(page, how, rng)
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


def photographed(page: Image.Image, how: Spoil, rng: random.Random) -> Image.Image:
    """The page as a phone sees it on a desk: in perspective, turned, lit unevenly, in colour."""
    import math

    import numpy as np

    height = round(page.height / how.frame)
    width = round(height * 3 / 4)  # a phone's 4:3 photo, upright
    w, h = page.width * (1 - how.tilt / 2), page.height * 0.97  # foreshortened: the far edge narrower
    cx, cy = width / 2 + rng.uniform(-0.03, 0.03) * width, height / 2 + rng.uniform(-0.02, 0.02) * height
    corners = [(-w / 2 * (1 - how.tilt), -h / 2), (w / 2 * (1 - how.tilt), -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    turn = math.radians(how.skew)
    quad = [
        (cx + x * math.cos(turn) - y * math.sin(turn), cy + x * math.sin(turn) + y * math.cos(turn)) for x, y in corners
    ]
    source = [(0, 0), (page.width, 0), (page.width, page.height), (0, page.height)]
    coeffs = _perspective(quad, source)  # Pillow maps each pixel of the photo back to the page
    shape = (width, height)
    sheet = page.convert("RGB").transform(shape, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", page.size, 255).transform(shape, Image.Transform.PERSPECTIVE, coeffs)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    desk = np.stack([90 + 25 * xx / width, 78 + 15 * yy / height, 66 + 0 * xx], axis=-1)  # a wooden desk
    photo = np.where(np.asarray(mask)[..., None] > 127, np.asarray(sheet, dtype=np.float32) * (0.96, 0.93, 0.86), desk)
    light = 1 - how.shade * (0.6 * xx / width + 0.4 * yy / height)  # falling off towards one corner
    photo *= light[..., None]
    photo += np.random.default_rng(how.seed).normal(0, 255 * how.noise * 2, photo.shape)  # a sensor's grain
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")
    return image.filter(ImageFilter.GaussianBlur(how.blur)) if how.blur else image


def _perspective(to: list[tuple], source: list[tuple]) -> list[float]:
    """Pillow's eight coefficients of the perspective that maps each point of `to` to `source`."""
    import numpy as np

    rows, values = [], []
    for (x, y), (u, v) in zip(to, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return list(np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float)))


def scanned(pdf: bytes, how: Spoil, fmt: str) -> bytes:
    """The document as a scan: fmt is jpeg, png or heic (the first page: heic is an iPhone's photo,
    written by pillow-heif), tiff (every page) or pdf."""
    pages = [spoil(p, how) for p in pages_of(pdf, how.dpi)]
    out = io.BytesIO()
    if fmt == "jpeg":
        return _jpeg(pages[0], how)
    if fmt == "png":
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


def photos(pdf: bytes, how: Spoil) -> list[bytes]:
    """Each page of the document as a JPEG of its own, as a phone takes them (or a copier that scans
    each page to its own file)."""
    return [_jpeg(spoil(page, how), how) for page in pages_of(pdf, how.dpi)]


def _jpeg(page: Image.Image, how: Spoil) -> bytes:
    out = io.BytesIO()
    if how.frame < 1:
        page.save(out, format="JPEG", quality=how.quality or 90)  # a phone's photo says no resolution
    else:
        page.save(out, format="JPEG", quality=how.quality or 90, dpi=(how.dpi, how.dpi))
    return out.getvalue()


def on_page(pdf: bytes, want: dict, number: int) -> set[str]:
    """The typed values printed on page `number` (from 1) of the document and on no page before it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    document.init_forms()
    try:
        texts = [" ".join(document[i].get_textpage().get_text_range().split()) for i in range(number)]
    finally:
        document.close()
    values = {k: " ".join(v.split())[:25] for k, v in typed_values(want).items()}
    return {k for k, v in values.items() if v in texts[-1] and not any(v in t for t in texts[:-1])}


# --- how much came back --------------------------------------------------------------------------


def typed_values(data: dict) -> dict[str, str]:
    """Each answer as text (a row's cells each on their own), leaving out the empty ones and those
    written in letters Tesseract's English model has not got (ễ, ś, Arabic): what OCR must read."""
    return {k: v for k, v in read_as_text(data).items() if v and all(ord(c) < 128 for c in v)}


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
    expected, found = typed_values(want), read_as_text(got)
    exact = sum(found.get(k) == v for k, v in expected.items())
    near = sum(distance(found.get(k, ""), v) <= 1 for k, v in expected.items())
    return exact, near, len(expected)


def read_as_text(data: dict) -> dict[str, str]:
    """Each answer read as text, keyed as typed_values keys them."""
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
    found = read_as_text(got)
    return {k: (v, found.get(k, "")) for k, v in typed_values(want).items() if found.get(k) != v}
