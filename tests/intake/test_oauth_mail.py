"""Microsoft 365 and other OAuth mailboxes (issue 14): IMAP polling and SMTP submission with XOAUTH2,
tokens by the client-credentials flow from a token endpoint, refreshed before they expire, tested for
real against dovecot validating the tokens itself and aiosmtpd taking XOAUTH2."""

from __future__ import annotations

import datetime as dt
import imaplib

import pytest
from aiosmtpd.controller import Controller

from service.casework import cases, oauth, outbox
from service.db import sessions
from service.intake.channels import ImapSettings, imap_poll
from service.intake.models import ReceivedItem
from tests.conftest import sample
from tests.intake.oauth_peers import CLIENT_ID, CLIENT_SECRET, TokenEndpoint, XOAuth2Smtp, issue, self_signed
from tests.intake.test_ingest_mail import returned_form
from tests.support.dovecot import deliver
from tests.support.ports import free_port

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def source(url: str, secret: str = CLIENT_SECRET) -> oauth.TokenSource:
    return oauth.TokenSource.from_config(
        {
            "IMAP_OAUTH_CLIENT_ID": CLIENT_ID,
            "IMAP_OAUTH_CLIENT_SECRET": secret,
            "IMAP_OAUTH_TOKEN_URL": url,
            "IMAP_OAUTH_SCOPE": "mail",
        },
        "IMAP",
    )


def test_imap_polling_with_xoauth2_against_dovecot(db_app, oauth_dovecot):
    port, maildir, _log = oauth_dovecot
    deliver(maildir, "1.eml", returned_form())
    with TokenEndpoint("bu") as endpoint:
        settings = ImapSettings(host="127.0.0.1", port=port, user="bu", ssl=False, oauth=source(endpoint.url))
        outcomes = imap_poll(db_app, settings)
        assert [o.status for o in outcomes] == ["received"]  # stored and queued
        with sessions(db_app)() as session:  # the job (run as queued here) read it
            assert session.get(ReceivedItem, outcomes[0].item_id).status == "accepted"
        assert imap_poll(db_app, settings) == []  # seen; and the token was reused, not fetched again
        assert len(endpoint.requests) == 1 and endpoint.requests[0]["scope"] == "mail"


def test_dovecot_refuses_a_token_it_cannot_verify(db_app, oauth_dovecot):
    port, _maildir, _log = oauth_dovecot
    forged = oauth.TokenSource(CLIENT_ID, CLIENT_SECRET, token_url="http://127.0.0.1:9/unused")
    forged._token, forged._expires_at = issue("bu", key=b"not the identity provider's key, but 32+ bytes"), 1e12
    settings = ImapSettings(host="127.0.0.1", port=port, user="bu", ssl=False, oauth=forged)
    with pytest.raises(imaplib.IMAP4.error):
        imap_poll(db_app, settings)
    other = oauth.TokenSource(CLIENT_ID, CLIENT_SECRET, token_url="http://127.0.0.1:9/unused")
    other._token, other._expires_at = issue("someone-else"), 1e12  # a good token for another mailbox
    with pytest.raises(imaplib.IMAP4.error):
        imap_poll(db_app, ImapSettings(host="127.0.0.1", port=port, user="bu", ssl=False, oauth=other))


def test_microsoft_365_tokens_come_from_msal(db_app, oauth_dovecot, tmp_path, monkeypatch):
    """The Entra path (a tenant id): MSAL discovers the tenant's endpoints and fetches the token over
    HTTPS, here from a local identity provider standing where login.microsoftonline.com would."""
    port, maildir, _log = oauth_dovecot
    deliver(maildir, "1.eml", returned_form())
    tls = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))  # MSAL's HTTP client trusts the local certificate
    with TokenEndpoint("bu", tls=tls) as idp:
        config = {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": port,
            "IMAP_SSL": "0",
            "IMAP_USER": "bu",
            "IMAP_OAUTH_TENANT_ID": "00000000-0000-0000-0000-00000000000a",
            "IMAP_OAUTH_CLIENT_ID": CLIENT_ID,
            "IMAP_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
            "IMAP_OAUTH_AUTHORITY": idp.base,
        }
        settings = ImapSettings.from_config(config)
        assert [o.status for o in imap_poll(db_app, settings)] == ["received"]  # stored, read by its job
    [asked] = idp.requests
    assert asked["grant_type"] == "client_credentials" and asked["scope"] == "https://outlook.office365.com/.default"


def test_a_wrong_client_secret_is_named_without_the_secret():
    with TokenEndpoint("bu") as endpoint, pytest.raises(oauth.OAuthError) as refused:
        source(endpoint.url, secret="wrong-secret").token()
    assert "Invalid client secret" in str(refused.value) and "wrong-secret" not in str(refused.value)


