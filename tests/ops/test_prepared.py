"""The processes that run until stopped (the intake worker, the SMTP receiver, the mailbox reader, the
outbox) start only on a database prepared for this version, and otherwise stop at once saying so and
what to run; a database a newer version prepared is served, as the web app serves it during an upgrade."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app import create_app
from service import db
from tests.support.ports import free_port

IMAP = {"IMAP_HOST": "127.0.0.1", "IMAP_USER": "escalations", "IMAP_PASSWORD": "secret", "IMAP_SSL": "0"}
COMMANDS = {
    "intake worker": ["worker"],
    "SMTP receiver": ["smtpd", "--port", "{port}"],
    "mailbox reader": ["imap-poll"],
    "outbox": ["outbox", "deliver", "--loop"],
}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unprepared_app(tmp_path):
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", **IMAP}
    )


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_process_on_a_database_never_prepared_stops_saying_what_to_run(tmp_path, args):
    """Run as systemd runs them, each in a process group of its own: one that started would run until
    stopped, so it is stopped after a minute and the test fails rather than hangs."""
    env = {**os.environ, **IMAP, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "LOG_LEVEL": "WARNING"}
    args = [a.format(port=free_port()) for a in args]
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1, output
    assert "was never prepared for the service: run `flask --app app db-prepare`" in output
    assert "Traceback" not in output


def test_an_older_versions_database_is_named_with_the_revision_it_lacks(unprepared_app):
    script = ScriptDirectory.from_config(db.alembic_config(db.engine(unprepared_app)))
    head, older = script.get_current_head(), script.get_revision(script.get_current_head()).down_revision
    db.upgrade(db.engine(unprepared_app), older)
    result = unprepared_app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 1
    assert f"prepared by an older version of the service (at {older}; this version needs {head})" in result.output


def test_this_versions_database_and_a_newer_ones_are_served(unprepared_app):
    db.upgrade(db.engine(unprepared_app))
    assert db.unprepared(unprepared_app) is None
    with db.engine(unprepared_app).begin() as connection:  # a newer version migrated it further
        connection.execute(text("UPDATE alembic_version SET version_num = '9901_a_later_release'"))
    assert db.unprepared(unprepared_app) is None
