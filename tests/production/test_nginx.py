"""deploy/nginx.conf loads on Debian 12's nginx (1.22: no `http2 on;`) and serves the assets itself."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from tests.production.nginx import NGINX, ROOT, Nginx
from tests.support.ports import free_port


@pytest.fixture
def nginx(tmp_path):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `make test` installs it (apt-get install -y nginx)")
    server = Nginx(tmp_path, app_port=free_port())  # nothing listens there: what answers is nginx alone
    yield server
    server.stop()


def test_the_shipped_config_passes_nginx_t(nginx):
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_assets_come_from_disk_with_a_year_of_caching(nginx):
    nginx.start()
    css = (ROOT / "service/static/govuk/escalate.css").read_bytes()
    response = nginx.get("/assets/govuk/escalate.css?v=1")
    assert response.status == 200 and response.read() == css  # the app is down: nginx served it
    assert re.search(r"max-age=31536000\b", response.getheader("Cache-Control"))
    assert response.getheader("Content-Type").startswith("text/css")
    assert nginx.get("/assets/govuk/govuk-frontend.min.js").getheader("Content-Type") == "application/javascript"
    assert nginx.get("/assets/src/escalate.scss").status == 404  # the stylesheet's source is not served
    assert nginx.get("/healthz").status == 502  # everything else goes to the app
    assert nginx.get("/readyz").status == 502  # the load balancer's check passes through...
    # ...its audit-log walk does not, from outside, however the query is spelled (Flask decodes the
    # name: d%65ep is deep to the app, not to nginx's $arg_deep).
    for query in ("deep=1", "d%65ep=1", "DEEP=1&deep=1", "x=1&deep=yes"):
        assert nginx.get(f"/readyz?{query}").status == 404, query


def test_another_name_gets_no_certificate(nginx):
    nginx.start()
    with pytest.raises(ssl.SSLError):
        nginx.get("/", server_name="not-this-service.example")


def test_pages_link_the_assets_by_content_hash(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/assets/govuk/escalate\.css\?v=[0-9a-f]{12}"', page)
    assert re.search(r'src="/assets/escalate\.js\?v=[0-9a-f]{12}"', page)
