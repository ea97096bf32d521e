"""PARTNERSHIPS: which packs a deployment serves. Production never seeds the fictional sample
directory, and /readyz answers 503 while a served partnership has nobody for a role its routing needs."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app import create_app
from service import db
from service.casework.models import Contact
from service.ops import settings


def _app(tmp_path, **config):
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", **config}
    )


def _contacts(app) -> dict[str, int]:
    with db.sessions(app)() as session:
        rows = session.execute(select(Contact.partnership, func.count()).group_by(Contact.partnership))
        return dict(rows.all())


def test_every_pack_is_served_by_default_as_make_run_needs(tmp_path, monkeypatch):
    monkeypatch.delenv("PARTNERSHIPS", raising=False)
    app = _app(tmp_path)
    assert settings.partnerships(app) == tuple(p.id for p in app.extensions["registry"].packs)
    assert app.test_cli_runner().invoke(args=["db-prepare"]).exit_code == 0
    assert set(_contacts(app)) == set(settings.partnerships(app))
    page = BeautifulSoup(app.test_client().get("/").get_data(as_text=True), "html.parser")
    assert len(page.select("input[name=choice]")) == 5


def test_the_start_page_offers_only_the_partnerships_served(tmp_path):
    app = _app(tmp_path, PARTNERSHIPS="north-tyneside, merton")
    app.test_cli_runner().invoke(args=["db-prepare"])
    client = app.test_client()
    page = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
    assert [i["value"] for i in page.select("input[name=choice]")] == ["merton", "north-tyneside"]
    assert client.get("/p/kirklees").status_code == 404
    assert client.get("/p/kirklees/start").status_code == 404
    assert client.get("/p/merton").status_code == 200
    assert set(_contacts(app)) == {"merton", "north-tyneside"}  # development seeds the served packs only


def test_one_partnership_goes_straight_to_its_guidance(tmp_path):
    app = _app(tmp_path, PARTNERSHIPS="north-tyneside")
    response = app.test_client().get("/")
    assert response.status_code == 302 and response.location.endswith("/p/north-tyneside")


def test_an_unknown_partnership_is_refused_at_start_in_any_setting(tmp_path):
    with pytest.raises(settings.UnsafeSettings, match="PARTNERSHIPS names no pack called nowhere") as refused:
        _app(tmp_path, PARTNERSHIPS="north-tyneside,nowhere")
    assert str(refused.value).startswith("escalate: refusing to start; fix these settings:")  # not "in production"


def test_production_never_seeds_sample_contacts_and_is_not_ready_until_the_directory_is_loaded(tmp_path):
    app = _app(tmp_path, PARTNERSHIPS="north-tyneside")
    app.config["ESCALATE_ENV"] = "production"  # as the production env file says (its other checks: test_settings)
    result = app.test_cli_runner().invoke(args=["db-prepare"])
    assert result.exit_code == 0, result.output
    assert _contacts(app) == {}
    assert "north-tyneside has no contact for business-manager" in result.output
    assert "directory import" in result.output
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert "business-manager" in ready.get_json()["directory"]["north-tyneside"]

    csv_file = tmp_path / "nt.csv"
    csv_file.write_text(
        "partnership,role,agency,sector,stage,name,title,email,phone,source\n"
        "north-tyneside,business-manager,,,,Business Manager,Business Manager NTSCP,"
        "ntscp@partnership.example,,the partnership\n"
    )
    imported = app.test_cli_runner().invoke(
        args=["directory", "import", str(csv_file), "--partnership", "north-tyneside"]
    )
    assert imported.exit_code == 0, imported.output
    assert app.test_client().get("/readyz").status_code == 200
    assert _contacts(app) == {"north-tyneside": 1}


@pytest.mark.parametrize("value", [None, "", "all"])
def test_production_refuses_to_start_without_partnerships(monkeypatch, value):
    for name in ("PARTNERSHIPS", "GUNICORN_WORKERS", "WEB_CONCURRENCY", "RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    if value is not None:
        monkeypatch.setenv("PARTNERSHIPS", value)
    monkeypatch.setenv("ESCALATE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://escalate@127.0.0.1:5432/escalate")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://escalate.example")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")  # gunicorn starts several workers
    with pytest.raises(settings.UnsafeSettings) as refused:
        create_app()
    assert [line.split(" ", 1)[0] for line in refused.value.problems] == ["PARTNERSHIPS"]
