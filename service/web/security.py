"""Security headers, a per-request CSP nonce and a cap on the size of what a browser may post."""

from __future__ import annotations

import secrets

from flask import Flask, abort, g, request

# Longest form: eight answers of up to 6,000 characters plus rows; 256 KiB leaves ample room.
MAX_FORM_BYTES = 256 * 1024


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _cap_request_size():
    if request.method in ("POST", "PUT", "PATCH") and request.blueprint == "web":
        limit = MAX_FORM_BYTES
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
    # Tracking and draft links are private: never send them on in a Referer header.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if request.endpoint not in ("static", "web.static") and "Cache-Control" not in response.headers:
        # Pages and downloads can hold case details: no browser or proxy may keep a copy.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_cap_request_size)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
