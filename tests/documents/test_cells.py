"""Exports write any stored value, and no cell runs as a formula in a spreadsheet."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from service.documents import cells, reports


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@SUM(A1)", " =1+1", "\t=1", "\r\n=1", "\u200b=1", "\ufeff+1", "＝1+1", "＋1", "\u00a0@x"],
)
def test_the_formula_guard(value):
    assert cells.formula_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Riverside Primary", "1 = 1", "e-mail", "", "Zoë"])
def test_plain_text_is_left_alone(value):
    assert cells.formula_safe(value) == value


class Row:
    def __init__(self, stored):
        self.stored = stored

    def values(self):
        return self.stored


def test_any_stored_value_goes_into_the_xlsx_export():
    stored = ["Agency\x07 with a bell", "NUL\x00 and ESC\x1b", '=HYPERLINK("x")', "\ud7ff private \ue000\nline"]
    columns = [(f"c{i}", "") for i in range(len(stored))]
    content = reports.submissions_xlsx([Row(stored)], columns, [20] * len(stored))
    sheet = load_workbook(io.BytesIO(content))["Submissions"]
    written = [c.value for c in sheet[2]]
    assert written == ["Agency with a bell", "NUL and ESC", '=HYPERLINK("x")', "\ud7ff private \ue000\nline"]
