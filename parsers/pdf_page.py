"""One PDF page's text as blocks: lines outside tables, ruled tables, and label-and-value rows.

Lines are read as pdfplumber gives them, with right-to-left runs put back in reading order; a line
the writer wrapped is marked soft; answer boxes drawn around values (a flattened form) divide a line
into label and value; each ruled table's cells have the writer's line wrapping undone.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from parsers.blocks import Para, Table
from parsers.pdf_marks import MARK_SIDE, drawn_marks

# Right-to-left letters (Hebrew, Arabic and their presentation forms); a run of them may hold spaces,
# digits and punctuation between its letters.
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
_RTL_RUN = re.compile(f"[{_RTL}](?:[{_RTL}0-9\u0660-\u0669 .,:;()-]*[{_RTL}])?")
_DIGITS = re.compile("[0-9\u0660-\u0669]+")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefc]+")


def _logical(text: str) -> str:
    """A line as read, not as drawn: pdfplumber gives right-to-left text in drawing order (left to
    right), often as shaped glyphs. Each run is put back in reading order (its numbers still left to
    right), then the shaped glyphs become letters (a lam-alef ligature becomes lam, alef)."""
    if not _RTL_RUN.search(text):
        return text
    text = _RTL_RUN.sub(lambda run: _DIGITS.sub(lambda d: d.group(0)[::-1], run.group(0)[::-1]), text)
    return _PRESENTATION_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


def blocks_of_page(page) -> list:
    """The page's lines (with drawn tick boxes as ☒ and ☐) and ruled tables as blocks, top to bottom."""
    page.objects.setdefault("char", []).extend(drawn_marks(page))
    tables = page.find_tables()
    table_boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
        y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in table_boxes)

    # Answer boxes drawn around values (a flattened form): a box's sides divide a line into label and
    # value, and a line of text beside a box but wholly left of it continues the label of that box.
    answer_boxes = [r for r in page.rects if not r.get("fill") and r["width"] > MARK_SIDE[1]]
    placed: list[tuple[float, object]] = []
    lines = page.filter(outside).extract_text_lines(return_chars=True)
    right = max((line["x1"] for line in lines), default=0)
    beside: tuple[dict, Table, tuple] | None = None  # the last label-and-value row, its box and its font
    for line in lines:
        line["text"] = _logical(line["text"])
    for prev, line in zip([None, *lines], lines, strict=False):
        font = (line["chars"][0]["fontname"], round(line["chars"][0]["size"], 1)) if line["chars"] else None
        boxes = [b for b in answer_boxes if b["top"] - 2 <= line["top"] <= b["bottom"] and b["x0"] > line["x0"] + 8]
        if beside is not None and beside[0] in boxes and line["x1"] < beside[0]["x0"]:
            if font == beside[2]:  # the label wrapped within its column (a hint beneath it is in another font)
                beside[1].rows[0][0] += " " + line["text"].strip()
            else:
                placed.append((line["top"], Para(line["text"])))
            continue
        columns = _columns(line, sorted({x for b in boxes for x in (b["x0"], b["x1"])}))
        if len(columns) > 1:  # a label and its value side by side, with no ruling between them
            row = Table([columns])
            placed.append((line["top"], row))
            beside = (min(boxes, key=lambda b: b["x0"]), row, font) if boxes else None
            continue
        beside = None
        soft = prev is not None and _wrapped(prev, line, right)
        last = placed[-1][1] if placed else None
        if soft and isinstance(last, Para) and last.text[:1] in ("☐", "☒"):
            last.text += " " + line["text"]  # an option's label wrapped onto the next line
            continue
        placed.append((line["top"], Para(line["text"], soft=soft)))
    cells = [cell for table in tables for row in table.rows for cell in row.cells if cell]
    chars = _chars_by_cell(page.chars, cells)
    for table in tables:
        rows = [[_cell_text(page, cell, chars[cell]) if cell else "" for cell in row.cells] for row in table.rows]
        placed.append((table.bbox[1], Table(rows)))
    placed.sort(key=lambda p: p[0])
    return [block for _, block in placed]


