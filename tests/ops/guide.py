"""The operator guide's command blocks, as the tests run them.

docs/operations.md marks each block an operator types with `<!-- block: NAME -->` on the line before
its ```sh fence. The tests take the commands from there (never a copy of them), with the guide's
fixed paths swapped for the test's own, so the guide and what is tested cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
ENV_FILE = "/etc/escalate/escalate.env"
INSTALL_DIR = "/srv/escalate"
POLICY_TEXTS = "/root/policies"  # where the install block copies the policy texts from
BLOCK = re.compile(r"<!-- block: ([a-z-]+) -->\n```sh\n(.*?)\n```", re.S)


def blocks() -> dict[str, str]:
    found: dict[str, str] = {}
    for name, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        assert name not in found, f"docs/operations.md has two blocks named {name}"
        found[name] = body
    return found


def lines(name: str) -> list[str]:
    """The block's commands, one per line: comments dropped, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", blocks()[name])
    out = []
    for line in text.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def command(name: str, env_file: Path | str = ENV_FILE, install_dir: Path | str = INSTALL_DIR, **more: str) -> str:
    """The block as a shell script, its paths replaced by the test's (`more`: any other literal text)."""
    text = "\n".join(lines(name))
    for old, new in {ENV_FILE: str(env_file), INSTALL_DIR: str(install_dir), **more}.items():
        text = text.replace(old, str(new))
    return text
