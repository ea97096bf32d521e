"""mail that can be trusted (issue 14): sender checks on received e-mails and replies, outbox kinds

Revision ID: 1401_mail_trust
Revises: 0501_ingest
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1401_mail_trust"
down_revision = "0501_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("received_items") as batch:
        batch.add_column(sa.Column("sender_auth", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("sender_auth_detail", sa.Text(), nullable=True))
    with op.batch_alter_table("conference_responses") as batch:
        batch.add_column(sa.Column("sender_check", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=12), server_default="notification", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("conference_responses") as batch:
        batch.drop_column("sender_check")
    with op.batch_alter_table("received_items") as batch:
        batch.drop_column("sender_auth_detail")
        batch.drop_column("sender_auth")
