"""The blocks every reader reduces its input to: paragraphs, and tables of cell texts.

DOCX, text PDF and e-mail readers all produce these, with ticked boxes written as ☒ and empty ones
as ☐, so one Reader reads them all. Plain text (an e-mail body) becomes blocks here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Para:
    text: str
    soft: bool = False  # the line continues the one before (a writer wrapped it), as in a text PDF


@dataclass
class Table:
    rows: list[list[str]]


def text_blocks(text: str) -> list:
    """Plain text (an e-mail body) as blocks: runs of lines with "|" between cells become a table."""
    blocks: list = []
    for line in text.replace("\r\n", "\n").split("\n"):
        row = line.strip()
        if row.startswith("|") and row.endswith("|") and len(row) > 1:  # | a | b | as in Markdown
            row = row[1:-1]
        if "|" in row:
            cells = [c.strip() for c in row.split("|")]
            if blocks and isinstance(blocks[-1], Table):
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Table([cells]))
        else:
            blocks.append(Para(line))
    return blocks
