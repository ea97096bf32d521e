"""a case enters each stage once: case_stages unique by case and stage (two moves at once, one kept)

Revision ID: 1202_one_entry_per_stage
Revises: 1201_stage_moves
Create Date: 2026-12-03 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1202_one_entry_per_stage"
down_revision = "1201_stage_moves"
branch_labels = None
depends_on = None


def upgrade() -> None:
    twice = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT c.reference, s.stage FROM case_stages s JOIN cases c ON c.id = s.case_id "
                "GROUP BY c.reference, s.stage HAVING count(*) > 1 ORDER BY c.reference LIMIT 20"
            )
        )
        .all()
    )
    if twice:
        found = ", ".join(f"{reference} stage {stage}" for reference, stage in twice)
        raise RuntimeError(
            f"cases entered a stage twice (two moves made at once before this release): {found}. "
            "Remove the later entry of each, keeping the first, then upgrade again"
        )
    with op.batch_alter_table("case_stages", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_case_stages_case_id"), ["case_id", "stage"])


def downgrade() -> None:
    with op.batch_alter_table("case_stages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_case_stages_case_id"), type_="unique")
