"""Letters OCR read for digits, put right only where the value's shape says which it must be.

Small print in a photo or a copier's scan is where Tesseract confuses letters and digits of the same
shape: a "0" read as "O", a "1" as "l" or "|", a "5" as "S". In free text there is no telling which
was written, so free text is never changed. Where the shape is certain, the character is the one the
shape allows:

- a UK postcode at the end of a line (an address's): a real postcode area (HD, NE, SW...), the
  district's digit, then a digit and two letters ("HD1 OXX" is "HD1 0XX"), when at least one of its
  digits was read as one;
- a phone number: a line that is nothing but a UK number's digits and spaces ("020 OOOO 0002");
- a date field's answer, when it is no date as read but is one with the confusions undone;
- an e-mail address in small letters: "|" is an "l" ("bethan.|lewellyn@health.example");
- a case reference with one of the partnerships' prefixes ("NT-2O26-0007").

Each change is returned as (what OCR read, what it was taken as), for the warnings: the answer keeps
the confidence OCR gave what it read, and is held for a person to confirm as every OCR answer is.
"""

from __future__ import annotations

import re

from forms.child_details import POSTCODE
from parsers.result import parse_uk_date

DIGITS = str.maketrans("OoIl|SZB", "00111528")  # letters printed much as a digit
LIKE_DIGIT = "0-9OoIl|SZB"
# The UK's postcode areas (Royal Mail), and the Crown Dependencies'.
_AREA_NAMES = """
AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH
EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M
ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST
SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
"""
AREAS = frozenset(_AREA_NAMES.split())
# A postcode as OCR may read it, at the end of a line (as it ends an address): the area's letters, a
# district whose first character is a digit or an O, I or l, a space, then the same for the inward
# code's digit and its two letters.
_POSTCODE_READ = re.compile(
    r"(?<![\w@.-])([A-Z]{1,2})([0-9OoIl|][0-9A-Z]?) ([0-9OoIl|])([A-Z]{2})(?=[.,]?[ \t]*$)", re.M
)
_PHONE_READ = re.compile(rf"(?:\+44 ?|[0O])[{LIKE_DIGIT} ]{{8,14}}")
_DATE_READ = re.compile(
    rf"[{LIKE_DIGIT}]{{1,2}}\s*[/.\-]\s*[{LIKE_DIGIT}]{{1,2}}\s*[/.\-]\s*(?:[{LIKE_DIGIT}]{{4}}|[{LIKE_DIGIT}]{{2}})"
)
_EMAIL_READ = re.compile(r"[a-z0-9._%+|-]+@[a-z0-9|-]+(?:\.[a-z0-9|-]+)+")
_REFERENCE_READ = re.compile(rf"\b([A-Z]{{2}})-([{LIKE_DIGIT}]{{4}})-([{LIKE_DIGIT}]{{4,6}})\b")

Change = tuple[str, str, str]  # (what OCR read, what it was taken as, the kind of value: "postcode"...)


def in_text(text: str) -> tuple[str, list[Change]]:
    """A text answer with the postcodes, phone-number lines and e-mail addresses in it put right."""
    changes: list[Change] = []
    text = _POSTCODE_READ.sub(lambda m: _noted(m.group(0), _postcode(m), "postcode", changes), text)
    lines = [_noted(line, _phone(line), "phone number", changes) for line in text.split("\n")]
    text = _EMAIL_READ.sub(
        lambda m: _noted(m.group(0), m.group(0).replace("|", "l"), "e-mail address", changes), "\n".join(lines)
    )
    return text, changes


def in_date(text: str) -> tuple[str, list[Change]]:
    """A date field's answer put right, when as read it is no date and with the confusions undone it is one."""
    if parse_uk_date(text) is not None or not _DATE_READ.fullmatch(text.strip()):
        return text, []
    fixed = text.strip().translate(DIGITS)
    if parse_uk_date(fixed) is None:
        return text, []
    return fixed, [(text.strip(), fixed, "date")]


def reference(text: str, prefixes: set[str]) -> tuple[str | None, list[Change]]:
    """The first case reference with one of `prefixes` in text OCR read, digits put right."""
    for m in _REFERENCE_READ.finditer(text):
        if m.group(1) in prefixes:
            fixed = f"{m.group(1)}-{m.group(2).translate(DIGITS)}-{m.group(3).translate(DIGITS)}"
            return fixed, [(m.group(0), fixed, "case reference")] if fixed != m.group(0) else []
    return None, []


def _postcode(m: re.Match) -> str:
    """The postcode OCR read, its digits' places put right, or as read unless it is then certain."""
    area, district, digit, letters = m.groups()
    fixed = f"{area}{district[0].translate(DIGITS)}{district[1:]} {digit.translate(DIGITS)}{letters}"
    read_as_digits = sum(c.isdigit() for c in district[0] + digit)
    if area in AREAS and read_as_digits >= 1 and POSTCODE.fullmatch(fixed):
        return fixed
    return m.group(0)


def _phone(line: str) -> str:
    """A line that is only a UK phone number (10 or 11 digits, starting 0 or +44), digits put right;
    any other line as it was. Half its digits or more must have been read as digits."""
    stripped = line.strip()
    if not _PHONE_READ.fullmatch(stripped):
        return line
    plus = stripped.startswith("+44")
    fixed = "+44" + stripped[3:].translate(DIGITS) if plus else stripped.translate(DIGITS)
    digits = sum(c.isdigit() for c in fixed)
    national = digits - 1 if plus else digits  # +44 stands for the leading 0
    if not 10 <= national <= 11 or sum(c.isdigit() for c in stripped) < 0.5 * digits:
        return line
    return line.replace(stripped, fixed)


def _noted(was: str, now: str, kind: str, changes: list[Change]) -> str:
    if now != was:
        changes.append((was.strip(), now.strip(), kind))
    return now
