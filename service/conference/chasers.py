"""Follow-up: rows still awaiting the agency's response after their due date, and the chasers.

`chase` sends a chaser for each overdue row (to the lead, copying the pack's other recipients) and
gives it another of the pack's working days, at most the pack's number of times
(pack.conference_follow_up: the protocol says nothing of chasers, so both are the service's reading,
labelled so); after that the row stays overdue on the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from forms import registry
from service.casework import workdays
from service.conference.letters import response_link, response_token, write_messages
from service.conference.models import Conference, ConferenceIssue

logger = logging.getLogger("escalate.conference")


@dataclass(frozen=True)
class Chased:
    reference: str
    agency: str
    due: dt.date
    chasers: int
    failed: str | None = None  # why its chaser could not be written (the row is left for the next run)


def overdue(session: Session, today: dt.date, partnerships: list[str] | None = None) -> list[ConferenceIssue]:
    """Rows still awaiting a response after their due date, longest overdue first."""
    query = (
        select(ConferenceIssue)
        .join(Conference)
        .where(ConferenceIssue.status == "awaiting", ConferenceIssue.due < today)
        .order_by(ConferenceIssue.due, ConferenceIssue.id)
    )
    if partnerships is not None:
        query = query.where(Conference.partnership.in_(partnerships))
    return list(session.scalars(query))


@dataclass(frozen=True)
class OverdueCount:
    """Rows awaiting a response past their due date: those the service still sends a chaser, and
    those that have had every chaser their pack gives (they stay overdue on the log for a person)."""

    to_chase: int
    chased_out: int

    @property
    def total(self) -> int:
        return self.to_chase + self.chased_out


def overdue_count(session: Session, today: dt.date, partnerships: list[str]) -> OverdueCount:
    counted = session.execute(
        select(Conference.partnership, ConferenceIssue.chasers, func.count())
        .select_from(ConferenceIssue)
        .join(Conference)
        .where(
            ConferenceIssue.status == "awaiting",
            ConferenceIssue.due < today,
            Conference.partnership.in_(partnerships),
        )
        .group_by(Conference.partnership, ConferenceIssue.chasers)
    )
    to_chase = chased_out = 0
    for partnership, sent, count in counted:
        if sent < most_chasers(partnership):
            to_chase += count
        else:
            chased_out += count
    return OverdueCount(to_chase, chased_out)


def most_chasers(partnership: str) -> int:
    """How many chasers the partnership's pack gives a row (none without a conference follow-up)."""
    follow_up = registry().pack(partnership).conference_follow_up
    return follow_up.chasers.count if follow_up else 0


def chase(
    session: Session, *, now: dt.datetime | None = None, link_for: Callable[[str], str] = response_link
) -> list[Chased]:
    """A chaser to the lead (copying the CPRU) for each overdue row; commits each row's.

    Each row is claimed by a conditional UPDATE (still awaiting, still overdue, still on the count of
    chasers read): two runs at once (cron twice, two servers) find the row, but only one UPDATE
    matches, and only that run writes the chaser, in the same transaction as its claim."""
    now = now or dt.datetime.now(dt.UTC)
    today = workdays.today(now)
    cal = workdays.calendar(session)
    chased = []
    for issue in overdue(session, today):
        partnership = issue.conference.partnership
        if issue.case is None or issue.chasers >= most_chasers(partnership):
            continue
        follow_up = registry().pack(partnership).conference_follow_up
        if not _claim(session, issue, today, cal.add_working_days(today, follow_up.days)):
            session.rollback()
            continue  # another run chased it, or the agency responded meanwhile
        try:
            _write_chaser(session, issue, link_for, now)
        except Exception as exc:  # one row's failure does not hold back the other agencies' chasers
            session.rollback()  # the claim goes with it: the next run chases the row again
            logger.exception("conference chaser not written")
            chased.append(Chased(issue.case.reference, issue.agency, issue.due, issue.chasers, str(exc) or "failed"))
            continue
        session.commit()
        chased.append(Chased(issue.case.reference, issue.agency, issue.due, issue.chasers))
    return chased


def _claim(session: Session, issue: ConferenceIssue, today: dt.date, due: dt.date) -> bool:
    """The row's next chaser is this run's to send: one UPDATE, matched by one run only."""
    claimed = session.execute(
        update(ConferenceIssue)
        .where(
            ConferenceIssue.id == issue.id,
            ConferenceIssue.status == "awaiting",
            ConferenceIssue.due < today,
            ConferenceIssue.chasers == issue.chasers,
        )
        .values(chasers=issue.chasers + 1, last_chased_on=today, due=due)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    # The loaded row as the UPDATE left it, without writing it again.
    for name, value in (("chasers", issue.chasers + 1), ("last_chased_on", today), ("due", due)):
        set_committed_value(issue, name, value)
    return True


def _write_chaser(session: Session, issue: ConferenceIssue, link_for: Callable[[str], str], now: dt.datetime) -> None:
    pack = registry().pack(issue.conference.partnership)
    submission = issue.case.submissions[0]
    spec = registry().form(submission.form_id)
    decisions = [d for d in issue.case.routings if d.submission_id == submission.id]
    write_messages(
        session,
        pack,
        spec,
        issue,
        decisions,
        link=link_for(response_token(issue.response_nonce)),
        now=now,
        chaser=True,
    )
