"""One normaliser for text from every channel: the web journey, the API, parsed documents and
e-mails (through the validation schema, forms/schema.py) and the directory import.

- Unicode NFC, so the same words typed on different systems are the same text;
- NUL and every other control character removed, except tab and line feed (a carriage return, alone
  or before a line feed, becomes a line feed);
- a lone surrogate (half of a UTF-16 pair, which no database or document can store) refused with a
  reason, never silently changed;
- every field's maximum length from its spec (`limit`): names, roles and agencies are short, free
  text is bounded even where the spec gives no number.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forms.model import Field

# Where a spec gives no max_length: a one-line answer (a name, a role, an agency) and free text.
DEFAULT_LIMITS = {"text": 200, "textarea": 10_000}
SHORT = 200  # the directory's names, roles, agencies and titles


class TextRefused(ValueError):
    """Text that cannot be taken as it is; the message says why, in words for the person who sent it."""


def limit(field: Field) -> int:
    """The most characters an answer to `field` may have."""
    return field.max_length or DEFAULT_LIMITS.get(field.type, DEFAULT_LIMITS["textarea"])


def text(value: str, *, one_line: bool = False) -> str:
    """`value` normalised; one_line also turns tabs and line breaks into spaces (a header, a name)."""
    if _SURROGATE.search(value):
        raise TextRefused("contains a character that is not text (half of a UTF-16 pair); type or paste it again")
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    value = _CONTROL.sub("", value)
    return _BREAK.sub(" ", value) if one_line else value


# Unicode's control characters (category Cc: C0, DEL and C1) but tab and line feed; lone surrogates.
# Regular expressions, not a loop over characters: a 40 MB body is read in C, not character by character.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BREAK = re.compile("[\t\n]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def tree(value, path: str = ""):
    """Every string in a JSON-like value (keys too) normalised; TextRefused names where it failed."""
    if isinstance(value, str):
        try:
            return text(value)
        except TextRefused as exc:
            raise TextRefused(f"{path or 'the request'}: {exc}") from None
    if isinstance(value, dict):
        return {tree(k, path or "a field name"): tree(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [tree(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
