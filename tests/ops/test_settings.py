"""Settings from the environment: production refuses unsafe values; every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from service.ops import settings

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 48
PG = "postgresql+psycopg://escalate@127.0.0.1:5432/escalate"


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("ESCALATE_ENV", "production")
    names = ("SECRET_KEY", "DATABASE_URL", "GUNICORN_WORKERS", "WEB_CONCURRENCY", "RATELIMIT_STORAGE_URI")
    for name in (*names, "PUBLIC_BASE_URL", "PARTNERSHIPS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_refuses_the_development_secret_key(production):
    production.setenv("DATABASE_URL", PG)
    with pytest.raises(settings.UnsafeSettings, match="SECRET_KEY"):
        create_app()


def test_production_refuses_a_short_secret_key(production):
    production.setenv("DATABASE_URL", PG)
    production.setenv("SECRET_KEY", "short")
    with pytest.raises(settings.UnsafeSettings, match="at least 32 characters"):
        create_app()


def test_production_refuses_sqlite(production, tmp_path):
    production.setenv("SECRET_KEY", GOOD_KEY)
    production.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'local.sqlite3'}")
    with pytest.raises(settings.UnsafeSettings, match="DATABASE_URL must point at PostgreSQL"):
        create_app()


def test_production_refuses_in_memory_rate_limits_with_several_workers(production):
    production.setenv("SECRET_KEY", GOOD_KEY)
    production.setenv("DATABASE_URL", PG)
    production.setenv("GUNICORN_WORKERS", "4")
    with pytest.raises(settings.UnsafeSettings, match="RATELIMIT_STORAGE_URI"):
        create_app()


def test_production_refuses_links_to_anywhere_but_an_https_address(production):
    production.setenv("SECRET_KEY", GOOD_KEY)
    production.setenv("DATABASE_URL", PG)
    for base in (None, "http://escalate.example"):
        if base:
            production.setenv("PUBLIC_BASE_URL", base)
        with pytest.raises(settings.UnsafeSettings, match="PUBLIC_BASE_URL must be the service's https address"):
            create_app()


def test_production_starts_with_safe_settings_from_the_environment(production):
    production.setenv("SECRET_KEY", GOOD_KEY)
    production.setenv("DATABASE_URL", PG)
    production.setenv("PUBLIC_BASE_URL", "https://escalate.example")
    production.setenv("PARTNERSHIPS", "north-tyneside")
    app = create_app()  # the engine connects lazily: no server is needed to build the app
    assert app.config["SECRET_KEY"] == GOOD_KEY
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert settings.problems(app) == []


def test_development_starts_with_the_development_key(monkeypatch, tmp_path):
    monkeypatch.delenv("ESCALATE_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}"})
    assert app.config["SECRET_KEY"] == settings.DEV_SECRET_KEY
    assert settings.problems(app)  # the same app would be refused in production


def test_no_secret_is_committed():
    """The repository holds the development placeholder only; env.example leaves every secret empty."""
    example = (ROOT / "deploy" / "env.example").read_text()
    for setting in settings.SETTINGS:
        if setting.secret and setting.name != "DATABASE_URL":
            assert re.search(rf"^{setting.name}=$", example, re.M), f"{setting.name} must be empty in env.example"
    assert "CHANGE-ME" in example  # the sample database URL's password is a visible placeholder


def test_every_setting_is_documented():
    guide = (ROOT / "docs" / "operations.md").read_text()
    example = (ROOT / "deploy" / "env.example").read_text()
    for setting in settings.SETTINGS:
        assert f"`{setting.name}`" in guide, f"{setting.name} missing from docs/operations.md"
        if setting.name not in ("ESCALATE_ENV", "COOKIE_SECURE", "MAX_CONTENT_LENGTH", "RATELIMIT_ENABLED"):
            assert f"{setting.name}=" in example, f"{setting.name} missing from deploy/env.example"


def test_proxy_fix_makes_the_client_address_and_scheme_the_browsers(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "PROXY_FIX_X_FOR": 1,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        }
    )
    seen = {}

    @app.get("/_probe")
    def probe():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    app.test_client().get("/_probe", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}
