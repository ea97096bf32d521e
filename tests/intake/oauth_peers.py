"""The OAuth peers of the mail tests, all local and real: a client-credentials token endpoint issuing
signed JWTs, dovecot checking those tokens itself (passdb oauth2, local validation) and an aiosmtpd
server taking SMTP AUTH XOAUTH2."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from aiosmtpd.smtp import AuthResult

from tests.support import dovecot as peer

SIGNING_KEY = os.urandom(32)  # the identity provider's HMAC key, shared with dovecot and the SMTP server
CLIENT_ID, CLIENT_SECRET = "escalate-app", "s3cret-from-settings"


def issue(user: str, lifetime: int = 3600, key: bytes = SIGNING_KEY) -> str:
    now = int(time.time())
    claims = {"sub": CLIENT_ID, "email": user, "iat": now, "nbf": now - 5, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="HS256")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as files (the CA a test's HTTPS client trusts)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "idp.crt", directory / "idp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TokenEndpoint:
    """RFC 6749 §4.4 client credentials: the secret in the form body; a JWT for the mailbox `user`.
    With `tls` (a certificate and key), it serves HTTPS and, like Entra ID, the tenant's OpenID
    configuration at /<tenant>/v2.0/.well-known/openid-configuration, so MSAL can use it."""

    def __init__(self, user: str, lifetime: int = 3600, tls: tuple[Path, Path] | None = None):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                tenant = self.path.strip("/").split("/")[0]
                if not self.path.endswith("/v2.0/.well-known/openid-configuration"):
                    self.send_error(404)
                    return
                base = f"{endpoint.base}/{tenant}"
                config = {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                }
                data = json.dumps(config).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                endpoint.requests.append(form)
                good = (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) == (
                    "client_credentials",
                    CLIENT_ID,
                    CLIENT_SECRET,
                )
                body = (
                    {"access_token": issue(user, lifetime), "token_type": "Bearer", "expires_in": lifetime}
                    if good
                    else {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}
                )
                data = json.dumps(body).encode()
                self.send_response(200 if good else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/oauth2/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class XOAuth2Smtp:
    """An aiosmtpd handler that takes AUTH XOAUTH2, checking the JWT's signature, expiry and mailbox."""

    def __init__(self, user: str):
        self.user = user
        self.messages: list[bytes] = []
        self.logins: list[str] = []

    async def auth_XOAUTH2(self, server, args):
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        fields = dict(part.split("=", 1) for part in base64.b64decode(args[1]).decode().split("\x01") if "=" in part)
        token = fields.get("auth", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, SIGNING_KEY, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return AuthResult(success=False, handled=False)
        if claims.get("email") != fields.get("user") or fields.get("user") != self.user:
            return AuthResult(success=False, handled=False)
        self.logins.append(fields["user"])
        return AuthResult(success=True, auth_data=fields["user"])

    async def handle_DATA(self, server, session, envelope):
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def oauth_dovecot():
    """dovecot with passdb oauth2 validating the JWTs itself (introspection_mode = local) with the
    identity provider's key; one mailbox, `bu`."""
    root = peer.folder("dovecot-oauth-")
    key = base64.b64encode(SIGNING_KEY).decode()
    # dovecot looks the key up as shared/<azp or default>/<alg>/<kid or default>; the fs dict maps a
    # shared key to a file under its prefix.
    for where in (root / "keys" / "default" / "HS256", root / "keys" / "shared" / "default" / "HS256"):
        where.mkdir(parents=True)
        (where / "default").write_text(key)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (root / "oauth2.conf.ext").write_text(
        f"introspection_mode = local\nlocal_validation_key_dict = fs:posix:prefix={root}/keys/\n"
        "username_attribute = email\n"
    )
    auth = f"""auth_mechanisms = xoauth2 oauthbearer
auth_verbose = yes
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""
    with peer.serve(root, auth) as (port, maildir):
        yield port, maildir, root / "dovecot.log"
