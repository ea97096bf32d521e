"""Reading a recognised form's answers from its blocks, by the form's own labels.

A Reader walks the blocks in order and takes: label and value cells, a label followed by a one-cell
box, "Label: value" typed in a line, a box whose first line is its label ("Section A\\n..."), tick
grids, option lists and repeated rows. It keeps which section it is in, so a label two sections
share is read as the one here, and warns about every label or text it could not place.
"""

from __future__ import annotations

import re

from forms.model import Field, FormSpec
from parsers.blocks import Para
from parsers.labels import hints_of, labels_of, printed
from parsers.result import Answer, ParseResult, match_choice, squash, tick_state


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
            own = hints_of(f)
            value = "\n".join(line for line in value.split("\n") if not printed(self.lab, line, hints=own))
        if f.type == "ticks" and isinstance(value, list):
            value = [v for v in value if v]
        if f.key in self.answers and self.answers[f.key].value not in ("", [], None) and value in ("", []):
            return
        self.answers[f.key] = Answer(value, " ".join(label.split()))  # a label wrapped over lines, as one
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
        # On a line that continues a free-text answer, only that answer's own hint is the form's print
        # ("DD/MM/YYYY" typed there stays, as put() keeps it); the form's title and closing words still are.
        continuing = self.continuation and self.last is not None and self.last.type == "textarea"
        if printed(self.lab, line, loose=True, hints=hints_of(self.last) if continuing else None):
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
                if not isinstance(self.answers.get(rows_field.key, Answer([], "")).value, list):
                    del self.answers[rows_field.key]  # a line under its label was taken for its answer
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
        cells = ["" if printed(self.lab, c) else c for c in cells]
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
        lines = first.strip().split("\n")
        for n in range(len(lines) - 1, 0, -1):  # a label with its hint printed beneath it
            f = f or self.field_for("\n".join(lines[:n]))
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
