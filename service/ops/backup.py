"""Database backup and restore: `flask --app app backup FILE`, `flask --app app restore FILE`.

- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot taken while the service runs) and
  `pg_restore --clean --if-exists --single-transaction` (all or nothing). The password goes to the
  tools in PGPASSWORD, never on a command line another user could read in `ps`.
- SQLite: the SQLite online backup API, which copies a consistent state even while the app and
  the outbox worker write to the file; restore copies a backup back the same way.

Raw returned files, submissions, the outbox and the audit log all live in the database, so one
backup holds everything; the packs and templates are in the repository. A backup file is written
with mode 0600, encrypted with age or GnuPG when BACKUP_ENCRYPT_TO names a recipient
(service/ops/encryption.py). Restore with the app, the outbox worker and the mail ingestion stopped:
`restore` migrates an older backup to the current schema and moves every case reference counter past
any reference issued since the backup (service/casework/references.py), saying so and recording it
in the audit log. docs/operations.md has the schedule and drill.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from service.ops import encryption, settings


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


def backup(url: str, dest: Path, encrypt_to: str | None = None) -> Path:
    """Write a backup of the database at `url` to `dest` (mode 0600), encrypted for `encrypt_to` if given."""
    dest = Path(dest)
    if not encrypt_to:
        return _dump(url, dest)
    with encryption.scratch(dest) as folder:
        plain = _dump(url, folder / "plain")
        encryption.encrypt(plain, dest, encrypt_to)
    return dest


def _dump(url: str, dest: Path) -> Path:
    encryption.private_file(dest)  # pg_dump and SQLite write into it and keep its mode
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


def restore(url: str, source: Path, identity: Path | None = None) -> None:
    """Replace the database at `url` with the backup in `source` (decrypted first when encrypted)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if encryption.encrypted_with(source) is None:
        return _restore(url, source)
    with encryption.scratch(source) as folder:
        plain = folder / "plain"
        encryption.decrypt(source, plain, identity)
        return _restore(url, plain)


def _restore(url: str, source: Path) -> None:
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
@click.option("--encrypt-to", help="age public key (age1...) or GnuPG key to encrypt for (default: BACKUP_ENCRYPT_TO).")
@with_appcontext
def backup_command(dest: Path, encrypt_to: str | None):
    """Back the database up to DEST (pg_dump custom format, or a SQLite file), mode 0600."""
    from service import db

    # The option, else the setting with the precedence every setting has (the app's config, then the environment).
    recipient = encrypt_to or settings.setting(current_app, "BACKUP_ENCRYPT_TO", "")
    try:
        backup(db.engine().url.render_as_string(hide_password=False), dest, recipient or None)
    except (BackupError, encryption.EncryptionError) as exc:
        raise click.ClickException(str(exc)) from None
    how = f", encrypted with {encryption.tool(recipient)}" if recipient else ""
    click.echo(f"backup written to {dest} ({dest.stat().st_size:,} bytes{how})")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the database's current contents are replaced.")
@click.option("--identity", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="age key file.")
@click.option(
    "--reference-margin",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Numbers to skip past each restored reference counter: references issued since the backup.",
)
@with_appcontext
def restore_command(source: Path, yes: bool, identity: Path | None, reference_margin: int):
    """Replace the database with the backup SOURCE (stop the app and workers first), migrate it, and
    move every case reference past any the service may have issued since the backup."""
    from service import db

    if not yes:
        click.confirm("This replaces everything in the database. Are the app and workers stopped?", abort=True)
    url = db.engine().url.render_as_string(hide_password=False)
    floor = _counters_before()
    db.engine().dispose()
    try:
        restore(url, source, identity)
    except (BackupError, encryption.EncryptionError) as exc:
        raise click.ClickException(str(exc)) from None
    db.engine().dispose()
    db.upgrade(db.engine())
    click.echo(f"restored from {source} and migrated to the current schema")
    for line in _advance_references(source, reference_margin, floor):
        click.echo(line)


def _counters_before() -> dict | None:
    """The reference counters of the database about to be replaced, when it can still be read."""
    from service import db
    from service.casework import references

    try:
        with db.sessions()() as session:
            return references.counters(session)
    except Exception:  # a lost or broken database is why one restores: the margin must do
        return None


def _advance_references(source: Path, margin: int, floor: dict | None) -> list[str]:
    from service import db
    from service.casework import audit, references

    year = dt.datetime.now(dt.UTC).year
    with db.sessions()() as session:
        moved = references.advance(session, current_app.extensions["registry"], year, margin, floor)
        basis = f"margin {margin}" + (", and the replaced database's counters" if floor else "")
        detail = f"restored from {source.name}; references advanced ({basis}): " + (
            "; ".join(str(m) for m in moved) or "none needed"
        )
        audit.record(session, "system: restore", "database.restore", detail=detail[:2000])
        session.commit()
    lines = [f"case references advanced so that none issued since the backup is used again ({basis}):"]
    lines += [f"  {m}" for m in moved] or ["  none needed"]
    return lines


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
