"""Finding a child's or family's identifying details in text, for forms that must carry none.

North Tyneside's Appendix A and the early-stage records carry no child or family details. Every
channel (web, API, e-mail, upload) checks their free-text answers here and refuses what it finds,
naming it: a child's or family member's name, a date of birth or an age, an address or postcode, an
NHS number (ten digits whose check digit is right), a school together with a class or year group.
It leaves alone what a practitioner must write: agencies, job titles, professionals named with
their role, meeting dates, phone numbers and e-mail addresses.

Names are recognised from the first-name lists that Faker (MIT) ships for the languages most spoken
in England, and from the words around them (child, son, aged, Mum...), never by a guess alone: a
capitalised word is a person's name only when the list or its context says so. A professional is
recognised by a role or title next to their name; a name without one is refused, and the message
says how to write it. The bench (`make bench`) reports recall and false refusals on a labelled set.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from functools import cache

# Locales whose first names Faker ships, for the languages most spoken in England.
_LOCALES = [
    "en_GB",
    "en_US",
    "en_IE",
    "en_IN",
    "en_NZ",
    "en_AU",
    "pl_PL",
    "ro_RO",
    "it_IT",
    "pt_PT",
    "pt_BR",
    "es_ES",
    "fr_FR",
    "de_DE",
    "tr_TR",
    "ar_AA",
    "uk_UA",
    "lt_LT",
    "bg_BG",
    "yo_NG",
    "zu_ZA",
    "tw_GH",
    "bn_BD",
    "ur_PK",
    "fa_IR",
]
# First names that are also everyday words in a practitioner's text (months, seasons, verbs).
_COMMON_WORDS = {
    "April", "August", "June", "May", "Summer", "Autumn", "Winter", "Spring", "Will", "Mark", "Bill", "Hope",
    "Faith", "Joy", "Chase", "Don", "Art", "Les", "Page", "Early", "Christian", "Justice", "Sky", "Star",
    "Duty", "Ad", "Son", "Carer", "Nurse", "Head", "Case", "Child", "Police", "India", "China", "Jordan",
    "Paris", "Guy", "Dean", "Rich", "Sunny", "Precious", "Sonny", "Major", "Lord", "Miles", "Dale", "Glen",
    "Heath", "Cliff", "Brook", "Lane", "Gay", "Patience", "Harmony", "Liberty", "Trinity", "Kirk", "Vale",
}  # fmt: skip
_ROLE = (
    r"social worker|SW|team manager|manager|service manager|head of service|head teacher|headteacher|head|"
    r"teacher|nurse|named nurse|school nurse|health visitor|HV|midwife|GP|doctor|paediatrician|consultant|"
    r"lead|safeguarding lead|DSL|designated|SENCO|officer|practitioner|worker|chair|director|"
    r"assistant director|coordinator|co-ordinator|IRO|reviewing officer|therapist|psychologist|"
    r"detective|sergeant|constable|inspector|solicitor|advocate|supervisor|principal|governor|"
    r"safeguarding|from [A-Z]|at the|of the|,? (?:the|our|their|a) [a-z]+ (?:lead|manager|worker|officer)"
)
# Words that may stand between a name and its role ("Sam Lee, the duty social worker").
_QUALIFIER = (
    r"duty|named|designated|school|team|senior|family|support|link|allocated|lead|safeguarding|community|"
    r"specialist|police|health|early help|youth|mental health|attendance|education welfare|independent|"
    r"conference|MASH|CSC|trust|practice|ward|hospital|deputy|acting|interim|principal|social care"
)
_TITLE = r"(?:Dr|DS|DC|PC|DI|DCI|PCSO|Sgt|Insp|Cllr|Prof|Nurse|Sister)\.?"
_FAMILY_TITLE = r"(?:Mr|Mrs|Ms|Miss|Master|Mx)\.?"
_INSTITUTION = r"(?:School|Primary|Academy|College|Hospital|Surgery|Centre|Center|Trust|House|Nursery|Practice|Church|Infants?|Juniors?|High|Middle|First|CE|C of E|RC|Court|Road|Street|Unit|Team|Hub|Service|Council|Park|Hall)"
_BEFORE_INSTITUTION = r"(?:St|St\.|Saint|King|Queen|Sir|Bishop|Lady|Prince|Princess|Cardinal|Pope)"
_CHILD_WORDS = (
    r"child|children|son|daughter|boy|girl|baby|infant|toddler|sibling|siblings|brother|sister|twins?|"
    r"pupil|young person|YP|grandson|granddaughter|nephew|niece|step-?son|step-?daughter|"
    r"mum|mother|dad|father|step-?dad|step-?mum|nan|nana|grandmother|grandfather|grandad|aunt|auntie|uncle|"
    r"partner|carer|parents?"
)

# Words directly followed by a name in practitioners' writing ("baby Amira", "brother Liam").
_NAMING_WORDS = {
    "baby",
    "babies",
    "son",
    "daughter",
    "brother",
    "sister",
    "siblings",
    "sibling",
    "twins",
    "pupil",
    "mum",
    "dad",
    "nan",
}
_NHS = re.compile(r"(?<![\d-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d-])")
POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})\b")  # also parsers.ocr_shapes
_STREET = re.compile(
    r"\b(?:Flat \d+[A-Za-z]?,? )?\d{1,4}[A-Za-z]?,? (?:[A-Z][a-z'’]+ ){1,3}"
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Close|Drive|Crescent|Way|Court|Gardens|Terrace|Place|Grove|"
    r"View|Walk|Square|Mews|Row|Hill|Green|Park|Kingsway|Parade|Rise|Vale)\b"
    r"|\b\d{1,4} (?:Kingsway|Broadway|Highway)\b"
)
_DOB = re.compile(
    r"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|born (?:on|in)?\s*\d|born \d{4}|born (?:on )?\d{1,2}(?:st|nd|rd|th)? [A-Z][a-z]+)",
    re.I,
)
_AGE = re.compile(
    r"\b(?:aged?|age:)\s*\d{1,2}\b|\b\d{1,2}[- ](?:years?|yrs?|months?|weeks?)[- ]old\b|\b\d{1,2} ?(?:yo|y/o)\b|"
    r"\b(?:is|was|turned|turns) (?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen)\b(?! (?:days?|weeks?|times?|referrals?|visits?|hours?|minutes?|of|percent|%))"
    r"|\(\d{1,2}\)|, \d{1,2},",
    re.I,
)
_CLASS = re.compile(
    r"\b(?:Year|Yr|Y)\s?\d{1,2}\b|\bClass \d?[A-Z0-9]{1,3}\b|\breception class\b|\bin reception\b", re.I
)
_SCHOOL = re.compile(
    r"\b(?:[A-Z][a-z'’]+ ){1,4}(?:Primary|Academy|School|College|High|Nursery|Infants|Juniors|First|Middle)\b"
)
_LABELLED = re.compile(r"\b(?:child'?s name|name of (?:the )?child|mother|father|mum|dad|carer)\s*[:\-]\s*[A-Z]", re.I)
_NAMEISH = re.compile(r"\b[A-Z][a-zà-öø-ÿ'’]+(?:-[A-Z][a-zà-öø-ÿ'’]+)?\b")
_CHILD_THEN_NAME = re.compile(
    rf"\b(?i:{_CHILD_WORDS})\b([,:]?\s*(?:\((?=[A-Z]))?(?:is called |called |named |is )?)([A-Z][a-zà-öø-ÿ'’-]+)",
)


@cache
def first_names() -> frozenset[str]:
    """First names from Faker's person providers, less those that are everyday words."""
    names: set[str] = set()
    for locale in _LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:
            continue
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            value = getattr(provider, attr, None) or ()
            names.update(value.keys() if isinstance(value, dict) else value)
    return frozenset(n for n in names if n.isalpha() or "-" in n) - _COMMON_WORDS


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus 11 check digit is right."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _is_professional(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 40) : start], text[end : end + 60]
    if re.search(rf"{_TITLE}\s*$", before):
        return True
    if re.search(rf"\b(?:{_ROLE})\s*,?\s*$", before, re.I) and not re.search(
        rf"\b(?:{_CHILD_WORDS})\s*,?\s*$", before, re.I
    ):
        return True
    after_name = re.sub(r"^\s*[A-Z][a-z'’-]+(?=\W)", "", after)  # a surname
    role_after = (
        rf"\s*(?:,\s*|\(\s*|\s+-\s+|\s+)(?:the |our |their |a |an |my )?(?:(?:{_QUALIFIER}) ){{0,3}}(?:{_ROLE})\b"
    )
    from_agency = r"\s+(?:from|at|of)\s+(?:the\s+)?[A-Z]"
    return bool(re.match(role_after, after_name, re.I) or re.match(from_agency, after_name))


