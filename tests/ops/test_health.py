"""/healthz and /readyz: liveness without the database, readiness = database up and migrations at head."""

from __future__ import annotations

import pytest

from app import create_app
from service import db


def _app(**config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", **config})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_engine(request, tmp_path):
    """An engine on a database migrated by Alembic (not create_all), as `db-prepare` leaves it."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'ready.sqlite3'}")
        db.upgrade(engine)
        yield engine
        engine.dispose()
        return
    from tests.conftest import postgres_schema

    with postgres_schema() as engine:
        db.upgrade(engine)
        yield engine


def test_healthz_answers_without_touching_the_database():
    app = _app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_when_migrated_to_head(migrated_engine):
    from service.casework import directory

    app = _app(DATABASE_ENGINE=migrated_engine)
    with db.sessions(app)() as session:
        directory.seed(session)  # as `db-prepare` does outside production
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "database": "ok", "migrations": "head", "directory": "ok"}


def test_not_ready_when_a_migration_is_missing(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    db.upgrade(engine, "0001")
    app = _app(DATABASE_ENGINE=engine)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["database"] == "ok"
    assert "not at head" in body["migrations"] and "0001" in body["migrations"]


def test_not_ready_when_the_database_is_unreachable_and_no_secret_is_shown():
    app = _app(DATABASE_URL="postgresql+psycopg://escalate:s3cret-pw@127.0.0.1:1/escalate")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unreachable (the service's log says why)"  # no driver's class or words
    text = response.get_data(as_text=True)
    assert "s3cret-pw" not in text and "127.0.0.1" not in text and "escalate:" not in text


def test_health_endpoints_are_not_rate_limited(tmp_path):
    app = _app(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    client = app.test_client()
    assert all(client.get("/healthz").status_code == 200 for _ in range(300))
