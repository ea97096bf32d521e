"""A page image made ready for OCR: `python -m parsers.ocr_clean IN OUT`, run by parsers.ocr as a
helper program with its own limits (OpenCV's libraries alone take more address space than the
parsing worker is allowed).

IN is the page in grey (PGM). A phone photo's page is found (the largest four-sided bright shape,
against the desk around it) and its perspective undone, to an A4 page at 300 dpi; any other page is
scaled to about 300 dpi. The light is evened out (each pixel divided by the paper's brightness
around it, so a shadow or a dim corner becomes white paper), speckle removed, the page straightened
and made black and white at Otsu's threshold for finding marks. The form's ruled lines are found
(runs of ink longer than any letter, across and down) and removed from the copy Tesseract reads, as
it misreads letters that touch them; that copy stays grey (evened out), as Tesseract's own threshold
keeps more of a photo's small, blurred letters than one black-and-white copy does. Written:
OUT.page.pgm (black and white, lines kept: tick boxes are read from it), OUT.text.pgm (grey, lines
removed) and OUT.json: the table cells the ruled lines enclose, [left, top, right, bottom] in the
page's pixels, grouped by table.
"""

from __future__ import annotations

import json
import math
import sys

TARGET_LONG_SIDE = 3508  # A4's long side at 300 dpi
A4 = math.sqrt(2)
FIND_SIDE = 800  # pixels: the reduced copy the page's corners are looked for in
MAX_SKEW = 6.0  # degrees tried either way when straightening
LINE = 0.04  # of the page's width (or height): ink running further than this is a ruled line
FAINT = 215  # grey levels (white paper 255): ruled lines are looked for in ink this faint, as a thin
# line a photo blurs is paler than letters and breaks up at the threshold that suits them
SIDE = 40  # pixels at 300 dpi: a shorter run of ink down that meets a ruled line across is a box's side
SHARPEN = 1.0  # how much of a photo's blur (a Gaussian of one pixel at 300 dpi) is taken away before OCR
MIN_CELL = 20  # pixels at 300 dpi: a smaller enclosed space is no cell (a letter's hole, a tick box)


def page_corners(grey):
    """The page's four corners in a photo (top left, top right, bottom right, bottom left) or None
    when the page fills the image (a scan): the largest bright four-sided shape, from a fifth to
    nine tenths of the image."""
    import cv2
    import numpy as np

    scale = FIND_SIDE / max(grey.shape)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))  # the page's text filled in
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(largest) / (small.shape[0] * small.shape[1])
    if not 0.2 <= area <= 0.9:
        return None
    hull = cv2.convexHull(largest)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4:
        return None
    points = quad.reshape(4, 2).astype(np.float32) / scale
    by_sum, by_diff = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.array(
        [points[by_sum.argmin()], points[by_diff.argmin()], points[by_sum.argmax()], points[by_diff.argmax()]],
        dtype=np.float32,
    )


