"""Shared fixtures: the app factory, a test client and a CLI runner (as in Flask's tutorial)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from app import create_app
from forms import registry
from tests.support.schema import stamp_what_create_all_makes

stamp_what_create_all_makes()

# The suite gates every landing, so its property tests draw the same examples on every run;
# `HYPOTHESIS_PROFILE=explore make test` draws fresh ones (a failure prints the example to keep).
settings.register_profile("suite", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "forms"


@pytest.fixture
def app(tmp_path):
    # A database file per test (no tables; the db_app fixture below gives a migrated, seeded one).
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}"})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def sample(form_id: str) -> dict:
    """The filled example of a form from samples/forms/."""
    return json.loads((SAMPLES / f"{form_id}.json").read_text(encoding="utf-8"))


ALL_FORMS = sorted(registry().forms)


# --- Databases (issue 3): every db test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL ---

PG_SKIP = (
    "PostgreSQL tests need TEST_DATABASE_URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file with every table, made once per run; each test gets a copy (faster than create_all)."""
    from service.casework.models import Base
    from service.db import make_engine

    create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "sqlite://"})  # imports every model
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()  # the last connection closing folds the WAL into the file
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_engine(request, tmp_path):
    """An engine on an empty database with every table: SQLite in tmp_path, or a fresh PostgreSQL schema."""
    from service.casework.models import Base
    from service.db import make_engine

    if request.param == "sqlite":
        path = tmp_path / "cases.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    with postgres_schema() as engine:
        Base.metadata.create_all(engine)
        yield engine


@contextlib.contextmanager
def postgres_schema():
    """pg_schema() on the machine's PostgreSQL (TEST_DATABASE_URL); the test is skipped without it."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(PG_SKIP)
    with pg_schema(url) as engine:
        yield engine


def schema_url(engine) -> str:
    """The URL by which another process reaches postgres_schema()'s schema."""
    from sqlalchemy import text

    with engine.connect() as connection:
        schema = connection.scalar(text("select current_schema()"))
    return f"{os.environ['TEST_DATABASE_URL']}?options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def pg_schema(url: str):
    """An engine whose connections live in a new PostgreSQL schema, dropped afterwards (test isolation)."""
    from sqlalchemy import create_engine, text

    from service.db import make_engine

    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_app(db_engine):
    """The app on db_engine, with the packs' sample directory seeded."""
    from service.casework import directory
    from service.db import sessions

    # Returned files are read by jobs on the intake queue: here each job runs as it is queued.
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_ENGINE": db_engine, "INTAKE_QUEUE_IMMEDIATE": True}
    )
    with sessions(app)() as session:
        directory.seed(session)
    yield app


@pytest.fixture
def db_session(db_app):
    from service.db import sessions

    with db_app.app_context(), sessions(db_app)() as session:
        yield session


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the whole run: its sync API runs an event loop in this thread, so a second
    one started while the first is open (the browser tests, then the production test) is refused."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running
