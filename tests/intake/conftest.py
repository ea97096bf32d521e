"""Fixtures of the intake tests."""

from __future__ import annotations

import pytest

from tests.intake.mailauth import MX
from tests.intake.oauth_peers import oauth_dovecot  # noqa: F401 - a fixture of test_oauth_mail


@pytest.fixture
def trusted_mx(monkeypatch):
    """TRUSTED_AUTHSERV_ID names the test's receiving server, whose Authentication-Results are believed."""
    monkeypatch.setenv("TRUSTED_AUTHSERV_ID", MX)
    return MX
