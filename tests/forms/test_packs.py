"""Partnership packs: every pack loads, is traceable to its policy, and bad packs fail clearly."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest
import yaml

from forms import PackError, load_registry, registry
from forms.loader import PACKS_DIR
from forms.taxonomy import CATEGORIES

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
POLICIES = Path(__file__).resolve().parents[3] / "shared" / "policies"


def test_five_partnerships_are_loaded():
    assert {p.id for p in registry().packs} == {"north-tyneside", "kirklees", "gloucestershire", "merton", "sscp"}


def test_every_published_and_derived_form_is_present():
    assert set(registry().forms) == {
        "nt-appendix-a",
        "kirklees-appendix-5",
        "kirklees-appendix-3",
        "merton-disagreement-record",
        "merton-outcome-confirmation",
        "gloucestershire-dispute-record",
        "gloucestershire-resolution-group-referral",
        "sscp-outcome-resolution-notice",
        # Stages 1 and 2 (Kirklees steps 1 to 4) tracked where the policy publishes no form for them.
        "nt-early-disagreement",
        "kirklees-early-disagreement",
        "sscp-early-disagreement",
    }


@pytest.mark.parametrize("pack", registry().packs, ids=lambda p: p.id)
def test_every_stage_area_and_role_cites_a_paragraph(pack):
    assert pack.policy_source and pack.immediate_risk.source
    for item in (*pack.stages, *pack.areas, *pack.roles, *pack.sectors):
        assert item.source.strip(), item
    assert all(area.category in CATEGORIES for area in pack.areas)


@pytest.mark.parametrize("pack", registry().packs, ids=lambda p: p.id)
def test_policy_file_exists_beside_the_service(pack):
    if not POLICIES.exists():
        pytest.skip(f"policies not found at {POLICIES}")
    assert (POLICIES / pack.policy_file).is_file()


def test_timescales_are_those_the_policies_give():
    days = {p.id: [(s.id, s.timescale.kind, s.timescale.days) for s in p.stages] for p in registry().packs}
    nt = days["north-tyneside"]
    assert nt == [("1", "working_days", 1), ("2", "working_days", 1)] + [
        (s, "working_days", 5) for s in ("3", "4", "5")
    ]
    assert all(d == 5 for _, kind, d in days["kirklees"] if kind == "working_days")
    assert days["kirklees"][-1] == ("7", "none", None)
    assert days["kirklees"][5] == ("6", "without_delay", None)  # "referred urgently": no number of days
    assert days["merton"][:2] == [("1", "working_days", 2), ("2", "working_days", 1)]
    assert days["merton"][3] == ("4", "without_delay", None)
    assert days["gloucestershire"][1] == ("2", "without_delay", None)
    # The SSCP briefing defers its stage detail to the GM policy, which is not included.
    assert {kind for _, kind, _ in days["sscp"]} == {"none"}


def test_kirklees_immediate_risk_route_is_the_duty_and_advice_line():
    numbers = [phone.number for phone in registry().pack("kirklees").immediate_risk.phones]
    assert numbers == ["01484 414960", "999"]


def test_north_tyneside_appendix_a_asks_for_no_child_details():
    spec = registry().form("nt-appendix-a")
    assert not spec.carries_child_details
    assert not any(f.child_detail for f in spec.fields)
    assert spec.stages == ("3", "4", "5")


def test_kirklees_appendix_5_has_every_box_of_the_appendix():
    spec = registry().form("kirklees-appendix-5")
    labels = {f.label for f in spec.fields}
    for label in (
        "Child/Family's name",
        "D.O.B.",
        "Address",
        "Agency Initiating Escalation",
        "Date of initial escalation",
        "Stage of escalation",
        "Details of the professional difference and outcome sought",
        "ADDITIONAL COMMENTS (including any learning identified)",
        "Signature",
        "Designation",
    ):
        assert label in labels
    assert [c.label for c in spec.field("nature").choices][-1] == "Other (please state)"
    assert [c.label for c in spec.field("actions").columns] == ["Actions to be taken", "By Whom", "Completion date"]
    assert [s.title for s in spec.sections][2:4] == ["Matter escalated by:", "Matter escalated to:"]


def test_kirklees_appendix_3_rows_are_the_appendix_columns():
    columns = registry().form("kirklees-appendix-3").field("rows").columns
    assert [c.label for c in columns] == [
        "Date of meeting",
        "Family name, or identifying factors.",
        "CP Chair",
        "Agency",
        "Name of agency Rep",
        "Reason for escalation",
    ]


def test_derived_forms_say_so_and_cite_their_paragraph():
    derived = [f for f in registry().forms.values() if f.derived]
    assert {f.partnership for f in derived} == {"merton", "gloucestershire", "sscp", "north-tyneside", "kirklees"}
    for spec in derived:
        assert "derived" in spec.description and spec.source


def test_no_real_email_address_in_packs_or_samples():
    root = PACKS_DIR.parent.parent
    for path in [*PACKS_DIR.rglob("*.yaml"), *PACKS_DIR.rglob("*.csv"), *(root / "samples").rglob("*.json")]:
        for address in EMAIL.findall(path.read_text(encoding="utf-8")):
            assert address.lower().endswith(".example"), f"{path}: {address}"


# --- bad packs fail at load, naming the file and the key -------------------------------------


@pytest.fixture
def pack_copy(tmp_path):
    target = tmp_path / "packs"
    shutil.copytree(PACKS_DIR, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _add_follow_up(pack: dict) -> None:
    """A follow-up quoting the pack's own policy (its first stage's words), on a pack with no conference form."""
    words = pack["stages"][0]["quote"][0]
    pack["conference_follow_up"] = {
        "response": {"kind": "working_days", "days": 5, "words": words},
        "source": pack["stages"][0]["source"],
        "quote": words,
        "chasers": {"count": 1, "reading": "a test's reading"},
    }


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        ("kirklees/pack.yaml", lambda d: d["stages"][0]["timescale"].pop("days"), "stages.0.timescale.days"),
        ("kirklees/pack.yaml", lambda d: d["areas"][0].update(category="bullying"), "areas.0.category"),
        ("kirklees/pack.yaml", lambda d: d["stages"][4].update(form="no-such-form"), "stages.4.form"),
        ("kirklees/pack.yaml", lambda d: d.update(colour="red"), "colour: Unknown field"),
        ("merton/pack.yaml", lambda d: d["immediate_risk"]["phones"][0].update(number="call us"), "phones.0.number"),
        (
            "north-tyneside/forms/nt-appendix-a.yaml",
            lambda d: d["sections"][0]["fields"][0].update(type="signature"),
            "sections.0.fields.0.type",
        ),
        (
            "north-tyneside/forms/nt-appendix-a.yaml",
            lambda d: d["sections"][0]["fields"][0].update(child_detail=True),
            "carries_child_details",
        ),
        ("kirklees/forms/kirklees-appendix-5.yaml", lambda d: d.update(stages=["9"]), "stages.0"),
        ("kirklees/forms/kirklees-appendix-5.yaml", lambda d: d["sections"][1]["fields"][0].pop("choices"), "choices"),
        ("sscp/forms/sscp-outcome-resolution-notice.yaml", lambda d: d.pop("description"), "description"),
        # A conference form's response time and chasers are declared, with the policy's own words.
        ("kirklees/pack.yaml", lambda d: d.pop("conference_follow_up"), "conference_follow_up: the pack has"),
        (
            "kirklees/pack.yaml",
            lambda d: d["conference_follow_up"]["response"].update(words="within 10 working days"),
            "conference_follow_up.response.words: not found in the policy",
        ),
        (
            "kirklees/pack.yaml",
            lambda d: d["conference_follow_up"].update(quote="respond within 10 working days"),
            "conference_follow_up.quote: not found in the policy",
        ),
        (
            "kirklees/pack.yaml",
            lambda d: d["conference_follow_up"]["chasers"].pop("reading"),
            "conference_follow_up.chasers.reading",
        ),
        (
            "kirklees/pack.yaml",
            lambda d: d["conference_follow_up"].update(response={"kind": "without_delay", "words": "urgently"}),
            "conference_follow_up.response",
        ),
        (
            "merton/pack.yaml",
            _add_follow_up,
            "conference_follow_up: the pack has no conference escalation form",
        ),
    ],
)
def test_invalid_pack_names_file_and_key(pack_copy, file, change, expected):
    _edit(pack_copy / file, change)
    with pytest.raises(PackError) as error:
        load_registry(pack_copy)
    assert file in str(error.value).replace("\\", "/")
    assert expected in str(error.value)


def test_yaml_syntax_error_names_the_file(pack_copy):
    path = pack_copy / "merton" / "pack.yaml"
    path.write_text("id: merton\nstages: [\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"merton/pack.yaml: not valid YAML"):
        load_registry(pack_copy)


def test_new_partnership_is_a_new_data_pack(pack_copy):
    """Copying a pack folder under a new id and prefix adds a partnership with no code."""
    new = pack_copy / "example-shire"
    shutil.copytree(pack_copy / "merton", new)
    _edit(new / "pack.yaml", lambda d: d.update(id="example-shire", name="Example Shire SCP", reference_prefix="EX"))
    for form in (new / "forms").glob("*.yaml"):
        renamed = form.with_name(form.name.replace("merton", "example-shire"))
        form.rename(renamed)
        _edit(renamed, lambda d, n=renamed.stem: d.update(id=n))
    _edit(
        new / "pack.yaml",
        lambda d: [
            s.update(form=s["form"].replace("merton", "example-shire")) for s in [*d["stages"], d["closing_needs"]]
        ],
    )
    _edit(
        new / "pack.yaml",
        lambda d: [
            r["when"].update(forms=[f.replace("merton", "example-shire") for f in r["when"]["forms"]])
            for r in d["routing"]
            if "forms" in r["when"]
        ],
    )
    loaded = load_registry(pack_copy)
    assert loaded.pack("example-shire").reference_prefix == "EX"
    assert "example-shire-disagreement-record" in loaded.forms


def test_published_appendices_read_as_the_policy_prints_them():
    nt = registry().form("nt-appendix-a")
    appendix = [f.label for s in nt.sections if not s.printed for f in s.fields]
    assert appendix == [
        "Name",
        "Role",
        "Agency",
        "Contact details",
        "Brief description of your worry about a decision made",
        "Brief description of what has been done to resolve the issue",
        "Brief description of the outcome of these actions",
        "Section A",
        "Section B",
    ]
    service = [s for s in nt.sections if s.printed]
    assert len(service) == 1 and service[0].title.startswith("Asked by this service, not part of Appendix A")
    assert nt.sections[-1] is service[0]  # set apart, after the appendix
    a3 = registry().form("kirklees-appendix-3")
    assert next(f for f in a3.fields if f.type == "rows").blank_rows == 7
    assert any("provided below" in text for text in a3.closing)
    assert any("Child Protection Conference process" in text and "Please refer" in text for text in a3.instructions)


def test_next_stage_follows_the_policys_order():
    pack = registry().pack("kirklees")
    ids = [s.id for s in pack.stages]
    for here, following in itertools.pairwise(ids):
        assert pack.next_stage(here).id == following
    assert pack.next_stage(ids[-1]) is None
    assert pack.next_stage(None) is None
