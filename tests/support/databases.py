"""A database with no tables, on SQLite or PostgreSQL, for tests that build it with the migrations."""

from __future__ import annotations

import contextlib
import os

import pytest

from service.db import make_engine


@contextlib.contextmanager
def empty_database(kind: str, tmp_path):
    """An engine on a database with no tables at all: an SQLite file in tmp_path ("sqlite"), or a new
    PostgreSQL schema dropped afterwards ("postgresql": skipped without TEST_DATABASE_URL)."""
    from tests.conftest import PG_SKIP, pg_schema

    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(PG_SKIP)
    with pg_schema(url) as engine:
        yield engine
