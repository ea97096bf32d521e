"""Cases: references, tracking tokens, submissions kept byte for byte, attributes, stage moves, bad input."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from forms import registry
from service.casework import cases
from service.casework.models import Case, CaseStage, OutboxMessage, RoutingDecision, Submission
from tests.conftest import ALL_FORMS, sample
from tests.support.databases import empty_database

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def counts(session) -> dict:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (Case, CaseStage, Submission, RoutingDecision, OutboxMessage)
    }


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_every_sample_form_opens_a_case(db_session, form_id):
    outcome = cases.submit(db_session, form_id, sample(form_id), channel="web", now=NOW)
    case = cases.get(db_session, outcome.reference)
    assert case.partnership == registry().form(form_id).partnership
    assert outcome.created and case.submissions[0].form_id == form_id
    assert re.fullmatch(r"[A-Z]{2}-2026-\d{4}", outcome.reference)
    assert outcome.next_step.text.startswith(outcome.reference)


def test_references_count_per_partnership_and_year(db_session):
    refs = [
        cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW).reference
        for _ in range(3)
    ]
    other = cases.submit(
        db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web", now=NOW
    )
    next_year = cases.submit(
        db_session,
        "nt-appendix-a",
        sample("nt-appendix-a"),
        channel="web",
        now=dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC),
    )
    assert refs == ["NT-2026-0001", "NT-2026-0002", "NT-2026-0003"]
    assert other.reference == "MT-2026-0001"
    assert next_year.reference == "NT-2027-0001"


def test_tracking_token_is_unguessable_and_finds_the_case(db_session):
    first = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    second = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    assert first.tracking_token != second.tracking_token
    assert len(first.tracking_token) >= 43  # 32 random bytes, base64url: 256 bits
    assert cases.by_tracking_token(db_session, first.tracking_token).reference == first.reference
    stored = cases.get(db_session, first.reference)
    assert first.tracking_token not in stored.tracking_hash  # only its hash is kept
    with pytest.raises(cases.UnknownCase):
        cases.by_tracking_token(db_session, first.tracking_token[:-1] + "x")
    view = cases.tracking_view(db_session, stored)
    assert "child_name" not in view and "submissions" not in view and view["reference"] == first.reference


def test_submission_keeps_the_original_bytes_and_parsed_data(db_session):
    raw = b"\x00\xffPK\x03\x04 original upload \r\n bytes \xe2\x80\x99"
    data = sample("kirklees-appendix-5")
    outcome = cases.submit(
        db_session,
        "kirklees-appendix-5",
        data,
        channel="upload",
        raw=raw,
        filename="Appendix 5 – escalation.docx",
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        now=NOW,
    )
    db_session.expire_all()
    submission = cases.get(db_session, outcome.reference).submissions[0]
    assert submission.raw == raw
    assert submission.filename == "Appendix 5 – escalation.docx"
    assert submission.channel == "upload" and submission.form_id == "kirklees-appendix-5"
    assert submission.data["child_name"] == data["child_name"]


def test_case_attributes_come_from_maps_to(db_session):
    outcome = cases.submit(db_session, "kirklees-appendix-5", sample("kirklees-appendix-5"), channel="web", now=NOW)
    case = cases.get(db_session, outcome.reference)
    data = sample("kirklees-appendix-5")
    assert case.raising_agency == data["agency_initiating"]
    assert case.receiving_agency == data["to_agency"]
    assert case.raiser_name == data["by_name"]
    assert case.category == "plan-effectiveness"  # the first ticked nature's category
    assert case.current_stage == "5"
    assert case.date_raised == dt.date.fromisoformat(data["date_initial"])

    merton = cases.submit(
        db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web", now=NOW
    )
    case = cases.get(db_session, merton.reference)
    assert case.receiving_sector == "childrens-social-care"
    assert case.area == "course-of-action" and case.category == "provision-of-services"
    assert case.immediate_risk is False


def test_a_case_moves_forward_and_keeps_its_stage_history(db_session):
    first = cases.submit(
        db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web", now=NOW
    )
    later = NOW + dt.timedelta(days=1)
    cases.submit(
        db_session,
        "merton-disagreement-record",
        sample("merton-disagreement-record") | {"stage": "3"},
        channel="email",
        case=first.reference,
        now=later,
    )
    case = cases.get(db_session, first.reference)
    # Opened at stage 2: stage 1 happened before the record, and says so with the raiser's words.
    assert [(s.stage, s.skipped) for s in case.stages] == [("1", True), ("2", False), ("3", False)]
    assert case.stages[0].reason.startswith("Before this record")
    assert case.stages[1].left_on == dt.date(2026, 11, 24)
    assert case.stages[1].due == dt.date(2026, 11, 24)  # 1 working day after Monday 23rd
    assert len(case.submissions) == 2
    view = cases.case_view(db_session, case)
    assert view["stages"][1]["met"] is True
    # The same stage again is an updated record, not a move.
    cases.submit(
        db_session,
        "merton-disagreement-record",
        sample("merton-disagreement-record") | {"stage": "3"},
        channel="web",
        case=case,
    )
    assert [s.stage for s in cases.get(db_session, first.reference).stages] == ["1", "2", "3"]


def test_no_stage_is_passed_even_at_immediate_risk_without_a_quoted_bypass(db_session):
    first = cases.submit(
        db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web", now=NOW
    )
    before = counts(db_session)
    for risk in ("no", "yes"):
        with pytest.raises(cases.StageMoveRefused, match="gives no way to bypass it"):
            cases.submit(
                db_session,
                "merton-disagreement-record",
                sample("merton-disagreement-record") | {"stage": "4", "immediate_risk": risk},
                channel="web",
                case=first.reference,
            )
    nt = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    with pytest.raises(cases.StageMoveRefused, match="emergency route"):
        cases.move_stage(db_session, nt.reference, "5", immediate_risk=True)
    assert cases.get(db_session, first.reference).current_stage == "2"
    assert cases.get(db_session, nt.reference).current_stage == "3"
    assert counts(db_session)["cases"] == before["cases"] + 1  # the NT case; the refused moves stored nothing


def test_immediate_risk_records_the_emergency_route_and_moves_nothing(db_session):
    first = cases.submit(
        db_session, "merton-disagreement-record", sample("merton-disagreement-record"), channel="web", now=NOW
    )
    cases.submit(
        db_session,
        "merton-disagreement-record",
        sample("merton-disagreement-record") | {"immediate_risk": "yes"},
        channel="web",
        case=first.reference,
        now=NOW + dt.timedelta(hours=1),
    )
    case = cases.get(db_session, first.reference)
    assert case.current_stage == "2" and case.immediate_risk is True
    assert case.emergency_route_shown_at == NOW + dt.timedelta(hours=1)


def test_merton_practitioner_discussion_is_bypassed_only_as_3_8_says(db_session):
    outcome = cases.submit(
        db_session,
        "merton-disagreement-record",
        sample("merton-disagreement-record") | {"immediate_risk": "yes"},
        channel="web",
        now=NOW,
    )
    case = cases.get(db_session, outcome.reference)
    assert [(s.stage, s.skipped) for s in case.stages] == [("1", True), ("2", False)]
    assert case.stages[0].reason.startswith("Bypassed as the policy allows (§3.8)")


def test_moving_backwards_is_refused_and_nothing_changes(db_session):
    first = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a") | {"stage": "4"}, channel="web", now=NOW)
    before = counts(db_session)
    with pytest.raises(cases.StageMoveRefused, match="cannot move back"):
        cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", case=first.reference)
    with pytest.raises(cases.StageMoveRefused, match="cannot move back"):
        cases.move_stage(db_session, first.reference, "3")
    assert counts(db_session) == before
    assert cases.get(db_session, first.reference).current_stage == "4"


def test_unknown_stage_is_refused(db_session):
    first = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    before = counts(db_session)
    with pytest.raises(cases.UnknownStage, match=r"no stage '9'.*1, 2, 3, 4, 5"):
        cases.move_stage(db_session, first.reference, "9")
    with pytest.raises(
        cases.InvalidData, match="Stage of the policy reached: Choose one of 3, 4, 5"
    ):  # the form's choices
        cases.submit(
            db_session, "nt-appendix-a", sample("nt-appendix-a") | {"stage": "9"}, channel="web", case=first.reference
        )
    assert counts(db_session) == before


def test_unknown_form_partnership_and_case(db_session):
    before = counts(db_session)
    with pytest.raises(cases.UnknownForm, match="unknown form 'no-such-form'"):
        cases.submit(db_session, "no-such-form", {}, channel="web")
    with pytest.raises(cases.UnknownPartnership, match="unknown partnership 'atlantis'"):
        cases.list_cases(db_session, partnership="atlantis")
    with pytest.raises(cases.UnknownCase, match="NT-2026-9999"):
        cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", case="NT-2026-9999")
    with pytest.raises(cases.CaseError, match="unknown channel"):
        cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="pigeon")
    assert counts(db_session) == before


def test_invalid_answers_are_refused_with_each_field_named(db_session):
    data = sample("nt-appendix-a") | {"name": "", "stage": "2"}
    with pytest.raises(cases.InvalidData) as caught:
        cases.submit(db_session, "nt-appendix-a", data, channel="web")
    assert set(caught.value.messages) == {"name", "stage"}
    assert counts(db_session)["cases"] == 0


def test_a_form_of_another_partnership_cannot_be_added(db_session):
    first = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    before = counts(db_session)
    with pytest.raises(cases.CaseError, match="belongs to north-tyneside"):
        cases.submit(
            db_session,
            "merton-disagreement-record",
            sample("merton-disagreement-record"),
            channel="web",
            case=first.reference,
        )
    assert counts(db_session) == before


def test_outcome_resolution_learning_and_resolving(db_session):
    first = cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    cases.record_outcome(db_session, first.reference, outcome="Agreed at stage 3", learning="Share threshold guidance")
    case = cases.record_outcome(db_session, first.reference, resolution="Assessment to go ahead", resolved=True)
    assert case.status == "resolved" and case.current_due is None and case.stages[-1].left_on is not None
    assert case.learning == "Share threshold guidance" and case.stages[-1].outcome == "Agreed at stage 3"
    with pytest.raises(cases.CaseError, match="resolved"):
        cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", case=first.reference)
    with pytest.raises(cases.StageMoveRefused):
        cases.move_stage(db_session, first.reference, "4")


def test_list_pages_newest_first_and_overdue(db_session):
    made = []
    for day in range(5):
        now = dt.datetime(2026, 11, 2 + day, 9, tzinfo=dt.UTC)
        made.append(
            cases.submit(db_session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=now).reference
        )
    page = cases.list_cases(db_session, limit=2)
    assert [c.reference for c in page.cases] == made[::-1][:2]
    page2 = cases.list_cases(db_session, limit=2, cursor=page.next_cursor)
    page3 = cases.list_cases(db_session, limit=2, cursor=page2.next_cursor)
    assert [c.reference for c in page2.cases + page3.cases] == made[::-1][2:]
    assert page3.next_cursor is None
    with pytest.raises(cases.CaseError, match="cursor"):
        cases.list_cases(db_session, cursor="nonsense")
    # Stage 3 is 5 working days: the case opened Mon 2 Nov is due Mon 9 Nov; on Tue 10 Nov it is overdue.
    late = cases.overdue(db_session, today=dt.date(2026, 11, 10))
    assert [c.reference for c in late] == [made[0]]
    assert cases.overdue(db_session, today=dt.date(2026, 11, 10), partnership="merton") == []


def test_case_command_prints_json_with_each_stage_due_date(db_app):
    from service.db import sessions

    with db_app.app_context(), sessions(db_app)() as session:
        ref = cases.submit(
            session,
            "nt-appendix-a",
            sample("nt-appendix-a"),
            channel="web",
            now=dt.datetime(2026, 12, 22, 9, tzinfo=dt.UTC),
        ).reference
    runner = db_app.test_cli_runner()
    result = runner.invoke(args=["case", ref.lower()])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["reference"] == ref
    assert printed["stages"][-1]["due"] == "2026-12-31"
    assert printed["routing"][0]["rule_id"] == "ntscp-notified-from-stage-3"
    missing = runner.invoke(args=["case", "NT-2026-9999"])
    assert missing.exit_code != 0 and "no case with reference 'NT-2026-9999'" in missing.output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path):
    """An engine on a database with no tables at all."""
    with empty_database(request.param, tmp_path) as engine:
        yield engine


def test_migrations_build_the_same_schema_as_the_models(empty_engine):
    """Alembic's migrations reach head on an empty database, and `alembic check` finds no drift."""
    from alembic import command
    from sqlalchemy import inspect

    from service import db
    from service.casework.models import Base

    db.upgrade(empty_engine)
    db.upgrade(empty_engine)  # a second run changes nothing
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables and "alembic_version" in tables
    command.check(db.alembic_config(empty_engine))


