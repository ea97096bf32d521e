"""The dependency audit's verdicts on pip-audit's JSON report (the audit itself runs in `make test`)."""

from __future__ import annotations

from service.ops.dependency_audit import classify

CLEAN = {
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "jinja2", "version": "3.1.6", "vulns": []},
    ]
}
VULNERABLE = {
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"]}],
        },
    ]
}
UNREACHABLE = {
    "dependencies": [
        {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited: flask (3.1.3)"},
        {"name": "jinja2", "skip_reason": "Dependency not found on PyPI and could not be audited: jinja2 (3.1.6)"},
    ]
}


def test_a_known_vulnerability_fails_naming_package_and_fix():
    audit = classify(VULNERABLE)
    assert audit.status == "vulnerable" and audit.exit_code == 1
    assert audit.vulnerabilities == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in: 3.1.3)"]
    assert "jinja2 3.1.2" in audit.summary()


def test_clean_passes():
    audit = classify(CLEAN)
    assert audit.status == "clean" and audit.exit_code == 0 and audit.audited == 2


def test_unreachable_service_passes_with_a_warning_never_as_clean():
    audit = classify(UNREACHABLE)
    assert audit.status == "unavailable" and audit.exit_code == 0
    assert "NOT audited" in audit.summary()


def test_a_vulnerability_fails_even_when_other_packages_were_skipped():
    report = {"dependencies": VULNERABLE["dependencies"] + UNREACHABLE["dependencies"][:1]}
    assert classify(report).exit_code == 1
