"""The provider as Airflow sees it: discovery, metadata (operators, hooks, connection types),
CLI, plugin registration, and an import-free package root."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.cli import airflow


def test_get_provider_info_contract() -> None:
    from airflow_provider_dativo.get_provider_info import get_provider_info

    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-dativo"
    assert info["name"] and info["description"]
    assert "runner_config" in info["config"]["dativo"]["options"]
    assert info["cli"] == ["airflow_provider_dativo.cli.airflow_commands.get_cli_commands"]


def test_package_root_imports_nothing_from_airflow() -> None:
    code = (
        "import sys, airflow_provider_dativo\n"
        "print(any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_airflow_providers_list_shows_the_provider_and_airflow_still_works(airflow_db) -> None:
    listed = airflow("providers", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    packages = {p["package_name"] for p in json.loads(listed.stdout)}
    assert "airflow-provider-dativo" in packages
    for args in (
        ("version",),
        ("config", "get-value", "core", "dags_folder"),
        ("dags", "list", "-o", "json"),
    ):
        result = airflow(*args)
        assert result.returncode == 0, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr


def test_providers_manager_lists_operators_hooks_and_the_connection_type() -> None:
    """What get_provider_info() declares is what Airflow's ProvidersManager serves, and it holds."""
    import importlib

    from airflow.providers_manager import ProvidersManager
    from airflow.sdk import BaseHook, BaseOperator

    from airflow_provider_dativo.get_provider_info import get_provider_info
    from airflow_provider_dativo.hooks.dativo import DativoHook

    manager = ProvidersManager()
    info = manager.providers["airflow-provider-dativo"].data
    assert {k: v for k, v in info.items() if k != "documentation-url"} == get_provider_info()
    modules = [m for group in info["operators"] for m in group["python-modules"]]
    operators = {
        name
        for module in modules
        for name, value in vars(importlib.import_module(module)).items()
        if isinstance(value, type) and issubclass(value, BaseOperator) and value.__module__ == module
    }
    assert operators == {
        "DativoIngestOperator",
        "DativoWorkflowOperator",
        "DativoMaintenanceOperator",
        "DativoConfigErrorOperator",
    }
    hook_modules = [m for group in info["hooks"] for m in group["python-modules"]]
    assert hook_modules == [DativoHook.__module__]
    assert issubclass(DativoHook, BaseHook)

    hook = manager.hooks["dativo"]
    assert hook.hook_class_name == "airflow_provider_dativo.hooks.dativo.DativoHook"
    assert hook.connection_id_attribute_name == DativoHook.conn_name_attr == "dativo_conn_id"
    assert hook.hook_name == DativoHook.hook_name
    assert hook.package_name == "airflow-provider-dativo"
    assert DativoHook.conn_type == "dativo" and DativoHook.default_conn_name == "dativo_default"
    form = manager.field_behaviours["dativo"]
    assert form["hidden_fields"] == DativoHook.get_ui_field_behaviour()["hidden_fields"]
    assert "password" not in form["hidden_fields"] and form["relabeling"]["password"] == "Secret value"


def test_airflow_providers_hooks_lists_the_dativo_connection_type() -> None:
    listed = airflow("providers", "hooks", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rows = [row for row in json.loads(listed.stdout) if row["connection_type"] == "dativo"]
    assert rows == [
        {
            "connection_type": "dativo",
            "class": "airflow_provider_dativo.hooks.dativo.DativoHook",
            "conn_id_attribute_name": "dativo_conn_id",
            "package_name": "airflow-provider-dativo",
            "hook_name": "Dativo secret",
        }
    ]


@pytest.mark.parametrize("lazy", ["True", "False"])
def test_the_view_plugin_loads_once_without_import_errors(lazy: str) -> None:
    """Registered through the airflow.plugins entry point only: listing it in get_provider_info()
    too would load it twice when providers are discovered eagerly, the second as an import error."""
    code = (
        "import json\n"
        "from airflow import plugins_manager\n"
        "plugins, errors = plugins_manager._get_plugins()\n"
        "print(json.dumps({'names': [p.name for p in plugins], 'errors': errors}))\n"
    )
    env = {**os.environ, "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": lazy}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["names"].count("dativo") == 1
    assert loaded["errors"] == {}
