"""Reading answers from a document's layout by the form's own labels.

Every reader (DOCX, text PDF, e-mail body) reduces its input to the same blocks: paragraphs and
tables of cell texts, with ticked boxes written as ☒ and empty ones as ☐. This module recognises
which form the blocks are (by how many of each form's labels they contain) and reads the answers:
label and value cells, a label followed by a one-cell box, "Label: value" typed in a line, a box
whose first line is its label ("Section A\\n..."), tick grids, option lists and repeated rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from forms.model import Field, FormSpec
from parsers.result import Answer, ParseResult, match_choice, norm, squash, tick_state

MIN_SCORE = 0.3
MIN_LABELS = 2


@dataclass
class Para:
    text: str
    soft: bool = False  # the line continues the one before (a writer wrapped it), as in a text PDF


@dataclass
class Table:
    rows: list[list[str]]


# --- what each form's labels are --------------------------------------------------------------


@dataclass
class Labels:
    spec: FormSpec
    fields: dict[str, list[tuple[str, Field]]]  # norm label -> [(section key, field)]
    sections: dict[str, str]  # norm title -> section key
    options: dict[str, list[tuple[str, Field, str]]]  # norm option label -> [(section, field, value)]
    columns: dict[str, dict[str, Field]]  # rows field key -> norm column label -> column
    inline: re.Pattern  # "Label:" anywhere in a line
    title: str
    scored: list[tuple[str, ...]]  # for recognition: each field's and column's labels
    hints: frozenset[str]  # help texts printed beside answers ("DD/MM/YYYY"): never an answer
    boilerplate: tuple[str, ...]  # the form's title, instructions and closing words: never an answer


_VARIANTS = {"'": "['’‘]", "’": "['’‘]", "‘": "['’‘]", '"': '["“”]', "“": '["“”]', "”": '["“”]'}
_VARIANTS.update({"-": "[-–—]", "–": "[-–—]", "—": "[-–—]"})


def _pattern(label: str) -> str:
    """A label as a regular expression that allows the quote, dash and spacing variants norm() allows."""
    out = []
    for char in label:
        if char.isspace():
            if not out or out[-1] != r"\s+":
                out.append(r"\s+")
        else:
            out.append(_VARIANTS.get(char, re.escape(char)))
    return "".join(out)


@lru_cache(maxsize=64)
def labels_of(spec: FormSpec) -> Labels:
    fields: dict[str, list[tuple[str, Field]]] = {}
    options: dict[str, list[tuple[str, Field, str]]] = {}
    columns: dict[str, dict[str, Field]] = {}
    for section in spec.sections:
        for f in section.fields:
            for label in dict.fromkeys(squash(x) for x in f.labels):
                fields.setdefault(label, []).append((section.key, f))
            for choice in f.choices:
                options.setdefault(squash(choice.label), []).append((section.key, f, choice.value))
            if f.type == "rows":
                columns[f.key] = {squash(label): c for c in f.columns for label in c.labels}
    sections = {squash(s.title): s.key for s in spec.sections}
    words = sorted({x.strip().rstrip(":").strip() for f in spec.fields for x in f.labels}, key=len, reverse=True)
    inline = re.compile(r"(?:^|(?<=\s))(" + "|".join(_pattern(w) for w in words) + r")\s*:", re.IGNORECASE)
    scored = [tuple(squash(x) for x in f.labels) for f in spec.fields]
    scored += [tuple(squash(x) for x in c.labels) for f in spec.fields for c in f.columns]
    hints = frozenset({squash(f.hint) for f in spec.fields if f.hint} | {DATE_HINT})
    texts = (spec.title, spec.short_title, spec.description or "", *spec.instructions, *spec.closing)
    boilerplate = tuple(squash(t) for t in texts if t)
    return Labels(spec, fields, sections, options, columns, inline, norm(spec.title), scored, hints, boilerplate)


_PAGE_NUMBER = re.compile(r"page\d+(of\d+)?")


DATE_HINT = squash("DD/MM/YYYY")  # printed beside date boxes


def _hints_of(f: Field) -> frozenset[str]:
    """The help text printed in or beside this field's box: its own hint, and the date pattern."""
    hints = {squash(f.hint)} if f.hint else set()
    if f.type == "date":
        hints.add(DATE_HINT)
    return frozenset(hints)


def _printed(lab: Labels, text: str, loose: bool = False, hints: frozenset[str] | None = None) -> bool:
    """Text the form itself prints: a page number, a hint (any field's, or only `hints` when the
    field is known, so "DD/MM/YYYY" typed in a free-text answer stays), its title, instructions or
    closing words; `loose` also takes a long enough piece of them (a line wrapped out of a sentence)."""
    key = squash(text)
    if not key:
        return False
    if _PAGE_NUMBER.fullmatch(key) or key in (lab.hints if hints is None else hints) or key in lab.boilerplate:
        return True
    return loose and len(key) >= 25 and any(key in b for b in (*lab.boilerplate, *lab.hints))


