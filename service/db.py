"""Database engine and sessions: SQLAlchemy 2, migrated by Alembic.

`DATABASE_URL` (app config or environment) picks the database; without it the service keeps a
SQLite file in the app's instance folder. PostgreSQL URLs use psycopg 3:
`postgresql+psycopg://user@host:5432/dbname`.

In a request, `session()` gives the request's session (closed at teardown). Commands and workers
open their own with `sessions(app)()`.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The revision this version's migrations end at. unprepared() compares a database's with it before it
# loads alembic's scripts (a tenth of a second of every command's start); tests/ops/test_prepared.py
# holds it equal to the migrations' head, so a new migration cannot leave it behind.
HEAD = "0602_case_closed_at"


def database_url(app: Flask) -> str:
    url = app.config.get("DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url or f"sqlite:///{Path(app.instance_path) / 'escalate.sqlite3'}"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the settings every part of the service relies on."""
    if url.startswith("sqlite"):
        # Wait for a writer rather than failing at once: the web app and the outbox worker share the file.
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 15)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def init_app(app: Flask, engine: Engine | None = None) -> None:
    """Attach an engine and a session factory to the app; close the request session at teardown."""
    engine = engine or app.config.get("DATABASE_ENGINE") or make_engine(database_url(app))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["db_engine"]


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    return (app or current_app).extensions["db_sessions"]


def session() -> Session:
    """The session of the current request or command (one per app context)."""
    if "db_session" not in g:
        g.db_session = sessions()()
    return g.db_session


def _close_session(_exc) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to `revision` on this engine's database."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def unprepared(app: Flask) -> str | None:
    """Why this database cannot serve this version of the service, in words; None when it can. It
    cannot when it cannot be reached, was never prepared, or was prepared by an older version (a
    revision this version's migrations build on). A long-running process checks this as it starts, so
    it stops with these words rather than failing on its first table. A newer version's database is
    served: the web app of the version before serves it during an upgrade (docs/operations.md,
    "Upgrade and roll back")."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import OperationalError

    where = engine(app).url.render_as_string(hide_password=True)
    try:
        with engine(app).connect() as connection:  # this version's database: answered before alembic loads
            versioned = inspect(connection).has_table("alembic_version")
            if versioned and set(connection.scalars(text("SELECT version_num FROM alembic_version"))) == {HEAD}:
                return None
    except OperationalError as exc:  # the server down, refusing this user, or a file that cannot be opened
        cause = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        return f"the database at {where} cannot be reached ({cause}): check DATABASE_URL and that it is running"

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError

    script = ScriptDirectory.from_config(alembic_config(engine(app)))
    with engine(app).connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    if not current:
        return f"the database at {where} was never prepared for the service: run `flask --app app db-prepare`"
    try:
        reached = {revision.revision for head in current for revision in script.iterate_revisions(head, "base")}
    except RevisionError:  # a revision this version does not know: a newer version prepared it
        return None
    if missing := sorted(set(script.get_heads()) - reached):
        return (
            f"the database at {where} was prepared by an older version of the service (at {', '.join(current)}; "
            f"this version needs {', '.join(missing)}): run `flask --app app db-prepare`"
        )
    return None


def needs_database(command):
    """For a command that reads or writes the service's tables (in place of flask's with_appcontext):
    it runs in the app's context and, on a database not prepared for this version, stops at once with
    unprepared()'s words instead of the driver's error on its first table. Marked so a test can find
    every command that goes without (tests/ops/test_prepared.py)."""
    import functools

    import click
    from flask.cli import with_appcontext

    @functools.wraps(command)
    def checked(*args, **kwargs):
        if reason := unprepared(current_app):
            raise click.ClickException(reason)
        return command(*args, **kwargs)

    checked.needs_database = True
    return with_appcontext(checked)
