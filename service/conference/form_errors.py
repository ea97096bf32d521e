"""The chair's conference form's errors in GOV.UK wording, each linked to its input and shown at it.

log.check names what is wrong by answer (`meeting_date`, `rows.0.agency`) in its validators' words;
a chair sees "Enter the date of the meeting", both in the error summary and above the input.
An uploaded table's refused conferences (tables.ConferencesRefused) are named by their date,
family and chair, then each answer in the same words, linked to the file input."""

from __future__ import annotations

import datetime as dt
import re

TOO_LONG = re.compile(r"(?:Length must be between \d+ and|Longer than maximum length) (\d+)")
MISSING = ("Missing data", "Shorter than minimum", "Field may not be null", "Not a valid", "not a date", "Length must")

WORDS = {
    "meeting_date": ("Enter the date of the meeting", "Date of meeting must be a real date"),
    "family": ("Enter the family name, or identifying factors", "Family name or identifying factors: {}"),
    "chair_name": ("Enter the CP chair's name", "CP chair: {}"),
    "agency": ("Row {n}: choose the agency", "Row {n}, agency: {}"),
    "agency_rep": ("Row {n}: enter the agency rep's name", "Row {n}, name of agency rep: {}"),
    "reason": ("Row {n}: choose the reason for escalation", "Row {n}: choose the reason for escalation"),
    "reason_detail": ("Row {n}: say what the other issue is", "Row {n}, details: {}"),
    "cp_chair": ("Row {n}: enter the CP chair's name", "Row {n}, CP chair: {}"),
    "partnership": ("Choose a partnership", "Partnership: {}"),
}


def _text(key: str, message: str, row: int | None, answered: bool = False) -> str:
    missing, other = WORDS.get(key, ("{}", "{}"))
    if key == "meeting_date" and "future" in message:
        return "Date of meeting must be today or in the past"
    if key == "meeting_date" and message.startswith(("Missing", "Field may not")):
        return missing
    # "Length must be between 1 and 120." says too short or too long: given an answer, too long.
    if answered and (most := TOO_LONG.match(message)):
        return other.format(f"enter at most {most.group(1)} characters", n=(row or 0) + 1)
    empty = any(message.startswith(m) for m in MISSING) and key != "meeting_date"
    template = missing if empty else other
    return template.format(message, n=(row or 0) + 1)


def errors(messages: dict[str, list[str]], given: dict) -> tuple[list[dict], dict[str, str]]:
    """(error summary entries, the message shown at each input by its id)."""
    summary, inline = [], {}
    for key, texts in messages.items():
        parts = key.split(".")
        if parts[0] == "rows" and len(parts) == 3 and parts[1].isdigit():
            row, name = int(parts[1]), parts[2]
            target = f"rows-{row}-{name}"
        elif key == "rows":
            row, name, target = 0, "agency", "rows-0-agency"
            texts = ["Add at least one agency row: choose the agency and the reason"]
        else:
            row, name = None, key.split(":")[0]
            target = f"{name}-day" if name == "meeting_date" else name.replace(".", "-")
        if name == "meeting_date" and not given.get("meeting_date"):
            texts = ["Missing data for required field."]
        for message in texts:
            text = message if key == "rows" else _text(name, message, row, bool(_answer(given, row, name)))
            summary.append({"text": text, "href": f"#{target}"})
            inline.setdefault(target, text)
    return summary, inline


def _answer(given: dict, row: int | None, name: str):
    """What was given for the answer (a row's from given["rows"]), or None."""
    if row is None:
        return given.get(name)
    rows = given.get("rows")
    return rows[row].get(name) if isinstance(rows, list) and row < len(rows) and isinstance(rows[row], dict) else None


def table_errors(refused: list[tuple[int, dict, dict[str, list[str]]]]) -> list[dict]:
    """Error summary entries for a table's refused conferences (tables.ConferencesRefused.refused):
    "Conference 2 (5 November 2026, Family B, chaired by Rhian Pritchard): Row 1, agency: ..."."""
    out = []
    for number, answers, messages in refused:
        summary, _inline = errors(messages, answers)
        heading = f"Conference {number} ({_conference_words(answers)})"
        out += [{"text": f"{heading}: {entry['text']}", "href": "#table"} for entry in summary]
    return out


def _conference_words(answers: dict) -> str:
    given = str(answers.get("meeting_date") or "")
    try:
        date = dt.date.fromisoformat(given).strftime("%-d %B %Y")
    except ValueError:
        date = f"date '{given[:20]}'" if given else "no date"
    family = answers.get("family") or "no family name"
    chair = answers.get("chair_name")
    return f"{date}, {family}, " + (f"chaired by {chair}" if chair else "no chair named")