def test_db_prepare_migrates_and_seeds_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["db-prepare"])
    assert first.exit_code == 0, first.output
    assert "sample contacts added" in first.output
    second = runner.invoke(args=["db-prepare"])
    assert second.exit_code == 0 and "already seeded" in second.output


def test_next_step_says_who_with_which_form_and_by_when(db_session):
    outcome = cases.submit(
        db_session,
        "kirklees-appendix-5",
        sample("kirklees-appendix-5"),
        channel="web",
        now=dt.datetime(2027, 3, 24, 9, tzinfo=dt.UTC),
    )
    step = outcome.next_step
    assert (step.stage, step.due, step.next_stage, step.form_id) == (
        "5",
        dt.date(2027, 4, 2),
        "6",
        "kirklees-appendix-5",
    )
    assert "Head of Service" in step.who and "KSCP Business Unit Manager" in step.next_who
    assert "by Friday 2 April 2027" in step.text
    assert "escalate to Stage 6: The KSCP Business Unit Manager" in step.text
    assert "Professional Difference Escalation Record (Appendix 5)" in step.text
    last = cases.submit(
        db_session,
        "sscp-outcome-resolution-notice",
        sample("sscp-outcome-resolution-notice") | {"stage": "5"},
        channel="web",
    )
    assert "no timescale" in last.next_step.text and "last stage of the policy" in last.next_step.text
    assert last.next_step.due is None


def test_overlong_references_and_tokens_are_simply_unknown(db_session):
    with pytest.raises(cases.UnknownCase):
        cases.get(db_session, "NT-" + "9" * 10_000)
    with pytest.raises(cases.UnknownCase):
        cases.by_tracking_token(db_session, "x" * 10_000)
