"""OAuth 2.0 access tokens for mailboxes that take no password: Microsoft 365 and other providers.

Exchange Online refuses passwords (basic authentication) for IMAP and is retiring them for SMTP
submission; both take XOAUTH2 with an access token obtained by the client-credentials flow:

- Microsoft Entra ID: `<P>_OAUTH_TENANT_ID`, `<P>_OAUTH_CLIENT_ID`, `<P>_OAUTH_CLIENT_SECRET`; the token
  comes from MSAL (scope https://outlook.office365.com/.default unless `<P>_OAUTH_SCOPE` says otherwise;
  `<P>_OAUTH_AUTHORITY` for a national cloud, e.g. https://login.microsoftonline.us);
- any other provider: `<P>_OAUTH_TOKEN_URL`, `<P>_OAUTH_CLIENT_ID`, `<P>_OAUTH_CLIENT_SECRET` and
  `<P>_OAUTH_SCOPE` (RFC 6749 §4.4, the secret sent in the form body).

`<P>` is IMAP for the mailbox reader and MAIL for sending. A token is kept in memory only and fetched
again five minutes before it expires; secrets come only from settings, never from the repository.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

OUTLOOK_SCOPE = "https://outlook.office365.com/.default"
ENTRA = "https://login.microsoftonline.com"
REFRESH_BEFORE = 300  # seconds before expiry a new token is fetched
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class OAuthError(RuntimeError):
    """No token could be had; the message says why (never the secret)."""


@dataclass
class TokenSource:
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str | None = None
    tenant_id: str | None = None
    scope: str | None = None
    authority: str = ENTRA
    timeout: float = 30.0
    clock: object = time.time
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    fetched: int = 0  # how many tokens were fetched (a refresh shows as a second)

    @classmethod
    def from_config(cls, config, prefix: str) -> TokenSource | None:
        def get(name):
            value = config.get(f"{prefix}_OAUTH_{name}") if config is not None else None
            return value or os.environ.get(f"{prefix}_OAUTH_{name}") or None

        client_id = get("CLIENT_ID")
        if not client_id:
            return None
        secret, url, tenant = get("CLIENT_SECRET"), get("TOKEN_URL"), get("TENANT_ID")
        if not secret:
            raise ValueError(f"set {prefix}_OAUTH_CLIENT_SECRET with {prefix}_OAUTH_CLIENT_ID")
        if not (url or tenant):
            raise ValueError(f"set {prefix}_OAUTH_TENANT_ID (Microsoft 365) or {prefix}_OAUTH_TOKEN_URL")
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme != "https" and parts.hostname not in LOOPBACK:
                raise ValueError(f"{prefix}_OAUTH_TOKEN_URL must be an https address")
        scope = get("SCOPE") or (OUTLOOK_SCOPE if tenant and not url else None)
        authority = (get("AUTHORITY") or ENTRA).rstrip("/")
        if not authority.startswith("https://"):
            raise ValueError(f"{prefix}_OAUTH_AUTHORITY must be an https address")
        return cls(client_id, secret, token_url=url, tenant_id=tenant, scope=scope, authority=authority)

    def token(self) -> str:
        """A valid access token: the one held, or a new one when it is within 5 minutes of expiry."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - REFRESH_BEFORE:
                token, lifetime = self._from_msal() if self.tenant_id and not self.token_url else self._from_endpoint()
                self._token, self._expires_at = token, self.clock() + lifetime
                self.fetched += 1
            return self._token

    def xoauth2(self, user: str) -> str:
        """The SASL XOAUTH2 initial response for `user` (IMAP AUTHENTICATE, SMTP AUTH)."""
        return f"user={user}\x01auth=Bearer {self.token()}\x01\x01"

    def _from_endpoint(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        if self.scope:
            form["scope"] = self.scope
        request = urllib.request.Request(  # noqa: S310 - the https (or loopback) URL is checked in from_config
            self.token_url,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read(1_000_000))
        except urllib.error.HTTPError as exc:
            raise OAuthError(f"the token endpoint refused the client: {_error(exc.read(10_000))}") from None
        except (OSError, ValueError) as exc:
            raise OAuthError(f"the token endpoint could not be reached: {type(exc).__name__}") from None
        return _token_from(body)

    def _from_msal(self) -> tuple[str, float]:
        import msal
        from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

        host = urllib.parse.urlsplit(self.authority).hostname
        app = msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self.client_secret,
            authority=f"{self.authority}/{self.tenant_id}",
            timeout=self.timeout,
            # Microsoft's clouds are known to MSAL; asking Microsoft about any other host would leak it.
            instance_discovery=host in WELL_KNOWN_AUTHORITY_HOSTS,
        )
        return _token_from(app.acquire_token_for_client(scopes=[self.scope or OUTLOOK_SCOPE]))


def _token_from(body) -> tuple[str, float]:
    if not isinstance(body, dict) or not body.get("access_token"):
        raise OAuthError(f"no access token was given: {_error(body)}")
    try:
        lifetime = float(body.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    return str(body["access_token"]), lifetime


def _error(body) -> str:
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return "no reason given"
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or "no reason given")[:300]
    return "no reason given"


__all__ = ["OAuthError", "TokenSource"]
