"""Settings from environment variables, and the checks that stop an unsafe production start.

Every setting the service reads is listed in SETTINGS (deploy/env.example and docs/operations.md
describe the same list; tests/ops/test_settings.py holds them in step). Secrets come only from the
environment (or a file the process manager loads into it), never from the repository.

With ESCALATE_ENV=production the app refuses to start, naming the setting, when:
- SECRET_KEY is missing, the development value, or shorter than 32 characters (it signs sessions
  and CSRF tokens: every app server must share the same one);
- DATABASE_URL is not PostgreSQL (a SQLite file is local state: a second app server would not see it);
- COOKIE_SECURE is turned off (session cookies must only travel over HTTPS);
- PUBLIC_BASE_URL is not an https address (links in letters to agencies would point nowhere);
- PARTNERSHIPS is unset, empty or "all" (a production install serves the partnerships it names, never all the
  packs with their fictional sample directories); an unknown pack id there is refused in any setting;
- (in any setting) POLICIES_DIR lacks a pack's policy text: MissingPolicies, before the packs load;
- rate limits are counted in memory while gunicorn starts more than one process (each would count
  alone; GUNICORN_WORKERS, or 2 x cores + 1 as deploy/gunicorn.conf.py), unless
  RATELIMIT_STORAGE_URI names a shared store (redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - app.py's fallback for `make run`; refused in production


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    meaning: str
    secret: bool = False


SETTINGS = (
    Setting("ESCALATE_ENV", "development", "production turns on the start-up checks below"),
    Setting("SECRET_KEY", DEV_SECRET_KEY, "signs session cookies and CSRF tokens; same on every app server", True),
    Setting("DATABASE_URL", "SQLite file in instance/", "postgresql+psycopg://user:password@host:5432/escalate", True),
    Setting(
        "POLICIES_DIR",
        "../shared/policies beside the project",
        "folder of the partnerships' policy texts the packs quote (each pack.yaml's policy file); checked at start",
    ),
    Setting("PARTNERSHIPS", "all", "pack ids this deployment serves, comma-separated; required in production"),
    Setting("MAIL_SERVER", "localhost", "SMTP relay for outgoing notifications"),
    Setting("MAIL_PORT", "25", "SMTP port"),
    Setting("MAIL_SENDER", "Escalate <escalations@escalate.example>", "From: of notifications"),
    Setting("MAIL_USERNAME", "", "SMTP user, when the relay needs one"),
    Setting("MAIL_PASSWORD", "", "SMTP password", True),
    Setting("MAIL_USE_STARTTLS", "", "1 to STARTTLS before sending"),
    Setting("MAIL_MESSAGE_ID_DOMAIN", "escalate.example", "domain part of every notification's Message-ID"),
    Setting("MAIL_DKIM_DOMAIN", "", "sign outgoing mail with DKIM for this domain (when the service sends directly)"),
    Setting("MAIL_DKIM_SELECTOR", "", "the DKIM selector whose public key is published in DNS"),
    Setting("MAIL_DKIM_PRIVATE_KEY", "", "the DKIM private key (PEM), or MAIL_DKIM_KEY_FILE", True),
    Setting("MAIL_DKIM_KEY_FILE", "", "a file holding the DKIM private key (PEM), readable by the worker only"),
    Setting("MAIL_OAUTH_TENANT_ID", "", "Microsoft 365: the Entra tenant, for SMTP submission with XOAUTH2"),
    Setting("MAIL_OAUTH_CLIENT_ID", "", "OAuth client (application) id for sending; no password then"),
    Setting("MAIL_OAUTH_CLIENT_SECRET", "", "OAuth client secret for sending", True),
    Setting("MAIL_OAUTH_TOKEN_URL", "", "another provider's OAuth2 token endpoint (client credentials)"),
    Setting("MAIL_OAUTH_AUTHORITY", "https://login.microsoftonline.com", "Entra sign-in host (a national cloud's)"),
    Setting("MAIL_OAUTH_SCOPE", "https://outlook.office365.com/.default with a tenant", "scope asked for"),
    Setting("IMAP_HOST", "", "shared mailbox server read by `flask --app app imap-poll`"),
    Setting("IMAP_PORT", "993 (143 without SSL)", "IMAP port"),
    Setting("IMAP_USER", "", "the mailbox login"),
    Setting("IMAP_PASSWORD", "", "the mailbox password (or app password)", True),
    Setting("IMAP_FOLDER", "INBOX", "folder to read"),
    Setting("IMAP_OAUTH_TENANT_ID", "", "Microsoft 365: the Entra tenant, for reading the mailbox with XOAUTH2"),
    Setting("IMAP_OAUTH_CLIENT_ID", "", "OAuth client (application) id for the mailbox; no password then"),
    Setting("IMAP_OAUTH_CLIENT_SECRET", "", "OAuth client secret for the mailbox", True),
    Setting("IMAP_OAUTH_TOKEN_URL", "", "another provider's OAuth2 token endpoint (client credentials)"),
    Setting("IMAP_OAUTH_AUTHORITY", "https://login.microsoftonline.com", "Entra sign-in host (a national cloud's)"),
    Setting("IMAP_OAUTH_SCOPE", "https://outlook.office365.com/.default with a tenant", "scope asked for"),
    Setting(
        "TRUSTED_AUTHSERV_ID",
        "",
        "your receiving servers' names in Authentication-Results, comma-separated; replies are believed on their verdict",
    ),
    Setting(
        "DKIM_DNS_SERVERS", "the system's resolvers", "resolvers for DKIM key lookups when no receiving server vouches"
    ),
    Setting("IMAP_SSL", "1", "0 for plain IMAP (only on a trusted internal network)"),
    Setting(
        "INTAKE_QUEUE_URL",
        "SQLite file in instance/",
        "the intake queue the workers read returned files from; redis://host:6379/1 when machines share it",
        True,
    ),
    Setting("INTAKE_QUEUE_NAME", "escalate-intake", "the queue's name (several services may share one Redis)"),
    Setting("INTAKE_LEASE_SECONDS", "300", "how long a worker holds an item before another may read it"),
    Setting("INTAKE_REQUEUE_SECONDS", "600", "how long a queued item may wait before the sweep queues it again"),
    Setting("PUBLIC_BASE_URL", "http://localhost:5000", "the service's https address, for links in e-mailed letters"),
    Setting("MAX_CONTENT_LENGTH", "41943040", "largest request body in bytes (uploads)"),
    Setting("COOKIE_SECURE", "on except in tests", "0 only for local development over plain http"),
    Setting("RETENTION_YEARS", "service default", "how long closed cases are kept (workspace retention)"),
    Setting("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Setting("LOG_FORMAT", "json", "json (one object per line) or text"),
    Setting("RATELIMIT_ENABLED", "true", "false turns rate limiting off (never in production)"),
    Setting("RATELIMIT_STORAGE_URI", "memory://", "shared counter store for several processes, e.g. redis://"),
    Setting("RATELIMIT_KEY_PREFIX", "", "keeps these counters apart from another service's in a shared Redis"),
    Setting("SIGN_IN_RATE_LIMIT", "10 per minute;100 per day", "per client address, staff sign-in POSTs"),
    Setting("PUBLIC_POST_RATE_LIMIT", "120 per minute;3000 per day", "per client address, public form POSTs"),
    Setting("LOST_LINK_RATE_LIMIT", "5 per hour;20 per day", "per client address, lost-link page POSTs"),
    Setting("PROXY_FIX_X_FOR", "0", "number of reverse proxies in front that set X-Forwarded-For/-Proto/-Host"),
    Setting("HSTS_SECONDS", "31536000", "Strict-Transport-Security max-age; 0 leaves the header out"),
    Setting("BACKUP_ENCRYPT_TO", "", "age public key (age1...) or GnuPG key: `flask backup` encrypts for it"),
    Setting("GUNICORN_WORKERS", "2 x cores + 1", "app processes per server (deploy/gunicorn.conf.py)"),
)


class UnsafeSettings(SystemExit):
    """Production start refused; the message names each setting to fix, one line each.

    A SystemExit, so gunicorn, `flask --app app ...` and systemd's journal show those lines and exit
    with status 1, without a traceback around them.
    """

    def __init__(self, problems: list[str], in_production: bool = True):
        self.problems = problems
        where = " in production" if in_production else ""
        super().__init__("\n".join([f"escalate: refusing to start{where}; fix these settings:", *problems]))


class MissingPolicies(SystemExit):
    """No start, in any setting, without every pack's policy text: a pack loads only when its quotes are
    found in its policy (forms/quotes.py; app.py checks before loading them). One line naming the folder
    and the files, exit status 1."""

    def __init__(self, folder, missing: list[str]):
        self.missing = missing
        where = f"{folder}" if folder.is_dir() else f"{folder}, no such folder"
        super().__init__(
            f"escalate: refusing to start: POLICIES_DIR ({where}) lacks the policy texts the packs quote: "
            f"{', '.join(missing)} (docs/operations.md, Install)"
        )


def production(app: Flask) -> bool:
    return setting(app, "ESCALATE_ENV", "development") == "production"


def problems(app: Flask) -> list[str]:
    """What is unsafe about this app's settings for production (empty when all is well)."""

    found = []
    key = app.config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < 32:
        found.append("SECRET_KEY must be set to a random value of at least 32 characters (not the development one)")
    found += database_problems(app)
    if app.config.get("SESSION_COOKIE_SECURE") is False:
        found.append("COOKIE_SECURE must not be turned off: session cookies must only travel over HTTPS")
    if not (public_base_url(app) or "").startswith("https://"):
        found.append("PUBLIC_BASE_URL must be the service's https address: e-mailed letters link to it")
    if not _named_partnerships(app):  # unset, empty or "all": every pack, with its fictional sample directory
        found.append("PARTNERSHIPS must list the pack ids this deployment serves, e.g. PARTNERSHIPS=north-tyneside")
    if not app.config.get("RATELIMIT_ENABLED", True):
        found.append("RATELIMIT_ENABLED must not be false")
    workers = worker_count()
    storage = setting(app, "RATELIMIT_STORAGE_URI", "memory://")
    if workers > 1 and storage.startswith("memory"):
        found.append(
            "RATELIMIT_STORAGE_URI must name a shared store (e.g. redis://) when there are several worker processes"
        )
    return found