def _is_institution(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 12) : start], text[end : end + 40]
    if re.search(rf"\b{_BEFORE_INSTITUTION}\s*$", before):
        return True
    return bool(re.match(rf"(?:'s)?(?: [A-Z][a-z'’]+){{0,2}} {_INSTITUTION}\b", after))


def _name(text: str) -> str | None:
    """A child's or family member's name: from the first-name list, or after a word about a child."""
    names = first_names()
    for match in _CHILD_THEN_NAME.finditer(text):
        word = re.sub(r"['’]s?$", "", match.group(2))
        # "the child, Kacper" or "son called Kacper" name someone; "Child Protection" does not.
        lead = match.group(0).split()[0].lower().rstrip(",:")
        named = match.group(1).strip() not in ("", "is") or lead in _NAMING_WORDS
        candidate = word in names or (named and word not in _COMMON_WORDS and not _is_institution(text, *match.span(2)))
        if candidate and not _is_professional(text, *match.span(2)):
            return word
    for match in re.finditer(rf"\b{_FAMILY_TITLE}\s+([A-Z][a-z'’-]+)", text):
        if not _is_professional(text, match.start(), match.end()):
            return match.group(0)
    for match in _NAMEISH.finditer(text):
        word = re.sub(r"['’]s?$", "", match.group(0))  # Noah's -> Noah
        plain = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()  # Zoë -> Zoe
        if plain in names:
            word = plain
        parts = word.split("-")
        if word not in names and not all(p in names for p in parts):
            continue
        if _is_institution(text, match.start(), match.end()):
            continue
        possessive = match.group(0) != word  # "Aaliyah's health visitor": the role is the child's, not hers
        if not possessive and _is_professional(text, match.start(), match.end()):
            continue
        return word
    return None


