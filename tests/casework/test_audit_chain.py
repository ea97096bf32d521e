"""The audit log is tamper-evident: each row carries a hash chained to the previous row, and
`flask --app app audit verify` names the first row that does not match. On SQLite the table also
refuses INSERT OR REPLACE (which deletes the old row without firing DELETE triggers). On SQLite and
PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from service.casework import audit
from service.casework.models import AuditEntry
from service.db import sessions
from tests.support.databases import empty_database


def write(app, count: int, actor: str = "bu@kirklees.example") -> None:
    with sessions(app)() as session:
        for i in range(count):
            audit.record(session, actor, "case.view", partnership="kirklees", case_reference=f"KSCP-2026-{i:04d}")
            session.commit()


def tamper(app, sql: str) -> None:
    """What someone with the database's owner rights could do: switch the triggers off and rewrite."""
    engine = app.extensions["db_engine"]
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        connection.execute(text(sql))


def test_each_row_is_chained_to_the_one_before(db_app):
    write(db_app, 3)
    with sessions(db_app)() as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert all(len(r.hash) == 64 for r in rows)
    with sessions(db_app)() as session:
        assert audit.verify(session).ok


def test_verify_names_the_first_row_that_does_not_match(db_app):
    write(db_app, 5)
    with sessions(db_app)() as session:
        ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    tamper(db_app, f"UPDATE audit_log SET actor = 'someone-else@kirklees.example' WHERE id = {ids[2]}")
    result = db_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"row {ids[2]}" in result.output and "does not match" in result.output


def test_verify_finds_a_removed_row(db_app):
    write(db_app, 4)
    with sessions(db_app)() as session:
        ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    tamper(db_app, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    result = db_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"row {ids[2]}" in result.output


def test_verify_passes_on_an_untouched_log(db_app):
    write(db_app, 3)
    result = db_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 audit entries" in result.output and "chain intact" in result.output


def test_a_removed_chain_head_is_named_and_nothing_more_is_written(db_app):
    write(db_app, 2)
    with db_app.extensions["db_engine"].begin() as connection:  # the head has no trigger: its owner can
        connection.execute(text("DELETE FROM audit_chain_head"))
    with sessions(db_app)() as session:
        assert audit.verify(session).problem == audit.HEAD_MISSING
        # Started again from the newest row, it would hide rows removed from the end: refused instead.
        with pytest.raises(audit.AuditLogIsAppendOnly, match="head row was removed"):
            audit.record(session, "bu@kirklees.example", "case.view", case_reference="KSCP-2026-0009")
        session.rollback()
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_concurrent_writers_keep_one_chain(db_app):
    threads = [threading.Thread(target=write, args=(db_app, 5, f"bu{i}@kirklees.example")) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with sessions(db_app)() as session:
        result = audit.verify(session)
        assert result.ok, result.problem
        assert result.checked == 30


def test_sqlite_refuses_insert_or_replace(db_app):
    if db_app.extensions["db_engine"].dialect.name != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's; PostgreSQL's ON CONFLICT DO UPDATE meets the UPDATE trigger")
    write(db_app, 1)
    engine = db_app.extensions["db_engine"]
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        row_id = connection.execute(text("SELECT id FROM audit_log")).scalar_one()
        connection.execute(
            text(
                "INSERT OR REPLACE INTO audit_log (id, at, actor, action, prev_hash, hash) "
                f"VALUES ({row_id}, '2026-01-01 00:00:00', 'forger', 'case.view', '', '')"
            )
        )
    with sessions(db_app)() as session:
        assert session.scalar(select(AuditEntry.actor)) == "bu@kirklees.example"


def test_readiness_slow_path_checks_the_chain(db_app):
    from alembic import command

    from service import db

    command.stamp(db.alembic_config(db.engine(db_app)), "heads")  # made from the models: at head
    write(db_app, 2)
    client = db_app.test_client()
    deep = client.get("/readyz?deep=1")
    assert deep.status_code == 200 and deep.json["audit"] == "chain intact (2 entries)"
    tamper(db_app, "UPDATE audit_log SET detail = 'changed'")
    broken = client.get("/readyz?deep=1")
    assert broken.status_code == 503 and "does not match" in broken.json["audit"]
    assert client.get("/readyz").status_code == 200  # the quick check leaves the audit log alone


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_migration_chains_the_rows_already_written(kind, tmp_path):
    from service import db

    with empty_database(kind, tmp_path) as engine:
        db.upgrade(engine, "1801_intake_jobs")
        with engine.begin() as connection:
            for i in range(3):
                connection.execute(
                    text(
                        "INSERT INTO audit_log (at, actor, action, case_reference) "
                        f"VALUES ('2026-0{i + 1}-01 10:00:00.123456', 'bu@kirklees.example', 'case.view', 'KSCP-1')"
                    )
                )
        db.upgrade(engine)
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            assert audit.verify(session).checked == 3 and audit.verify(session).ok
            audit.record(session, "bu@kirklees.example", "case.view")
            session.commit()
            assert audit.verify(session).ok and audit.verify(session).checked == 4
