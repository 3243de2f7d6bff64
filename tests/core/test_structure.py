"""The house rules a new engineer relies on (docs/architecture.md): the same files in every domain, layers
that point down, small modules, registration on the app, and a layout document true to the tree."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

from app_modular import create_app
from modules import DOMAINS
from modules.core.config import PROJECT_ROOT
from modules.core.registry import registry

pytestmark = pytest.mark.sqlite_only  # reads files and builds apps: the database does not matter

MODULES = PROJECT_ROOT / "modules"
MAX_LINES = 300
STANDARD_FILES = ("__init__.py", "schemas.py", "models.py", "access.py", "settings.py", "cli.py")
OUTBOX_TABLES = {"OutboxMessage", "OutboxAttempt"}


def _python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import of a file, relative imports resolved."""
    package = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((base, [alias.name for alias in node.names]))
    return found


def _domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "modules" and parts[1] in DOMAINS else None


def test_every_domain_has_the_standard_files():
    for domain in DOMAINS:
        folder = MODULES / domain
        missing = [name for name in STANDARD_FILES if not (folder / name).exists()]
        missing += [name for name in ("routes", "services")
                    if not (folder / f"{name}.py").exists() and not (folder / name / "__init__.py").exists()]
        assert not missing, f"modules/{domain} lacks {missing} (docs/core.md, New domain)"
        assert not (folder / "guards.py").exists(), "who may call what lives in access.py"


def test_every_domain_exports_its_blueprint_and_init_app():
    import importlib

    for domain in DOMAINS:
        package = importlib.import_module(f"modules.{domain}")
        assert hasattr(package, "blp") and callable(package.init_app), domain


def test_no_module_is_over_300_lines():
    long = {str(path.relative_to(PROJECT_ROOT)): count
            for path in [*_python_files(MODULES), PROJECT_ROOT / "app_modular.py"]
            if (count := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by job: {long}"


def test_the_core_imports_no_domain_and_not_the_app_factory():
    offending = [(str(path.relative_to(PROJECT_ROOT)), module)
                 for path in _python_files(MODULES / "core") for module, _names in _imports(path)
                 if _domain_of(module) or module == "app_modular"]
    assert not offending


def test_no_domain_imports_another_domain_or_the_outbox_tables():
    offending = []
    for domain in DOMAINS:
        for path in _python_files(MODULES / domain):
            for module, names in _imports(path):
                other = _domain_of(module)
                if (other and other != domain) or module == "app_modular":
                    offending.append((str(path.relative_to(PROJECT_ROOT)), module))
                if module == "modules.core.models" and OUTBOX_TABLES & set(names):
                    offending.append((str(path.relative_to(PROJECT_ROOT)), "the outbox's tables"))
                if module.startswith("modules.core.outbox."):
                    offending.append((str(path.relative_to(PROJECT_ROOT)), f"{module}: use modules.core.outbox"))
    assert not offending


def test_no_bottom_imports_to_dodge_cycles():
    files = [*_python_files(MODULES), PROJECT_ROOT / "app_modular.py"]
    offending = [str(path.relative_to(PROJECT_ROOT)) for path in files if "noqa: E402" in path.read_text()]
    assert not offending


def test_building_apps_registers_nothing_twice(base_config):
    built = [registry(create_app(base_config)) for _ in range(3)]
    sizes = [(len(r.envelopes), len(r.prefixed_envelopes), sorted(r.handlers), sorted(r.periodic_jobs)) for r in built]
    assert sizes[0] == sizes[1] == sizes[2]
    assert len(built[0].envelopes) == len(DOMAINS)
    assert "outbox.sweep" in built[0].periodic_jobs


def _layout_entries() -> list[str]:
    """The paths of the "Layout" block of docs/architecture.md: the first word of each line, as a tree
    (a path ending in / is a folder; indentation nests it in the folder above)."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"## Layout\n.*?```text\n(.*?)```", text, re.S).group(1)
    entries, parents = [], []
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        name = line.split()[0]
        parents = parents[:depth]
        entries.append("".join(parents) + name)
        if name.endswith("/"):
            parents.append(name)
    return entries


def test_the_layout_document_matches_the_tree():
    """Every tracked file is in docs/architecture.md's layout (by itself or in a folder listed with `...`), and
    everything listed exists."""
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    entries = _layout_entries()
    whole_folders = tuple(entry[: -len("...")] for entry in entries if entry.endswith("/..."))
    listed = {entry for entry in entries if not entry.endswith("/")} - {f"{f}..." for f in whole_folders}
    unlisted = [path for path in tracked if path not in listed and not path.startswith(whole_folders)]
    assert not unlisted, f"add these to docs/architecture.md's layout: {unlisted}"
    missing = [entry for entry in listed if not (PROJECT_ROOT / entry).exists()]
    assert not missing, f"docs/architecture.md lists what is not there: {missing}"


def test_every_module_imports_first():
    """Each module imports first, in an interpreter where nothing of ours is loaded: no import cycle that
    only the usual import order hides (a job, a subprocess or a CLI may load any module first). The
    third-party packages our modules import are loaded once and the interpreter forks for each module
    (tests/support/first_import.py): a fresh interpreter per module cost a second each."""
    import sys

    files = _python_files(MODULES)
    names = [".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
             for path in files]
    third_party = sorted({module for path in files for module, _ in _imports(path)
                          if module and module.split(".")[0] not in ("modules", "app_modular")})
    script = (PROJECT_ROOT / "tests" / "support" / "first_import.py").read_text()
    done = subprocess.run([sys.executable, "-c", script, ",".join(third_party), *names], cwd=PROJECT_ROOT,
                          env={"HUB_ENV_FILE": "", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    failed = {}
    for line in done.stdout.splitlines():
        name, reason = line.split("\t", 1)
        failed.setdefault(name, reason)  # the traceback's last line comes before the exit status
    assert not failed
