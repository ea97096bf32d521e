"""Checkboxes and radio buttons drawn as graphics on a PDF page (a flattened form), read as ☒ and ☐."""

from __future__ import annotations

MARK_SIDE = (6.0, 16.0)  # points: the side of a checkbox or radio button as forms draw them
LABEL_GAP = 20.0  # points at most between a drawn box and its option's label
MAX_MARKS = 400  # drawn boxes on one page, at most, read as checkboxes (bounds the time a page takes)


def drawn_marks(page) -> list[dict]:
    """Checkboxes and radio buttons drawn as graphics (a flattened form: its fields became drawings),
    each as a ☒ or ☐ character where the box is, before its option's label, as Word's boxes read.
    A box is a small unfilled square or circle with text just to its right; it is ticked when a
    smaller drawing (a tick, a cross or a dot) lies inside it."""
    lo, hi = MARK_SIDE
    drawn = page.rects + page.curves + page.lines
    boxes = [o for o in drawn if lo < o["width"] < hi and abs(o["width"] - o["height"]) < 1.5 and not o.get("fill")]
    if len(boxes) > MAX_MARKS:  # a pattern or a chart, not a form's options: leave it as drawn
        return []
    made = []
    for box in boxes:
        beside = (
            c
            for c in page.chars
            if box["x1"] <= c["x0"] <= box["x1"] + LABEL_GAP
            and box["top"] - 3 <= (c["top"] + c["bottom"]) / 2 <= box["bottom"] + 3
        )
        first = min(beside, key=lambda c: c["x0"], default=None)  # the label's first letter
        if first is None:
            continue
        ticked = any(
            o["width"] < box["width"] - 1
            and o["height"] < box["height"] - 1
            and box["x0"] - 0.5 <= o["x0"]
            and o["x1"] <= box["x1"] + 0.5
            and box["top"] - 0.5 <= o["top"]
            and o["bottom"] <= box["bottom"] + 0.5
            for o in drawn
        )
        width = box["x1"] - box["x0"]
        made.append({**first, "text": "☒" if ticked else "☐", "x0": box["x0"], "x1": box["x1"], "width": width})
    return made
