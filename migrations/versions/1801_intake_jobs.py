"""intake jobs: a received item's reading state (queued, claimed, lease, finished) and upload batches

Revision ID: 1801_intake_jobs
Revises: 1401_mail_trust
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1801_intake_jobs"
down_revision = "1401_mail_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("received_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_starts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rerun", sa.JSON(), nullable=True))
        batch_op.create_index("ix_received_items_status_lease", ["status", "lease_until"], unique=False)
    op.create_table(
        "upload_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("uploaded_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_batches")),
    )


def downgrade() -> None:
    op.drop_table("upload_batches")
    with op.batch_alter_table("received_items", schema=None) as batch_op:
        batch_op.drop_index("ix_received_items_status_lease")
        for column in ("rerun", "read_starts", "read_at", "read_started_at", "lease_until", "claim", "queued_at"):
            batch_op.drop_column(column)
