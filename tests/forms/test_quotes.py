"""Every rule in every pack quotes its policy, and the quotes are found in the policy text."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from forms import PackError, load_registry, quotes, registry
from forms.loader import PACKS_DIR
from forms.model import Pack

PACKS = registry().packs


def _rules_with_quotes(pack: Pack):
    return quotes.rules(pack)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_every_rule_quotes_words_found_in_its_policy(pack):
    text = quotes.policy_text(pack.policy_file)
    kinds = {rule.kind for rule in quotes.rules(pack)}
    assert {"Emergency route", "Stage", "Notification", "Role", "Form"} <= kinds
    for rule in quotes.rules(pack):
        assert rule.quote, f"{pack.id}: {rule.kind} '{rule.name}' quotes nothing"
        assert rule.source.strip(), f"{pack.id}: {rule.kind} '{rule.name}' cites no paragraph"
        for words in rule.quote:
            assert quotes.normalise(words) in text, f"{pack.id}: {rule.kind} '{rule.name}': {words!r} not in the policy"


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_every_stage_and_notification_named_by_a_stage_is_quoted(pack):
    for stage in pack.stages:
        assert stage.quote, stage.id
        if stage.notifies:
            routed = [r for r in pack.routing if r["to"]["role"] == stage.notifies]
            assert routed or stage.notifies, stage.id


def test_normalising_forgives_spacing_quotes_dashes_and_markup_only():
    policy = quotes.normalise("Stage 1 – Discussion   between\npractitioners’ views (**timeframe 2 Working days**)")
    assert quotes.normalise("Stage 1 - Discussion between practitioners' views (timeframe 2 Working days)") in policy
    assert quotes.normalise("Stage 1 — Discussion between practitioners") in policy
    assert quotes.normalise("Stage 2 - Discussion") not in policy
    assert quotes.normalise("discussion between practitioners") not in policy  # case is the policy's own


@pytest.fixture
def packs_copy(tmp_path):
    shutil.copytree(PACKS_DIR, tmp_path / "packs")
    return tmp_path / "packs"


def _edit(folder, change):
    path = folder / "pack.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["stages"][0].pop("quote"), "stages.0.quote"),
        (
            lambda d: d["stages"][2].update(quote="Stage 3 – Escalate straight to the Executive"),
            "not found in the policy text",
        ),
        (lambda d: d["routing"][0].update(quote=[]), "routing.0.quote"),
        (lambda d: d["roles"][0].update(quote="Business Manager, NTSCP, within 2 days"), "roles.0.quote"),
        (lambda d: d["immediate_risk"].pop("quote"), "immediate_risk.quote"),
        (lambda d: d.update(skip_allowed_when_immediate_risk=True), "skip_allowed_when_immediate_risk"),
    ],
)
def test_a_pack_with_a_rule_not_quoted_from_its_policy_does_not_load(packs_copy, change, expected):
    _edit(packs_copy / "north-tyneside", change)
    with pytest.raises(PackError, match=expected.replace("(", r"\\(")):
        load_registry(packs_copy)


def test_the_emergency_route_shows_a_number_the_policy_lacks_only_as_the_service_s(packs_copy):
    """SSCP's briefing names no emergency number: its 999 is the service's, said so in `reading`;
    put back in the words shown as the briefing's, or left unexplained, the pack does not load."""
    sscp = next(p for p in PACKS if p.id == "sscp")
    assert "999" not in quotes.policy_text(sscp.policy_file) and "999" not in sscp.immediate_risk.text
    assert "names no emergency route" in sscp.immediate_risk.reading and "999" in sscp.immediate_risk.reading
    kirklees = next(p for p in PACKS if p.id == "kirklees")  # the protocol gives 999 and its own line
    assert "999" in kirklees.immediate_risk.text and kirklees.immediate_risk.reading is None

    def claim(d):
        d["immediate_risk"]["text"] += " If a child is in immediate danger, call 999."

    _edit(packs_copy / "sscp", claim)
    with pytest.raises(PackError, match=r"sscp/pack\.yaml: immediate_risk\.text: 999 is not in the policy"):
        load_registry(packs_copy)
    _edit(packs_copy / "sscp", lambda d: d["immediate_risk"].update(text=sscp.immediate_risk.text))
    _edit(packs_copy / "sscp", lambda d: d["immediate_risk"].pop("reading"))
    with pytest.raises(PackError, match=r"immediate_risk\.phones\.0: 999 is not in the policy"):
        load_registry(packs_copy)


@pytest.mark.parametrize("pack_id", ["north-tyneside", "gloucestershire", "merton", "sscp"])
def test_where_the_policy_gives_no_number_the_route_s_words_are_the_policy_s(pack_id, packs_copy):
    """The banner shows `text` as the policy's words and 999 as the service's reading: each sentence of
    `text` is the policy's own; an instruction it does not give (Merton: "do not wait") is refused there."""
    pack = next(p for p in PACKS if p.id == pack_id)
    policy = quotes.policy_text(pack.policy_file)
    for sentence in re.split(r"(?<=[.!?])\s+", pack.immediate_risk.text):
        assert quotes.normalise(sentence.rstrip(".")) in policy, sentence

    def instruct(d):
        d["immediate_risk"]["text"] += " Act to protect the child."

    _edit(packs_copy / pack_id, instruct)
    with pytest.raises(PackError, match=rf"{pack_id}/pack\.yaml: immediate_risk\.text: not the policy's words"):
        load_registry(packs_copy)


def test_a_form_whose_use_is_not_quoted_does_not_load(packs_copy):
    path = packs_copy / "north-tyneside" / "forms" / "nt-appendix-a.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["quote"] = "It should be submitted at stage 1 of the policy process"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError, match=r"nt-appendix-a\.yaml: form\.quote: not found"):
        load_registry(packs_copy)


def test_a_pack_whose_policy_text_is_missing_does_not_load(packs_copy, monkeypatch, tmp_path):
    monkeypatch.setenv("POLICIES_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(PackError, match="POLICIES_DIR"):
        load_registry(packs_copy)


def test_no_pack_lets_a_stage_be_skipped_except_merton_practitioner_discussion():
    bypasses = {(p.id, b.stage) for p in PACKS for b in p.bypasses}
    assert bypasses == {("merton", "1")}


def test_readings_follow_the_policys_words():
    nt = registry().pack("north-tyneside")
    assert nt.stage("3").timescale.words == "within 5 days"
    described = nt.stage("3").timescale.describe()
    assert described.index("within 5 days") < described.index("5 working days")
    kirklees6 = registry().pack("kirklees").stage("6").timescale
    assert kirklees6.words == "referred urgently" and kirklees6.kind == "without_delay"
    merton4 = registry().pack("merton").stage("4").timescale
    assert merton4.words.startswith("as soon as possible")
