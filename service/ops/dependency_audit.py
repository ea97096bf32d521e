"""`python -m service.ops.dependency_audit`: pip-audit of the installed environment, for `make test`.

Fails (exit 1) when any installed package has a known vulnerability, listing each with its fixed
versions. When the vulnerability database cannot be reached (no network, or a package index that
does not serve PyPI's JSON API, so every package comes back "not found"), it says so and passes
(exit 0): an unreachable service must not block work, but it is never reported as "no vulnerabilities".
pip-audit failing for any other reason is an error (exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

NETWORK_SIGNS = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Connection refused",
    "HTTPError",
    "SSLError",
)


@dataclass
class Audit:
    status: str  # clean, vulnerable, unavailable
    audited: int = 0
    skipped: list[str] = field(default_factory=list)
    vulnerabilities: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "vulnerable" else 0

    def summary(self) -> str:
        if self.status == "vulnerable":
            return "pip-audit: known vulnerabilities:\n" + "\n".join(f"  {v}" for v in self.vulnerabilities)
        if self.status == "unavailable":
            return (
                f"pip-audit: WARNING: vulnerability data unreachable, {len(self.skipped)} packages NOT audited "
                f"(e.g. {self.skipped[0] if self.skipped else 'none'}); run `make test` where PyPI's JSON API answers"
            )
        note = f", {len(self.skipped)} not audited: {', '.join(self.skipped)}" if self.skipped else ""
        return f"pip-audit: {self.audited} packages audited, no known vulnerabilities{note}"


def classify(report: dict) -> Audit:
    """Read pip-audit's JSON report into an Audit."""
    audit = Audit(status="clean")
    for dependency in report.get("dependencies", []):
        name = f"{dependency.get('name')} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            audit.skipped.append(name)
            continue
        audit.audited += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            audit.vulnerabilities.append(f"{name}: {vuln.get('id')} (fixed in: {fixed})")
    if audit.vulnerabilities:
        audit.status = "vulnerable"
    elif audit.audited == 0 and audit.skipped:
        audit.status = "unavailable"
    return audit


def run(timeout: float = 600) -> tuple[Audit | None, str]:
    """(audit, pip-audit's stderr); audit is None when pip-audit gave no report."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--skip-editable",  # the project itself is not on PyPI
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(out),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
        except subprocess.TimeoutExpired:
            return None, "timed out: ReadTimeout"
        if not out.exists() or not out.read_text().strip():
            return None, done.stderr
        return classify(json.loads(out.read_text())), done.stderr


def main() -> int:
    audit, stderr = run()
    if audit is None:
        if any(sign in stderr for sign in NETWORK_SIGNS):
            print("pip-audit: WARNING: vulnerability service unreachable; packages NOT audited", file=sys.stderr)
            return 0
        print(f"pip-audit failed:\n{stderr[-2000:]}", file=sys.stderr)
        return 2
    print(audit.summary(), file=sys.stderr if audit.status != "clean" else sys.stdout)
    return audit.exit_code


if __name__ == "__main__":
    sys.exit(main())
