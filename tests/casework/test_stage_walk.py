"""Every stage of every pack, entered by every kind of move, reaches whom the policy names, and only them.

A case is opened at stage 1 with the pack's early-stage record and walked to the last stage, one stage
at a time: by a form where the pack has one for that stage, else by a staff move (workspace) or the
API. Each move writes a routing decision per named role, with its reason, and an e-mail per address.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from forms import registry
from service.casework import cases
from service.casework.models import OutboxMessage, RoutingDecision
from tests.conftest import sample

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)

# Whom each policy names at each stage, written out by hand from the policies (not from the packs).
NAMED = {
    "north-tyneside": {"3": {"business-manager"}, "4": {"business-manager"}, "5": {"business-manager"}},
    "kirklees": {"5": {"business-unit-manager"}, "6": {"business-unit-manager"}},
    "gloucestershire": {"4": {"resolution-group"}, "executive": {"executive-chair"}},
    # Merton: the Appendix B key role, once escalated to, stays a party to the later stages.
    "merton": {
        "3": {"appendix-b-contact"},
        "4": {"appendix-b-contact", "qa-sub-group-chair"},
        "5": {"appendix-b-contact", "independent-chair"},
    },
    "sscp": {"4": {"business-unit"}, "5": {"independent-chair"}},
}
FIRST_FORM = {
    "north-tyneside": "nt-early-disagreement",
    "kirklees": "kirklees-early-disagreement",
    "gloucestershire": "gloucestershire-dispute-record",
    "merton": "merton-disagreement-record",
    "sscp": "sscp-early-disagreement",
}


def _opening(pack_id: str) -> dict:
    spec = registry().form(FIRST_FORM[pack_id])
    data = sample(spec.id) | {spec.field_for("stage").key: "1"}
    if pack_id == "merton":
        data["immediate_risk"] = "no"
    if pack_id == "gloucestershire":
        data["area"] = "information-sharing"  # not a threshold dispute: the MASH is not involved
    return data


def _routed(session, reference: str, stage: str) -> set[str]:
    rows = session.scalars(
        select(RoutingDecision).join(RoutingDecision.case).where(RoutingDecision.stage == stage)
    ).all()
    return {r.role for r in rows if r.case.reference == reference}


@pytest.mark.parametrize("channel", ["form", "workspace", "api"])
@pytest.mark.parametrize("pack_id", sorted(NAMED))
def test_every_stage_reaches_whom_the_policy_names(db_session, pack_id, channel):
    pack = registry().pack(pack_id)
    opened = cases.submit(db_session, FIRST_FORM[pack_id], _opening(pack_id), channel="web", now=NOW)
    assert opened.stage == "1"
    reference = opened.reference
    for index, stage in enumerate(pack.stages):
        now = NOW + dt.timedelta(days=index)
        if index:
            form = pack.form(stage.form) if stage.form else None
            if channel == "form" and form is not None and form.field_for("stage") is not None:
                data = sample(form.id) | {form.field_for("stage").key: stage.id}
                if form.id == "gloucestershire-dispute-record":
                    data["area"] = "information-sharing"
                cases.submit(db_session, form.id, data, channel="web", case=reference, now=now)
            else:
                moved_by = "api" if channel == "api" else "workspace"
                cases.move_stage(db_session, reference, stage.id, channel=moved_by, reason="Not resolved", now=now)
        case = cases.get(db_session, reference)
        assert case.current_stage == stage.id
        assert case.current.entered_on == now.date()  # each stage's clock runs from the day it starts
        expected = set(NAMED[pack_id].get(stage.id, set()))
        if channel == "form" and stage.form == "sscp-outcome-resolution-notice":
            expected.add("business-unit")  # the notice itself keeps the SSCP informed, at any stage it is sent
        if channel == "form" and index and stage.form == "merton-disagreement-record":
            expected.add("line-manager")  # the raiser's own, whose address the record gives (§3.10)
        if channel == "form" and stage.form == "merton-outcome-confirmation":
            expected.add("party")  # the written confirmation goes to both parties (§3.13)
        assert _routed(db_session, reference, stage.id) == expected, f"{pack_id} {stage.label}"
        for decision in [d for d in case.routings if d.stage == stage.id]:
            assert decision.reason and pack.stage(stage.id).label in decision.reason
            if decision.email:
                sent = db_session.scalars(select(OutboxMessage).where(OutboxMessage.routing_id == decision.id)).all()
                assert sent or any(
                    m.to_email.lower() == decision.email.lower() for m in db_session.scalars(select(OutboxMessage))
                )


def test_gloucestershire_threshold_dispute_at_stage_two_reaches_the_service_manager_mash(db_session):
    data = sample("gloucestershire-dispute-record") | {"stage": "2", "area": "threshold"}
    outcome = cases.submit(db_session, "gloucestershire-dispute-record", data, channel="web", now=NOW)
    assert {r.role for r in outcome.routes} == {"service-manager-mash"}
    assert "Stage 2" in outcome.routes[0].reason and outcome.routes[0].email
    other = cases.submit(
        db_session, "gloucestershire-dispute-record", data | {"area": "information-sharing"}, channel="web", now=NOW
    )
    assert other.routes == []


def test_a_staff_move_to_the_executive_tells_the_chair_of_the_gscp_executive(db_session):
    data = sample("gloucestershire-resolution-group-referral")
    outcome = cases.submit(db_session, "gloucestershire-resolution-group-referral", data, channel="web", now=NOW)
    cases.move_stage(db_session, outcome.reference, "executive", reason="The Resolution Group could not resolve it")
    case = cases.get(db_session, outcome.reference)
    chair = [d for d in case.routings if d.stage == "executive"]
    assert [d.role for d in chair] == ["executive-chair"]
    assert "The Resolution Group could not resolve it" in chair[0].reason
    mail = db_session.scalars(select(OutboxMessage).where(OutboxMessage.routing_id == chair[0].id)).one()
    assert mail.to_email == "executive.chair@gscp.example"
    assert "Referral to the Chair of the GSCP Executive" in mail.body and "rule" not in mail.body
