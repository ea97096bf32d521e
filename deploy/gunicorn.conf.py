"""gunicorn settings for the Escalate web app: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

App processes keep no state of their own (cases, raw files, drafts, sessions' server rows and the
outbox are in PostgreSQL; cookies are signed with SECRET_KEY), so run as many servers with these
settings behind the proxy as the load needs. Every value can be overridden from the environment.
"""

import multiprocessing
import os

# Loopback only: the reverse proxy (deploy/nginx.conf) terminates TLS and forwards here.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Threads let a worker serve other requests while one waits on the database.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A request that takes longer is stuck: parsing runs in its own limited process (parsers.sandbox).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Restart workers now and then, with jitter so they do not all restart together.
max_requests = 2000
max_requests_jitter = 200
# Load the app once in the master: a settings error stops the start instead of looping workers.
preload_app = True
# Only the proxy may set X-Forwarded-*; the app trusts them through PROXY_FIX_X_FOR.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No gunicorn access log: its lines hold full paths (tokens) and query strings (names in searches).
# The app writes one JSON "request" line per request instead (service/ops/logs.py).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Request line and header limits: the app's own limits (MAX_CONTENT_LENGTH) cap bodies.
limit_request_line = 8190
limit_request_fields = 100


def post_fork(server, worker):
    """Each worker opens its own database connections: none made in the master may be shared after fork."""
    app = getattr(server.app, "callable", None)
    engine = getattr(app, "extensions", {}).get("db_engine")
    if engine is not None:
        engine.dispose(close=False)
