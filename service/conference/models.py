"""Tables of the chair's log: conferences, one issue per agency, and the agencies' responses.

Each agency issue is also a case (process "cp-conference", the partnership's Appendix 3 form with
that one row), so it has a reference for threading replies, its routing and its outbox messages
like any escalation; these tables keep what the log needs on top: the reason as chosen, the private
response link, the follow-up due date and chasers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.casework import retention
from service.casework.models import Base, Case, UTCDateTime

# The reasons the chair chooses from (Appendix 3: "Agency non-attendance at Child Protection
# Conferences, failure to provide timely reports for Conferences as required, or any presenting
# issues that require further exploration").
REASONS = {
    "non-attendance": "Non-attendance at conference",
    "report-not-provided": "Report not provided",
    "report-late": "Report provided late",
    "other": "Other",
}


class Conference(Base):
    """A child protection conference the chair escalates agencies from."""

    __tablename__ = "conferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(40))
    meeting_date: Mapped[dt.date] = mapped_column(Date)
    # Family name or identifying factors: no more than is needed to identify the conference.
    family: Mapped[str] = mapped_column(String(120))
    chair_name: Mapped[str] = mapped_column(Text)
    chair_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    recorded_by: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(20))  # web | upload | email
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # A returned Appendix 3 table, kept exactly as it came (the rows' cases hold the parsed data).
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))

    issues: Mapped[list[ConferenceIssue]] = relationship(
        back_populates="conference", order_by="ConferenceIssue.position", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_conferences_partnership_date", "partnership", "meeting_date", "id"),)


class ConferenceIssue(Base):
    """One row of the log: an agency, its representative, the reason, and the follow-up."""

    __tablename__ = "conference_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    agency: Mapped[str] = mapped_column(Text)
    agency_rep: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(30))  # a key of REASONS
    reason_detail: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    # The private response link's token is an HMAC of this nonce with the app's secret key (so a
    # chaser can repeat the link); its sha256 finds the row when the link is opened.
    response_nonce: Mapped[str] = mapped_column(String(32))
    response_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notified_on: Mapped[dt.date] = mapped_column(Date)
    due: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="awaiting")  # awaiting | responded
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    chasers: Mapped[int] = mapped_column(Integer, default=0)
    last_chased_on: Mapped[dt.date | None] = mapped_column(Date)

    conference: Mapped[Conference] = relationship(back_populates="issues")
    case: Mapped[Case | None] = relationship()
    responses: Mapped[list[ConferenceResponse]] = relationship(
        back_populates="issue", order_by="ConferenceResponse.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # The chaser's query: rows still awaiting a response, by due date.
        Index(
            "ix_conference_issues_awaiting_due",
            "due",
            postgresql_where=text("status = 'awaiting'"),
            sqlite_where=text("status = 'awaiting'"),
        ),
    )

    @property
    def reason_text(self) -> str:
        """The reason as written in the Appendix 3 row."""
        label = REASONS.get(self.reason, self.reason)
        return f"{label}: {self.reason_detail}" if self.reason_detail else label


class ConferenceResponse(Base):
    """An agency's response to a row, through the private link or a reply e-mail."""

    __tablename__ = "conference_responses"
    # A response sent twice from one page (a double click, a browser's retry, two at once) is one:
    # the page's send key is unique for its row, so the database refuses the second insert.
    __table_args__ = (UniqueConstraint("issue_id", "send_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("conference_issues.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # link | email
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    responder: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    # A reply from an address that is not the lead's nor the CPRU's is kept but held for review.
    accepted: Mapped[bool] = mapped_column(Boolean, default=True)
    message_id: Mapped[str | None] = mapped_column(String(998), unique=True)
    # A reply e-mail's sender check (service.intake.sender_auth), in words: "DMARC passed at ...".
    sender_check: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    send_key: Mapped[str | None] = mapped_column(String(64))  # the private link page's, one per page shown

    issue: Mapped[ConferenceIssue] = relationship(back_populates="responses")


@retention.also_remove
def _purge_conference_rows(session, case_id: int, reference: str, submission_ids: list[int]) -> str:
    """Retention: the purged case's conference row (its responses cascade), and the conference itself
    (family, chair, the returned Appendix 3) once none of its rows is left."""
    conferences = set(session.scalars(select(ConferenceIssue.conference_id).where(ConferenceIssue.case_id == case_id)))
    rows = session.execute(
        delete(ConferenceIssue).where(ConferenceIssue.case_id == case_id).execution_options(synchronize_session=False)
    ).rowcount
    left = set(
        session.scalars(select(ConferenceIssue.conference_id).where(ConferenceIssue.conference_id.in_(conferences)))
    )
    emptied = conferences - left
    if emptied:
        session.execute(
            delete(Conference).where(Conference.id.in_(emptied)).execution_options(synchronize_session=False)
        )
    return f"{retention.count(rows, 'conference row')}, {retention.count(len(emptied), 'conference')}"
