"""deploy/nginx.conf run by Debian's nginx under Debian's own /etc/nginx/nginx.conf, with a
self-signed certificate made here; only the ports, certificate paths and the code's folder change."""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "escalate.partnership.example"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEBIAN_MAIN = Path("/etc/nginx/nginx.conf")


def certificate(folder: Path, name: str = HOST) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _swap(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx.conf no longer has {old!r}: update tests/production/nginx.py"
    return text.replace(old, new)


class Nginx:
    """The shipped site file in Debian's main configuration, listening on free loopback ports."""

    def __init__(self, folder: Path, app_port: int):
        self.folder = folder
        self.https_port, self.http_port = free_port(), free_port()
        self.cert, key = certificate(folder)
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        site = _swap(site, "listen 80;", f"listen 127.0.0.1:{self.http_port};")
        site = _swap(site, "listen 443 ", f"listen 127.0.0.1:{self.https_port} ")
        site = _swap(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
        site = _swap(site, "/etc/ssl/escalate/fullchain.pem", str(self.cert))
        site = _swap(site, "/etc/ssl/escalate/privkey.pem", str(key))
        site = _swap(site, "/srv/escalate/", f"{ROOT}/")
        (folder / "site.conf").write_text(site)
        main = DEBIAN_MAIN.read_text()
        main = _swap(main, "include /etc/nginx/sites-enabled/*;", f"include {folder / 'site.conf'};")
        main = _swap(main, "pid /run/nginx.pid;", f"pid {folder / 'nginx.pid'};")
        main = _swap(main, "error_log /var/log/nginx/error.log;", f"error_log {folder / 'error.log'};")
        main = _swap(main, "access_log /var/log/nginx/access.log;", f"access_log {folder / 'access.log'};")
        self.main = folder / "nginx.conf"
        self.main.write_text(main)
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run([NGINX, "-t", "-c", str(self.main)], capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [NGINX, "-c", str(self.main), "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not listen within 20 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def get(self, path: str, server_name: str = HOST) -> http.client.HTTPResponse:
        """GET over TLS, checking the certificate against the one made here, with SNI `server_name`."""
        context = ssl.create_default_context(cafile=str(self.cert))
        connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=context, timeout=20)
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=20)
        connection.sock = context.wrap_socket(raw, server_hostname=server_name)
        connection.request("GET", path, headers={"Host": f"{server_name}:{self.https_port}"})
        return connection.getresponse()
