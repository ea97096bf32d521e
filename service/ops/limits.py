"""Rate limits on the two doors anyone can knock on: staff sign-in and public form posts.

Counted per client address (behind a reverse proxy set PROXY_FIX_X_FOR so that is the browser's,
not the proxy's) and per page. The limits and where they are counted are settings:

    SIGN_IN_RATE_LIMIT       "10 per minute;100 per day"    POSTs to /workspace/sign-in
    PUBLIC_POST_RATE_LIMIT   "120 per minute;3000 per day"  POSTs of the public web journey and
                                                            POST /api/submissions
    LOST_LINK_RATE_LIMIT     "5 per hour;20 per day"        POSTs of the "lost your link?" page (each
                                                            may send an e-mail and revoke a link)
    RATELIMIT_STORAGE_URI    "memory://"                    shared store for several app servers,
                                                            e.g. redis://host:6379/0
    RATELIMIT_KEY_PREFIX     ""                             kept apart from another service's counters
    RATELIMIT_ENABLED        true

Sign-in also has the account lockout of service/workspace/auth.py; this limit stops one address
trying many accounts. A public form page takes one POST per section, so the public limit is set for
a busy office behind one address and still stops a flood. Over the limit the answer is 429 with
Retry-After: a GOV.UK page on the journey and sign-in, JSON elsewhere.

The counting (fixed windows, in memory or Redis) is the `limits` library's (MIT). Flask-Limiter, its
Flask binding, is not used: flask loads every installed plugin command before it runs any command,
and Flask-Limiter's cost every `flask` command 0.1-0.2 s of processor time here (issue 16: the
start-up of `flask ingest` and `flask parse`). This module only says which views count.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, g, jsonify, render_template, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from service.ops.settings import UnsafeSettings, setting

log = logging.getLogger(__name__)
SIGN_IN = "10 per minute;100 per day"
PUBLIC_POST = "120 per minute;3000 per day"
LOST_LINK = "5 per hour;20 per day"


@dataclass(frozen=True)
class RateLimits:
    """Which pages' POSTs count against which limits, and where the counts are kept."""

    counter: FixedWindowRateLimiter
    prefix: str
    by_endpoint: dict[str, tuple[RateLimitItem, ...]]

    def count(self) -> None:
        """Before a request: count a POST to a limited page; over any of its limits, refuse it (429).
        When the shared store (Redis) cannot be reached the request is served uncounted and the log
        says so: a flood guard that is down must not turn away a professional's escalation (sign-in
        keeps its account lockout)."""
        items = self.by_endpoint.get(request.endpoint or "") if request.method == "POST" else None
        if not items:
            return
        try:
            retry_after = self._hit(items, self._keys())
        except Exception as exc:  # the store's client's error, whichever store it is
            log.error("rate limits not counted: their store cannot be reached (%s)", type(exc).__name__)
            return
        if retry_after is not None:
            raise TooManyRequests(retry_after=retry_after)

    def _hit(self, items: tuple[RateLimitItem, ...], keys: tuple[str, ...]) -> int | None:
        """Count the request against each limit: the seconds to wait once one is reached, else None."""
        tightest = None
        for item in items:
            if not self.counter.hit(item, *keys):
                reset = self.counter.get_window_stats(item, *keys).reset_time
                log.info("rate limit %s reached at %s", item, request.endpoint)  # never the address
                return max(1, math.ceil(reset - time.time()))
            stats = self.counter.get_window_stats(item, *keys)
            if tightest is None or stats.remaining < tightest[1].remaining:
                tightest = (item, stats)
        g.rate_limit = tightest
        return None

    def _keys(self) -> tuple[str, ...]:
        return (*((self.prefix,) if self.prefix else ()), request.remote_addr or "no address", request.endpoint)


def init_app(app: Flask) -> None:
    enabled = setting(app, "RATELIMIT_ENABLED", "true").lower() not in ("0", "false", "no", "off")
    app.config["RATELIMIT_ENABLED"] = enabled
    app.register_error_handler(429, _too_many)
    if not enabled:
        return
    limits = RateLimits(_counter(app), setting(app, "RATELIMIT_KEY_PREFIX", ""), _by_endpoint(app))
    app.before_request(limits.count)
    app.after_request(_headers)


def _counter(app: Flask) -> FixedWindowRateLimiter:
    """A counter in the configured store: one per app, so memory:// counts are not shared between apps."""
    storage = setting(app, "RATELIMIT_STORAGE_URI", "memory://")
    # A Redis that does not answer costs a request at most a second or two, never the OS's minutes.
    bounded = {"socket_connect_timeout": 1, "socket_timeout": 1} if storage.startswith("redis") else {}
    try:
        return FixedWindowRateLimiter(storage_from_string(storage, **bounded))
    except ConfigurationError as exc:  # e.g. an unknown scheme, or its client library missing
        scheme = storage.split(":", 1)[0]  # never the rest: a redis:// address can carry a password
        reason = str(exc).replace(storage, f"{scheme}://...")
        raise UnsafeSettings([f"RATELIMIT_STORAGE_URI ({scheme}://...) cannot be used: {reason}"]) from None


def _by_endpoint(app: Flask) -> dict[str, tuple[RateLimitItem, ...]]:
    """Every public journey page counts against the public limit, except the lost-link page, which has
    its own; the API's open door (anyone may submit a form) counts against the public limit too."""
    public = _limit(app, "PUBLIC_POST_RATE_LIMIT", PUBLIC_POST)
    found = {endpoint: public for endpoint in app.view_functions if endpoint.startswith("web.")}
    found["web.lost_link"] = _limit(app, "LOST_LINK_RATE_LIMIT", LOST_LINK)
    found["workspace.sign_in"] = _limit(app, "SIGN_IN_RATE_LIMIT", SIGN_IN)
    found["api.post_submission"] = public
    return {endpoint: items for endpoint, items in found.items() if endpoint in app.view_functions}


def _limit(app: Flask, name: str, default: str) -> tuple[RateLimitItem, ...]:
    value = setting(app, name, default)
    try:
        items = tuple(parse_many(value))
    except ValueError:
        items = ()
    if not items:
        raise UnsafeSettings([f"{name} ({value!r}) is not a rate limit such as {default!r}"])
    return items


def _headers(response):
    """The tightest limit's state on each counted answer, as API clients read it."""
    if (state := g.pop("rate_limit", None)) is not None:
        item, stats = state
        response.headers["X-RateLimit-Limit"] = str(item.amount)
        response.headers["X-RateLimit-Remaining"] = str(stats.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(stats.reset_time))
    return response


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
