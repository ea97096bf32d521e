"""Database backup and restore: `flask --app app backup FILE`, `flask --app app restore FILE`.

- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot taken while the service runs) and
  `pg_restore --clean --if-exists --single-transaction` (all or nothing). The password goes to the
  tools in PGPASSWORD, never on a command line another user could read in `ps`.
- SQLite: the SQLite online backup API, which copies a consistent state even while the app and
  the outbox worker write to the file; restore copies a backup back the same way.

Raw returned files, submissions, the outbox and the audit log all live in the database, so one
backup holds everything; the packs and templates are in the repository. Restore with the app,
the outbox worker and the mail ingestion stopped, then run `flask --app app db-prepare`
(migrates an older backup to the current schema). docs/operations.md has the schedule and drill.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    pass


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection URI (no driver suffix, no password) and the environment carrying the password."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None, query={})
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise BackupError(f"{name} not found: install the PostgreSQL client tools (Debian: postgresql-client)")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def backup(url: str, dest: Path) -> Path:
    """Write a backup of the database at `url` to `dest`."""
    dest = Path(dest)
    if url.startswith("postgresql"):
        uri, env = _libpq(url)
        run = subprocess.run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dest), "--dbname", uri],
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise BackupError(f"pg_dump failed: {run.stderr.strip()[-500:]}")
        return dest
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(dest)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return dest
    raise BackupError(f"no backup method for {make_url(url).drivername}")


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` with the backup in `source`."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if url.startswith("postgresql"):
        uri, env = _libpq(url)
        run = subprocess.run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                uri,
                str(source),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise BackupError(f"pg_restore failed: {run.stderr.strip()[-500:]}")
        return
    if url.startswith("sqlite"):
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            backup_db.execute("PRAGMA schema_version").fetchone()  # fails at once on a file that is not SQLite
            target = sqlite3.connect(_sqlite_path(url))
            try:
                with target:
                    backup_db.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
        finally:
            backup_db.close()
        return
    raise BackupError(f"no restore method for {make_url(url).drivername}")


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest: Path):
    """Back the database up to DEST (pg_dump custom format, or a SQLite file)."""
    from service import db

    try:
        backup(db.engine().url.render_as_string(hide_password=False), dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {dest} ({dest.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the database's current contents are replaced.")
@with_appcontext
def restore_command(source: Path, yes: bool):
    """Replace the database with the backup SOURCE (stop the app and workers first)."""
    from service import db

    if not yes:
        click.confirm("This replaces everything in the database. Are the app and workers stopped?", abort=True)
    url = db.engine().url.render_as_string(hide_password=False)
    db.engine().dispose()
    try:
        restore(url, source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored from {source}; now run `flask --app app db-prepare`")


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
