"""The layers' dependency rules (README, "How it works"), read from the imports of every module.

Every ``import`` and ``from ... import`` counts, also those inside functions: a rule broken
inside a function is broken all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "projections", "adapters", "api", "consumers", "runtime")

# package -> the project packages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "domain": set(PACKAGES) - {"domain"},
    "application": {"api", "consumers", "runtime"},
    "adapters": {"application", "api", "consumers", "runtime", "projections"},
    "projections": {"application", "api", "consumers", "runtime"},
    "api": {"consumers", "runtime"},
    "consumers": {"api", "runtime"},
    "runtime": set(),
}


def project_imports(path: Path) -> set[str]:
    """The project packages a module imports (first name of each imported module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGES)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    assert modules(package), f"{package}/ has no modules"
    broken = {
        str(path.relative_to(ROOT)): sorted(project_imports(path) & FORBIDDEN[package])
        for path in modules(package)
    }
    assert {k: v for k, v in broken.items() if v} == {}


def test_nothing_imports_runtime() -> None:
    """``runtime`` is the composition root: only it (and the tests, the bench) import it."""
    importers = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        if package != "runtime"
        for path in modules(package)
        if "runtime" in project_imports(path)
    ]
    assert importers == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The checker itself: a late import inside a function is found, relative ones are not."""
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nfrom . import sibling\n\ndef f():\n    from runtime import cli\n"
        "    import consumers.loop\n"
    )
    assert project_imports(module) == {"runtime", "consumers"}
