"""The provider as Airflow sees it: discovery, metadata, CLI, and an import-free package root."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import EXAMPLES, RUNNER_AIRFLOW


def airflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=os.environ.copy()
    )


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


def test_sync_pools_creates_and_resizes_pools(airflow_db, tmp_path) -> None:
    result = airflow("dativo", "sync-pools", str(RUNNER_AIRFLOW), "--app-root", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    exported = airflow("pools", "list", "-o", "json")
    pools = {p["pool"]: int(p["slots"]) for p in json.loads(exported.stdout)}
    assert pools["dativo_tenant_acme"] == 1 and pools["dativo_tenant_globex"] == 1

    bigger = tmp_path / "runner.yaml"
    bigger.write_text(
        RUNNER_AIRFLOW.read_text().replace("concurrency_per_tenant: 1", "concurrency_per_tenant: 2")
    )
    bigger_env = airflow("dativo", "sync-pools", str(bigger), "--app-root", str(EXAMPLES))
    assert "resized pool dativo_tenant_acme from 1 to 2" in bigger_env.stdout
    pools = {p["pool"]: int(p["slots"]) for p in json.loads(airflow("pools", "list", "-o", "json").stdout)}
    assert pools["dativo_tenant_acme"] == 2
