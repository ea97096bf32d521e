"""ingest: received items (raw bytes first, then status, reason, parse result, case)

Revision ID: 0501_ingest
Revises: 0701_conference
Create Date: 2026-11-23 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import service.intake.models  # noqa: F401 - puts the table in the models' metadata for `alembic check`

revision = "0501_ingest"
down_revision = "0701_conference"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("form_id", sa.String(length=80), nullable=True),
        sa.Column("partnership", sa.String(length=40), nullable=True),
        sa.Column("parsed", sa.JSON(), nullable=True),
        sa.Column("case_reference", sa.String(length=20), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_received_items_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_items")),
        sa.UniqueConstraint("sha256", name=op.f("uq_received_items_sha256")),
    )
    with op.batch_alter_table("received_items", schema=None) as batch_op:
        batch_op.create_index("ix_received_items_case_reference", ["case_reference"], unique=False)
        batch_op.create_index("ix_received_items_message_id", ["message_id"], unique=False)
        batch_op.create_index(
            "ix_received_items_status_partnership", ["status", "partnership", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("received_items", schema=None) as batch_op:
        batch_op.drop_index("ix_received_items_status_partnership")
        batch_op.drop_index("ix_received_items_message_id")
        batch_op.drop_index("ix_received_items_case_reference")
    op.drop_table("received_items")
