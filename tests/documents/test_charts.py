"""Charts show every word of their labels (wrapped, never cut off) and name their table's columns."""

from __future__ import annotations

import re

from service.documents import charts


def _label_text(svg: str) -> list[str]:
    return [
        " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text))
        for text in re.findall(r"<text[^>]*>(<tspan.*?)</text>", svg)
    ]


def test_long_labels_wrap_in_full():
    label = "Stage 5: Escalation to Head of Service or Service Manager"
    chart = charts.bar_chart("stage", "Escalations by stage", [(label, 3), ("Stage 1", 1)])
    svg = str(chart.svg)
    assert "…" not in svg
    assert _label_text(svg) == [label, "Stage 1"]
    assert all(len(line) <= charts.MAX_LABEL for line in re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))
    heights = [float(h) for h in re.findall(r'viewBox="0 0 \d+ ([\d.]+)"', svg)] or [0]
    assert heights[0] > 2 * (charts.BAR_HEIGHT + charts.GAP)


def test_table_headers_are_words_from_the_title():
    chart = charts.bar_chart("p", "Conference escalation patterns this quarter (Q3 2026, by agency and reason)", [])
    assert chart.headers == ("Agency and reason", "Count")
    assert charts.bar_chart("c", "Escalations by category", []).headers[0] == "Category"
    assert charts.bar_chart("x", "Open cases", [], label_header="Agency").headers[0] == "Agency"
