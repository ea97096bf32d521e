"""A throwaway dovecot IMAP server (Debian's dovecot-imapd) on a free port with one mailbox, `bu`; each
test names how it authenticates."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_for_port

DOVECOT = "/usr/sbin/dovecot"
# The mailbox's password for PLAIN: any user, password `secret`.
PLAIN = """auth_mechanisms = plain
passdb {
  driver = static
  args = password=secret
}
"""


def folder(prefix: str) -> Path:
    """A folder for one server's configuration, mail and log; skips when dovecot cannot run here."""
    if not Path(DOVECOT).exists() or shutil.which("doveadm") is None:
        pytest.skip("dovecot (apt-get install dovecot-imapd) is not installed")
    if os.geteuid() != 0:
        pytest.skip("this dovecot set-up runs as root (it switches to the dovecot users)")
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    return root


@contextlib.contextmanager
def serve(root: Path, auth: str) -> Iterator[tuple[int, Path]]:
    """dovecot serving IMAP from `root` with `auth` (its auth_mechanisms and passdb lines): yields the port
    and the mailbox's maildir, then stops and removes `root`."""
    port = free_port()
    (root / "dovecot.conf").write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
{auth}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
mail_location = maildir:{root}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    maildir = root / "mail" / "bu"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for path in (root / "mail", maildir, *(maildir / sub for sub in ("new", "cur", "tmp"))):
        shutil.chown(path, "dovecot", "dovecot")
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
    try:
        try:
            wait_for_port(port, server, seconds=5)
        except RuntimeError as exc:
            pytest.fail(f"dovecot did not start ({exc}): " + (root / "dovecot.log").read_text(errors="replace"))
        yield port, maildir
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def deliver(maildir: Path, name: str, message: EmailMessage) -> None:
    """The message as a new mail in the mailbox, owned by dovecot's user as a delivery would leave it."""
    path = maildir / "new" / name
    path.write_bytes(message.as_bytes())
    shutil.chown(path, "dovecot", "dovecot")
