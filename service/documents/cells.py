"""Cells of exported spreadsheets (CSV and XLSX) that any stored value can fill safely.

- A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection): one whose
  first visible character is =, +, -, @ or their full-width forms (＝ ＋ － ＠), after any
  whitespace, control or zero-width characters a spreadsheet skips.
- XLSX cannot hold most control characters (openpyxl refuses them, which failed a whole export):
  they are removed; the stored value is unchanged. An XLSX cell is written as text (data type "s"),
  which a spreadsheet never runs, so it keeps its value as typed.
"""

from __future__ import annotations

import re
import unicodedata

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_SIGNS = frozenset("=+-@＝＋－＠")
_SKIPPED = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u2064\ufeff\x00-\x1f\x7f]*")


def formula_safe(value: str) -> str:
    """`value`, with a leading apostrophe when a spreadsheet would take it as a formula."""
    rest = value[_SKIPPED.match(value).end() :]
    first = rest[:1]
    if first in FORMULA_SIGNS or (first and unicodedata.normalize("NFKC", first) in FORMULA_SIGNS):
        return "'" + value
    return value


def xlsx_text(value: str) -> str:
    """`value` as an XLSX cell can hold it: the characters the format forbids removed."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)
