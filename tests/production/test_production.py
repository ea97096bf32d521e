"""The production path of docs/operations.md, end to end, in Debian's chromium over HTTPS.

nginx runs deploy/nginx.conf (self-signed certificate made here) in front of gunicorn started from
deploy/systemd/escalate-web.service (deploy/gunicorn.conf.py, 2 workers), the outbox worker from
escalate-outbox.service, PostgreSQL and Redis; the settings are a copy of deploy/env.example with
test values, read by systemd's parser for the services and by the guide's own `set -a` line for the
guide's `prepare` block (tables, the partnership's directory, the first admin with TOTP). Then a
practitioner sends North Tyneside's Appendix A through the public journey, the admin signs in, uploads
a directory CSV and exports the inbox, and the relay receives the notification.

Each defect of issue 19 stops it: a form post refused over HTTPS, an env file the shell cannot read,
a missing redis client, an nginx config Debian's nginx refuses, assets through gunicorn, sample
contacts in production, an install step that fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from forms import registry
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_web_browser import choose, fill_field, press, read_download
from tests.conftest import PG_SKIP, sample
from tests.production import stack
from tests.production.nginx import HOST, NGINX, ROOT, Nginx
from tests.support.ports import free_port, wait_for_port
from tests.support.redis_server import RedisServer
from tests.support.smtp import SMTPServer

pytestmark = [pytest.mark.production, pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]
FORM = "nt-appendix-a"
ADMIN = "admin@partnership.example"  # as the guide's block makes it
PASSWORD = "a long production test passphrase"
DIRECTORY = ROOT / "forms" / "packs" / "north-tyneside" / "directory.csv"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip(PG_SKIP)
    for needed in (NGINX, str(CHROMIUM), shutil.which("redis-server") or "redis-server"):
        if not Path(needed).exists():
            pytest.fail(f"{needed} is missing: `make test` installs it")
    folder = tmp_path_factory.mktemp("production")
    stopping = []
    try:
        database = stack.Database(admin_url)
        stopping.append(database.drop)
        redis = RedisServer(folder / "redis")
        redis.start()
        stopping.append(redis.stop)
        relay = SMTPServer().start()
        stopping.append(relay.stop)
        app_port = free_port()
        nginx = Nginx(folder, app_port)
        result = nginx.test_config()
        assert result.returncode == 0, result.stderr
        values = stack.test_values(database.url, redis.port, relay.port, app_port, nginx.base_url)
        env_path = stack.env_file(folder, values)

        # The guide's commands, as an operator types them (its directory CSV: the pack's sample one):
        # the tables first; the service starts, but is not ready until the directory is loaded.
        directory_csv = folder / "north-tyneside-directory.csv"
        shutil.copyfile(DIRECTORY, directory_csv)
        block = ("prepare", env_path, {"/root/north-tyneside-directory.csv": str(directory_csv)})
        typed = stack.run_guide_block(*block, {}, lines=slice(0, 1))
        web = stack.Service("escalate-web.service", env_path, folder)
        stopping.append(web.stop)
        wait_for_port(app_port, web.process, seconds=120)
        nginx.start()
        stopping.append(nginx.stop)
        not_ready = nginx.get("/readyz")
        before = (not_ready.status, json.loads(not_ready.read()))
        typed += stack.run_guide_block(*block, {"ESCALATE_NEW_PASSWORD": PASSWORD}, lines=slice(1, None))
        outbox = stack.Service("escalate-outbox.service", env_path, folder)
        stopping.append(outbox.stop)
        yield {"nginx": nginx, "web": web, "outbox": outbox, "relay": relay, "redis": redis, "typed": typed,
               "folder": folder, "env": env_path, "before": before}  # fmt: skip
    finally:
        for stop in reversed(stopping):
            stop()


@pytest.fixture(scope="module")
def browser(production, playwright):
    expect.set_options(timeout=20_000)
    trust = stack.spki_hash(production["nginx"].cert)
    args = [
        *CHROMIUM_ARGS,
        f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
        f"--ignore-certificate-errors-spki-list={trust}",
    ]
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_the_guides_commands_prepared_a_production_database(production):
    typed = production["typed"]
    assert "sample contacts added" not in typed  # production never seeds the fictional directory
    assert "north-tyneside has no contact for business-manager" in typed
    status, body = production["before"]  # before the guide's `directory import`: no traffic yet
    assert status == 503 and "business-manager" in body["directory"]["north-tyneside"], body
    assert "imported 1 contacts for north-tyneside" in typed
    assert re.search(r"TOTP key \(add it to an authenticator app\): [A-Z2-7]{16,}", typed)
    ready = production["nginx"].get("/readyz")
    body = json.loads(ready.read())
    assert ready.status == 200, body
    assert body == {"status": "ready", "database": "ok", "migrations": "head", "directory": "ok"}


def test_a_practitioner_sends_a_form_over_https(production, page):
    spec = registry().form(FORM)
    data = sample(FORM)
    assets = []
    page.on("response", lambda r: assets.append(r) if "/assets/" in r.url else None)

    page.goto(production["nginx"].base_url + "/")
    assert page.url == production["nginx"].base_url + "/p/north-tyneside"  # the one partnership served
    press(page, "Start now")
    choose(page, f"Complete the {spec.short_title}")  # the first POST, refused over HTTPS in issue 19
    for section in spec.sections:
        expect(page.locator("h1")).to_have_text(section.title)
        for f in section.fields:
            fill_field(page, f, f.key, data.get(f.key))
        press(page, "Continue")
        if page.locator("#child-details-warning").count():
            press(page, "Continue")
        assert page.locator(".govuk-error-summary").count() == 0, page.locator(".govuk-error-summary").inner_text()
    expect(page.locator("h1")).to_have_text("Check your answers before sending")
    page.click("#send")
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"NT-\d{4}-\d{4}", reference)
    assert read_download(page, "a[href$='record.docx']")[:2] == b"PK"

    css = [r for r in assets if r.url.split("?")[0].endswith("/assets/govuk/escalate.css")]
    assert css and "?v=" in css[0].url
    assert "max-age=31536000" in css[0].header_value("cache-control")  # nginx served it, not gunicorn
    # The outbox worker delivered the notification to the directory's Business Manager, through the relay.
    recipients, _message = production["relay"].inbox.wait_for(reference.encode())
    assert recipients == ["business.manager@ntscp.example"]
    production["reference"] = reference


def test_the_admin_signs_in_uploads_the_directory_and_exports_the_inbox(production, page):
    # The case the practitioner sent in the test before: the inbox and its export must show it.
    reference = production.get("reference")
    assert reference, "no case was sent: the practitioner's journey (the test before this one) failed or did not run"
    base = production["nginx"].base_url
    key = re.search(r"TOTP key \(add it to an authenticator app\): (\S+)", production["typed"]).group(1)
    page.goto(f"{base}/workspace/sign-in")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(key).now())
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Inbox").wait_for()
    expect(page.get_by_role("link", name=reference)).to_be_visible()

    page.goto(f"{base}/workspace/directory/north-tyneside")
    page.set_input_files("#file", str(DIRECTORY))
    page.get_by_role("button", name="Import and replace").click()
    page.wait_for_load_state()
    expect(
        page.get_by_text("Imported 1 contacts: 1 kept (their details as the file gives them), 0 added, 0 removed.")
    ).to_be_visible()

    page.goto(f"{base}/workspace/inbox")
    exported = read_download(page, "a[href*='export.csv']").decode("utf-8-sig")
    assert reference in exported


def test_the_nightly_backup_unit_writes_a_private_dump(production):
    backups = production["folder"] / "backups"
    backups.mkdir(mode=0o700)
    run = stack.run_oneshot(
        "escalate-backup.service", production["env"], production["folder"], {"/var/backups/escalate": str(backups)}
    )
    assert run.returncode == 0, run.stderr
    (dump,) = backups.iterdir()
    assert dump.read_bytes()[:5] == b"PGDMP" and (dump.stat().st_mode & 0o777) == 0o600


def test_nothing_was_refused_and_the_services_used_redis(production):
    lines = production["web"].lines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [e for e in events if e.get("event") == "csrf.refused"], "a form post was refused"
    assert not any("Traceback" in line for line in lines), "\n".join(lines[-50:])
    statuses = [e["status"] for e in events if e.get("event") == "request" and e.get("rule") != "/readyz"]
    assert statuses and not [s for s in statuses if s >= 500]
    import redis

    counters = redis.Redis(port=production["redis"].port).keys("*")
    assert counters, "the rate limits were not counted in Redis"
