"""Shared fixtures: the app factory, a test client and a CLI runner (as in Flask's tutorial)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import create_app
from forms import registry

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "forms"


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test"})
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
