"""Words read by OCR, with their positions, as the blocks every reader produces (parsers.blocks).

Words are put into lines by where they sit on the page (a label and the answer in a box beside it
are one line, though Tesseract reads them as two blocks); a wide gap divides a line into cells (a
label and its value, or a table's columns), and lines with cells in a run make one table. A box or
circle drawn just left of a line's first word is an option's mark: ☒ when something is drawn
inside it (a tick, a cross, a dot), ☐ when it is empty, found from the page image's pixels.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass

from parsers.blocks import Para, Table
from parsers.ocr import Page, Word
from parsers.result import squash

GAP = 2.0  # line heights: a gap wider than this between words divides cells
# What OCR makes of a drawn box or circle; a box with a tick in it is a V within the box's sides ("[V|",
# as a copier's scan reads), never a V alone (an initial).
MARK_JUNK = re.compile(r"^(?:[()\[\]{}_|Oo0©®@eCcQ°*•■□☐☒☑xX]{1,3}[.,]?|[\[({|]?[Vv✓][|\])}])$")
FILLED = 0.12  # share of dark pixels inside a mark's middle for it to count as ticked
GLUED = re.compile(r"^[©®@OQ0o]{1,2}[/(\[]?(?=[A-Z][a-z])|^[©®@](?=[A-Za-z])")  # a mark read into its option's word
RULE = re.compile(r"^[_|\[\]{}]+$")  # a ruling line or box side read as a character
# An empty circle read as an opening bracket glued to its option's word ("(Health"): taken for a mark
# only where a shape as wide as a mark stands apart at the word's start (a bracket is narrow, and its
# word's first letter is beside it).
BRACKET = re.compile(r"^[(\[{](?=[A-Z][a-z])")


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
        if word.text == "|" and _pronoun(prev, word, height):
            word = Word("I", word.conf, word.left, word.top, word.width, word.height, word.page)
        if RULE.match(word.text):
            if cells[-1]:
                cells.append([])
            prev = word
            continue
        wide = prev is not None and word.left - prev.right > GAP * height
        if cells[-1] and (wide or GLUED.match(word.text) or word.text in ("©", "®", "@")):
            cells.append([])  # a wide gap, or the mark of the next option beside this one
        cells[-1].append(word)
        prev = word
    return [c for c in cells if c]


def _pronoun(prev: Word | None, word: Word, height: float) -> bool:
    """Whether a "|" is a capital I in a sans-serif font: as tall as the line's letters and a space
    from the word before (the page's ruled lines were removed before OCR, parsers.ocr_clean)."""
    return prev is not None and word.left - prev.right < height and abs(word.height - height) < 0.25 * height


def mark(image, words: list[Word], height: float) -> tuple[str | None, list[Word]]:
    """(☒ or ☐ for a box or circle drawn just left of a cell's text, or None; the cell's words
    without any character OCR made of the mark, as "©", "@" or an "O" glued to the word: "ONo")."""
    first = words[0]
    rest = words
    body = words[1:] or words
    top = statistics.median(w.top for w in body) - 0.4 * height
    bottom = statistics.median(w.bottom for w in body) + 0.4 * height
    limit = words[1].left - 1 if len(words) > 1 else first.right + 0.5 * height
    if len(words) > 1 and MARK_JUNK.match(first.text) and first.width < 2 * height:
        region = (first.left - 0.5 * height, top, limit, bottom)
        rest = words[1:]
    elif GLUED.match(first.text):
        # The mark is the word's first character: a square as high as the word (a mark is taller than letters).
        side = first.height
        if _ink(image, (first.left, first.top, first.left + side, first.bottom)) < 0.08:
            return None, words  # nothing drawn there: a word that starts with O
        inner = (
            first.left + side * 0.28,
            first.top + side * 0.28,
            first.left + side * 0.72,
            first.bottom - side * 0.28,
        )
        text = first.text[GLUED.match(first.text).end() :]
        shifted = Word(text, first.conf, first.left + side, first.top, first.width - side, first.height, first.page)
        return ("☒" if _ink(image, inner) >= FILLED else "☐"), [shifted, *words[1:]]
    elif BRACKET.match(first.text):
        region = (first.left - 0.5 * height, top, first.left + 1.9 * height, bottom)
    else:
        region = (
            first.left - 2.2 * height,
            first.top - 0.4 * height,
            first.left - 0.1 * height,
            first.bottom + 0.4 * height,
        )
    box = _ink_box(image, region, height)
    if box is None or _touches(box, region):  # a table's ruling passes through, a mark stands alone
        return None, words
    x0, y0, x1, y1 = box
    side_x, side_y = x1 - x0, y1 - y0
    if not (0.5 * height <= side_x <= 1.8 * height and 0.5 * height <= side_y <= 1.8 * height):
        return None, words
    if abs(side_x - side_y) > 0.35 * max(side_x, side_y):
        return None, words
    inner = (x0 + side_x * 0.28, y0 + side_y * 0.28, x1 - side_x * 0.28, y1 - side_y * 0.28)
    if BRACKET.match(first.text):  # "(Health": the word starts after the mark
        rest = [Word(first.text[1:], first.conf, x1, first.top, first.right - x1, first.height, first.page), *words[1:]]
    if rest and rest is not words and GLUED.match(rest[0].text) and rest[0].left < x1:  # "@" then "QNo"
        rest = [
            Word(
                rest[0].text[GLUED.match(rest[0].text).end() :],
                rest[0].conf,
                x1,
                rest[0].top,
                rest[0].right - x1,
                rest[0].height,
            ),
            *rest[1:],
        ]
    return ("☒" if _ink(image, inner) >= FILLED else "☐"), rest


def _touches(box, region) -> bool:
    return box[0] <= region[0] + 1 or box[1] <= region[1] + 1 or box[2] >= region[2] - 1 or box[3] >= region[3] - 1


def _crop(image, region):
    x0, y0, x1, y1 = (round(v) for v in region)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, image.width), min(y1, image.height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return image.crop((x0, y0, x1, y1)), (x0, y0)


def _ink_box(image, region, height: float):
    """The bounding box (page pixels) of the shape drawn in `region` nearest its middle, or None: the
    run of inked rows around the middle, then the widest run of inked columns within those rows
    (letters closer than a quarter of the line's height are one run: a word, never a mark). The next
    option's mark above or below, or the blurred edge of the option's first letter beside it, is
    apart from the mark by white (a copier's blur and skew bring them within the region); a ruling
    that passes through is not, and makes the shape reach the region's edge."""
    cropped = _crop(image, region)
    if cropped is None:
        return None
    part, (x0, y0) = cropped
    ink = part.point(lambda v: 255 if v < 128 else 0)
    rows = _runs(ink.getprojection()[1])
    if not rows:
        return None
    middle = ink.height / 2
    top, bottom = min(rows, key=lambda r: 0 if r[0] <= middle < r[1] else min(abs(r[0] - middle), abs(r[1] - middle)))
    band = ink.crop((0, top, ink.width, bottom))
    left, right = max(_runs(band.getprojection()[0], 0.25 * height), key=lambda r: r[1] - r[0])
    box = band.crop((left, 0, right, band.height)).getbbox()
    return left + x0, top + box[1] + y0, right + x0, top + box[3] + y0


def _runs(inked: list[int], gap: float = 0) -> list[tuple[int, int]]:
    """[start, end) of each run of non-zero entries (a projection's inked rows or columns); runs
    apart by less than `gap` are one."""
    runs: list[tuple[int, int]] = []
    start = None
    for n, value in enumerate([*inked, 0]):
        if value and start is None:
            start = n
            if runs and start - runs[-1][1] < gap:
                start = runs.pop()[0]
        elif not value and start is not None:
            runs.append((start, n))
            start = None
    return runs


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


@dataclass
class _Row:
    cells: list[list]  # [text, left, right of its last line, width of its first word] per cell
    bottom: float
    height: float
    page: int
    block: Table


def blocks_of(pages: list[tuple[Page, list[Word]]]) -> list:
    """Each page's (cleaned page, words) as paragraphs and tables, in reading order."""
    blocks: list = []
    row: _Row | None = None  # the last row of cells, which the next line may continue
    for page, words in pages:
        image = page.image
        prev: list[Word] | None = None  # the last line of one cell, which the next may continue
        right = max((w.right for w in words), default=0)
        words = [w for w in words if w.text.strip() and not _speck(w)]
        tables, words = ruled_tables(image, page.tables, words)
        for line in lines_of(words):
            while tables and tables[0][0] < line[0].top:
                blocks.append(tables.pop(0)[1])
                row, prev = None, None
            height = _height(line)
            cells = []
            for cell in cells_of(line):
                glyph, cell = mark(image, cell, height)
                text = text_of(cell)
                if text:
                    cells.append([f"{glyph} {text}" if glyph else text, cell[0].left, cell[-1].right, cell[0].width])
            if not cells:
                continue
            top = min(w.top for w in line)
            if row is not None and _continues(row, cells, top, line[0].page, right):
                row.bottom = max(w.bottom for w in line)
                continue
            if len(cells) > 1 and all(c[0][:1] in "☒☐" for c in cells):
                blocks.append(Para("  ".join(c[0] for c in cells)))  # options side by side, as a PDF's line
                row = None
            elif len(cells) > 1:
                if blocks and isinstance(blocks[-1], Table) and row is not None and row.block is blocks[-1]:
                    blocks[-1].rows.append([c[0] for c in cells])
                else:
                    blocks.append(Table([[c[0] for c in cells]]))
                row = _Row(cells, max(w.bottom for w in line), height, line[0].page, blocks[-1])
            else:
                soft = prev is not None and _wrapped(prev, line, right)
                if soft and blocks and isinstance(blocks[-1], Para) and blocks[-1].text[:1] in "☒☐":
                    blocks[-1].text += " " + cells[0][0]  # an option's label wrapped onto the next line
                else:
                    blocks.append(Para(cells[0][0], soft=soft))
                row = None
            prev = line if len(cells) == 1 else None
        blocks.extend(table for _, table in tables)
        row = None
    return blocks


ROW = 15  # pixels: cells whose tops differ by less are in one row


def ruled_tables(image, found: list[list[list[int]]], words: list[Word]) -> tuple[list[tuple[int, Table]], list[Word]]:
    """([(top, table)] for the page's ruled tables, the words outside them). A table is a grid the
    page's ruled lines draw (parsers.ocr_clean) of two rows or more, one of them of two cells or more
    (a single box around an answer stays with its label, as the lines of text give it); each word
    goes to the cell its middle lies in, as pdfplumber assigns a text PDF's characters."""
    tables, taken = [], set()
    for cells in found:
        rows: list[list[list[int]]] = []
        for cell in sorted(cells, key=lambda c: (c[1], c[0])):
            if rows and abs(rows[-1][0][1] - cell[1]) < ROW:
                rows[-1].append(cell)
            else:
                rows.append([cell])
        if len(rows) < 2 or max(len(r) for r in rows) < 2:
            continue
        texts = []
        for cells_of_row in rows:
            texts.append([])
            for cell in sorted(cells_of_row, key=lambda c: c[0]):
                inside = [w for w in words if _within(w, cell)]
                taken.update(id(w) for w in inside)
                texts[-1].append(cell_text(image, inside, cell))
        tables.append((rows[0][0][1], Table(texts)))
    return sorted(tables, key=lambda t: t[0]), [w for w in words if id(w) not in taken]


def _within(word: Word, cell: list[int]) -> bool:
    x, y = word.left + word.width / 2, word.top + word.height / 2
    return cell[0] <= x < cell[2] and cell[1] <= y < cell[3]


def cell_text(image, words: list[Word], cell: list[int]) -> str:
    """A cell's words with the writer's line wrapping undone, as parsers.pdf_page does a text PDF's:
    a line that ends because its next word would not have fitted continues with a space; a line
    that ends short of the cell's edge is a real line break. A box or circle drawn before a line is
    its mark (☒ or ☐), as outside tables."""
    lines = lines_of(words)
    if not lines:
        return ""
    margin = max(min(line[0].left for line in lines) - cell[0], 1)
    edge = cell[2] - margin
    text = _marked(image, lines[0])
    for prev, line in itertools.pairwise(lines):
        space = 0.5 * _height(prev)
        text += (" " if prev[-1].right + space + line[0].width >= edge else "\n") + _marked(image, line)
    return text


def _marked(image, line: list[Word]) -> str:
    glyph, rest = mark(image, line, _height(line))
    return f"{glyph} {text_of(rest)}" if glyph else text_of(rest)


def _speck(word: Word) -> bool:
    """A speck of dirt or noise OCR read as punctuation."""
    return word.conf < 60 and not any(c.isalnum() for c in word.text) and not RULE.match(word.text)


def _wrapped(prev: list[Word], line: list[Word], right: float) -> bool:
    """Whether `line` continues `prev` because the writer wrapped it: it is just beneath, and its
    first word would not have fitted at the end of `prev` (as parsers.pdf_page decides for a PDF)."""
    height = _height(prev)
    if line[0].page != prev[0].page or min(w.top for w in line) - max(w.bottom for w in prev) > 0.8 * height:
        return False
    return prev[-1].right + 0.5 * height + line[0].width >= right - height


def _continues(row: _Row, cells: list[list], top: float, page: int, right: float) -> bool:
    """Whether a line is the next line of the row above: just beneath it (less than a line's height
    between), and each of its cells starting where one of the row's cells starts (a wrapped label, or
    a value's next line, or a hint printed under a label). Its text joins those cells on a new line
    (the reader takes a label cell's first line alone when the whole is no label); a value's line
    the writer wrapped (its next word would not have fitted before the next cell) with a space."""
    if page != row.page or top - row.bottom > 0.8 * row.height or any(c[0][:1] in "☒☐" for c in cells):
        return False
    columns = []
    for cell in cells:
        found = [i for i, c in enumerate(row.cells) if abs(c[1] - cell[1]) < 1.5 * row.height]
        if not found:
            return False
        columns.append(found[0])
    for cell, i in zip(cells, columns, strict=True):
        edge = row.cells[i + 1][1] if i + 1 < len(row.cells) else right
        wrapped = i > 0 and row.cells[i][2] + 0.5 * row.height + cell[3] >= edge - row.height
        row.cells[i][0] += (" " if wrapped else "\n") + cell[0]
        row.cells[i][2] = cell[2]
        row.block.rows[-1][i] = row.cells[i][0]
    return True


def confidences(answers: dict, words: list[Word]) -> dict[str, float]:
    """Each answer's confidence (0-100): that of its least certain word, where a word's is the best
    Tesseract gave any word it read as those letters."""
    by_word: dict[str, float] = {}
    for w in words:
        key = squash(w.text)
        by_word[key] = max(by_word.get(key, 0.0), w.conf)
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