# --- recognition -------------------------------------------------------------------------------


def _snippets(blocks: list) -> tuple[set[str], str]:
    """Every text a label could be: whole cells and lines, and the words before each colon (the
    last one to eight of them, for "Signature: A. Haddad   Date: 11/11/2026")."""
    found: set[str] = set()
    lines: list[str] = []
    for block in blocks:
        texts = [block.text] if isinstance(block, Para) else [c for row in block.rows for c in row]
        for text in texts:
            found.add(squash(text))
            for line in text.split("\n"):
                lines.append(line)
                found.add(squash(line))
                if ":" in line:
                    for segment in line.split(":")[:-1]:
                        words = segment.split()
                        for n in range(1, min(len(words), 8) + 1):
                            found.add(squash(" ".join(words[-n:])))
    return found, norm("\n".join(lines).replace("\n", " \n "))


def score(spec: FormSpec, found: set[str], full: str) -> tuple[float, int]:
    """(share of the form's labels present, how many), counting fields, columns, sections, title."""
    lab = labels_of(spec)
    hits = sum(any(name in found for name in names) for names in lab.scored)
    hits += sum(title in found for title in lab.sections)
    total = len(lab.scored) + len(lab.sections)
    title_hit = lab.title in full or norm(spec.short_title) in full
    return (hits + 2 * title_hit) / (total + 2), hits


def recognise(blocks: list, specs) -> tuple[FormSpec | None, float, str]:
    """The form whose labels the blocks carry best, its score, and a reason when none fits."""
    found, full = _snippets(blocks)
    ranked = sorted(((score(s, found, full), s) for s in specs), key=lambda x: x[0][0], reverse=True)
    if not ranked:
        return None, 0.0, "no forms are loaded"
    (best, hits), spec = ranked[0]
    if best >= MIN_SCORE and hits >= MIN_LABELS:
        return spec, best, ""
    return (
        None,
        best,
        (
            f"not a recognised form: it carries too few of any form's labels "
            f"(closest is {spec.id} with {hits} labels, {best:.0%})"
        ),
    )


# --- reading answers ---------------------------------------------------------------------------