def mail_trust_problems(app: Flask) -> list[str]:
    """Microsoft 365's header names no server, so it cannot be told apart from another server's."""
    names = [name.lower() for name in listed(setting(app, "TRUSTED_AUTHSERV_ID", ""))]
    if "microsoft-365" in names and len(names) > 1:
        return ["TRUSTED_AUTHSERV_ID: microsoft-365 must be the only name (its header carries no server name)"]
    return []


def database_problems(app: Flask) -> list[str]:
    """What is unsafe about the database setting for production (also checked by app.create_cli_app)."""
    from service.db import database_url

    if not database_url(app).startswith("postgresql"):
        return ["DATABASE_URL must point at PostgreSQL: a SQLite file is local to one server"]
    return []


def worker_count() -> int:
    """The app processes deploy/gunicorn.conf.py starts, by the same formula: GUNICORN_WORKERS, else
    2 x cores + 1 (tests/ops/test_settings.py runs the config file to hold the two in step)."""
    return int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))


def check(app: Flask) -> None:
    """Refuse a production start with unsafe settings (called once the app is fully built)."""
    found = unknown_partnerships(app) + mail_trust_problems(app)
    if production(app):
        found += problems(app)
    if found:
        raise UnsafeSettings(found, in_production=production(app))


def _named_partnerships(app: Flask) -> list[str]:
    value = setting(app, "PARTNERSHIPS", "").strip()
    return [] if value.lower() == "all" else listed(value)


