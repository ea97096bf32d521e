"""stage moves route like submissions; stages record how and why they began; the emergency route shown (issue 12)

Revision ID: 1201_stage_moves
Revises: 1301_integrity
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1201_stage_moves"
down_revision = "1301_integrity"
branch_labels = None
depends_on = None

# A stage move made with no form is routed with no submission, which the older schema cannot hold: the
# downgrade deletes those rows and their e-mails, refused by env.py unless forced, as a dropped column is.
DELETES = (
    (
        "routing_decisions",
        "submission_id IS NULL",
        "the routing of stage moves made without a form (routing_decisions with no submission, and their e-mails)",
    ),
)


def upgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.alter_column("submission_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("stage", sa.String(length=20), nullable=True))
    with op.batch_alter_table("case_stages") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("emergency_route_shown_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE routing_id IN (SELECT id FROM routing_decisions WHERE submission_id IS NULL)")
    op.execute("DELETE FROM routing_decisions WHERE submission_id IS NULL")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("emergency_route_shown_at")
    with op.batch_alter_table("case_stages") as batch:
        batch.drop_column("reason")
        batch.drop_column("channel")
    with op.batch_alter_table("routing_decisions") as batch:
        batch.drop_column("stage")
        batch.alter_column("submission_id", existing_type=sa.Integer(), nullable=False)
