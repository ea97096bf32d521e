"""one received item holds an e-mail's Message-ID: a unique index over the items that are not
duplicates (two copies of one e-mail read at the same moment, one applied)

Revision ID: 1402_one_item_per_message_id
Revises: 1203_one_link_response_per_send
Create Date: 2026-12-03 15:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1402_one_item_per_message_id"
down_revision = "1203_one_link_response_per_send"
branch_labels = None
depends_on = None

NOT_DUPLICATE = sa.text("status != 'duplicate'")


def upgrade() -> None:
    twice = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT message_id, min(id), count(*) FROM received_items "
                "WHERE message_id IS NOT NULL AND status != 'duplicate' "
                "GROUP BY message_id HAVING count(*) > 1 ORDER BY min(id) LIMIT 20"
            )
        )
        .all()
    )
    if twice:
        found = "; ".join(f"{count} items from received item {first}" for _, first, count in twice)
        raise RuntimeError(
            f"copies of one e-mail were each read as new (two read at once before this release): {found}. "
            "Mark every copy but the first of each as a duplicate, then upgrade again"
        )
    op.create_index(
        "uq_received_items_message_id",
        "received_items",
        ["message_id"],
        unique=True,
        sqlite_where=NOT_DUPLICATE,
        postgresql_where=NOT_DUPLICATE,
    )


def downgrade() -> None:
    op.drop_index("uq_received_items_message_id", table_name="received_items")
