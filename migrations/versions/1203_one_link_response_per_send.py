"""a response sent from one private link page is recorded once: conference_responses unique by row
and the page's send key (a double click or two sends at once, one kept)

Revision ID: 1203_one_link_response_per_send
Revises: 1202_one_entry_per_stage
Create Date: 2026-12-03 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1203_one_link_response_per_send"
down_revision = "1202_one_entry_per_stage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Responses already kept have no send key (NULL): a unique key allows any number of NULLs.
    with op.batch_alter_table("conference_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_conference_responses_issue_id"), ["issue_id", "send_key"])


def downgrade() -> None:
    with op.batch_alter_table("conference_responses", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_conference_responses_issue_id"), type_="unique")
        batch_op.drop_column("send_key")
