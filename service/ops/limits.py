"""Rate limits (Flask-Limiter) on the two doors anyone can knock on: staff sign-in and public form posts.

Counted per client address (behind a reverse proxy set PROXY_FIX_X_FOR so that is the browser's,
not the proxy's). The limits and where they are counted are settings:

    SIGN_IN_RATE_LIMIT       "10 per minute;100 per day"    POSTs to /workspace/sign-in
    PUBLIC_POST_RATE_LIMIT   "120 per minute;3000 per day"  POSTs of the public web journey and
                                                            POST /api/submissions
    LOST_LINK_RATE_LIMIT     "5 per hour;20 per day"        POSTs of the "lost your link?" page (each
                                                            may send an e-mail and revoke a link)
    RATELIMIT_STORAGE_URI    "memory://"                    shared store for several app servers,
                                                            e.g. redis://host:6379/0
    RATELIMIT_ENABLED        true

Sign-in also has the account lockout of service/workspace/auth.py; this limit stops one address
trying many accounts. A public form page takes one POST per section, so the public limit is set for
a busy office behind one address and still stops a flood. Over the limit the answer is 429 with
Retry-After: a GOV.UK page on the journey and sign-in, JSON elsewhere.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.errors import ConfigurationError

from service.ops.settings import UnsafeSettings, setting

SIGN_IN = "10 per minute;100 per day"
PUBLIC_POST = "120 per minute;3000 per day"
LOST_LINK = "5 per hour;20 per day"


def init_app(app: Flask) -> Limiter:
    enabled = setting(app, "RATELIMIT_ENABLED", "true").lower() not in ("0", "false", "no", "off")
    app.config["RATELIMIT_ENABLED"] = enabled
    # One Limiter per app: its counters (memory:// in tests) are not shared between app instances.
    storage = setting(app, "RATELIMIT_STORAGE_URI", "memory://")
    try:
        limiter = Limiter(get_remote_address, app=app, storage_uri=storage, headers_enabled=True, enabled=enabled)
    except ConfigurationError as exc:  # e.g. an unknown scheme, or its client library missing
        scheme = storage.split(":", 1)[0]  # never the rest: a redis:// address can carry a password
        reason = str(exc).replace(storage, f"{scheme}://...")
        raise UnsafeSettings([f"RATELIMIT_STORAGE_URI ({scheme}://...) cannot be used: {reason}"]) from None
    app.extensions["ops_limiter"] = limiter
    sign_in_limit = setting(app, "SIGN_IN_RATE_LIMIT", SIGN_IN)
    public_limit = setting(app, "PUBLIC_POST_RATE_LIMIT", PUBLIC_POST)
    if "workspace.sign_in" in app.view_functions:
        view = app.view_functions["workspace.sign_in"]
        app.view_functions["workspace.sign_in"] = limiter.limit(sign_in_limit, methods=["POST"])(view)
    if "web" in app.blueprints:
        limiter.limit(public_limit, methods=["POST"])(app.blueprints["web"])
    if "web.lost_link" in app.view_functions:
        view = app.view_functions["web.lost_link"]
        lost_link_limit = setting(app, "LOST_LINK_RATE_LIMIT", LOST_LINK)
        app.view_functions["web.lost_link"] = limiter.limit(lost_link_limit, methods=["POST"])(view)
    if "api.post_submission" in app.view_functions:  # the API's open door: anyone may submit a form
        view = app.view_functions["api.post_submission"]
        app.view_functions["api.post_submission"] = limiter.limit(public_limit, methods=["POST"])(view)
    for endpoint in ("ops.healthz", "ops.readyz", "static"):
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limiter.exempt(app.view_functions[endpoint])
    app.register_error_handler(429, _too_many)
    return limiter


def _too_many(exc):
    message = "You have sent too many requests in a short time. Wait a minute, then try again."
    if request.blueprint in ("web", "workspace"):
        template = "web/problem.html"
        body = render_template(template, title="Too many requests", message=message, pack=None, immediate_risk=None)
        response = app_response(body, 429, "text/html; charset=utf-8")
    else:
        response = jsonify(error=message)
        response.status_code = 429
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        response.headers["Retry-After"] = str(int(retry))
    return response


def app_response(body: str, status: int, mimetype: str):
    from flask import current_app

    return current_app.response_class(body, status=status, content_type=mimetype)