def flatten(grey, corners):
    """The page seen square on: its perspective undone, at 300 dpi. The sides' lengths give the
    page's proportions, but a page seen at an angle looks shorter than it is, so a shape near A4's
    is taken for A4."""
    import cv2
    import numpy as np

    tl, tr, br, bl = corners
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    ratio = height / width
    if 0.8 * A4 <= ratio <= 1.15 * A4:
        ratio = A4
    elif 0.8 / A4 <= ratio <= 1.15 / A4:
        ratio = 1 / A4
    if ratio >= 1:
        size = (round(TARGET_LONG_SIDE / ratio), TARGET_LONG_SIDE)
    else:
        size = (TARGET_LONG_SIDE, round(TARGET_LONG_SIDE * ratio))
    target = np.array([[0, 0], [size[0] - 1, 0], [size[0] - 1, size[1] - 1], [0, size[1] - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(grey, matrix, size, flags=cv2.INTER_CUBIC, borderValue=255)


def scaled(grey):
    import cv2

    scale = TARGET_LONG_SIDE / max(grey.shape)
    if 0.95 <= scale <= 1.05:  # a phone photo is larger, a 150 or 200 dpi scan smaller
        return grey
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def even_light(grey):
    """Each pixel divided by the brightness of the paper around it (the brightest nearby, once the
    ink is closed over), so shadow and a dim corner become white and ink keeps its contrast."""
    import cv2
    import numpy as np

    small = cv2.resize(grey, None, fx=1 / 8, fy=1 / 8, interpolation=cv2.INTER_AREA)
    paper = cv2.dilate(small, np.ones((7, 7), np.uint8))  # wider than a letter: the ink is gone
    paper = cv2.GaussianBlur(paper, (0, 0), 3)
    paper = cv2.resize(paper, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(grey, np.maximum(paper, 1), scale=255)


def sharpened(grey):
    """A photo's page with its blur partly undone (an unsharp mask: the page less its blurred self),
    for Tesseract: a phone's focus and the enlarging to 300 dpi blur its small print (hints, long
    labels) until letters run together ("nt" read as "ji"); its marks are read from the unsharpened page."""
    import cv2

    return cv2.addWeighted(grey, 1 + SHARPEN, cv2.GaussianBlur(grey, (0, 0), 1.0), -SHARPEN, 0)


def skew(grey) -> float:
    """The angle (degrees) that turns the page's lines of text level: the one at which the rows of
    a reduced, black-and-white copy are most unequal (text rows dark, the gaps between them white)."""
    import cv2
    import numpy as np

    small = cv2.resize(grey, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    ink = (small < 160).astype(np.float32)
    centre = (ink.shape[1] / 2, ink.shape[0] / 2)

    def spread(angle: float) -> float:
        turned = cv2.warpAffine(ink, cv2.getRotationMatrix2D(centre, angle, 1.0), (ink.shape[1], ink.shape[0]))
        return float(turned.sum(axis=1).var())

    best = max((spread(a / 2), a / 2) for a in range(int(-MAX_SKEW * 2), int(MAX_SKEW * 2) + 1))[1]
    return max((spread(best + d / 10), best + d / 10) for d in range(-4, 5))[1]


def straighten(grey):
    import cv2

    angle = skew(grey)
    if abs(angle) < 0.2:
        return grey
    matrix = cv2.getRotationMatrix2D((grey.shape[1] / 2, grey.shape[0] / 2), angle, 1.0)
    return cv2.warpAffine(grey, matrix, (grey.shape[1], grey.shape[0]), flags=cv2.INTER_CUBIC, borderValue=255)


def rulings(ink):
    """(across, down): masks of the ink that runs further than LINE of the page across, and down
    further than LINE or than SIDE from one line across to another (an answer box's side is no
    taller than a line of text; a letter may be as tall, but meets a ruling at one end at most)."""
    import cv2
    import numpy as np

    height, width = ink.shape
    across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (int(width * LINE), 1)))
    down = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(height * LINE))))
    short = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, SIDE)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(short)
    near = cv2.dilate(across, np.ones((9, 9), np.uint8)) > 0
    for n in range(1, count):
        x, y, w, h = stats[n][:4]
        if near[y, x : x + w].any() and near[y + h - 1, x : x + w].any():  # from a line across to a line across
            box = (slice(y, y + h), slice(x, x + w))
            down[box][labels[box] == n] = 255
    # a line broken by the threshold or a speck of dust is one line again
    across = cv2.morphologyEx(across, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (25, 1)))
    down = cv2.morphologyEx(down, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 25)))
    return across, down


def cells(across, down) -> list[list[list[int]]]:
    """The spaces the ruled lines enclose, as tables of cells: each table a list of [left, top,
    right, bottom], the spaces enclosed by one connected grid of lines."""
    import cv2
    import numpy as np

    grid = cv2.dilate(across | down, np.ones((5, 5), np.uint8))  # lines that nearly meet, joined
    contours, hierarchy = cv2.findContours(grid, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    tables: dict[int, list[list[int]]] = {}
    for n, contour in enumerate(contours):
        parent = hierarchy[0][n][3]
        if parent < 0:
            continue  # a grid's outside, not a space inside it
        x, y, w, h = cv2.boundingRect(contour)
        if w < MIN_CELL or h < MIN_CELL or cv2.contourArea(contour) < 0.8 * w * h:
            continue
        tables.setdefault(int(parent), []).append([x, y, x + w, y + h])
    return [sorted(found, key=lambda c: (c[1], c[0])) for found in tables.values()]


def clean(grey):
    """(page in black and white, the page in grey without its ruled lines, table cells) for one grey page."""
    import cv2
    import numpy as np

    corners = page_corners(grey)
    if corners is not None:  # a photo: its grain is finer than its blurred letters at any size
        grey = cv2.medianBlur(even_light(flatten(grey, corners)), 3)
    else:  # a scan's specks removed before it is enlarged, which would make them too large to remove
        grey = even_light(scaled(cv2.medianBlur(grey, 3)))
    grey = straighten(grey)
    _, page = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    across, down = rulings(np.where(grey < FAINT, np.uint8(255), np.uint8(0)))
    lines = cv2.dilate(across | down, np.ones((3, 3), np.uint8))  # and their blurred edges
    text = (sharpened(grey) if corners is not None else grey) | lines
    return page, text, cells(across, down)


def main(source: str, out: str) -> int:
    import cv2

    cv2.setNumThreads(1)
    grey = cv2.imread(source, cv2.IMREAD_GRAYSCALE)
    if grey is None:
        return 2
    page, text, found = clean(grey)
    cv2.imwrite(f"{out}.page.pgm", page)
    cv2.imwrite(f"{out}.text.pgm", text)
    with open(f"{out}.json", "w", encoding="utf-8") as stream:
        json.dump({"tables": found}, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
