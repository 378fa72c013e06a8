"""DativoIngestOperator under real Airflow: ``dag.test()`` writing real Iceberg tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.state import DagRunState

from airflow_provider_dativo.engine.iceberg.catalog import open_catalog
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.deployment import airflow_dags_test, make_deployment
from tests.support.examples import EXAMPLES, REPO, RUNNER_AIRFLOW

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo_dags(airflow_db) -> DagBag:
    """The drop-in dags/ folder (the configured dags folder: dag.test() syncs it to the DB)."""
    bag = DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)
    assert bag.import_errors == {}
    return bag


def read_table(runner: Path, schedule: str, app_root: Path | None = None):
    spec = next(
        s
        for s in load_runner(runner, app_root=str(app_root) if app_root else None).specs
        if s.schedule.name == schedule
    )
    target = spec.job.config.target
    return open_catalog(target).load_table((spec.job.namespace, target.table))


def metrics_of(dag_run) -> dict:
    ti = dag_run.get_task_instance("ingest")
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, key="return_value")
            .one()
        )
        value = row.value
    return json.loads(value) if isinstance(value, str) else value


def test_demo_dag_loads_the_csv_into_iceberg(repo_dags: DagBag, dativo_home: Path) -> None:
    dag_run = repo_dags.get_dag("acme_orders_csv").test()
    assert dag_run.state == DagRunState.SUCCESS
    metrics = metrics_of(dag_run)
    assert (
        metrics["status"] == "success" and metrics["records_valid"] == 50 and metrics["records_invalid"] == 0
    )
    assert metrics["job_name"] == "acme_orders_csv" and metrics["tenant_id"] == "acme"
    assert metrics["files_written"] >= 1 and metrics["total_bytes"] > 0

    rows = read_table(RUNNER_AIRFLOW, "acme_orders_csv", EXAMPLES).scan().to_arrow()
    assert rows.num_rows == 50
    first = rows.sort_by("order_id").slice(0, 1).to_pylist()[0]
    assert first["order_id"] == 1001 and first["customer_email"] == "customer1@example.com"
    assert str(first["amount"]) == "217.22"
    assert (dativo_home / "catalog.db").exists()


def test_warn_mode_ends_partial_with_the_invalid_count(repo_dags: DagBag, dativo_home: Path) -> None:
    dag_run = repo_dags.get_dag("globex_events_jsonl").test()
    assert dag_run.state == DagRunState.SUCCESS  # exit 1 is not retryable here: success, status partial
    metrics = metrics_of(dag_run)
    assert metrics["status"] == "partial"
    assert (metrics["records_extracted"], metrics["records_valid"], metrics["records_invalid"]) == (40, 38, 2)
    assert read_table(RUNNER_AIRFLOW, "globex_events_jsonl", EXAMPLES).scan().to_arrow().num_rows == 38


def test_strict_mode_fails_the_task_and_writes_nothing(airflow_db, tmp_path: Path, dativo_home: Path) -> None:
    deployment = tmp_path / "deploy"
    runner = make_deployment(
        deployment,
        schedules="- {name: strict_orders, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n",
        csv="order_id,email,status,amount\n1,a@x.io,new,1.5\n2,not-an-email,paid,-3\n",
    )
    result = airflow_dags_test(runner, "strict_orders", tmp_path, dativo_home)
    output = result.stdout + result.stderr
    assert "failed with exit code 2" in output or "validation failed (strict)" in output, output[-3000:]
    finished = [line for line in output.splitlines() if "DagRun Finished: dag_id=strict_orders" in line]
    assert result.returncode != 0 and finished and "state=failed" in finished[-1]
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = read_table(runner, "strict_orders")
    except NoSuchTableError:
        return  # strict mode validated before touching the catalog
    assert table.current_snapshot() is None


def test_config_path_is_templated() -> None:
    from airflow_provider_dativo.operators.ingest import DativoIngestOperator

    assert "config_path" in DativoIngestOperator.template_fields


def test_repo_dags_folder_untouched_by_tests() -> None:
    assert sorted(p.name for p in (REPO / "dags").glob("*.py")) == ["dativo_dags.py"]
