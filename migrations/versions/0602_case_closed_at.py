"""when a case was closed: cases.closed_at, from which the retention period runs

Revision ID: 0602_case_closed_at
Revises: 1402_one_item_per_message_id
Create Date: 2026-12-03 16:05:00

A case closed before this release was last changed when it was closed unless an outcome was edited
afterwards; its updated_at is the nearest date kept, and never earlier than the close, so no case is
purged sooner than the policy allows (one edited after closing is kept a little longer).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0602_case_closed_at"
down_revision = "1402_one_item_per_message_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE cases SET closed_at = updated_at WHERE status = 'resolved'")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
