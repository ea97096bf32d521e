"""Every command that reads or writes the service's tables (the processes that run until stopped, and
the one-shot commands timers and people run) starts only on a database prepared for this version, and
otherwise stops at once saying so and what to run; a database a newer version prepared is served, as
the web app serves it during an upgrade."""

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
# Each command that needs the database (one-shot or running until stopped), with arguments it accepts
# (a file it reads is this test's own).
NEEDS_DATABASE = {
    "audit verify": [],
    "bank-holiday add": ["2027-01-04", "Extra day"],
    "bank-holiday list": [],
    "case": ["NT-2026-0001"],
    "conference chase": [],
    "conference import": ["{file}", "--partnership", "kirklees", "--recorded-by", "chair@kirklees.example"],
    "conference reply": ["{file}"],
    "directory export": [],
    "directory import": ["{file}"],
    "intake-status": [],
    "imap-poll": [],
    "outbox deliver": [],
    "outbox status": [],
    "overdue": [],
    "purge-drafts": [],
    "retention purge": ["--dry-run"],
    "smtpd": ["--port", "{port}"],
    "users create": ["--email", "admin@escalate.example", "--role", "admin", "--password", "a-long-pass-phrase"],
    "users list": [],
    "worker": [],
    "workspace demo": [],
}
# What goes without it: documents and packs only; `ingest` checks in the app it builds for itself (the
# settings and the database alone: tests/intake/test_ingest.py); a backup is taken of whatever version's
# database is there (before an upgrade, above all); a restore replaces the database and prepares it.
WITHOUT_DATABASE = {"build-templates", "db-prepare", "forms", "parse", "render", "ingest", "backup", "restore"}


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


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://escalate@127.0.0.1:{port}/escalate", "sqlite:///{tmp}/no/such/dir/x.db"]
)
def test_a_command_on_a_database_that_cannot_be_reached_says_so(tmp_path, url):
    """The server down (nothing listens on the port) or a SQLite file in a folder that is not there."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url.format(port=free_port(), tmp=tmp_path)}
    )
    result = app.test_cli_runner().invoke(args=["overdue"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "cannot be reached (" in result.output and "check DATABASE_URL and that it is running" in result.output


def test_the_head_known_without_loading_alembic_is_the_migrations_head(unprepared_app):
    script = ScriptDirectory.from_config(db.alembic_config(db.engine(unprepared_app)))
    assert script.get_heads() == [db.HEAD], "a migration was added: set service.db.HEAD to its revision"


def test_this_versions_database_and_a_newer_ones_are_served(unprepared_app):
    db.upgrade(db.engine(unprepared_app))
    assert db.unprepared(unprepared_app) is None
    with db.engine(unprepared_app).begin() as connection:  # a newer version migrated it further
        connection.execute(text("UPDATE alembic_version SET version_num = '9901_a_later_release'"))
    assert db.unprepared(unprepared_app) is None


def _commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


def test_every_command_either_needs_the_database_or_is_known_to_go_without(unprepared_app):
    found = dict(_commands(unprepared_app.cli))  # Flask's own (run, shell, routes) are not on app.cli
    needing = {name for name, command in found.items() if getattr(command.callback, "needs_database", False)}
    assert needing == set(NEEDS_DATABASE)
    assert set(found) - needing == WITHOUT_DATABASE


@pytest.mark.parametrize("command", NEEDS_DATABASE)
def test_a_command_on_a_database_never_prepared_stops_saying_what_to_run(unprepared_app, tmp_path, command):
    """Run in this process: the command stops before it reads a table, so none of them starts a server."""
    file = tmp_path / "input.eml"
    file.write_bytes(b"From: someone@agency.example\r\nSubject: x\r\n\r\nbody\r\n")
    args = [a.format(file=file, port=free_port()) for a in NEEDS_DATABASE[command]]
    result = unprepared_app.test_cli_runner().invoke(args=[*command.split(), *args])
    assert result.exit_code == 1, result.output
    assert "was never prepared for the service: run `flask --app app db-prepare`" in result.output
    assert isinstance(result.exception, SystemExit)  # said in words, not raised from the driver
