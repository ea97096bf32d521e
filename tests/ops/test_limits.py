"""Rate limits on sign-in and public form posts, and the security headers every answer carries."""

from __future__ import annotations

import re

import pytest

from app import create_app
from tests.support import redis_server


def _app(tmp_path, **config):
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'l.sqlite3'}", **config}
    )


def test_sign_in_posts_are_limited_per_address(tmp_path):
    app = _app(tmp_path, SIGN_IN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [
        client.post("/workspace/sign-in", data={"email": "x@y.example", "password": "p"}).status_code for _ in range(5)
    ]
    assert statuses[:3] == [400, 400, 400]  # refused for a missing CSRF token, but counted
    assert statuses[3:] == [429, 429]
    refused = client.post("/workspace/sign-in", data={})
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in refused.get_data(as_text=True)
    # Another address is not held back by the first one's attempts; reading the page is never limited.
    other = client.post("/workspace/sign-in", data={}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 400
    assert client.get("/workspace/sign-in").status_code == 200


def test_default_sign_in_limit_is_ten_a_minute(tmp_path):
    client = _app(tmp_path).test_client()
    statuses = [client.post("/workspace/sign-in", data={}).status_code for _ in range(11)]
    assert statuses.count(429) == 1 and statuses[-1] == 429


def test_public_form_posts_are_limited_and_pages_are_not(tmp_path):
    app = _app(tmp_path, PUBLIC_POST_RATE_LIMIT="4 per minute")
    client = app.test_client()
    statuses = [client.post("/", data={"partnership": "north-tyneside"}).status_code for _ in range(6)]
    assert 429 not in statuses[:4] and statuses[4:] == [429, 429]
    assert all(client.get("/").status_code == 200 for _ in range(10))


def test_api_submissions_are_limited_with_json_answers(tmp_path):
    client = _app(tmp_path, PUBLIC_POST_RATE_LIMIT="2 per minute").test_client()
    statuses = [client.post("/api/submissions", json={}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    refused = client.post("/api/submissions", json={})
    assert refused.is_json and "too many requests" in refused.get_json()["error"]
    assert client.get("/api/openapi.json").status_code == 200  # reads are not limited


def test_a_counted_answer_says_how_many_posts_are_left(tmp_path):
    """The tightest of a page's limits, as API clients read it; pages that are not counted say nothing."""
    client = _app(tmp_path, PUBLIC_POST_RATE_LIMIT="5 per minute;3 per hour").test_client()
    first, second = (client.post("/api/submissions", json={}) for _ in range(2))
    assert first.headers["X-RateLimit-Limit"] == "3" and first.headers["X-RateLimit-Remaining"] == "2"
    assert second.headers["X-RateLimit-Remaining"] == "1" and int(second.headers["X-RateLimit-Reset"]) > 0
    assert "X-RateLimit-Limit" not in client.get("/api/openapi.json").headers


def test_the_lost_link_page_counts_against_its_own_limit_only(tmp_path):
    client = _app(tmp_path, LOST_LINK_RATE_LIMIT="2 per hour", PUBLIC_POST_RATE_LIMIT="50 per minute").test_client()
    path = "/lost-link"
    statuses = [client.post(path, data={}).status_code for _ in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429
    assert client.post("/", data={"partnership": "north-tyneside"}).status_code != 429  # the journey's own count


@pytest.mark.parametrize("name", ["SIGN_IN_RATE_LIMIT", "PUBLIC_POST_RATE_LIMIT", "LOST_LINK_RATE_LIMIT"])
def test_a_limit_that_is_not_a_rate_is_refused_at_start_naming_the_setting(tmp_path, name):
    from service.ops.settings import UnsafeSettings

    with pytest.raises(UnsafeSettings, match=f"{name} \\('ten a minute'\\) is not a rate limit such as"):
        _app(tmp_path, **{name: "ten a minute"})


def test_counters_are_not_shared_between_app_instances(tmp_path):
    first = _app(tmp_path, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    first.post("/workspace/sign-in", data={})
    assert first.post("/workspace/sign-in", data={}).status_code == 429
    second = _app(tmp_path, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    assert second.post("/workspace/sign-in", data={}).status_code == 400


def test_rate_limits_can_be_turned_off_for_development(tmp_path):
    client = _app(tmp_path, RATELIMIT_ENABLED=False, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    assert all(client.post("/workspace/sign-in", data={}).status_code == 400 for _ in range(3))


def test_api_clients_get_json_when_limited(tmp_path):
    """An unknown path under the limited journey is never 5xx; the 429 handler answers JSON off the journey."""
    app = _app(tmp_path)
    with app.test_request_context("/api/cases"):
        from werkzeug.exceptions import TooManyRequests

        from service.ops.limits import _too_many

        response = _too_many(TooManyRequests())
    assert response.status_code == 429 and response.is_json


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/openapi.json", "/workspace/sign-in"])
def test_security_headers_on_every_kind_of_answer(tmp_path, path):
    response = _app(tmp_path).test_client().get(path)
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "object-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f]{16}", headers["X-Request-ID"])


def test_csp_nonce_is_new_on_every_page_and_matches_its_scripts(tmp_path):
    client = _app(tmp_path).test_client()
    nonces = []
    for _ in range(2):
        response = client.get("/")
        csp = response.headers["Content-Security-Policy"]
        found = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'", csp)
        assert found, csp
        nonce = found.group(1)
        html = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline, "the page has inline scripts, each must carry the nonce"
        assert all(f'nonce="{nonce}"' in attributes for attributes in inline)
        assert "'unsafe-inline'" not in csp
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_hsts_can_be_switched_off_for_plain_http_development(tmp_path):
    response = _app(tmp_path, HSTS_SECONDS=0).test_client().get("/healthz")
    assert "Strict-Transport-Security" not in response.headers


def test_a_request_id_from_the_proxy_is_kept_and_a_bad_one_replaced(tmp_path):
    client = _app(tmp_path).test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc123def456"}).headers["X-Request-ID"] == "abc123def456"
    assert client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"] != "<script>"


own_redis = redis_server.own_redis  # the fixture: a redis-server of the test's own


def test_counters_in_redis_are_shared_by_every_process(tmp_path, own_redis):
    """Two app instances (two workers) counting in one Redis (a server of the test's own): together
    they allow the limit once, not once each, and the counters are in Redis, not in either process."""
    import redis

    config = {
        "SIGN_IN_RATE_LIMIT": "3 per minute",
        "RATELIMIT_STORAGE_URI": own_redis.url,
        "RATELIMIT_KEY_PREFIX": "escalate-test",
    }
    first = _app(tmp_path, **config).test_client()
    second = _app(tmp_path, **config).test_client()
    statuses = [c.post("/workspace/sign-in", data={}).status_code for c in (first, second, first, second)]
    assert statuses == [400, 400, 400, 429]
    assert list(redis.Redis.from_url(own_redis.url).scan_iter("*escalate-test*")), "the counters are not in Redis"


def test_a_store_that_cannot_be_reached_counts_nothing_and_refuses_no_one(tmp_path, caplog):
    """Redis down: posts are served uncounted, and the log says why without the address."""
    from tests.support.ports import free_port

    app = _app(tmp_path, SIGN_IN_RATE_LIMIT="1 per minute", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    with caplog.at_level("ERROR", logger="service.ops.limits"):
        statuses = [client.post("/workspace/sign-in", data={}).status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    assert "rate limits not counted: their store cannot be reached (ConnectionError)" in caplog.text
    assert "127.0.0.1" not in caplog.text


def test_a_store_that_never_answers_holds_a_post_a_bounded_time(tmp_path, caplog):
    """A Redis that takes the connection and never answers (a hung server) times out in a second."""
    import socket
    import time

    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nothing ever replies
        port = silent.getsockname()[1]
        client = _app(tmp_path, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0").test_client()
        start = time.monotonic()
        with caplog.at_level("ERROR", logger="service.ops.limits"):
            assert client.post("/workspace/sign-in", data={}).status_code == 400
        waited = time.monotonic() - start
    assert "their store cannot be reached (TimeoutError)" in caplog.text
    assert waited < 30  # the OS's own connect and read timeouts are minutes
