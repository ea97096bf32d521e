"""Restore never reuses a case reference, and backups are private: mode 0600, optionally encrypted
with age or GnuPG, as docs/operations.md says (issue 19)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess

import pytest
from sqlalchemy import select

from app import create_app
from service import db
from service.casework import cases
from service.casework.models import AuditEntry
from tests.conftest import sample
from tests.ops.test_backup import fill

YEAR = dt.datetime.now(dt.UTC).year


def _app(url, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, **config})


def _submit(app, form_id="nt-appendix-a") -> str:
    with app.app_context(), db.sessions(app)() as session:
        return cases.submit(session, form_id, sample(form_id), channel="web").reference


def test_restore_moves_every_reference_past_those_issued_since_the_backup(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill(url)  # NT-YEAR-0001 among others
    app = _app(url)
    runner = app.test_cli_runner()
    dump = tmp_path / "nightly.dump"
    assert runner.invoke(args=["backup", str(dump)]).exit_code == 0
    lost = [_submit(app), _submit(app)]  # opened after the backup; their notifications went out
    assert lost == [f"NT-{YEAR}-0002", f"NT-{YEAR}-0003"]

    result = runner.invoke(args=["restore", str(dump), "--yes"])
    assert result.exit_code == 0, result.output
    assert "case references advanced so that none issued since the backup is used again" in result.output
    assert f"NT-{YEAR} from 0001 to 0101" in result.output
    following = _submit(app)
    assert following not in lost and following == f"NT-{YEAR}-0102"
    with db.sessions(app)() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "database.restore"))
    assert entry is not None and f"NT-{YEAR} from 0001 to 0101" in entry.detail and "nightly.dump" in entry.detail


def test_a_restore_onto_a_new_server_relies_on_the_margin(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill(url)
    app = _app(url)
    dump = tmp_path / "nightly.dump"
    app.test_cli_runner().invoke(args=["backup", str(dump)])
    lost = [_submit(app), _submit(app), _submit(app)]
    (tmp_path / "live.sqlite3").unlink()  # the server is gone: nothing tells how far it had got
    fresh = _app(url)
    result = fresh.test_cli_runner().invoke(args=["restore", str(dump), "--yes", "--reference-margin", "5"])
    assert result.exit_code == 0, result.output
    assert f"NT-{YEAR} from 0001 to 0006" in result.output
    assert _submit(fresh) == f"NT-{YEAR}-0007" and f"NT-{YEAR}-0007" not in lost


def test_backups_are_written_for_their_owner_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill(url)
    dump = tmp_path / "nightly.dump"
    dump.write_bytes(b"an older file, world-readable")
    dump.chmod(0o644)
    old = os.umask(0o022)
    try:
        assert _app(url).test_cli_runner().invoke(args=["backup", str(dump)]).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600


def _needs(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: `make test` installs it (apt-get install -y {tool})")


def _age_key(tmp_path) -> tuple:
    """A new age identity file in tmp_path, and its public key (the recipient backups are encrypted for)."""
    _needs("age")
    key = tmp_path / "backup-key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout
    return key, recipient.strip()


def test_an_age_encrypted_backup_restores_only_with_its_key(tmp_path):
    key, recipient = _age_key(tmp_path)
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill(url)
    app = _app(url)
    runner = app.test_cli_runner()
    folder = tmp_path / "backups"
    folder.mkdir()
    dump = folder / "nightly.dump.age"
    made = runner.invoke(args=["backup", str(dump), "--encrypt-to", recipient])
    assert made.exit_code == 0 and "encrypted with age" in made.output, made.output
    body = dump.read_bytes()
    assert body.startswith(b"age-encryption.org/v1") and b"SQLite format 3" not in body
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["nightly.dump.age"]  # no plain copy left behind
    _submit(app)
    refused = runner.invoke(args=["restore", str(dump), "--yes"])
    assert refused.exit_code != 0 and "give its key with --identity" in refused.output
    restored = runner.invoke(args=["restore", str(dump), "--yes", "--identity", str(key)])
    assert restored.exit_code == 0, restored.output
    assert _submit(app) == f"NT-{YEAR}-0102"  # the backup's 0001 moved on by the margin, past 0002 issued since


def test_the_apps_own_setting_comes_before_the_environments(tmp_path):
    """BACKUP_ENCRYPT_TO is read as every setting is (service/ops/settings.py): the app's config first, so
    a recipient the environment names does not replace it."""
    _, recipient = _age_key(tmp_path)
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill(url)
    app = _app(url, BACKUP_ENCRYPT_TO=recipient)
    dump = tmp_path / "nightly.dump.age"
    made = app.test_cli_runner().invoke(args=["backup", str(dump)], env={"BACKUP_ENCRYPT_TO": "not-a-recipient"})
    assert made.exit_code == 0 and "encrypted with age" in made.output, made.output
    assert dump.read_bytes().startswith(b"age-encryption.org/v1")


def test_a_gpg_encrypted_backup_from_the_setting(tmp_path):
    _needs("gpg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "backups@partnership.example", "default", "default",
         "never"],
        check=True, capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill(url)
    app = _app(url)
    runner = app.test_cli_runner()
    dump = tmp_path / "nightly.dump.gpg"
    settings = {"GNUPGHOME": str(home), "BACKUP_ENCRYPT_TO": "backups@partnership.example"}
    made = runner.invoke(args=["backup", str(dump)], env=settings)
    assert made.exit_code == 0 and "encrypted with gpg" in made.output, made.output
    assert b"SQLite format 3" not in dump.read_bytes()
    restored = runner.invoke(args=["restore", str(dump), "--yes"], env={"GNUPGHOME": str(home)})
    assert restored.exit_code == 0, restored.output
    assert _submit(app) == f"NT-{YEAR}-0102"


@pytest.mark.postgres
def test_postgresql_restore_with_the_command_advances_the_references(tmp_path):
    """pg_dump and pg_restore through the commands, as the guide runs them, on a database of its own."""
    import uuid

    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"escalate_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        fill(url)
        app = _app(url)
        runner = app.test_cli_runner()
        dump = tmp_path / "nightly.dump"
        assert runner.invoke(args=["backup", str(dump)]).exit_code == 0
        assert stat.S_IMODE(dump.stat().st_mode) == 0o600 and dump.read_bytes()[:5] == b"PGDMP"
        lost = [_submit(app), _submit(app)]
        db.engine(app).dispose()
        result = runner.invoke(args=["restore", str(dump), "--yes"])
        assert result.exit_code == 0, result.output
        assert f"NT-{YEAR} from 0001 to 0101" in result.output
        assert _submit(app) == f"NT-{YEAR}-0102" and f"NT-{YEAR}-0102" not in lost
        db.engine(app).dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
