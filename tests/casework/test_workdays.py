"""Working-day due dates around Christmas, New Year and Easter, checked against dates worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import holidays
import pytest

from forms import registry
from forms.model import Timescale
from service.casework import cases, workdays
from tests.conftest import sample

D = dt.date

# Worked out by hand from a 2026/2027 calendar. England bank holidays used: Fri 25 Dec 2026,
# Mon 28 Dec 2026 (substitute for Boxing Day, Saturday 26th), Fri 1 Jan 2027; Good Friday 3 Apr
# and Easter Monday 6 Apr 2026; Good Friday 26 Mar and Easter Monday 29 Mar 2027.
# The start day does not count. Keys: start date -> {working days: due date}.
HAND_WORKED = {
    # Tue 22 Dec: Wed 23 (1), Thu 24 (2), [25, 26-27, 28 off] Tue 29 (3), Wed 30 (4), Thu 31 (5)
    D(2026, 12, 22): {1: D(2026, 12, 23), 2: D(2026, 12, 24), 5: D(2026, 12, 31)},
    # Thu 24 Dec: Tue 29 (1), Wed 30 (2), Thu 31 (3), [1 Jan off] Mon 4 (4), Tue 5 (5)
    D(2026, 12, 24): {1: D(2026, 12, 29), 2: D(2026, 12, 30), 5: D(2027, 1, 5)},
    # Thu 31 Dec: [Fri 1 Jan off] Mon 4 (1), Tue 5 (2), Wed 6, Thu 7, Fri 8 (5)
    D(2026, 12, 31): {1: D(2027, 1, 4), 2: D(2027, 1, 5), 5: D(2027, 1, 8)},
    # Sat 26 Dec (a stage started on a weekend): Tue 29 (1), Wed 30 (2), Thu 31, Mon 4, Tue 5 (5)
    D(2026, 12, 26): {1: D(2026, 12, 29), 2: D(2026, 12, 30), 5: D(2027, 1, 5)},
    # Thu 2 Apr 2026: [Good Friday 3, weekend, Easter Monday 6] Tue 7 (1), Wed 8 (2), Thu 9, Fri 10, Mon 13 (5)
    D(2026, 4, 2): {1: D(2026, 4, 7), 2: D(2026, 4, 8), 5: D(2026, 4, 13)},
    # Wed 24 Mar 2027: Thu 25 (1), [26 GF, weekend, 29 EM] Tue 30 (2), Wed 31, Thu 1 Apr, Fri 2 Apr (5)
    D(2027, 3, 24): {1: D(2027, 3, 25), 2: D(2027, 3, 30), 5: D(2027, 4, 2)},
    # Thu 25 Mar 2027: Tue 30 (1), Wed 31 (2), Thu 1, Fri 2, Mon 5 Apr (5)
    D(2027, 3, 25): {1: D(2027, 3, 30), 2: D(2027, 3, 31), 5: D(2027, 4, 5)},
}


def test_the_library_has_the_bank_holidays_the_hand_worked_dates_assume():
    england = holidays.country_holidays("GB", subdiv="ENG", years=[2026, 2027])
    for day in (D(2026, 12, 25), D(2026, 12, 28), D(2027, 1, 1), D(2026, 4, 3), D(2026, 4, 6)):
        assert day in england, day
    for day in (D(2027, 3, 26), D(2027, 3, 29)):
        assert day in england, day
    assert "Boxing Day" in england[D(2026, 12, 28)]  # the substitute day
    assert D(2026, 12, 24) not in england and D(2026, 12, 31) not in england


def _timed_stages():
    for pack in registry().packs:
        for stage in pack.stages:
            yield pytest.param(pack, stage, id=f"{pack.id}-stage-{stage.id}")


@pytest.mark.parametrize(("pack", "stage"), list(_timed_stages()))
def test_every_stage_due_date_over_christmas_new_year_and_easter(pack, stage):
    calendar = workdays.Calendar()
    for start, by_days in HAND_WORKED.items():
        due = calendar.due_date(start, stage.timescale)
        if stage.timescale.kind == "working_days":
            assert stage.timescale.days in by_days, f"add a hand-worked date for {stage.timescale.days} days"
            assert due == by_days[stage.timescale.days], (pack.id, stage.id, start)
        else:
            assert due is None  # "without delay" and no timescale: never an invented date


def test_every_partnership_has_a_timed_stage_or_says_it_has_none():
    kinds = {p.id: {s.timescale.kind for s in p.stages} for p in registry().packs}
    assert "working_days" in kinds["north-tyneside"] and "working_days" in kinds["kirklees"]
    assert kinds["sscp"] == {"none"}  # the briefing gives no stage timescales
    assert "without_delay" in kinds["gloucestershire"] and "without_delay" in kinds["merton"]


def test_start_day_does_not_count_and_weekends_are_skipped():
    calendar = workdays.Calendar()
    assert calendar.add_working_days(D(2026, 11, 20), 1) == D(2026, 11, 23)  # Friday -> Monday
    assert calendar.add_working_days(D(2026, 11, 23), 5) == D(2026, 11, 30)
    with pytest.raises(ValueError):
        calendar.add_working_days(D(2026, 11, 23), 0)


def test_an_admins_one_off_bank_holiday_moves_due_dates(db_session):
    before = workdays.calendar(db_session).due_date(D(2027, 6, 3), Timescale("working_days", 2))
    assert before == D(2027, 6, 7)
    workdays.add_bank_holiday(db_session, D(2027, 6, 4), "One-off bank holiday (fictional)")
    after = workdays.calendar(db_session).due_date(D(2027, 6, 3), Timescale("working_days", 2))
    assert after == D(2027, 6, 8)
    with pytest.raises(ValueError, match="already recorded"):
        workdays.add_bank_holiday(db_session, D(2027, 6, 4), "again")


def test_due_soon_and_overdue_flags():
    calendar = workdays.Calendar()
    due = D(2026, 12, 31)
    assert calendar.flags(due, D(2026, 12, 22)) == {"overdue": False, "due_soon": False}
    assert calendar.flags(due, D(2026, 12, 30)) == {"overdue": False, "due_soon": True}
    assert calendar.flags(due, D(2026, 12, 31)) == {"overdue": False, "due_soon": True}
    assert calendar.flags(due, D(2027, 1, 4)) == {"overdue": True, "due_soon": False}
    assert calendar.flags(due, D(2027, 1, 4), finished=True) == {"overdue": False, "due_soon": False}
    assert calendar.flags(None, D(2027, 1, 4)) == {"overdue": False, "due_soon": False}


def test_england_date_is_used_not_utc():
    # 23:30 UTC on 31 March 2027 is already 1 April in England (BST).
    assert workdays.today(dt.datetime(2027, 3, 31, 23, 30, tzinfo=dt.UTC)) == D(2027, 4, 1)
    assert workdays.today(dt.datetime(2026, 12, 22, 23, 30, tzinfo=dt.UTC)) == D(2026, 12, 22)


def test_submitted_over_christmas_the_case_shows_the_hand_worked_due_date(db_session):
    """End to end: an NT stage 3 notification (5 working days) sent on Tue 22 Dec 2026."""
    outcome = cases.submit(
        db_session,
        "nt-appendix-a",
        sample("nt-appendix-a"),
        channel="web",
        now=dt.datetime(2026, 12, 22, 9, tzinfo=dt.UTC),
    )
    assert outcome.due == D(2026, 12, 31)
    assert "Thursday 31 December 2026" in outcome.next_step.text
    view = cases.case_view(
        db_session, cases.get(db_session, outcome.reference), now=dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC)
    )
    assert view["stages"][-1]["due"] == "2026-12-31" and view["overdue"] is True
    # Moved on at Easter 2027, stage 4 (5 working days) runs over Good Friday and Easter Monday.
    cases.move_stage(db_session, outcome.reference, "4", now=dt.datetime(2027, 3, 25, 9, tzinfo=dt.UTC))
    view = json.loads(json.dumps(cases.case_view(db_session, cases.get(db_session, outcome.reference))))
    tracked = [s for s in view["stages"] if not s["skipped"]]  # stages 1 and 2 came before this record
    assert [s["due"] for s in tracked] == ["2026-12-31", "2027-04-05"]
    assert tracked[0]["met"] is False  # left on 25 March, due 31 December


def test_without_delay_stage_gets_no_date(db_session):
    data = sample("gloucestershire-dispute-record") | {"stage": "2"}
    outcome = cases.submit(db_session, "gloucestershire-dispute-record", data, channel="web")
    assert outcome.due is None
    assert "without delay" in outcome.next_step.text
    stage = cases.case_view(db_session, cases.get(db_session, outcome.reference))["stages"][-1]
    assert stage["due"] is None and stage["due_words"] == "“referred without delay” (the policy’s words)"