def test_the_token_is_fetched_again_before_it_expires():
    now = [1_000_000.0]
    with TokenEndpoint("bu", lifetime=3600) as endpoint:
        tokens = source(endpoint.url)
        tokens.clock = lambda: now[0]
        first = tokens.token()
        now[0] += 3600 - 301  # more than five minutes left: the same token
        assert tokens.token() == first and tokens.fetched == 1
        now[0] += 2  # within five minutes of expiry: a new one
        tokens.token()
        assert tokens.fetched == 2 and len(endpoint.requests) == 2


def test_smtp_submission_with_xoauth2(db_app):
    handler, port = XOAuth2Smtp("escalations@ntscp.example"), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, auth_require_tls=False, auth_exclude_mechanism=["LOGIN", "PLAIN"]
    )
    controller.start()
    try:
        with db_app.app_context(), sessions(db_app)() as session:
            cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
        with TokenEndpoint("escalations@ntscp.example") as endpoint:
            config = {
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": port,
                "MAIL_USERNAME": "escalations@ntscp.example",
                "MAIL_SENDER": "NTSCP Escalations <escalations@ntscp.example>",
                "MAIL_OAUTH_CLIENT_ID": CLIENT_ID,
                "MAIL_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
                "MAIL_OAUTH_TOKEN_URL": endpoint.url,
            }
            with db_app.app_context():
                report = outbox.deliver(sessions(db_app), outbox.MailSettings.from_config(config), now=NOW)
                assert (report.sent, report.failed) == (2, 0), report.errors
                assert handler.logins == ["escalations@ntscp.example"] and len(handler.messages) == 2
                # A token the server cannot verify: refused, and the rows wait to be retried.
                cases.submit(sessions(db_app)(), "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
                settings = outbox.MailSettings.from_config(config)
                settings.oauth._token, settings.oauth._expires_at = (
                    issue("x", key=b"a forged key, long enough for HS256"),
                    1e12,
                )
                refused = outbox.deliver(sessions(db_app), settings, now=NOW)
                assert refused.sent == 0 and refused.failed >= 1 and "SMTPAuthenticationError" in refused.errors[0]
    finally:
        controller.stop()


def test_settings_choose_the_flow_and_refuse_unsafe_ones():
    assert oauth.TokenSource.from_config({}, "IMAP") is None
    entra = oauth.TokenSource.from_config(
        {"MAIL_OAUTH_TENANT_ID": "tenant", "MAIL_OAUTH_CLIENT_ID": "id", "MAIL_OAUTH_CLIENT_SECRET": "hunter2-x"},
        "MAIL",
    )
    assert entra.tenant_id == "tenant" and entra.scope == "https://outlook.office365.com/.default"
    assert "hunter2-x" not in repr(entra)  # never printed in a log or an error
    with pytest.raises(ValueError, match="https"):
        oauth.TokenSource.from_config(
            {
                "IMAP_OAUTH_CLIENT_ID": "i",
                "IMAP_OAUTH_CLIENT_SECRET": "s",
                "IMAP_OAUTH_TOKEN_URL": "http://idp.example/t",
            },
            "IMAP",
        )
    with pytest.raises(ValueError, match="CLIENT_SECRET"):
        oauth.TokenSource.from_config({"IMAP_OAUTH_CLIENT_ID": "i", "IMAP_OAUTH_TENANT_ID": "t"}, "IMAP")
    config = {
        "IMAP_HOST": "outlook.office365.com",
        "IMAP_USER": "bu@kscp.example",
        "IMAP_OAUTH_CLIENT_ID": "i",
        "IMAP_OAUTH_CLIENT_SECRET": "s",
        "IMAP_OAUTH_TENANT_ID": "t",
    }
    settings = ImapSettings.from_config(config)
    assert settings.password is None and settings.oauth.tenant_id == "t"


def test_imap_poll_command_names_a_refused_token(db_app, monkeypatch):
    with TokenEndpoint("bu") as endpoint:
        for key, value in {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(free_port()),
            "IMAP_SSL": "0",
            "IMAP_USER": "bu",
            "IMAP_OAUTH_CLIENT_ID": CLIENT_ID,
            "IMAP_OAUTH_CLIENT_SECRET": "wrong",
            "IMAP_OAUTH_TOKEN_URL": endpoint.url,
        }.items():
            monkeypatch.setenv(key, value)
        result = db_app.test_cli_runner().invoke(args=["imap-poll"])
    assert result.exit_code == 1 and "Invalid client secret" in result.output and "wrong" not in result.output
