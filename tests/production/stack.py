"""The production stack of docs/operations.md, started the way the guide and deploy/ start it.

- Settings: a copy of deploy/env.example with test values; shell commands read it with the guide's
  own `load-settings` line, the services with systemd's EnvironmentFile= parser.
- Commands: the guide's `prepare` block, run as written (paths swapped for the test's).
- Services: the ExecStartPre/ExecStart lines of deploy/systemd/escalate-web.service and
  escalate-outbox.service (gunicorn with deploy/gunicorn.conf.py, the outbox worker).
- Peers: a PostgreSQL database of its own on TEST_DATABASE_URL's server; a Redis server of its own
  and an SMTP server standing in for the relay (tests/support); nginx from deploy/nginx.conf (nginx.py).
"""

from __future__ import annotations

import re
import secrets
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from forms import quotes
from tests.ops import guide
from tests.ops.test_env_file import by_systemd
from tests.production.nginx import ROOT

UNITS = ROOT / "deploy" / "systemd"


class Database:
    """A database of its own on the test server, dropped afterwards."""

    def __init__(self, admin_url: str):
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"escalate_production_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def env_file(folder: Path, values: dict[str, str]) -> Path:
    """The settings file as the guide's install block makes it (its lines that make the folder, copy
    deploy/env.example and place the policy texts, run as written into `folder`; the texts the operator
    was given: a copy of the development POLICIES_DIR), then filled in with `values` (a line is added
    when the example has none) and POLICIES_DIR pointed at the folder the block filled."""
    etc = Path(guide.ENV_FILE).parent
    lines = [line for line in guide.lines("install") if line.startswith("install ") and str(etc) in line]
    assert len(lines) == 4, (
        f"the guide's install block no longer makes {etc}, copies env.example and the policies: {lines}"
    )
    assert quotes.missing_policies() == [], f"{quotes.policies_dir()} lacks a pack's policy text"
    given = folder / "policies-given"
    given.mkdir()
    for policy in quotes.policies_dir().glob("*.txt"):
        shutil.copyfile(policy, given / policy.name)
    script = "\n".join(
        line.replace(str(etc), str(folder / "etc-escalate")).replace(guide.POLICY_TEXTS, str(given)) for line in lines
    )
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, check=True, timeout=60)
    path = folder / "etc-escalate" / Path(guide.ENV_FILE).name
    assert path.stat().st_mode & 0o777 == 0o600
    text_ = path.read_text()
    (policies,) = re.findall(r"^POLICIES_DIR=(\S+)$", text_, re.M)
    placed = Path(policies.replace(str(etc), str(folder / "etc-escalate")))
    assert quotes.missing_policies(placed) == [], "the guide's step left out a pack's policy text"
    values = {"POLICIES_DIR": str(placed), **values}
    for name, value in values.items():
        line = f'{name}="{value}"' if re.search(r"[\s;<>&]", value) else f"{name}={value}"
        text_, found = re.subn(rf"^{name}=.*$", lambda _m, line=line: line, text_, flags=re.M)
        if not found:
            text_ += f"{line}\n"
    path.write_text(text_)
    return path


def test_values(database_url: str, redis_port: int, smtp_port: int, app_port: int, base_url: str) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "PARTNERSHIPS": "north-tyneside",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_STARTTLS": "0",
        "MAIL_USERNAME": "",
        "PUBLIC_BASE_URL": base_url,
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_BIND": f"127.0.0.1:{app_port}",
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
    }


def run_guide_block(
    name: str, env_path: Path, replace: dict[str, str], extra_env: dict[str, str], lines: slice = slice(None)
) -> str:
    """The guide's block `name` (or those of its `lines`), after its `load-settings` line, run by bash
    in the code's folder."""
    commands = guide.command(name, env_file=env_path, install_dir=ROOT, **replace).splitlines()[lines]
    script = guide.command("load-settings", env_file=env_path) + "\n" + "\n".join(commands)
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(env_path.parent), **extra_env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"the guide's {name} block failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def unit_commands(unit: str) -> tuple[list[list[str]], list[str], Path, str]:
    """(ExecStartPre commands, ExecStart command, WorkingDirectory, EnvironmentFile) of a shipped unit,
    with /srv/escalate read as this checkout."""
    body = (UNITS / unit).read_text().replace(guide.INSTALL_DIR, str(ROOT)).replace("%%", "%")
    pre = [shlex.split(v) for v in re.findall(r"^ExecStartPre=(.+)$", body, re.M)]
    (start,) = re.findall(r"^ExecStart=(.+)$", body, re.M)
    (workdir,) = re.findall(r"^WorkingDirectory=(.+)$", body, re.M)
    (envfile,) = re.findall(r"^EnvironmentFile=(.+)$", body, re.M)
    return pre, shlex.split(start), Path(workdir), envfile


def unit_environment(unit: str, env_path: Path, folder: Path) -> dict[str, str]:
    """The environment systemd gives the unit's processes: its EnvironmentFile, by systemd's parser."""
    envfile = unit_commands(unit)[3]
    assert envfile == guide.ENV_FILE, f"{unit} reads {envfile}, the guide fills in {guide.ENV_FILE}"
    parsed = folder / f"parsed-{unit}"
    parsed.mkdir(exist_ok=True)
    return {"PATH": "/usr/bin:/bin", **by_systemd(env_path, parsed)}


def run_oneshot(unit: str, env_path: Path, folder: Path, replace: dict[str, str]) -> subprocess.CompletedProcess:
    """A Type=oneshot unit's ExecStart (a timer's job), with `replace` applied to its words."""
    _pre, start, workdir, _envfile = unit_commands(unit)
    for old, new in replace.items():
        start = [word.replace(old, new) for word in start]
    env = unit_environment(unit, env_path, folder)
    return subprocess.run(start, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


class Service:
    """A unit's process, run as systemd would: its EnvironmentFile parsed by systemd's own parser."""

    def __init__(self, unit: str, env_path: Path, folder: Path):
        pre, start, workdir, _envfile = unit_commands(unit)
        self.env = unit_environment(unit, env_path, folder)
        for command in pre:
            run = subprocess.run(command, cwd=workdir, env=self.env, capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, f"{unit} ExecStartPre failed: {run.stderr[-3000:]}"
        self.log = folder / f"{unit}.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 - open for the life of the process
        self.process = subprocess.Popen(start, cwd=workdir, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def spki_hash(cert: Path) -> str:
    """Base64 SHA-256 of the certificate's public key: chromium trusts exactly this key and no other."""
    pipeline = (
        f"openssl x509 -pubkey -noout -in {shlex.quote(str(cert))} | openssl pkey -pubin -outform der"
        " | openssl dgst -sha256 -binary | base64"
    )
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], check=True, capture_output=True, text=True
    ).stdout.strip()
