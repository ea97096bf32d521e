"""Cases opened at the same moment by several workers still get distinct, gap-free references."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session

from service.casework import cases
from tests.conftest import sample

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def test_concurrent_submissions_get_distinct_sequential_references(db_app, db_engine):
    workers, per_worker = 4, 5
    references: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def work():
        try:
            with Session(db_engine, expire_on_commit=False) as session:
                start.wait()
                for _ in range(per_worker):
                    outcome = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
                    references.append(outcome.reference)
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(references) == [f"NT-2026-{n:04d}" for n in range(1, workers * per_worker + 1)]


def test_bank_holiday_and_overdue_commands(db_app):
    from service.db import sessions

    runner = db_app.test_cli_runner()
    added = runner.invoke(args=["bank-holiday", "add", "2027-06-04", "One-off bank holiday (fictional)"])
    assert added.exit_code == 0, added.output
    assert "2027-06-04\tOne-off bank holiday (fictional)" in runner.invoke(args=["bank-holiday", "list"]).output
    again = runner.invoke(args=["bank-holiday", "add", "2027-06-04", "again"])
    assert again.exit_code != 0 and "already recorded" in again.output
    bad = runner.invoke(args=["bank-holiday", "add", "2027-02-30", "no such day"])
    assert bad.exit_code != 0
    with db_app.app_context(), sessions(db_app)() as session:
        ref = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW).reference
    # NT stage 3 opened Monday 23 November 2026: 5 working days, due Monday 30 November.
    late = runner.invoke(args=["overdue", "--today", "2026-12-01"])
    assert late.exit_code == 0 and f"{ref}\tstage 3\tdue 2026-11-30" in late.output
    assert runner.invoke(args=["overdue", "--today", "2026-11-30"]).output == ""
    assert runner.invoke(args=["overdue", "--partnership", "atlantis"]).exit_code != 0


def _at_once(db_app, db_engine, reference: str, act, workers: int = 4) -> tuple[int, list[str]]:
    """Run `act(session, case)` in `workers` threads at the same moment; (how many succeeded, refusals)."""
    done, refused, start = [], [], threading.Barrier(workers)

    def work():
        with db_app.app_context(), Session(db_engine) as session:
            case = cases.get(session, reference)
            _ = (case.stages, case.submissions, case.current_stage)  # read before the others write
            start.wait()
            try:
                act(session, case)
                done.append(1)
            except cases.CaseError as exc:
                refused.append(str(exc))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return len(done), refused


def test_the_same_stage_move_made_at_once_is_made_and_notified_once(db_app, db_engine):
    from sqlalchemy import func, select

    from service.casework.models import CaseStage, OutboxMessage

    with db_app.app_context(), Session(db_engine) as session:
        reference = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW).reference
    made, refused = _at_once(db_app, db_engine, reference, lambda s, c: cases.move_stage(s, c, "4", now=NOW))
    assert made == 1 and len(refused) == 3 and all("already" in r for r in refused), refused
    with Session(db_engine) as session:
        assert session.scalars(select(CaseStage.stage).where(CaseStage.stage == "4")).all() == ["4"]
        moved = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.submission_id.is_(None))
        to = select(func.count(func.distinct(OutboxMessage.to_email))).where(OutboxMessage.submission_id.is_(None))
        assert session.scalar(moved) == session.scalar(to) >= 1  # one e-mail a person


def test_a_case_closed_at_once_is_closed_once_with_one_debrief(db_app, db_engine):
    from sqlalchemy import func, select

    from service.casework import closing
    from service.casework.models import AuditEntry, CaseNote

    with db_app.app_context(), Session(db_engine) as session:
        reference = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW).reference

    def close(session, case):
        closing.close(session, case, resolution="Agreed", debrief="De-brief", learning="Learning", actor="bu@x.example")

    made, refused = _at_once(db_app, db_engine, reference, close)
    assert made == 1 and len(refused) == 3 and all("already closed" in r for r in refused), refused
    with Session(db_engine) as session:
        assert session.scalar(select(func.count()).select_from(CaseNote).where(CaseNote.kind == "debrief")) == 1
        assert (
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "case.close")) == 1
        )


def test_only_a_stage_entered_twice_reads_as_a_move_made_at_once(db_app, db_engine):
    """stage_taken tells the unique (case, stage) apart from other breaches on case_stages: a stage
    row with no stage is a fault to raise, not "moved at the same moment by another update"."""
    from sqlalchemy.exc import IntegrityError

    from service.casework.models import CaseStage
    from service.casework.stages import stage_taken

    with db_app.app_context(), Session(db_engine) as session:
        case = cases.get(
            session, cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web").reference
        )
        breaches = {
            "twice": CaseStage(case_id=case.id, stage=case.current_stage, timescale="none"),
            "no stage": CaseStage(case_id=case.id, stage=None, timescale="none"),
        }
        taken = {}
        for what, row in breaches.items():
            session.add(row)
            with pytest.raises(IntegrityError) as raised:
                session.flush()
            session.rollback()
            taken[what] = stage_taken(raised.value)
    assert taken == {"twice": True, "no stage": False}
