"""Backup and restore, as docs/operations.md tells operators to do it: `flask backup`, then `flask
restore` into a scratch database (PostgreSQL: pg_dump/pg_restore; SQLite: the online backup API),
and every table, with the raw returned files byte for byte, comes back as it was."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from app import create_app
from service import db
from service.casework import directory
from service.ops import backup
from tests.conftest import sample


def snapshot(engine) -> dict:
    """Row count of every table, and a digest of the submissions' raw bytes in id order."""
    out = {}
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            out[table] = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
        raws = connection.execute(text("SELECT raw FROM submissions ORDER BY id")).scalars().all()
    out["raw-digest"] = hashlib.sha256(b"".join(bytes(r or b"") for r in raws)).hexdigest()
    return out


def fill(url: str) -> dict:
    """Migrate, seed and submit a few forms (with their raw bytes) into the database at `url`."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": engine})
    from service.casework import cases

    with db.sessions(app)() as session:
        directory.seed(session)
        for form_id in ("nt-appendix-a", "kirklees-appendix-5", "merton-disagreement-record"):
            raw = f"raw upload of {form_id} \x00\xff".encode("latin-1")
            cases.submit(session, form_id, sample(form_id), channel="upload", raw=raw, filename=f"{form_id}.docx")
    state = snapshot(engine)
    engine.dispose()
    return state


def spoil(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM outbox"))
        connection.execute(text("UPDATE submissions SET raw = NULL"))
    engine.dispose()


def test_sqlite_backup_and_restore_with_the_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    before = fill(url)
    assert before["cases"] == 3 and before["submissions"] == 3 and before["outbox"] >= 2
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url})
    runner = app.test_cli_runner()
    dump = tmp_path / "escalate.backup"
    result = runner.invoke(args=["backup", str(dump)])
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output and dump.stat().st_size > 0

    spoil(url)
    assert snapshot(db.make_engine(url)) != before
    result = runner.invoke(args=["restore", str(dump), "--yes"])
    assert result.exit_code == 0, result.output
    after = snapshot(db.make_engine(url))
    # Everything as it was, besides what the restore adds: its audit entry, and a counter for each
    # partnership that had none this year (tests/ops/test_restore.py).
    assert after.pop("audit_log") == before.pop("audit_log") + 1
    assert after.pop("reference_counters") == 5 and before.pop("reference_counters") == 3
    assert after == before
    # The restored copy is a database the service accepts: at the newest migration.
    ready = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url}).test_client().get("/readyz")
    assert ready.status_code == 200, ready.get_json()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    before = fill(url)
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(backup.BackupError, match="not a SQLite backup"):
        backup.restore(url, junk)
    assert snapshot(db.make_engine(url)) == before  # nothing was touched


@pytest.mark.postgres
def test_postgresql_dump_and_restore_into_a_scratch_database(tmp_path):
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"escalate_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    base = admin.url
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        live, scratch = (base.set(database=name).render_as_string(hide_password=False) for name in names)
        before = fill(live)
        dump = tmp_path / "escalate.dump"
        backup.backup(live, dump)
        assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

        backup.restore(scratch, dump)  # the drill: restore into another database and compare
        assert snapshot(db.make_engine(scratch)) == before
        spoil(live)
        backup.restore(live, dump)  # and the real thing: the live database back as it was
        assert snapshot(db.make_engine(live)) == before
        with pytest.raises(backup.BackupError, match="pg_restore failed"):
            junk = tmp_path / "junk.dump"
            junk.write_bytes(b"PGDMP not really")
            backup.restore(scratch, junk)
        assert snapshot(db.make_engine(scratch)) == before  # single transaction: nothing half-restored
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
