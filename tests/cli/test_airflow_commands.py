"""``airflow dativo sync-pools``: the provider's command inside Airflow's own CLI."""

from __future__ import annotations

import json

from tests.support.cli import airflow
from tests.support.examples import EXAMPLES, RUNNER_AIRFLOW


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
