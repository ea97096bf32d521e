"""The code's layout keeps its flow readable: spec -> document -> returned file -> parse -> intake -> case.

Surfaces (web pages, workspace, API, commands, operations) import the domain; the domain never imports
a surface, and each domain package imports only the packages below it. Every import is read from the
source (inside functions too), so a lazy import cannot hide an upward one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ("forms", "parsers", "service")

# What each domain package may import from this project (besides itself and the standard library).
DOMAIN = {
    "forms": {"forms"},
    "parsers": {"forms", "parsers"},
    "service.db": {"service.db"},
    "service.ops.settings": {"service.db", "service.ops.settings"},
    "service.documents": {"forms", "service.documents"},
    "service.casework": {"forms", "service.db", "service.documents", "service.casework"},
    "service.intake": {
        "forms",
        "parsers",
        "service.db",
        "service.ops.settings",  # how a setting is read (the sender check's trusted servers)
        "service.documents",
        "service.casework",
        "service.intake",
    },
    "service.conference": {
        "forms",
        "parsers",
        "service.db",
        "service.ops.settings",
        "service.documents",
        "service.casework",
        "service.intake",
        "service.conference",
    },
}
# Modules inside domain packages that are surfaces themselves: pages and commands.
SURFACE_MODULES = {
    "service.intake.cli",
    "service.conference",  # its __init__ wires the blueprint and commands into the app
    "service.conference.views",
    "service.conference.access",
    "service.conference.cli",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            # `from package import module` depends on the module, not on the package's __init__.
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if is_module(target) else base)
    return {name for name in found if name.split(".")[0] in CODE}


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def domain_of(module: str) -> str | None:
    best = None
    for package in DOMAIN:
        if (module == package or module.startswith(package + ".")) and (best is None or len(package) > len(best)):
            best = package
    return best


def is_surface(module: str) -> bool:
    return module in SURFACE_MODULES or domain_of(module) is None


def sources():
    for top in CODE:
        yield from sorted((ROOT / top).rglob("*.py"))


def test_the_domain_never_imports_a_surface_or_a_package_above_it():
    wrong = []
    for path in sources():
        module = module_name(path)
        if is_surface(module):
            continue
        allowed = DOMAIN[domain_of(module)]
        for imported in project_imports(path):
            target = domain_of(imported)
            # `from service import db` names service.db; the bare package `service` is only a namespace.
            if imported == "service":
                continue
            if target is None or imported in SURFACE_MODULES or target not in allowed:
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "upward imports:\n" + "\n".join(sorted(set(wrong)))


def test_the_import_check_catches_an_upward_import(tmp_path):
    """The rule above is not vacuous: a domain module importing the web surface is caught."""
    fake = ROOT / "service" / "casework" / "_layout_probe.py"
    fake.write_text("def f():\n    from service.web import views\n")
    try:
        imported = project_imports(fake)
        assert "service.web.views" in imported
        assert domain_of("service.web.views") is None
        assert not is_surface("service.casework._layout_probe")
    finally:
        fake.unlink()


def test_service_keeps_few_modules_at_its_top():
    top = sorted(p.name for p in (ROOT / "service").glob("*.py"))
    assert len(top) <= 6, top


@pytest.mark.parametrize("package", sorted({p.parent for p in sources() if p.name == "__init__.py"}), ids=str)
def test_every_package_says_what_it_owns(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert doc and len(doc) > 40, f"{package}/__init__.py needs a docstring saying what it owns and may import"


def test_no_module_is_over_400_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in sources() for n in [len(p.read_text().splitlines())] if n > 400]
    assert not long, long
