"""Every rule in a pack quotes its policy: the quotes are checked against the policy's own text.

A rule (a stage, the emergency route, a bypass, a notification, the exclusion, a role, a form's use)
carries `quote:` beside its `source:` paragraph, one sentence or a list of them, copied from the
policy. A pack loads only when every quote is found in the policy text. The comparison forgives what
extraction and typing change and nothing else: runs of whitespace, curly and straight quotes, the
kinds of dash, the bold markers (`**`) and Word bookmarks (`[bookmark: ...]`) of the extracted text.

The policies are the partnerships' published documents, kept outside the project (they name real
people): `POLICIES_DIR` in the environment, else `../shared/policies` beside the project.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from forms.files import read_yaml

ROOT = Path(__file__).resolve().parents[1]

# The rule lists of a pack.yaml whose every item must quote the policy, and the single rules.
RULE_LISTS = {
    "stages": "Stage",
    "routing": "Notification",
    "roles": "Role",
    "bypasses": "Bypass",
}
RULE_KEYS = {"immediate_risk": "Emergency route", "closing_needs": "Closing", "conference_follow_up": "Follow-up"}

_QUOTES = str.maketrans({c: "'" for c in "‘’‚‛′`´"} | {c: '"' for c in "“”„‟″"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u00ad-]+")
_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")
_SPACE = re.compile(r"\s+")


class QuoteError(ValueError):
    """A rule quotes nothing, or quotes words its policy does not contain."""


@dataclass(frozen=True)
class Rule:
    """One rule of a pack, as the 'How this service follows the policy' page lists it."""

    kind: str
    name: str
    source: str
    quote: tuple[str, ...]
    reading: str | None = None


def policies_dir() -> Path:
    return Path(os.environ.get("POLICIES_DIR") or ROOT.parent / "shared" / "policies")


def missing_policies(folder: Path | None = None, packs_dir: Path = ROOT / "forms" / "packs") -> list[str]:
    """The policy files (each pack.yaml's `policy: file:`) not in `folder` (policies_dir()), in pack order."""
    folder = folder or policies_dir()
    files = []
    for path in sorted(packs_dir.glob("*/pack.yaml")):
        policy = read_yaml(path).get("policy")
        if isinstance(policy, dict) and isinstance(policy.get("file"), str):
            files.append(policy["file"])
    return [name for name in files if not (folder / name).is_file()]


def normalise(text: str) -> str:
    """The text as compared: one space for any whitespace, one kind of quote and of dash, no markup."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _BOOKMARK.sub("", text).replace("**", "")
    text = _DASHES.sub("-", text)
    text = re.sub(r"\s*-\s*", " - ", text)
    return _SPACE.sub(" ", text).strip()


@cache
def _policy(path: Path) -> str:
    return normalise(path.read_text(encoding="utf-8"))


def policy_text(file: str) -> str:
    path = policies_dir() / file
    if not path.is_file():
        raise QuoteError(
            f"policy.file: the policy text {path} is not there to check the quotes against "
            "(set POLICIES_DIR to the folder holding the partnerships' policies)"
        )
    return _policy(path)


def as_tuple(quote) -> tuple[str, ...]:
    if quote is None:
        return ()
    return (quote,) if isinstance(quote, str) else tuple(quote)


def check(quote, text: str, where: str) -> tuple[str, ...]:
    """The quote as a tuple; QuoteError naming `where` if it is missing or not in the policy text."""
    quotes = as_tuple(quote)
    if not quotes or not all(isinstance(q, str) and q.strip() for q in quotes):
        raise QuoteError(f"{where}.quote: every rule quotes the policy's own words beside its paragraph")
    for q in quotes:
        if normalise(q) not in text:
            raise QuoteError(f"{where}.quote: not found in the policy text: {q!r}")
    return quotes


def _quote_of(item):
    return item.get("quote") if isinstance(item, dict) else getattr(item, "quote", None)


def check_pack(raw: dict) -> None:
    """Check every rule of a pack.yaml (read as YAML, or as loaded by its schema) against its policy text."""
    text = policy_text(raw["policy"]["file"])
    for key in RULE_LISTS:
        for i, item in enumerate(raw.get(key) or ()):
            check(_quote_of(item), text, f"{key}.{i}")
    for key in RULE_KEYS:
        if raw.get(key):
            check(_quote_of(raw[key]), text, key)
    if raw.get("immediate_risk"):
        check_numbers(raw["immediate_risk"], text)  # the more precise message first
        check_words(raw["immediate_risk"], text)
    if raw.get("conference_follow_up"):
        check_follow_up(raw["conference_follow_up"], text)
    if raw.get("excluded"):
        check(raw.get("excluded_quote"), text, "excluded")


def _get(item, key):
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def check_words(risk, text: str) -> None:
    """A route with a `reading` shows `text` as the policy's words and the reading as the service's:
    each sentence of `text` must then be the policy's own (a closing full stop forgiven)."""
    if not _get(risk, "reading"):
        return
    for sentence in _SENTENCE_END.split(_get(risk, "text") or ""):
        if normalise(sentence).rstrip(".") not in text:
            raise QuoteError(
                f"immediate_risk.text: not the policy's words: {sentence!r}: quote the policy, "
                "or say it in `reading` as the service's"
            )


def check_numbers(risk, text: str) -> None:
    """A number the emergency route shows but the policy does not give is the service's: it must not be
    in `text` (shown as the policy's) and `reading` must name it, so the page says the policy is silent."""
    for i, phone in enumerate(_get(risk, "phones") or ()):
        number = _get(phone, "number")
        if not number or normalise(number) in text:
            continue
        if number in (_get(risk, "text") or ""):
            raise QuoteError(
                f"immediate_risk.text: {number} is not in the policy: put it in `reading`, as the service's"
            )
        if number not in (_get(risk, "reading") or ""):
            raise QuoteError(
                f"immediate_risk.phones.{i}: {number} is not in the policy: `reading` says the policy is silent "
                "and names it as the service's"
            )


def check_follow_up(follow_up, text: str) -> None:
    """The response time's words are the policy's (shown as its words); a chaser quotes it only if it speaks of them."""
    words = _get(_get(follow_up, "response"), "words")
    if words and normalise(words) not in text:
        raise QuoteError(f"conference_follow_up.response.words: not found in the policy text: {words!r}")
    chasers = _get(follow_up, "chasers")
    if _get(chasers, "quote"):
        check(_get(chasers, "quote"), text, "conference_follow_up.chasers")


def check_form(raw: dict, policy_file: str) -> None:
    """A form's use (which stage, who completes it) quotes the policy too."""
    check(raw.get("quote"), policy_text(policy_file), "form")


def _notification_name(pack, rule: dict) -> str:
    when, role = rule.get("when", {}), pack.role_name(rule["to"]["role"])
    if "stages" in when:
        at = " and ".join(pack.stage(s).label for s in when["stages"])
    elif "stages_from" in when:
        at = f"{pack.stage(when['stages_from']).label} onwards"
    elif "forms" in when:
        at = " or ".join(pack.form(f).short_title for f in when["forms"])
    else:
        at = "every record"
    if "areas" in when:
        at += " where the disagreement is about " + " or ".join(pack.area(a).text.lower() for a in when["areas"])
    return f"{role} is told: {at}"


def rules(pack) -> list[Rule]:
    """Every rule of a loaded pack with its quote, in the order the page shows them."""
    risk = pack.immediate_risk
    found = [Rule("Emergency route", "If a child is at immediate risk", risk.source, risk.quote, risk.reading)]
    if pack.excluded:
        found.append(Rule("Exclusion", pack.excluded, pack.excluded_source or "", pack.excluded_quote))
    for stage in pack.stages:
        found.append(Rule("Stage", stage.title, stage.source, stage.quote, stage.timescale.reading))
    for bypass in pack.bypasses:
        found.append(Rule("Bypass", bypass.text, bypass.source, bypass.quote))
    if pack.closing_needs:
        need = pack.closing_needs
        name = f"Closing as resolved: {pack.form(need.form).short_title}"
        found.append(Rule("Closing", name, need.source, need.quote, need.reading))
    if pack.conference_follow_up:
        # The chasers quote nothing (the policy is silent): they are said with the reading they follow.
        follow = pack.conference_follow_up
        name = "The agency's response to a conference escalation, and reminders"
        said = [f"{follow.response.reading}."] if follow.response.reading else []
        reading = " ".join([*said, follow.chasers.describe(follow.days)])
        found.append(Rule("Follow-up", name, follow.source, follow.quote + follow.chasers.quote, reading))
    for rule in pack.routing:
        found.append(Rule("Notification", _notification_name(pack, rule), rule["source"], tuple(rule["quote"])))
    for role in pack.roles:
        found.append(Rule("Role", role.name, role.source, role.quote))
    for form in pack.forms:
        found.append(Rule("Form", form.title, form.source, form.quote))
    return found
