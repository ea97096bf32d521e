"""Routing per partnership: who receives each submission, and the rule that chose them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from forms.loader import PACKS_DIR, PackError, load_pack
from service.casework import cases, directory
from service.casework.models import Case, OutboxMessage, RoutingDecision
from tests.conftest import sample


def routed(outcome) -> list[tuple[str, str | None]]:
    return [(r.rule_id, r.email) for r in outcome.routes]


def test_north_tyneside_stage_3_and_later_notify_the_ntscp(db_session):
    for stage in ("3", "4", "5"):
        outcome = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a") | {"stage": stage}, channel="web")
        assert routed(outcome) == [("ntscp-notified-from-stage-3", "business.manager@ntscp.example")]
    # The same rule is stored with the decision.
    stored = db_session.scalars(select(RoutingDecision.rule_id)).all()
    assert stored == ["ntscp-notified-from-stage-3"] * 3


def test_kirklees_steps_5_and_6_go_to_the_business_unit(db_session):
    for stage in ("5", "6"):
        outcome = cases.submit(
            db_session, "kirklees-appendix-5", sample("kirklees-appendix-5") | {"stage": stage}, channel="web"
        )
        assert routed(outcome) == [("kscp-business-unit-steps-5-6", "business.unit@kscp.example")]


def test_kirklees_appendix_3_rows_go_to_each_agency_lead_and_the_cp_review_unit(db_session):
    outcome = cases.submit(db_session, "kirklees-appendix-3", sample("kirklees-appendix-3"), channel="web")
    assert routed(outcome) == [
        ("conference-agency-safeguarding-lead", "dsl@greenfield-high.example"),
        ("conference-agency-safeguarding-lead", "safeguarding@amhs.example"),
        ("conference-agency-safeguarding-lead", "safeguarding.lead@wyp.example"),
        ("conference-cp-review-unit", "cpru@kscp.example"),
    ]
    assert [r.agency for r in outcome.routes[:3]] == [
        "Greenfield High School",
        "Adult Mental Health Service",
        "West Yorkshire Police",
    ]
    assert outcome.stage is None  # a conference record has no escalation stage
    messages = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.to_email for m in messages] == [e for _, e in routed(outcome)]


def test_an_appendix_3_row_agency_is_matched_ignoring_case_and_apostrophes(db_session):
    data = sample("kirklees-appendix-3")
    data["rows"] = [data["rows"][0] | {"agency": "  greenfield   HIGH school "}]
    outcome = cases.submit(db_session, "kirklees-appendix-3", data, channel="web")
    assert routed(outcome)[0] == ("conference-agency-safeguarding-lead", "dsl@greenfield-high.example")


def test_unknown_agency_is_refused_and_nothing_stored(db_session):
    data = sample("kirklees-appendix-3")
    data["rows"][1]["agency"] = "Imaginary Agency Trust"
    with pytest.raises(cases.UnknownAgency, match=r"'Imaginary Agency Trust'.*KSCP directory"):
        cases.submit(db_session, "kirklees-appendix-3", data, channel="web")
    assert db_session.scalar(select(func.count()).select_from(Case)) == 0
    # No notification without an address (the sender's receipt still goes: tests/web/test_receipts.py).
    notifications = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "notification")
    assert db_session.scalar(notifications) == 0


def test_gloucestershire_stage_4_goes_to_the_resolution_group(db_session):
    outcome = cases.submit(
        db_session,
        "gloucestershire-resolution-group-referral",
        sample("gloucestershire-resolution-group-referral"),
        channel="web",
    )
    assert outcome.stage == "4"
    assert {rule for rule, _ in routed(outcome)} == {"gscp-resolution-group-stage-4"}
    assert len(outcome.routes) == 5  # the five members the policy lists
    assert "business.manager@gscp.example" in {e for _, e in routed(outcome)}
    # Earlier stages are dealt with inside the agencies: no partnership routing.
    early = cases.submit(
        db_session, "gloucestershire-dispute-record", sample("gloucestershire-dispute-record"), channel="web"
    )
    assert early.routes == []
    assert "escalate to Stage 3" in early.next_step.text


@pytest.mark.parametrize(
    ("sector", "email"),
    [
        ("childrens-social-care", "qa.practice.development@merton-csc.example"),
        ("health", "designated.nurse@merton-ccg.example"),
        ("police", "crime.manager@mps-merton.example"),
    ],
)
def test_merton_unresolved_goes_to_the_appendix_b_contact_for_the_sector(db_session, sector, email):
    data = sample("merton-disagreement-record") | {"stage": "3", "receiving_sector": sector}
    outcome = cases.submit(db_session, "merton-disagreement-record", data, channel="web")
    assert routed(outcome) == [
        ("mscb-appendix-b-unresolved", email),
        ("mscb-own-line-manager", "ravi.shah@health.example"),
    ]
    assert outcome.routes[0].phone  # Appendix B prints a number for these roles


def test_merton_education_goes_to_the_assistant_director_and_the_raisers_own_line_manager(db_session):
    data = sample("merton-disagreement-record") | {"stage": "3", "receiving_sector": "education"}
    outcome = cases.submit(db_session, "merton-disagreement-record", data, channel="web")
    # Appendix B's "Immediate Line Manager" is the raiser's own, asked for on the record (§3.10).
    assert routed(outcome) == [
        ("mscb-appendix-b-unresolved", "ad.education@merton-education.example"),
        ("mscb-own-line-manager", "ravi.shah@health.example"),
    ]
    no_address = cases.submit(
        db_session, "merton-disagreement-record", data | {"line_manager_email": ""}, channel="web"
    )
    assert "no e-mail address was given" in no_address.routes[-1].reason


def test_merton_stage_2_goes_to_the_raisers_line_manager_and_stage_4_adds_the_qa_sub_group(db_session):
    first = cases.submit(db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web")
    assert routed(first) == [("mscb-own-line-manager", "ravi.shah@health.example")]
    data = sample("merton-disagreement-record") | {"stage": "4"}
    outcome = cases.submit(db_session, "merton-disagreement-record", data, channel="web")
    assert [rule for rule, _ in routed(outcome)] == [
        "mscb-appendix-b-unresolved",
        "mscb-qa-sub-group-mediation",
        "mscb-own-line-manager",
    ]


def test_merton_written_confirmation_goes_to_both_parties_and_is_needed_to_close(db_session):
    opened = cases.submit(db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web")
    with pytest.raises(
        cases.CaseError,
        match="written confirmation of the agreed outcome is recorded on the case; recording it sends it to both parties",
    ):
        cases.record_outcome(db_session, opened.reference, resolution="Agreed", resolved=True)
    assert cases.get(db_session, opened.reference).status == "open"
    data = sample("merton-outcome-confirmation") | {"stage": "2"}
    confirmed = cases.submit(db_session, "merton-outcome-confirmation", data, channel="web", case=opened.reference)
    parties = [(r.rule_id, r.email) for r in confirmed.routes if r.role == "party"]
    assert parties == [
        ("mscb-confirmation-to-the-raiser", "lan.nguyen@health.example"),
        ("mscb-confirmation-to-the-other-party", "team.manager@merton-csc.example"),
    ]
    sent = {
        m.to_email
        for m in db_session.scalars(select(OutboxMessage).where(OutboxMessage.submission_id == confirmed.submission_id))
    }
    assert {"lan.nguyen@health.example", "team.manager@merton-csc.example"} <= sent
    closed = cases.record_outcome(db_session, opened.reference, resolution="Agreed", resolved=True)
    assert closed.status == "resolved"


def test_sscp_notice_goes_to_the_business_unit_and_stage_5_to_the_independent_chair(db_session):
    notice = cases.submit(
        db_session, "sscp-outcome-resolution-notice", sample("sscp-outcome-resolution-notice"), channel="web"
    )
    assert routed(notice) == [("sscp-outcome-resolution-notice", "business.unit@sscp.example")]
    data = sample("sscp-outcome-resolution-notice") | {"stage": "5", "outcome": "unresolved"}
    later = cases.submit(db_session, "sscp-outcome-resolution-notice", data, channel="web", case=notice.reference)
    assert routed(later) == [
        ("sscp-outcome-resolution-notice", "business.unit@sscp.example"),
        ("sscp-independent-chair", "independent.chair@sscp.example"),
    ]


def test_a_role_nobody_holds_is_recorded_without_an_address(db_session):
    text = directory.export_csv(db_session, "north-tyneside").replace("business-manager", "safeguarding-lead")
    directory.import_csv(db_session, text, partnership="north-tyneside")
    outcome = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web")
    assert routed(outcome) == [("ntscp-notified-from-stage-3", None)]
    assert "nobody in the directory holds this role" in outcome.routes[0].reason
    # No notification without an address (the sender's receipt still goes: tests/web/test_receipts.py).
    notifications = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "notification")
    assert db_session.scalar(notifications) == 0


def _broken_pack(tmp_path: Path, routing: list) -> Path:
    folder = tmp_path / "north-tyneside"
    (folder / "forms").mkdir(parents=True)
    raw = yaml.safe_load((PACKS_DIR / "north-tyneside" / "pack.yaml").read_text(encoding="utf-8"))
    raw["routing"] = [{"quote": "Business Manager, NTSCP"} | rule for rule in routing]
    (folder / "pack.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    for form in (PACKS_DIR / "north-tyneside" / "forms").glob("*.yaml"):
        (folder / "forms" / form.name).write_bytes(form.read_bytes())
    return folder


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"id": "r", "to": {"role": "nobody"}, "source": "x"}, "routing.0.to.role: the pack has no role 'nobody'"),
        (
            {"id": "r", "when": {"stages": ["9"]}, "to": {"role": "business-manager"}, "source": "x"},
            "routing.0.when.stages.0",
        ),
        (
            {"id": "r", "when": {"stages_from": "9"}, "to": {"role": "business-manager"}, "source": "x"},
            "when.stages_from",
        ),
        (
            {"id": "r", "when": {"forms": ["kirklees-appendix-3"]}, "to": {"role": "business-manager"}, "source": "x"},
            "forms.0",
        ),
        ({"id": "r", "to": {"role": "business-manager", "match": "receiving_sector"}, "source": "x"}, "no sectors"),
        ({"id": "r", "to": {"role": "business-manager", "match": "postcode"}, "source": "x"}, "routing.0.to.match"),
        ({"id": "r", "to": {"role": "business-manager"}}, "routing.0.source"),
        ({"id": "r", "when": {"colour": "red"}, "to": {"role": "business-manager"}, "source": "x"}, "when.colour"),
    ],
)
def test_bad_routing_rules_fail_at_load_naming_file_and_key(tmp_path, rule, message):
    folder = _broken_pack(tmp_path, [rule])
    with pytest.raises(PackError) as caught:
        load_pack(folder)
    assert str(folder / "pack.yaml") in str(caught.value)
    assert message in str(caught.value)


def test_routing_rule_ids_are_unique_in_a_pack(tmp_path):
    rule = {"id": "same", "to": {"role": "business-manager"}, "source": "x"}
    with pytest.raises(PackError, match=r"routing\.1\.id: 'same' is used twice"):
        load_pack(_broken_pack(tmp_path, [rule, rule]))
