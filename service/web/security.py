"""Security headers, a per-request CSP nonce, a cap on the size of what a browser may post, and the
same-origin check on every browser POST.

CSRF over HTTPS: Flask-WTF's strict mode wants a Referer on every HTTPS post, which a page sent with
`Referrer-Policy: no-referrer` never gets (Chromium then sends `Origin: null` and no Referer). The
pages say `same-origin` instead (the browser names this service to itself, never a tracking link's
token to anyone else) and `check_origin` compares Origin, or Referer without it, with the host the
proxy forwarded. Tokens are still checked (views.py, and the workspace's forms); every refusal is
logged with its reason as `csrf.refused`.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request
from flask_wtf.csrf import CSRFError

# Longest form: eight answers of up to 6,000 characters plus rows; 256 KiB leaves ample room. The
# JSON API carries the same answers, escaped (up to 6 bytes a character): 1 MiB. Uploads of returned
# files (the workspace) keep MAX_CONTENT_LENGTH.
MAX_FORM_BYTES = 256 * 1024
REQUEST_CAPS = {"web": MAX_FORM_BYTES, "api": 1024 * 1024}


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _cap_request_size():
    limit = REQUEST_CAPS.get(request.blueprint)
    if request.method in ("POST", "PUT", "PATCH") and limit is not None:
        if request.content_length is not None and request.content_length > limit:
            abort(413)
        # Also caps a body sent without a length (chunked): werkzeug stops reading at the limit.
        request.max_content_length = limit
        request.max_form_memory_size = limit


def _headers(response):
    nonce = g.get("csp_nonce")
    script = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Tracking and draft links are private: a Referer (and Origin) goes to this service only, which
    # check_origin needs; other sites never see one.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if request.endpoint not in ("static", "web.static") and "Cache-Control" not in response.headers:
        # Pages and downloads can hold case details: no browser or proxy may keep a copy.
        response.headers["Cache-Control"] = "no-store"
    return response


log = logging.getLogger("escalate.security")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _same_site(url: str) -> bool:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() == f"{request.scheme}://{request.host}".lower()


def origin_problem() -> str | None:
    """Why this HTTPS request may come from another site (None when it names this one)."""
    origin = request.headers.get("Origin")
    if origin == "null":
        return "the Origin header is null (a page with a no-referrer policy, a sandbox or a file)"
    if origin:
        return None if _same_site(origin) else "the Origin header names another site"
    referrer = request.headers.get("Referer")
    if referrer:
        return None if _same_site(referrer) else "the Referer header names another site"
    return "neither an Origin nor a Referer header names the page the form came from"


def check_origin():
    """Refuse a browser's POST over HTTPS from another site (the JSON API, CSRF-exempt, is left alone)."""
    if request.method not in UNSAFE_METHODS or not request.is_secure or request.endpoint is None:
        return
    csrf = current_app.extensions.get("csrf")
    if csrf is not None and csrf._is_exempt():
        return
    if (problem := origin_problem()) is not None:
        raise CSRFError(problem)


def log_refusal(exc: CSRFError) -> None:
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    log.warning(
        "csrf.refused",
        extra={"reason": exc.description, "method": request.method, "rule": rule, "endpoint": request.endpoint},
    )


def init_app(app: Flask) -> None:
    app.before_request(check_origin)
    app.before_request(_cap_request_size)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
