"""England working days: the clock every stage timescale runs on.

A working day is Monday to Friday, not an England and Wales bank holiday. Bank holidays come from
the `holidays` library (subdivision ENG, which includes substitute days such as Monday 28 December
2026 for Boxing Day on a Saturday) plus the `bank_holidays` table, where an admin adds a one-off
holiday (`flask --app app bank-holiday add 2027-06-07 "..."`).

The day a stage starts does not count: a stage with N working days is due on the Nth working day
after the day it started. Started on Tuesday 22 December 2026 with 5 working days, it is due on
Thursday 31 December 2026 (23, 24, 29, 30, 31; 25 and 28 December are bank holidays). A stage that
starts on a weekend or bank holiday counts from the next working day in the same way.

"Without delay" and stages without a timescale get no due date: `due_date` returns None for them,
and nothing here invents one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.model import Timescale
from service.casework.models import BankHoliday

LONDON = ZoneInfo("Europe/London")


@lru_cache(maxsize=64)
def _library_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


@dataclass(frozen=True)
class Calendar:
    """England working days, with any extra one-off bank holidays."""

    extra: frozenset[dt.date] = frozenset()

    def is_holiday(self, day: dt.date) -> bool:
        return day in _library_holidays(day.year) or day in self.extra

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (the start day itself does not count)."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day, counted = start, 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def due_date(self, start: dt.date, timescale: Timescale) -> dt.date | None:
        if timescale.kind != "working_days":
            return None
        return self.add_working_days(start, timescale.days)

    def flags(self, due: dt.date | None, today: dt.date, *, finished: bool = False) -> dict[str, bool]:
        """overdue: past the due date and not finished; due_soon: due today or on the next working day."""
        if due is None or finished:
            return {"overdue": False, "due_soon": False}
        overdue = today > due
        return {"overdue": overdue, "due_soon": not overdue and due <= self.add_working_days(today, 1)}


def calendar(session: Session | None = None, extra: Iterable[dt.date] = ()) -> Calendar:
    """The calendar with the admin's one-off bank holidays from the database."""
    days = set(extra)
    if session is not None:
        days.update(session.scalars(select(BankHoliday.day)))
    return Calendar(frozenset(days))


def today(now: dt.datetime | None = None) -> dt.date:
    """The calendar date in England at `now` (UTC), which is what a working day is counted in."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(LONDON).date()


def add_bank_holiday(session: Session, day: dt.date, name: str) -> BankHoliday:
    """Record a one-off bank holiday. Due dates already set stay as they were; new ones use it."""
    if not name.strip():
        raise ValueError("a bank holiday needs a name")
    if session.get(BankHoliday, day) is not None:
        raise ValueError(f"{day.isoformat()} is already recorded as a bank holiday")
    holiday = BankHoliday(day=day, name=name.strip())
    session.add(holiday)
    session.commit()
    return holiday


def describe_due(due: dt.date | None, timescale: Timescale) -> str:
    """The due date in plain words, or what the policy says instead of a date."""
    if due is None:
        return timescale.describe()
    return f"by {due.strftime('%A')} {due.day} {due.strftime('%B %Y')}"