def _columns(line: dict, edges: list[float] = ()) -> list[str]:
    """A line's text split where a wide gap (several spaces' width) separates its words, or where
    it crosses one of `edges` (the sides of a drawn answer box)."""
    chars = [c for c in line["chars"] if c["text"].strip()]
    if len(chars) < 2:
        return [line["text"]]
    size = max(sum(c["x1"] - c["x0"] for c in chars) / len(chars), 1.0)
    columns, current, prev = [], [chars[0]], chars[0]
    for char in chars[1:]:
        gap = char["x0"] - prev["x1"]
        middle = (char["x0"] + char["x1"]) / 2
        if gap > max(4 * size, 18) or any(prev["x1"] - 1 <= edge <= middle for edge in edges):
            columns.append(current)
            current = []
        elif gap > 0.2 * size and current:
            current.append({"text": " "})
        current.append(char)
        prev = char
    columns.append(current)
    return [_logical("".join(c["text"] for c in column).strip()) for column in columns]


def _wrapped(prev: dict, line: dict, right: float) -> bool:
    """Whether `line` starts where the writer wrapped `prev`: its first word would not have fitted."""
    per_char = (prev["x1"] - prev["x0"]) / max(len(prev["text"]), 1)
    first = line["text"].split(" ")[0]
    return 0 < line["top"] - prev["top"] < 3 * per_char + 12 and prev["x1"] + per_char * (len(first) + 1) >= right - 0.5


BUCKET = 24.0  # points: the side of the squares cells are indexed by


def _chars_by_cell(chars: list[dict], cells: list[tuple]) -> dict[tuple, list[dict]]:
    """Each cell's characters, in the page's order, in one pass over the characters: a character
    belongs to every cell its middle lies in (as pdfplumber assigns them), and only the cells
    indexed under its square are tried, so the cost grows with characters plus cells, not their product."""
    index: dict[tuple[int, int], list[tuple]] = {}
    for cell in dict.fromkeys(cells):
        x0, top, x1, bottom = cell
        for i in range(int(x0 // BUCKET), int(x1 // BUCKET) + 1):
            for j in range(int(top // BUCKET), int(bottom // BUCKET) + 1):
                index.setdefault((i, j), []).append(cell)
    out: dict[tuple, list[dict]] = {cell: [] for cell in cells}
    for char in chars:
        x, y = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
        for cell in index.get((int(x // BUCKET), int(y // BUCKET)), ()):
            if cell[0] <= x < cell[2] and cell[1] <= y < cell[3]:
                out[cell].append(char)
    return out


def _cell_text(page, bbox, chars: list[dict]) -> str:
    """A cell's text with the writer's line wrapping undone: a line that ends because the next word
    did not fit continues (with a space, or none inside a word that was split); a line that ends
    short of the cell's edge is a real line break."""
    from pdfplumber.utils import chars_to_textmap

    x0, _, x1, _ = bbox
    if not chars:
        return ""
    textmap = chars_to_textmap(chars, layout_bbox=page.bbox, layout_width=page.width, layout_height=page.height)
    lines = textmap.extract_text_lines(return_chars=True, strip=True)
    if not lines:
        return ""
    margin = max(min(line["x0"] for line in lines) - x0, 1.0)
    right = x1 - margin
    text = _logical(lines[0]["text"])
    for prev, line in itertools.pairwise(lines):
        chars, read = line["chars"], _logical(line["text"])
        first = line["text"].split(" ")[0]
        first_width = chars[min(len(first), len(chars)) - 1]["x1"] - chars[0]["x0"]
        space = max(chars[0]["x1"] - chars[0]["x0"], 1.0) * 0.5
        if prev["x1"] + space + first_width < right - 0.5:
            text += "\n" + read  # the next word would have fitted: a real line break
        elif prev["text"].endswith("-") or (
            " " not in prev["text"]
            and right - prev["x1"] < chars[0]["x1"] - chars[0]["x0"]
            and (prev["text"][-1:].islower() or prev["text"][-1:].isdigit())
            and (line["text"][:1].islower() or line["text"][:1].isdigit())
        ):
            text += read  # a word too long for the cell, split where the cell ended
        else:
            text += " " + read
    return text
