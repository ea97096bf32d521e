"""drafts: web form answers in progress, behind a private link (issue 4)

Revision ID: 0101_web_drafts
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_web_drafts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("partnership", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("done", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_drafts_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_drafts_token_hash")),
    )
    with op.batch_alter_table("drafts") as batch:
        batch.create_index(batch.f("ix_drafts_case_id"), ["case_id"], unique=False)
        batch.create_index(batch.f("ix_drafts_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("drafts")
