"""A database with no tables, on SQLite or PostgreSQL, for tests that build it with the migrations."""

from __future__ import annotations

import contextlib

from service.db import make_engine


@contextlib.contextmanager
def empty_database(kind: str, tmp_path):
    """An engine on a database with no tables at all: an SQLite file in tmp_path ("sqlite"), or a new
    PostgreSQL schema dropped afterwards ("postgresql": skipped without TEST_DATABASE_URL)."""
    from tests.conftest import postgres_schema

    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_schema() as engine:
        yield engine
