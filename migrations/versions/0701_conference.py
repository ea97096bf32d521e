"""conference log: conferences, agency issues, responses (issue 7)

Revision ID: 0701_conference
Revises: 0201_workspace
Create Date: 2026-11-23 19:39:41.026885
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0701_conference"
down_revision = "0201_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership", sa.String(length=40), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("family", sa.String(length=120), nullable=False),
        sa.Column("chair_name", sa.Text(), nullable=False),
        sa.Column("chair_user_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["chair_user_id"],
            ["staff_users.id"],
            name=op.f("fk_conferences_chair_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conferences")),
    )
    with op.batch_alter_table("conferences", schema=None) as batch_op:
        batch_op.create_index("ix_conferences_partnership_date", ["partnership", "meeting_date", "id"], unique=False)

    op.create_table(
        "conference_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("agency_rep", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("reason_detail", sa.Text(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("response_nonce", sa.String(length=32), nullable=False),
        sa.Column("response_hash", sa.String(length=64), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chasers", sa.Integer(), nullable=False),
        sa.Column("last_chased_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_conference_issues_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conferences.id"],
            name=op.f("fk_conference_issues_conference_id_conferences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_issues")),
        sa.UniqueConstraint("response_hash", name=op.f("uq_conference_issues_response_hash")),
    )
    with op.batch_alter_table("conference_issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conference_issues_awaiting_due",
            ["due"],
            unique=False,
            postgresql_where=sa.text("status = 'awaiting'"),
            sqlite_where=sa.text("status = 'awaiting'"),
        )
        batch_op.create_index(batch_op.f("ix_conference_issues_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conference_issues_conference_id"), ["conference_id"], unique=False)

    op.create_table(
        "conference_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responder", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["conference_issues.id"],
            name=op.f("fk_conference_responses_issue_id_conference_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_responses")),
        sa.UniqueConstraint("message_id", name=op.f("uq_conference_responses_message_id")),
    )
    with op.batch_alter_table("conference_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conference_responses_issue_id"), ["issue_id"], unique=False)


def downgrade() -> None:
    op.drop_table("conference_responses")
    op.drop_table("conference_issues")
    op.drop_table("conferences")
