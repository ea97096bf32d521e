"""Correcting a quarantined input by the form itself: what was read from it as a chosen form, the
form's own questions (the same WTForms the public pages are built from) filled with it, and each
answer marked read, changed or missing against what was read."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from forms.model import FormSpec
from parsers import ParseError
from service.intake.models import ReceivedItem
from service.web import formbuild
from service.web.answers import canonical, section_answers, wt_data
from service.web.fields import has_answer

MARKS = {
    "read": ("Read", "govuk-tag--green", "Read from the original"),
    "changed": ("Changed", "govuk-tag--blue", "Changed from what was read"),
    "missing": ("Missing", "govuk-tag--red", "Not found in the original"),
}


@dataclass
class Reading:
    """What was read from an input as one form: its web answers, and why nothing was, if so."""

    spec: FormSpec
    answers: dict
    problem: str | None = None


def read_as(item: ReceivedItem, spec: FormSpec) -> Reading:
    """The input read as `spec`: the stored reading when it was recognised as that form, else the
    original read again as it (in the parsers' limited worker)."""
    parsed = item.parsed or {}
    if item.form_id == spec.id and parsed.get("data") is not None:
        data = parsed["data"]
    else:
        from parsers.sandbox import parse_safely

        try:
            result = parse_safely(item.raw, item.filename, form_id=spec.id)
        except ParseError as exc:
            return Reading(spec, formbuild.web_answers_from_canonical(spec, {}), str(exc))
        data, _errors = result.canonical(spec)
    return Reading(spec, formbuild.web_answers_from_canonical(spec, data))


def form_for(reading: Reading, formdata=None):
    """The whole form, filled with what was read (or with what the person posted)."""
    cls = formbuild.whole_form_class(reading.spec)
    if formdata is None:
        return cls(formdata=None, data=wt_data(cls.section, reading.answers))
    return cls(formdata=formdata)


def marks(reading: Reading, form) -> dict[str, str]:
    """read, changed or missing for each question, against what was read."""
    now = section_answers(form) if form.is_submitted() else reading.answers
    out = {}
    for f in reading.spec.fields:
        value, was = now.get(f.key), reading.answers.get(f.key)
        if not has_answer(value):
            out[f.key] = "missing"
        elif has_answer(was) and _same(value, was):
            out[f.key] = "read"
        else:
            out[f.key] = "changed"
    return out


def _same(a, b) -> bool:
    def norm(value):
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items() if has_answer(v)}
        if isinstance(value, list):
            return [norm(v) for v in value if has_answer(v)]
        return (value or "").strip() if isinstance(value, str) else value

    return norm(a) == norm(b)


def questions(reading: Reading, form, marked: dict[str, str]) -> list[Markup]:
    """Each question's GOV.UK markup under its mark."""
    out = []
    for f in reading.spec.fields:
        text, colour, words = MARKS[marked[f.key]]
        tag = Markup('<p class="govuk-body-s app-mark"><strong class="govuk-tag {}" title="{}">{}</strong></p>').format(
            colour, words, text
        )
        out.append(tag + formbuild.render_question(form[f.key], f))
    return out


def corrected_data(reading: Reading, form) -> dict:
    """The canonical data of a posted, valid correction form."""
    return canonical(reading.spec, section_answers(form))