def find(text: str) -> str | None:
    """What identifying detail the text holds, in words for the person who wrote it, or None."""
    if not text:
        return None
    for match in _NHS.finditer(text):
        if nhs_number_valid("".join(match.groups())):
            return "an NHS number"
    if _DOB.search(text):
        return "a date of birth"
    if POSTCODE.search(text):
        return f"a postcode ({POSTCODE.search(text).group(0)})"
    street = _STREET.search(text)
    if street:
        return f"an address ({street.group(0).strip()})"
    if _LABELLED.search(text):
        return "a child's or family member's name"
    if _CLASS.search(text) and _SCHOOL.search(text):
        return "a school with a class or year group"
    name = _name(text)
    if name:
        return f"a name ({name})"
    age = _AGE.search(text)
    if age and re.search(rf"\b(?:{_CHILD_WORDS})\b|\b[A-Z][a-z]+\b", text):
        return "a child's age"
    return None


def message(label: str, found: str) -> str:
    """The error shown on the field, naming what was found and how to put it right."""
    advice = (
        " If this is a professional, give their role beside the name (for example: Sam Lee, duty social worker)."
        if found.startswith("a name")
        else ""
    )
    return (
        f"{label}: this form must not include a child's or family's details, and this answer includes {found}. "
        f"Take it out; the child's record holds it.{advice}"
    )
