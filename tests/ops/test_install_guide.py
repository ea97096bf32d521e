"""The guide's install steps are complete: every package the Makefile installs to run the service is
in the guide's apt line, every command the steps use comes from a listed package, and every folder a
unit, the backup timer or nginx uses is created by the steps (tests/production/ runs them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.ops import guide

ROOT = Path(__file__).resolve().parents[2]
# Makefile targets that install what only the tests use (browser, re-saving tools, IMAP server, nginx for the test).
TEST_ONLY_TARGETS = {"chromium", "test-tools"}
# The package each command of the guide comes from (coreutils, util-linux and adduser are always there).
PROVIDED_BY = {"git": "git", "make": "make", "npm": "npm", "nginx": "nginx", "openssl": "openssl", "python3": "python3"}


def makefile_runtime_packages() -> set[str]:
    packages: set[str] = set()
    target = None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if found := re.match(r"^([A-Za-z$(][^:=\s]*)\s*:(?!=)", line):
            target = found.group(1)
        if "apt-get install" in line and target not in TEST_ONLY_TARGETS:
            words = line.split("apt-get install", 1)[1].replace(")", " ").split()
            packages |= {w for w in words if not w.startswith("-") and w != "\\"}
    return packages


def guide_packages() -> set[str]:
    (line,) = [x for x in guide.lines("packages") if "apt-get install" in x]
    return {w for w in line.split("apt-get install", 1)[1].split() if not w.startswith("-")}


def test_the_guide_installs_every_package_the_makefile_installs_to_run_it():
    runtime = makefile_runtime_packages()
    assert {"libcairo2", "npm", "nodejs"} <= runtime  # the parse found the Makefile's lines
    assert runtime - guide_packages() == set()


def test_every_command_in_the_steps_comes_from_a_listed_package():
    packages = guide_packages() | {"postgresql"}
    steps = "\n".join(line for name in ("install", "database", "prepare", "services") for line in guide.lines(name))
    for command, package in PROVIDED_BY.items():
        if re.search(rf"(^|[\s;&|(]){command}\b", steps, re.M):
            assert package in packages, f"the steps run {command} but the apt line lacks {package}"
    assert "sudo " not in steps  # not on a minimal Debian


def test_the_steps_create_every_folder_they_and_the_units_use():
    install = "\n".join(guide.lines("install"))
    created = set(re.findall(r"install -d [^\n]*?(/\S+)$", install, re.M))
    needed = {str(Path(guide.ENV_FILE).parent)}
    for unit in (ROOT / "deploy" / "systemd").glob("*.service"):
        text = unit.read_text()
        needed |= set(re.findall(r"^ReadWritePaths=(\S+)", text, re.M))
        needed |= set(re.findall(r" backup (/\S+)/[^/\s]+\.dump", text))
    (policies,) = re.findall(r"^POLICIES_DIR=(\S+)$", (ROOT / "deploy" / "env.example").read_text(), re.M)
    needed.add(policies)
    assert needed - created == set(), f"used but never created: {sorted(needed - created)}"
    alias = re.search(r"alias\s+/srv/escalate/(\S+?);", (ROOT / "deploy" / "nginx.conf").read_text())
    assert alias and (ROOT / alias.group(1)).is_dir(), "nginx serves static files from a folder the code has"


def test_the_service_user_can_read_the_policy_texts():
    """The units run as `escalate`, which owns neither /etc/escalate nor POLICIES_DIR: every folder on
    the way must let others through, and the texts copied there must be readable by others."""
    (policies,) = re.findall(r"^POLICIES_DIR=(\S+)$", (ROOT / "deploy" / "env.example").read_text(), re.M)
    modes = {}
    for line in guide.lines("install"):
        if found := re.match(r"install -d (?:-[og] \S+ )*-m (0[0-7]{3}) (/\S+)$", line):
            modes[found.group(2)] = int(found.group(1), 8)
    path = Path(policies)
    assert modes[str(path)] & 0o005 == 0o005, f"{path} must be listable by the service"
    for parent in path.parents:
        assert modes.get(str(parent), 0o755) & 0o001, f"{parent} must let the service through to {path}"
    (copy,) = [line for line in guide.lines("install") if re.match(rf"install .*-t {re.escape(policies)} ", line)]
    assert "-m 0644" in copy and "-o " not in copy, copy


def test_every_step_that_installs_the_code_compiles_it():
    """The service runs as a user who cannot write the compiled copy of code that root owns, so each
    process would compile it again as it starts: every block of the guide that installs the code runs
    `make bytecode` after it, and that target compiles every module pyproject.toml installs."""
    fences = re.findall(r"```sh\n(.*?)```", guide.GUIDE.read_text(encoding="utf-8"), re.S)
    installing = [body for body in fences if "pip install -e ." in body]
    assert len(installing) == 3  # install, upgrade and roll back
    for body in installing:
        after = body.split("pip install -e .", 1)[1]
        assert re.search(r"\bmake\b[^#\n]*\bbytecode\b", after), f"installs the code without `make bytecode`:\n{body}"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {p.rstrip("*") for p in pyproject["packages"]["find"]["include"]} | {
        f"{m}.py" for m in pyproject["py-modules"]
    }
    recipe = re.search(r"^bytecode:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert "compileall" in recipe and modules <= set(recipe.split()), recipe
