"""Text for the PDF documents: the embedded fonts, line wrapping and right-to-left scripts.

The fonts are DejaVu Sans and DejaVu Sans Bold, bundled in service/documents/fonts/ with their licence
(Bitstream Vera licence; DejaVu changes are public domain), so no system font package is needed.
They cover Latin with every European diacritic (Zoë, Łukasiewicz, Siobhán), Vietnamese (Nguyễn)
and the Arabic block with its OpenType joining forms. reportlab embeds only the glyphs a document
uses (a subset).

Arabic (and Hebrew) text is stored in logical order. To draw it, a line is put in visual order
with python-bidi (the Unicode bidirectional algorithm), then each right-to-left word is shaped by
HarfBuzz through reportlab's `shapeStr`, which picks the joined initial/medial/final letter forms
and returns the glyphs in visual order. Latin-only lines skip all of this.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from bidi import get_base_level, get_display
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, shapeStr

FONT_DIR = Path(__file__).resolve().parents[1] / "fonts"
REGULAR = "EscalateSans"
BOLD = "EscalateSans-Bold"
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

# Scripts written right to left: Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Arabic extended
# and the presentation forms.
_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")
_RTL_RUN = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]+")
# Control characters have no glyph; a tab becomes spaces, the rest are not drawn (the field value
# keeps them all).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@cache
def register_fonts() -> tuple[str, str]:
    """Register the bundled fonts with reportlab once per process; returns (regular, bold)."""
    # Streams are only deflated, not also ASCII85-encoded: a quarter smaller and faster to write.
    rl_config.useA85 = 0
    for name, file in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    return REGULAR, BOLD


def displayable(text: str) -> str:
    """Text as drawn: composed accents (NFC), tabs as spaces, no control characters."""
    text = text.replace("\t", "    ")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _CONTROL.sub("", text)


def width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


def wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Lines of at most max_width points; "\\n" always breaks; a word too long for a line is split."""
    lines: list[str] = []
    space = width(" ", font, size)
    for paragraph in displayable(text).split("\n"):
        line: str | None = None
        line_width = 0.0
        for word in paragraph.split(" "):
            word_width = width(word, font, size)
            if line is not None and line_width + space + word_width <= max_width:
                line, line_width = f"{line} {word}", line_width + space + word_width
                continue
            if line is not None:
                lines.append(line)
            while word_width > max_width and len(word) > 1:
                cut = _fitting_prefix(word, font, size, max_width)
                lines.append(word[:cut])
                word = word[cut:]
                word_width = width(word, font, size)
            line, line_width = word, word_width
        lines.append(line or "")
    return lines


def _fitting_prefix(word: str, font: str, size: float, max_width: float) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if width(word[:middle], font, size) <= max_width:
            low = middle
        else:
            high = middle - 1
    return low


def is_rtl(line: str) -> bool:
    """True when the line's first strong character is right to left (it is then right-aligned)."""
    return bool(_RTL.search(line)) and get_base_level(line) == 1


def visual(line: str, font: str, size: float) -> str:
    """One wrapped line in drawing order, right-to-left words shaped (a reportlab ShapedStr)."""
    if not _RTL.search(line):
        return line
    ordered = get_display(line)
    out = ""
    position = 0
    for run in _RTL_RUN.finditer(ordered):
        # get_display reversed the run; HarfBuzz wants logical order and returns visual glyphs.
        out = out + ordered[position : run.start()] + shapeStr(run.group()[::-1], font, size)
        position = run.end()
    return out + ordered[position:]
