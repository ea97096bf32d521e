"""Words read by OCR, with their positions, as the blocks every reader produces (parsers.blocks).

Words are put into lines by where they sit on the page (a label and the answer in a box beside it
are one line, though Tesseract reads them as two blocks); a wide gap divides a line into cells (a
label and its value, or a table's columns), and lines with cells in a run make one table. A box or
circle drawn just left of a line's first word is an option's mark: ☒ when something is drawn
inside it (a tick, a cross, a dot), ☐ when it is empty, found from the page image's pixels.
"""

from __future__ import annotations

import re
import statistics

from parsers.blocks import Para, Table
from parsers.ocr import Word
from parsers.result import squash

GAP = 2.0  # line heights: a gap wider than this between words divides cells
MARK_JUNK = re.compile(r"^[\(\[\{]?[Oo0©®@eCcQ°*•■□☐☒☑xX|]{1,2}[\)\]\}]?[.,]?$")
FILLED = 0.12  # share of dark pixels inside a mark's middle for it to count as ticked
RULE = re.compile(r"^[|\[\]{}]+$")  # a ruling line or box side read as a character


def lines_of(words: list[Word]) -> list[list[Word]]:
    """Words in lines, top to bottom, each left to right: a word joins the line whose middle it shares."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.page, w.top + w.height / 2)):
        middle = word.top + word.height / 2
        if lines:
            last = lines[-1]
            top = statistics.median(w.top for w in last)
            bottom = statistics.median(w.bottom for w in last)
            if word.page == last[0].page and top <= middle <= bottom:
                last.append(word)
                continue
        lines.append([word])
    return [sorted(line, key=lambda w: w.left) for line in lines]


def _height(line: list[Word]) -> float:
    return max(statistics.median(w.height for w in line), 1.0)


def cells_of(line: list[Word]) -> list[list[Word]]:
    """The line divided where a gap is wider than GAP line heights, or at a ruling read as a character."""
    height = _height(line)
    cells: list[list[Word]] = [[]]
    prev = None
    for word in line:
        if RULE.match(word.text):
            if cells[-1]:
                cells.append([])
            prev = word
            continue
        if prev is not None and cells[-1] and word.left - prev.right > GAP * height:
            cells.append([])
        cells[-1].append(word)
        prev = word
    return [c for c in cells if c]


def mark(image, line: list[Word]) -> tuple[str | None, list[Word]]:
    """(☒ or ☐ for a box or circle drawn just left of the line's text, or None; the line's words
    without any character OCR made of the mark)."""
    height = _height(line)
    first = line[0]
    words = line
    if len(line) > 1 and MARK_JUNK.match(first.text) and first.width < 2 * height:
        region = (
            first.left - height * 0.3,
            first.top - height * 0.3,
            first.right + height * 0.3,
            first.bottom + height * 0.3,
        )
        words = line[1:]
    else:
        region = (
            first.left - 2.2 * height,
            first.top - 0.4 * height,
            first.left - 0.1 * height,
            first.bottom + 0.4 * height,
        )
    box = _ink_box(image, region)
    if box is None:
        return None, line
    x0, y0, x1, y1 = box
    side_x, side_y = x1 - x0, y1 - y0
    if not (0.5 * height <= side_x <= 1.8 * height and 0.5 * height <= side_y <= 1.8 * height):
        return None, line
    if abs(side_x - side_y) > 0.35 * max(side_x, side_y):
        return None, line
    inner = (x0 + side_x * 0.28, y0 + side_y * 0.28, x1 - side_x * 0.28, y1 - side_y * 0.28)
    return ("☒" if _ink(image, inner) >= FILLED else "☐"), words


def _crop(image, region):
    x0, y0, x1, y1 = (round(v) for v in region)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, image.width), min(y1, image.height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return image.crop((x0, y0, x1, y1)), (x0, y0)


def _ink_box(image, region):
    """The bounding box (page pixels) of the dark pixels in `region`, or None."""
    cropped = _crop(image, region)
    if cropped is None:
        return None
    part, (x0, y0) = cropped
    box = part.point(lambda v: 255 if v < 128 else 0).getbbox()
    if box is None:
        return None
    return box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0


def _ink(image, region) -> float:
    cropped = _crop(image, region)
    if cropped is None:
        return 0.0
    part = cropped[0].point(lambda v: 255 if v < 128 else 0)
    return part.histogram()[255] / max(part.width * part.height, 1)


def text_of(words: list[Word]) -> str:
    """The cell's words; a box's side OCR read into the first or last word ("|Riverside") is dropped."""
    text = " ".join(w.text for w in words)
    return text.lstrip("|[{ ").rstrip("|]} ")


def blocks_of(pages: list[tuple[object, list[Word]]]) -> list:
    """Each page's (image, words) as paragraphs and tables, in reading order."""
    blocks: list = []
    for image, words in pages:
        for line in lines_of([w for w in words if w.text.strip()]):
            glyph, line = mark(image, line)
            if not line:
                continue
            cells = [text_of(c) for c in cells_of(line)]
            if not cells:
                continue
            if glyph is not None:
                cells[0] = f"{glyph} {cells[0]}"
            if len(cells) > 1:
                if blocks and isinstance(blocks[-1], Table):
                    blocks[-1].rows.append(cells)
                else:
                    blocks.append(Table([cells]))
            else:
                blocks.append(Para(cells[0]))
    return blocks


def confidences(answers: dict, words: list[Word]) -> dict[str, float]:
    """Each answer's confidence: the lowest of the OCR words it is made of (0-100)."""
    by_word: dict[str, float] = {}
    for w in words:
        key = squash(w.text)
        by_word[key] = min(by_word.get(key, 100.0), max(w.conf, 0.0))
    out = {}
    for key, answer in answers.items():
        tokens = [squash(t) for t in re.split(r"\s+", _flat(answer.value)) if t.strip()]
        found = [by_word[t] for t in tokens if t in by_word]
        if found:
            out[key] = min(found)
    return out


def _flat(value) -> str:
    if isinstance(value, list):
        return " ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return " ".join(_flat(v) for v in value.values())
    return str(value or "")
