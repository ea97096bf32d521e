"""Downgrades never drop data silently: `alembic downgrade` refuses while received_items holds rows
(issue 19), and goes through when forced or when the tables are empty; upgrading again restores the schema."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text

from service import db
from tests.support.databases import empty_database

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC = [str(ROOT / ".venv/bin/alembic"), "-c", "migrations/alembic.ini"]
HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
ROW = (
    "INSERT INTO received_items (received_at, channel, sha256, size, raw, times_seen, status) "
    "VALUES (CURRENT_TIMESTAMP, 'upload', :sha, 3, :raw, 1, 'accepted')"
)


def _alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": url}
    return subprocess.run([*ALEMBIC, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_the_operators_downgrade_refuses_to_drop_rows_unless_forced(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text(ROW), {"sha": "a" * 64, "raw": b"raw"})

    # To the revision before received_items was made: the newest step that drops something of that row
    # refuses (1801 drops its reading state, e.g. read_starts, which holds a value on every row).
    refused = _alembic(url, "downgrade", "0701_conference")
    assert refused.returncode != 0
    assert re.search(
        r"refusing to downgrade \w+: it would drop the (table|column) received_items[\w.]*, which holds 1 row\(s\)",
        refused.stderr + refused.stdout,
    )
    assert "Traceback" not in refused.stderr
    assert "received_items" in _tables(engine)

    forced = _alembic(url, "-x", "force-data-loss=yes", "downgrade", "0701_conference")
    assert forced.returncode == 0, forced.stderr
    assert "received_items" not in _tables(engine)
    assert _alembic(url, "upgrade", "head").returncode == 0
    assert "received_items" in _tables(engine)
    engine.dispose()


def test_an_empty_database_downgrades_all_the_way_without_force(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    db.upgrade(engine)
    command.downgrade(db.alembic_config(engine), "base")
    assert _tables(engine) <= {"alembic_version"}
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_refuses_and_leaves_everything_as_it_was():
    from tests.conftest import postgres_schema

    with postgres_schema() as engine:
        db.upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO bank_holidays (day, name) VALUES ('2027-06-04', 'One-off')"))
            connection.execute(text(ROW), {"sha": "b" * 64, "raw": b"raw"})
        with pytest.raises(CommandError, match=r"it would drop the (table|column) received_items[\w.]*, which holds 1"):
            command.downgrade(db.alembic_config(engine), "base")
        assert "received_items" in _tables(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM received_items"))
        with pytest.raises(CommandError, match="downgrade 0001: it would drop the table bank_holidays, which holds 1"):
            command.downgrade(db.alembic_config(engine), "base")
        with engine.connect() as connection:  # one transaction: the steps before the refusal are undone too
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        forced = db.alembic_config(engine)
        forced.attributes["force_data_loss"] = "yes"
        command.downgrade(forced, "base")
        assert _tables(engine) <= {"alembic_version"}


CASE_ROWS = (
    "INSERT INTO cases (id, reference, tracking_hash, partnership, process, status, immediate_risk, created_at, "
    "updated_at) VALUES (1, 'NT-2026-0001', 'h', 'north-tyneside', 'escalation', 'open', false, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO submissions (id, case_id, form_id, channel, received_at, data) "
    "VALUES (1, 1, 'nt-appendix-a', 'web', CURRENT_TIMESTAMP, '{}')",
    "INSERT INTO routing_decisions (id, case_id, submission_id, rule_id, role, name, reason) "
    "VALUES (1, 1, 1, 'rule', 'manager', 'Business Manager', 'why')",
    "INSERT INTO outbox (case_id, submission_id, routing_id, message_id, to_name, to_email, subject, body, status, "
    "attempts, next_attempt_at, created_at) VALUES (1, 1, 1, '<m@x.example>', 'Business Manager', "
    "'manager@ntscp.example', 'subject', 'body', 'sent', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
)
KEPT = ("cases", "submissions", "routing_decisions", "outbox")


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in KEPT}


def test_sqlite_tables_rebuilt_by_a_migration_keep_the_rows_that_refer_to_them(tmp_path):
    # Batch steps rebuild routing_decisions (1201) and cases (its downgrade): with foreign keys on while
    # they ran, dropping the old table deleted the outbox, then the submissions, by ON DELETE CASCADE.
    engine = db.make_engine(f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    db.upgrade(engine, "1301_integrity")
    with engine.begin() as connection:
        for sql in CASE_ROWS:
            connection.execute(text(sql))
    db.upgrade(engine)
    assert _counts(engine) == dict.fromkeys(KEPT, 1)
    command.downgrade(db.alembic_config(engine), "1301_integrity")
    assert _counts(engine) == dict.fromkeys(KEPT, 1)
    with engine.connect() as connection:  # on again for the service's own connections
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


MOVE_ROWS = (
    "INSERT INTO routing_decisions (id, case_id, submission_id, stage, rule_id, role, name, reason) "
    "VALUES (2, 1, NULL, '4', 'rule', 'manager', 'Business Manager', 'why')",
    "INSERT INTO outbox (case_id, routing_id, message_id, to_name, to_email, subject, body, status, attempts, "
    "next_attempt_at, created_at) VALUES (1, 2, '<move@x.example>', 'Business Manager', 'manager@ntscp.example', "
    "'subject', 'body', 'sent', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_downgrading_1201_refuses_to_drop_a_stage_moves_routing_unless_forced(kind, tmp_path):
    # The older schema holds no routing without a submission: refused with a sentence (it failed on
    # the NOT NULL with the database's own error), and when forced those rows and their e-mails go.
    with empty_database(kind, tmp_path) as engine:
        db.upgrade(engine)
        with engine.begin() as connection:
            for sql in (*CASE_ROWS, *MOVE_ROWS):
                connection.execute(text(sql))
        with pytest.raises(CommandError, match=r"downgrade 1201_stage_moves: it would drop the routing of stage moves"):
            command.downgrade(db.alembic_config(engine), "1301_integrity")
        assert _counts(engine) == {"cases": 1, "submissions": 1, "routing_decisions": 2, "outbox": 2}
        forced = db.alembic_config(engine)
        forced.attributes["force_data_loss"] = "yes"
        command.downgrade(forced, "1301_integrity")
        assert _counts(engine) == dict.fromkeys(KEPT, 1)  # the submission's routing and e-mail stay
        db.upgrade(engine)
