"""The layout the code promises: imports in one direction (config -> plan -> Airflow objects;
the engine never imports Airflow), and tests that mirror the package with their helpers in
tests/support/ only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.examples import REPO

PACKAGE = "airflow_provider_dativo"
TESTS = REPO / "tests"

SHIMS = {f"{PACKAGE}.workflows.operator"}
"""Old import paths kept for DAG files written by earlier exports: they point up on purpose."""

MAY_IMPORT = {
    # layer: what its modules may import from the package besides themselves
    "config": {"settings", "outcomes"},
    "plan": {"config", "workflows", "settings", "outcomes"},
    "engine": {"config", "settings", "outcomes", "exceptions"},
    "workflows": {"config", "engine", "settings", "outcomes", "exceptions"},
    "hooks": {"config", "engine", "get_provider_info"},
    "settings": {"config"},  # config.errors, for the error of a missing runner file
}
NO_AIRFLOW = ("config", "plan", "engine")
"""Never Airflow (settings.py reads Airflow's configuration, lazily, by design)."""
EVERYONE = {"__version__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, ``if TYPE_CHECKING:`` blocks left out."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"
        for stmt in node.body
        for sub in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _layer_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    root = REPO / PACKAGE / layer
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]
    wrong = []
    for path in files:
        module = _module_name(path)
        if module in SHIMS:
            continue
        for name in _imports(path):
            if name.startswith(f"{PACKAGE}."):
                target = _layer_of(name)
                if target not in MAY_IMPORT[layer] | {layer} | EVERYONE:
                    wrong.append(f"{module} imports {name}")
            elif layer in NO_AIRFLOW and name.split(".")[0] == "airflow":
                wrong.append(f"{module} imports {name}")
    assert wrong == []


def test_test_modules_import_helpers_only_from_tests_support() -> None:
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        for name in _imports(path):
            if name.startswith("tests.") and not name.startswith("tests.support"):
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []


def test_helpers_live_only_in_tests_support() -> None:
    helpers = [
        str(path.relative_to(REPO))
        for path in sorted(TESTS.rglob("*.py"))
        if not path.name.startswith("test_")
        and path.name not in ("conftest.py", "__init__.py")
        and TESTS / "support" not in path.parents
    ]
    assert helpers == []


CROSS_CUTTING = {"support", "e2e", "security"}
"""Test folders about the whole system, not one package folder."""


def test_test_folders_mirror_the_package() -> None:
    unmatched = [
        str(folder.relative_to(REPO))
        for folder in sorted(TESTS.rglob("*"))
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("test_*.py"))
        and folder.relative_to(TESTS).parts[0] not in CROSS_CUTTING
        and not (REPO / PACKAGE / folder.relative_to(TESTS)).is_dir()
    ]
    assert unmatched == []
