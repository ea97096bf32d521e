"""Old and other word-processor files (.doc, .odt, .rtf) read by making them a DOCX with LibreOffice.

LibreOffice runs headless, once per file, inside the parsing worker: with its own profile directory
(made fresh, macros disabled and never run, links to outside content blocked), in a network
namespace of its own where the kernel allows one (`unshare -rn`: no network at all), with its own
address-space and processor-time limits, and a wall-clock limit after which its process group is
killed. The DOCX it writes is then read like any other; the original stays as it came (the
pipeline stores the bytes received).
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from parsers.result import ParseError, ParseResult

MEMORY_LIMIT = 1024 * 1024 * 1024  # LibreOffice maps ~600 MB of libraries before it reads a byte
CPU_SECONDS = 20
WALL_SECONDS = 30
MAX_OUTPUT_BYTES = 40 * 1024 * 1024
NAMES = {"doc": "Word 97-2003 document (.doc)", "odt": "OpenDocument text (.odt)", "rtf": "Rich Text document (.rtf)"}

# The profile's settings: macros never run (the highest security level, and execution disabled),
# no links to outside content followed, no OpenCL, no first-start wizard. `--convert-to` itself loads
# without asking for macros to run; these settings keep them off whatever LibreOffice's own default
# is (tests/parsers/test_convert.py: a document whose load macro runs when these two are turned round).
SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseOpenCL" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Setup/Office"><prop oor:name="FirstStartWizardCompleted" oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""


@functools.cache
def _isolated() -> list[str]:
    """`unshare -rn` when this kernel lets an unprivileged process have a network namespace of its own."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    try:
        ok = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return [unshare, "-rn"] if ok else []


def _limits(memory: int, seconds: int):
    def apply() -> None:  # in the child, before LibreOffice starts (the worker has one thread)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_limited(command: list[str], *, cwd: str, memory: int, seconds: int, wall: float, env: dict | None = None):
    """Run a helper program with its own limits; its whole process group is killed at `wall` seconds.
    Returns (exit code, stderr); the exit code is None when it was killed for time."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_limits(memory, seconds),
        start_new_session=True,
    )
    try:
        _, err = process.communicate(timeout=wall)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, b""
    return process.returncode, err or b""


def make_profile(where: Path, settings: str = SETTINGS) -> Path:
    """A new LibreOffice profile folder (for -env:UserInstallation) holding these settings."""
    (where / "user").mkdir(parents=True)
    (where / "user" / "registrymodifications.xcu").write_text(settings, encoding="utf-8")
    return where


def to_docx(content: bytes, kind: str) -> bytes:
    """The document as DOCX, converted by LibreOffice; ParseError naming what failed."""
    what = NAMES[kind]
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ParseError(f"not readable here: a {what} needs LibreOffice, which this server does not have")
    with tempfile.TemporaryDirectory(prefix="escalate-convert-") as tmp:
        source = Path(tmp) / f"returned.{kind}"
        source.write_bytes(content)
        profile = make_profile(Path(tmp) / "profile")
        out = Path(tmp) / "out"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8", "TMPDIR": tmp}
        command = [
            *_isolated(),
            soffice,
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(out),
            str(source),
        ]
        code, _ = run_limited(command, cwd=tmp, memory=MEMORY_LIMIT, seconds=CPU_SECONDS, wall=WALL_SECONDS, env=env)
        if code is None:
            raise ParseError(f"refused: converting the {what} took longer than {WALL_SECONDS} s")
        made = out / "returned.docx"
        if code != 0 or not made.exists():
            raise ParseError(f"not readable: the {what} could not be opened (damaged, or not what it is named)")
        if made.stat().st_size > MAX_OUTPUT_BYTES:
            raise ParseError(f"refused: the {what} converts to more than {MAX_OUTPUT_BYTES // 1048576} MB")
        return made.read_bytes()


def read_converted(content: bytes, kind: str, *, specs, prefixes, form_id=None) -> ParseResult:
    from parsers import read_docx

    result = read_docx(to_docx(content, kind), specs=specs, prefixes=prefixes, form_id=form_id, kind=kind)
    result.warnings.insert(0, f"read from a {NAMES[kind]}, converted to Word (.docx) with LibreOffice")
    return result