def listed(value: str | None) -> list[str]:
    """A setting's comma-separated names."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def unknown_partnerships(app: Flask) -> list[str]:
    known = [pack.id for pack in app.extensions["registry"].packs]
    unknown = [name for name in _named_partnerships(app) if name not in known]
    if unknown:
        return [f"PARTNERSHIPS names no pack called {', '.join(unknown)} (packs: {', '.join(known)})"]
    return []


def partnerships(app: Flask) -> tuple[str, ...]:
    """The pack ids this deployment serves, in the registry's order: PARTNERSHIPS, or every pack when unset."""
    named = _named_partnerships(app)
    return tuple(pack.id for pack in app.extensions["registry"].packs if not named or pack.id in named)


def _hsts(seconds: int):
    value = f"max-age={seconds}; includeSubDomains"

    def add(response):
        response.headers.setdefault("Strict-Transport-Security", value)
        return response

    return add


def public_base_url(app: Flask) -> str | None:
    """The service's address as agencies reach it (links in e-mailed letters), or None when unset."""
    return setting(app, "PUBLIC_BASE_URL", "") or None


def setting(app: Flask, name: str, default: str) -> str:
    """A setting as the app reads it: the app's config when it holds the name (tests, a caller's
    create_app), else the environment (the settings file), else `default`."""
    value = app.config.get(name)
    return str(value) if value is not None else os.environ.get(name, default)


def init_app(app: Flask) -> None:
    hops = int(setting(app, "PROXY_FIX_X_FOR", "0"))
    if hops:
        # The client's address (rate limits), scheme (secure cookies, HSTS) and host from the proxy's headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    seconds = int(setting(app, "HSTS_SECONDS", "31536000"))
    if seconds:
        # Browsers keep to HTTPS for this host; sent on every answer (ignored by browsers over plain http).
        app.after_request(_hsts(seconds))
