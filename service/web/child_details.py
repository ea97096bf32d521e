"""Warnings for forms that must carry no child details (e.g. North Tyneside Appendix A).

These are hints, not a filter: an answer that looks like it holds a date of birth or a child's name
is pointed out, and the practitioner decides. The patterns are deliberately simple and bounded
(answers are length-capped before they get here).
"""

from __future__ import annotations

import re

from forms.model import FormSpec

_DOB = re.compile(
    r"\b(d\.?\s?o\.?\s?b\.?|date of birth|born (on|in)\b|aged? \d{1,2}\b|\d{1,2}[- ]?(years?|yrs?)[- ]old)", re.I
)
_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})\b")
_NAME = re.compile(
    r"\b(child(?:'s name)?|son|daughter|boy|girl|baby|sibling|brother|sister|pupil|young person|YP)"
    r"\s*(?:is\s+|was\s+)?(?:called|named|:)?\s+([A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?)"
)
_NAME_WORDS = re.compile(r"\b(called|named|name is|name:)\s+([A-Z][a-z'’-]+)", re.I)
# Capitalised words that follow "child" but are not names.
_NOT_NAMES = {
    "Protection",
    "Plan",
    "In",
    "Need",
    "Social",
    "Services",
    "Care",
    "Looked",
    "The",
    "A",
    "Services'",
    "Children",
}


def warnings(spec: FormSpec, answers: dict) -> dict[str, str]:
    """Field key -> what the answer seems to contain, for forms that carry no child details."""
    if spec.carries_child_details:
        return {}
    found = {}
    for field in spec.fields:
        value = answers.get(field.key)
        if field.type not in ("text", "textarea") or not isinstance(value, str) or not value:
            continue
        reason = _looks_like(value)
        if reason:
            found[field.key] = (
                f"{field.label}: this answer looks like it includes {reason}. This form must not include any child's details."
            )
    return found


def _looks_like(text: str) -> str | None:
    if _DOB.search(text) or _DATE.search(text):
        return "a date of birth or a child's age"
    for match in _NAME.finditer(text):
        if match.group(2).split()[0] not in _NOT_NAMES:
            return "a child's name"
    if _NAME_WORDS.search(text):
        return "a child's name"
    return None
