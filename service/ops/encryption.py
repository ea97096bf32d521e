"""Backups encrypted at rest with age or GnuPG (Debian packages `age`, `gpg`), never a home-made cipher.

BACKUP_ENCRYPT_TO (or `flask --app app backup FILE --encrypt-to ...`) names the recipient: an age
public key (`age1...`) or a GnuPG key (its fingerprint or e-mail address, in the keyring of the user
running the backup). Only the public half needs to be on the server; keep the private key (age
identity file or GnuPG secret key) off it, and bring it to restore: `flask --app app restore FILE
--identity KEYFILE` (age), or a GNUPGHOME holding the secret key (GnuPG).

The database is dumped into a private temporary folder (mode 0700) next to the destination, encrypted
into the destination, and the plain dump deleted. A backup file is written with mode 0600 either way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

AGE_MAGIC = b"age-encryption.org/v1"


class EncryptionError(RuntimeError):
    pass


def private_file(path: Path) -> None:
    """Create (or truncate) `path` readable and writable by its owner only, before anything is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
    finally:
        os.close(fd)


def tool(recipient: str) -> str:
    return "age" if recipient.startswith(("age1", "ssh-")) else "gpg"


def _run(command: list[str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise EncryptionError(f"{command[0]} is not installed (Debian: apt-get install {command[0]})")
    run = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise EncryptionError(f"{what} failed: {run.stderr.strip()[-500:]}")


def encrypt(plain: Path, dest: Path, recipient: str) -> None:
    private_file(dest)
    if tool(recipient) == "age":
        _run(["age", "--encrypt", "--recipient", recipient, "--output", str(dest), str(plain)], "age")
    else:
        command = ["gpg", "--batch", "--yes", "--trust-model", "always", "--recipient", recipient]
        _run([*command, "--output", str(dest), "--encrypt", str(plain)], "gpg --encrypt")


def encrypted_with(path: Path) -> str | None:
    """'age', 'gpg' or None (a plain pg_dump or SQLite file)."""
    with open(path, "rb") as handle:
        head = handle.read(32)
    if head.startswith(AGE_MAGIC):
        return "age"
    if head.startswith((b"PGDMP", b"SQLite format 3\x00")) or not head:
        return None
    # An OpenPGP message starts with a packet tag (high bit set), or ASCII armour.
    return "gpg" if head[0] & 0x80 or head.startswith(b"-----BEGIN PGP MESSAGE") else None


@contextlib.contextmanager
def scratch(near: Path) -> Iterator[Path]:
    """A private folder beside `near` (same file system, never /tmp shared with others), removed after."""
    folder = Path(tempfile.mkdtemp(prefix=".escalate-backup-", dir=near.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def decrypt(source: Path, plain: Path, identity: Path | None) -> None:
    private_file(plain)
    if encrypted_with(source) == "age":
        if identity is None:
            raise EncryptionError(f"{source} is encrypted with age: give its key with --identity FILE")
        _run(["age", "--decrypt", "--identity", str(identity), "--output", str(plain), str(source)], "age")
    else:
        _run(["gpg", "--batch", "--yes", "--output", str(plain), "--decrypt", str(source)], "gpg --decrypt")
