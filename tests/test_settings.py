"""One settings module: every variable and [dativo] option is read there, documented, and
resolved the same way by every entry point."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dativo import settings
from airflow_provider_dativo.get_provider_info import get_provider_info
from tests.support.examples import REPO

PACKAGE = REPO / "airflow_provider_dativo"
CONFIG_MODULES = ("airflow.configuration", "airflow.sdk.configuration")
VARIABLE = re.compile(r"\b(?:DATIVO|ORCH)_[A-Z][A-Z0-9_]*\b")


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _reads_settings(node: ast.AST) -> str | None:
    """What a node reads from the environment or Airflow's configuration, if anything."""
    if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
        return f"os.{node.attr}"
    if isinstance(node, ast.Name) and node.id in ("environ", "getenv"):
        return node.id
    if isinstance(node, ast.ImportFrom) and node.module in CONFIG_MODULES:
        return f"from {node.module} import ..."
    if (
        isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and {"environ", "getenv"} & {a.name for a in node.names}
    ):
        return "from os import environ/getenv"
    return None


def test_only_the_settings_module_reads_the_environment_or_airflows_configuration() -> None:
    readers = []
    for path in package_modules():
        if path == PACKAGE / "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            what = _reads_settings(node)
            if what:
                readers.append(f"{path.relative_to(REPO)}:{node.lineno}: {what}")
    assert readers == []


def strings_of(path: Path) -> list[str]:
    """The string literals of a module, docstrings and f-string parts included."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_every_variable_the_package_names_is_a_setting() -> None:
    named = {
        name for path in package_modules() for text in strings_of(path) for name in VARIABLE.findall(text)
    }
    known = {setting.variable for setting in settings.SETTINGS}
    assert named, "the scan found no variable at all"
    assert named - known == set()
    assert {s.variable for s in settings.SETTINGS if VARIABLE.fullmatch(s.variable)} <= named


def test_the_dativo_options_are_the_providers_config_section() -> None:
    declared = set(get_provider_info()["config"]["dativo"]["options"])
    assert declared == {s.option for s in settings.SETTINGS if s.option}


def test_the_configuration_page_has_a_row_for_every_setting() -> None:
    page = (REPO / "docs" / "configuration.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for setting in settings.SETTINGS:
        row = next((r for r in rows if r.startswith(f"| `{setting.variable}`")), None)
        assert row is not None, f"docs/configuration.md has no row for {setting.variable}"
        if setting.option:
            assert f"`[dativo] {setting.option}`" in row, row


def test_app_root_argument_then_variable_then_airflow_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__DATIVO__APP_ROOT", "/from/option")
    monkeypatch.setenv(settings.APP_ROOT, "/from/variable")
    assert settings.resolve_app_root("/from/argument") == "/from/argument"
    assert settings.resolve_app_root() == "/from/variable"
    monkeypatch.delenv(settings.APP_ROOT)
    assert settings.resolve_app_root() == "/from/option"
    assert settings.resolve_app_root("") is None  # resolved already: "none", nothing read
    monkeypatch.delenv("AIRFLOW__DATIVO__APP_ROOT")
    assert settings.resolve_app_root() is None


def test_parse_cache_dir_off_and_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(settings.PARSE_CACHE_DIR, raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert settings.parse_cache_dir() == tmp_path / "dativo-parse-cache"
    monkeypatch.setenv("AIRFLOW__DATIVO__PARSE_CACHE_DIR", " OFF ")
    assert settings.parse_cache_dir() is None
    monkeypatch.setenv(settings.PARSE_CACHE_DIR, str(tmp_path / "cache"))
    assert settings.parse_cache_dir() == tmp_path / "cache"
    assert settings.parse_cache_dir("off") is None


def _fresh_python(code: str, env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATIVO_", "AIRFLOW__DATIVO__"))}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


CHECK = (
    "import json, sys\n"
    "from airflow_provider_dativo import settings\n"
    "imported = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'pydantic', 'yaml'))\n"
    "root = settings.resolve_app_root()\n"
    "print(json.dumps({'root': root, 'on_import': imported,\n"
    "                  'airflow_config_read': 'airflow.configuration' in sys.modules}))\n"
)


def test_outside_airflow_an_option_nobody_set_costs_no_airflow_import(tmp_path: Path) -> None:
    seen = _fresh_python(CHECK, {"AIRFLOW_HOME": str(tmp_path)})
    assert seen == {"root": None, "on_import": [], "airflow_config_read": False}


def test_an_app_root_in_airflow_cfg_is_read_outside_airflow_too(tmp_path: Path) -> None:
    cfg = f"[core]\nload_examples = False\n\n[dativo]\napp_root = {tmp_path}\n"
    (tmp_path / "airflow.cfg").write_text(cfg)
    seen = _fresh_python(CHECK, {"AIRFLOW_HOME": str(tmp_path)})
    assert seen == {"root": str(tmp_path), "on_import": [], "airflow_config_read": True}
