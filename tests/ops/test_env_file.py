"""deploy/env.example reads the same through the shell (the guide's `set -a; . FILE; set +a`) and
through systemd's EnvironmentFile= parser, and the app starts from it once filled in.

systemd's parser is run for real: the environment.d generator shipped with Debian's systemd reads
its files with the same tokenizer as EnvironmentFile= (quotes, comments, line continuations); it
also expands $VARIABLES, which EnvironmentFile= does not, so the file must hold no `$` (tested).
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from forms import quotes
from tests.ops import guide

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "env.example"
GENERATOR = Path("/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator")
NAME = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.M)


def names(path: Path) -> list[str]:
    return NAME.findall(path.read_text())


def by_shell(path: Path, shell: str = "bash") -> dict[str, str]:
    """The environment after the guide's own line that loads the settings, run by `shell`."""
    line = guide.command("load-settings", env_file=path)
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    run = subprocess.run(
        [shell, "-c", f"{line}\nexec python3 -c {shlex.quote(dump)}"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    return json.loads(run.stdout)


def by_systemd(path: Path, tmp_path: Path) -> dict[str, str]:
    if not GENERATOR.exists():
        pytest.skip(f"systemd's environment parser ({GENERATOR}) is not installed (Debian: systemd)")
    folder = tmp_path / "xdg" / "environment.d"
    folder.mkdir(parents=True)
    shutil.copyfile(path, folder / "50-escalate.conf")
    run = subprocess.run(
        [str(GENERATOR)],
        env={"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "XDG_CONFIG_DIRS": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0 and "Failed" not in run.stderr, run.stderr
    found = {}
    for line in run.stdout.splitlines():
        (pair,) = shlex.split(line)
        key, _, value = pair.partition("=")
        found[key] = value
    return found


def filled(tmp_path: Path) -> Path:
    """The example as an operator fills it in: a generated key, passwords, the real service address."""
    text = EXAMPLE.read_text()
    text = text.replace("SECRET_KEY=\n", f"SECRET_KEY={secrets.token_urlsafe(48)}\n")
    text = text.replace("MAIL_PASSWORD=\n", "MAIL_PASSWORD='pa ss;word'\n")
    text = text.replace("IMAP_PASSWORD=\n", 'IMAP_PASSWORD="an app password"\n')
    text = re.sub(r"^POLICIES_DIR=.*$", f"POLICIES_DIR={quotes.policies_dir()}", text, flags=re.M)  # the texts given
    path = tmp_path / "escalate.env"
    path.write_text(text)
    return path


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_the_shell_reads_every_setting_of_the_example(shell):
    loaded = by_shell(EXAMPLE, shell)
    for name in names(EXAMPLE):
        assert name in loaded, f"{name} not set by `set -a; . env.example` ({shell})"
    assert loaded["MAIL_SENDER"] == "Safeguarding Partnership Escalations <escalations@partnership.example>"
    assert loaded["SIGN_IN_RATE_LIMIT"] == "10 per minute;100 per day"
    assert loaded["PUBLIC_BASE_URL"] == "https://escalate.partnership.example"


def test_systemd_and_the_shell_read_the_same_values(tmp_path):
    path = filled(tmp_path)
    shell, systemd = by_shell(path), by_systemd(path, tmp_path)
    for name in names(path):
        # The generator leaves an empty value out where EnvironmentFile= sets it empty: the same to the app.
        ours, theirs = systemd.get(name, ""), shell.get(name, "")
        assert ours == theirs, f"{name}: systemd {ours!r}, shell {theirs!r}"
    assert shell["MAIL_PASSWORD"] == "pa ss;word" and shell["IMAP_PASSWORD"] == "an app password"


def test_no_value_depends_on_expansion():
    """`$`, backquotes and backslashes mean different things to the shell and to EnvironmentFile=."""
    for number, line in enumerate(EXAMPLE.read_text().splitlines(), 1):
        if not line.startswith("#"):
            assert not re.search(r"[$`\\]", line), f"env.example line {number}: {line}"


def test_the_app_starts_from_the_filled_in_file(tmp_path):
    """The filled example passes the production checks, read as the guide reads it (no traceback)."""
    path = filled(tmp_path)
    text = path.read_text().replace("db.internal.example", "127.0.0.1")
    path.write_text(text)
    line = guide.command("load-settings", env_file=path)
    check = (
        "from app import create_app; from service.ops import settings; from service.casework import outbox; "
        "app = create_app(); mail = outbox.MailSettings.from_config(app.config); "
        "print(mail.host, mail.port, mail.username, mail.password, mail.starttls, repr(mail.sender)); "
        "print(settings.problems(app))"
    )
    run = subprocess.run(
        ["bash", "-c", f"{line}\nexec {ROOT / '.venv/bin/python'} -c {shlex.quote(check)}"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    mail, problems = run.stdout.strip().splitlines()[-2:]
    assert problems == "[]"
    # The relay's address, login and STARTTLS reach the outbox worker as the file sets them.
    sender = "'Safeguarding Partnership Escalations <escalations@partnership.example>'"
    assert mail == f"smtp.internal.example 587 escalations@partnership.example pa ss;word True {sender}"


def test_every_unit_reads_the_file_the_guide_fills_in():
    path = guide.ENV_FILE
    for unit in (ROOT / "deploy" / "systemd").glob("*.service"):
        assert f"EnvironmentFile={path}" in unit.read_text(), unit.name


@pytest.mark.parametrize(
    "command",
    [
        [".venv/bin/flask", "--app", "app", "forms"],
        [".venv/bin/gunicorn", "-c", "deploy/gunicorn.conf.py", "-b", "127.0.0.1:0", "app:create_app()"],
    ],
    ids=["flask", "gunicorn"],
)
def test_an_unsafe_setting_is_one_line_without_a_traceback(tmp_path, command):
    run = subprocess.run(
        [str(ROOT / command[0]), *command[1:]],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ESCALATE_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr, run.stderr
    assert lines[0] == "escalate: refusing to start in production; fix these settings:"
    assert [line.split(" ", 1)[0] for line in lines[1:]] == [
        "SECRET_KEY",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "PARTNERSHIPS",
        "RATELIMIT_STORAGE_URI",  # gunicorn's 2 x cores + 1 workers would each count alone in memory
    ]


@pytest.mark.parametrize(
    "command",
    [
        [".venv/bin/flask", "--app", "app", "forms"],
        [".venv/bin/gunicorn", "-c", "deploy/gunicorn.conf.py", "-b", "127.0.0.1:0", "app:create_app()"],
    ],
    ids=["flask", "gunicorn"],
)
@pytest.mark.parametrize("placed", ["none", "one"])
def test_missing_policy_texts_are_one_line_naming_the_folder_and_files(tmp_path, command, placed):
    """Without the policy texts the packs quote, nothing starts, in one line (no traceback)."""
    folder = tmp_path / "policies"
    if placed == "one":
        folder.mkdir()
        shutil.copyfile(
            quotes.policies_dir() / "north-tyneside-escalation-policy.txt",
            folder / "north-tyneside-escalation-policy.txt",
        )
    run = subprocess.run(
        [str(ROOT / command[0]), *command[1:]],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "POLICIES_DIR": str(folder), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr, run.stderr
    (line,) = run.stderr.strip().splitlines()
    where = str(folder) if placed == "one" else f"{folder}, no such folder"
    assert line.startswith(f"escalate: refusing to start: POLICIES_DIR ({where}) lacks the policy texts"), line
    assert "kirklees-professional-disagreement-protocol.txt" in line and "merton-escalation-procedure.txt" in line
    assert ("north-tyneside-escalation-policy.txt" in line) == (placed == "none")