class Reader:
    def __init__(self, spec: FormSpec, continuation: bool = False):
        self.lab = labels_of(spec)
        self.spec = spec
        self.section: str | None = None
        self.pending: tuple[Field, str] | None = None
        self.last: Field | None = None  # the field a following plain line continues (e-mail, text PDF)
        self.continuation = continuation
        self.listed: tuple[Field, str] | None = None
        self.answers: dict[str, Answer] = {}
        self.ticks: dict[str, list[str]] = {}
        self.warnings: list[str] = []

    # which field a label means
    def field_for(self, label: str) -> Field | None:
        candidates = self.lab.fields.get(squash(label), [])
        if not candidates:
            return None
        here = [f for s, f in candidates if s == self.section]
        pool = here or [f for _, f in candidates]
        unfilled = [f for f in pool if f.key not in self.answers]
        if len(pool) > 1 and not here:
            chosen = (unfilled or pool)[0]
            self.warnings.append(f"label '{label.strip()}' fits several fields; read as '{chosen.key}'")
            return chosen
        return (unfilled or pool)[0]

    def put(self, f: Field, value, label: str) -> None:
        if isinstance(value, str) and value:
            own = _hints_of(f)
            value = "\n".join(line for line in value.split("\n") if not _printed(self.lab, line, hints=own))
        if f.type == "ticks" and isinstance(value, list):
            value = [v for v in value if v]
        if f.key in self.answers and self.answers[f.key].value not in ("", [], None) and value in ("", []):
            return
        self.answers[f.key] = Answer(value, label.strip())
        self.last = f
        self.pending = None

    def tick(self, f: Field, value: str, checked: bool, label: str) -> None:
        self.pending = None if self.pending is None or self.pending[0].key != f.key else self.pending
        chosen = self.ticks.setdefault(f.key, [])
        if checked and value not in chosen:
            chosen.append(value)
        if f.type == "ticks":
            self.answers[f.key] = Answer(list(chosen), self.answers.get(f.key, Answer(None, label)).label)
        elif checked:
            self.answers[f.key] = Answer(value, label)
        elif f.key not in self.answers:
            self.answers[f.key] = Answer("", label)

    def option_for(self, label: str) -> tuple[Field, str] | None:
        candidates = self.lab.options.get(squash(label), [])
        if not candidates:
            return None
        here = [(f, v) for s, f, v in candidates if s == self.section]
        return (here or [(f, v) for _, f, v in candidates])[0]

    # blocks
    def read(self, blocks: list) -> None:
        for block in blocks:
            if isinstance(block, Para):
                for n, line in enumerate(block.text.split("\n")):
                    self.line(line, soft=block.soft and n == 0)
            else:
                self.table(block.rows)
                self.pending = None
                self.last = None

    def heading(self, text: str) -> bool:
        key = self.lab.sections.get(squash(text))
        if key is not None:
            self.section = key
        return key is not None

    def line(self, line: str, soft: bool = False) -> None:
        if _printed(self.lab, line, loose=True):
            return
        if not line.strip():
            # In typed text a blank line ends an answer (what follows is often "Regards" or a signature).
            self.last = None
            return
        is_heading = self.heading(line)
        f = self.field_for(line)
        joins = soft and f is None and not is_heading and self.continuation and self.last is not None
        if joins and self.last.type in ("text", "textarea") and not self.lab.inline.search(line):
            old = self.answers[self.last.key].value
            self.answers[self.last.key].value = f"{old} {line.strip()}" if old else line.strip()
            return
        if f is not None:
            self.last = None
            if f.type in ("text", "textarea", "date", "choice") and self.continuation:
                self.put(f, "", line)
                if line.rstrip().endswith(":"):  # "Label:" and nothing after: answered empty
                    return
            self.pending = (f, line)
            return
        if is_heading:
            self.pending = None
            return
        if self.inline(line):
            return
        if self.option_line(line):
            return
        if self.continuation and self.last is not None and self.last.type == "textarea":
            old = self.answers[self.last.key].value
            self.answers[self.last.key].value = f"{old}\n{line.strip()}" if old else line.strip()
            self.pending = None  # the answer has begun: nothing later fills this label by position
            return
        if self.continuation and self.pending is not None:
            f, label = self.pending
            self.put(f, line.strip(), label)
            self.pending = None
            if f.type in ("choice", "ticks") and self.option_for(line) is not None:
                self.listed = (f, label)  # maybe the first of a printed list of options
            return
        if self.listed is not None and self.option_for(line) is not None:
            # Options printed one per line with no readable mark (ticks drawn as graphics): no answer
            # can be read, and taking the first option would be a wrong answer.
            f, label = self.listed
            self.answers[f.key] = Answer([] if f.type == "ticks" else "", label)
            self.warnings.append(f"'{f.label}': the options are listed but no mark on them can be read")
            self.listed = None

    def option_line(self, line: str) -> bool:
        """'☒ Option' or 'Option ☐' on its own line, for a ticks or choice field."""
        m = re.fullmatch(r"\s*([☒☑✓✔☐□xX])\s+(.+?)\s*|\s*(.+?)\s+([☒☑✓✔☐□xX])\s*", line)
        if not m:
            return False
        glyph, text = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        found = self.option_for(text)
        if found is None:
            return False
        self.tick(found[0], found[1], bool(tick_state(glyph)), text)
        return True

    def inline(self, text: str) -> bool:
        """'Signature: A. Haddad   Date: 11/11/2026': every known 'Label:' and the text after it."""
        matches = list(self.lab.inline.finditer(text))
        if not matches:
            return False
        if matches[0].start() > 0 and text[: matches[0].start()].strip():
            before = text[: matches[0].start()].strip()
            if self.field_for(before) is None:
                return False
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            f = self.field_for(m.group(1))
            if f is not None:
                self.put(f, text[m.end() : end].strip(), m.group(1))
        return True

    def table(self, rows: list[list[str]]) -> None:
        rows_field, columns = None, {}
        grid: list[tuple[Field, str] | None] | None = None
        for row in rows:
            cells = list(row)
            if not any(c.strip() for c in cells):
                continue
            header = self.header(cells)
            if header:
                rows_field, columns = header
                self.answers.setdefault(rows_field.key, Answer([], rows_field.label))
                continue
            if rows_field is not None and not self.is_label_row(cells):
                record = {}
                for i, cell in enumerate(cells):
                    column = columns.get(i)
                    if column is not None and cell.strip() not in ("", "-", "–", "—"):  # a dash: nothing
                        record[column.key] = cell.strip()
                if record:
                    self.answers[rows_field.key].value.append(record)
                continue
            rows_field = None
            options = [self.option_for(c) for c in cells]
            if sum(o is not None for o in options) >= 2:
                grid = options
                continue
            if grid is not None and len(cells) == len(grid) and all(tick_state(c) is not None for c in cells):
                for option, cell in zip(grid, cells, strict=True):
                    if option is not None:
                        self.tick(option[0], option[1], bool(tick_state(cell)), cell)
                grid = None
                continue
            grid = None
            self.table_row(cells)

    def header(self, cells: list[str]) -> tuple[Field, dict[int, Field]] | None:
        for key, wanted in self.lab.columns.items():
            found = {i: wanted[squash(c)] for i, c in enumerate(cells) if squash(c) in wanted}
            if len(found) >= 2 and len(found) * 2 >= len(cells):
                self.section = next((s.key for s in self.spec.sections for f in s.fields if f.key == key), None)
                return self.spec.field(key), found
        return None

    def is_label_row(self, cells: list[str]) -> bool:
        return (
            len(cells) == 2
            and self.field_for_quiet(cells[0]) is not None
            and not any(squash(cells[0]) in cols for cols in self.lab.columns.values())
        )

    def field_for_quiet(self, label: str) -> Field | None:
        return self.lab.fields.get(squash(label), [(None, None)])[0][1]

    def table_row(self, cells: list[str]) -> None:
        # Printed help text in a cell is blanked, not dropped, so the cells after it keep their column.
        cells = ["" if _printed(self.lab, c) else c for c in cells]
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells:
            return
        if len(cells) == 1:
            self.one_cell(cells[0])
            return
        first, rest = cells[0], [c for c in cells[1:] if c.strip()]
        if self.heading(first) and not rest:
            return
        option = self.option_for(first)
        f = self.field_for(first)
        if f is None and option is not None and len(rest) == 1 and tick_state(rest[0]) is not None:
            self.tick(option[0], option[1], bool(tick_state(rest[0])), first)
            return
        if f is not None:
            if len(cells) == 4 and self.field_for_quiet(cells[2]) is not None:
                self.put(f, cells[1].strip(), first)
                g = self.field_for(cells[2])
                self.put(g, cells[3].strip(), cells[2])
                return
            self.put(f, "\n".join(c.strip() for c in rest), first)
            self.pending = None
            return
        if any([self.inline(c) for c in cells]):  # every cell, not only up to the first
            return
        if self.pending and not first.strip():
            self.put(self.pending[0], "\n".join(rest), self.pending[1])
            self.pending = None
            return
        self.warnings.append(f"label '{_short(first)}' is not on form {self.spec.id}; its row was not read")

    def one_cell(self, text: str) -> None:
        if not text.strip():
            return
        head, _, body = text.partition("\n")
        f = self.field_for(head) if head.strip() else None
        if f is not None and (body.strip() or f.type in ("text", "textarea", "date")):
            self.put(f, body.strip(), head)
            self.pending = None
            return
        if self.heading(text):
            return
        if self.pending is not None:
            f, label = self.pending
            self.put(f, text.strip(), label)
            self.pending = None
            return
        if self.inline(head):
            return
        self.warnings.append(f"text '{_short(text)}' is under no label of form {self.spec.id}; it was not read")

    def result(self, kind: str, score_: float) -> ParseResult:
        for f in self.spec.fields:
            answer = self.answers.get(f.key)
            if f.required and (answer is None or answer.value in ("", [], None)):
                self.warnings.append(f"required field '{f.label}' is empty")
        stage_field = self.spec.field_for("stage")
        claimed = None
        if stage_field is not None and stage_field.key in self.answers:
            value = self.answers[stage_field.key].value
            claimed = value if isinstance(value, str) and value in {c.value for c in stage_field.choices} else None
            if claimed is None and isinstance(value, str):
                from parsers.result import options_ticked

                ticked = options_ticked(stage_field, value)
                claimed = ticked[0] if ticked else match_choice(stage_field, value)
        return ParseResult(
            kind=kind,
            form_id=self.spec.id,
            partnership=self.spec.partnership,
            title=self.spec.title,
            claimed_stage=claimed,
            answers=self.answers,
            warnings=self.warnings,
            score=score_,
        )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


REFERENCE = re.compile(r"\[?\b([A-Z]{2})-(\d{4})-(\d{4,6})\b\]?")


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


def find_reference(text: str, prefixes: set[str]) -> str | None:
    for m in REFERENCE.finditer(text):
        if m.group(1) in prefixes:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return None


def read_blocks(blocks: list, kind: str, specs, *, continuation: bool = False, form_id: str | None = None):
    """A ParseResult for blocks: recognise the form (or use form_id a person chose) and read it."""
    specs = list(specs)
    if form_id is not None:
        chosen = [s for s in specs if s.id == form_id]
        if not chosen:
            return ParseResult(kind=kind, reason=f"no form '{form_id}'")
        spec, best = chosen[0], 1.0
    else:
        spec, best, reason = recognise(blocks, specs)
        if spec is None:
            return ParseResult(kind=kind, score=best, reason=reason)
    reader = Reader(spec, continuation=continuation)
    reader.read(blocks)
    return reader.result(kind, best)
