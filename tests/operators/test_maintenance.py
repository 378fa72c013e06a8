"""DativoMaintenanceOperator under real Airflow: ``dag.test()`` of the example deployment's
``acme_orders_csv__maintenance`` DAG compacts a real table loaded by three runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.state import DagRunState

from airflow_provider_dativo.cli.main import main
from airflow_provider_dativo.engine.iceberg.catalog import open_catalog
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.examples import EXAMPLES, ORDERS_JOB, REPO, RUNNER_AIRFLOW

pytestmark = pytest.mark.slow


def returned(dag_run, task_id: str) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    ti = dag_run.get_task_instance(task_id)
    with create_session() as session:
        value = (
            session.query(XComModel)
            .filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, key="return_value")
            .one()
            .value
        )
    return json.loads(value) if isinstance(value, str) else value


def orders_table():
    spec = next(
        s
        for s in load_runner(RUNNER_AIRFLOW, app_root=str(EXAMPLES)).specs
        if s.schedule.name == "acme_orders_csv"
    )
    return open_catalog(spec.job.config.target).load_table((spec.job.namespace, spec.job.config.target.table))


def test_the_maintenance_dag_compacts_the_job_table(airflow_db, dativo_home: Path, capsys) -> None:
    for i in range(3):  # three loads of the demo CSV: three small files
        assert main(["run", "--config", str(ORDERS_JOB), "--no-retries", "--run-id", f"load-{i}"]) == 0
    capsys.readouterr()
    assert sum(1 for _ in orders_table().scan().plan_files()) == 3

    bag = DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)
    assert bag.import_errors == {}
    dag_run = bag.get_dag("acme_orders_csv__maintenance").test()

    assert dag_run.state == DagRunState.SUCCESS
    summary = returned(dag_run, "maintain")
    assert summary["table"] == "acme.orders"
    assert (summary["compacted_files_rewritten"], summary["compacted_files_written"]) == (3, 1)
    assert summary["snapshots_expired"] == 0  # a week's snapshots are kept
    table = orders_table()
    assert sum(1 for _ in table.scan().plan_files()) == 1
    assert table.scan().to_arrow().num_rows == 150
    assert table.current_snapshot().summary.additional_properties["dativo.operation"] == "compaction"
