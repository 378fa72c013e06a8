"""Workflow DAGs under real Airflow (``dag.test()``), checked against the CLI runner on the same file.

``dag.test()`` runs DAGs of the configured dags folder (the repo's ``dags/``, whose factory file
reads ``DATIVO_RUNNER_CONFIG``): the examples come from ``example_configs/runner_airflow.yaml``,
and the other tests point ``DATIVO_RUNNER_CONFIG`` at a runner of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.state import DagRunState

from tests.support.examples import EXAMPLES, REPO
from tests.support.workflow_files import (
    DIAMOND,
    SEED_BRIEF_INPUTS,
    run_cli,
    task,
    write_runner,
    write_workflow,
)

pytestmark = pytest.mark.slow


def repo_dagbag() -> DagBag:
    bag = DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)
    assert bag.import_errors == {}
    return bag


def xcom_results(dag_run) -> dict[str, dict]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, key="return_value")
            .all()
        )
        return {
            row.task_id: json.loads(row.value) if isinstance(row.value, str) else row.value for row in rows
        }


def started_order(dag_run) -> list[str]:
    tis = [ti for ti in dag_run.get_task_instances() if ti.start_date is not None]
    return [ti.task_id for ti in sorted(tis, key=lambda ti: ti.start_date)]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_seed_example_passes_payloads_through_xcom_as_the_cli_does(airflow_db, tmp_path: Path) -> None:
    dag_run = repo_dagbag().get_dag("weekly_ops_chain").test()
    assert dag_run.state == DagRunState.SUCCESS
    on_airflow = xcom_results(dag_run)
    # the third task sees the keys of both tasks before it
    assert on_airflow["brief"]["inputs"] == SEED_BRIEF_INPUTS
    on_cli = run_cli(EXAMPLES / "workflows" / "weekly_ops_chain.yaml", tmp_path)
    assert on_airflow == {task_id: result.output for task_id, result in on_cli.results.items()}
    assert started_order(dag_run) == list(on_cli.results) == ["sweep", "report", "brief"]


def test_ingest_chain_loads_two_tables_then_maintains_one(airflow_db, dativo_home: Path) -> None:
    dag_run = repo_dagbag().get_dag("acme_ingest_chain").test()
    assert dag_run.state == DagRunState.SUCCESS
    results = xcom_results(dag_run)
    assert results["load_orders"]["records_valid"] == 50 and results["load_orders"]["status"] == "success"
    assert results["rebuild_archive"]["table"] == "acme.orders_archive"
    assert results["expire_orders_snapshots"]["table"] == "acme.orders"
    assert results["expire_orders_snapshots"]["snapshots_after"] == 1
    assert started_order(dag_run) == ["load_orders", "rebuild_archive", "expire_orders_snapshots"]


@pytest.fixture
def own_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the repo's dags folder at a runner with flaky, failing and broken workflows."""
    flows = tmp_path / "flows"
    failing = [dict(t) for t in DIAMOND]
    failing[1] = task("b", "boom", "a")
    failing.append(task("f", "echo", "d"))
    write_workflow(flows / "failing.yaml", "failing", failing)
    write_workflow(flows / "cycle.yaml", "cyc", [task("a", "echo", "b"), task("b", "echo", "a")])
    write_workflow(flows / "unknown.yaml", "unk", [task("a", "no_such_workflow")])
    runner = write_runner(
        tmp_path / "runner.yaml",
        [
            {"name": "wf_flaky", "dag": "flows/flaky.yaml", "cron": "0 1 * * *"},
            {"name": "wf_failing", "dag": "flows/failing.yaml", "cron": "0 1 * * *"},
            {"name": "wf_cycle", "dag": "flows/cycle.yaml", "cron": "0 1 * * *"},
            {"name": "wf_unknown", "dag": "flows/unknown.yaml", "cron": "0 1 * * *"},
        ],
    )
    monkeypatch.setenv("DATIVO_RUNNER_CONFIG", str(runner))
    return flows


def write_flaky(flows: Path, counter: Path) -> Path:
    flaky = task(
        "flaky", "flaky", params={"counter": str(counter), "fail_times": 2}, retries=2, retry_delay_seconds=0
    )
    return write_workflow(flows / "flaky.yaml", "flaky_chain", [flaky, task("after", "echo", "flaky")])


def test_fails_twice_then_succeeds_on_airflow_as_on_the_cli(
    airflow_db, own_runner: Path, tmp_path: Path
) -> None:
    path = write_flaky(own_runner, tmp_path / "airflow-counter")
    bag = repo_dagbag()
    assert {"wf_flaky", "wf_failing"} <= set(bag.dag_ids)
    for broken in ("wf_cycle", "wf_unknown"):  # errors shown, nothing hidden
        assert "dativo:config-error" in bag.get_dag(broken).tags
    assert "CycleDetectedError: cyc: a -> b -> a" in bag.get_dag("wf_cycle").description
    assert (
        "UnknownWorkflowError: unknown workflow 'no_such_workflow'" in bag.get_dag("wf_unknown").description
    )

    dag_run = bag.get_dag("wf_flaky").test()
    assert dag_run.state == DagRunState.SUCCESS
    assert dag_run.get_task_instance("flaky").try_number == 3
    on_airflow = xcom_results(dag_run)
    assert on_airflow["flaky"] == {"tries": 3} and on_airflow["after"]["params"] == {"flaky__tries": 3}

    write_flaky(own_runner, tmp_path / "cli-counter")
    on_cli = run_cli(path, tmp_path)
    assert on_cli.results["flaky"].attempts == 3
    assert {task_id: r.output for task_id, r in on_cli.results.items()} == on_airflow


def test_a_failure_stops_only_its_dependants_on_airflow_as_with_continue_on_error(
    airflow_db, own_runner: Path, tmp_path: Path
) -> None:
    write_flaky(own_runner, tmp_path / "unused")
    dag_run = repo_dagbag().get_dag("wf_failing").test()
    assert dag_run.state == DagRunState.FAILED
    on_airflow = states(dag_run)
    assert on_airflow == {
        "a": "success",
        "e": "success",
        "b": "failed",
        "c": "success",
        "d": "upstream_failed",
        "f": "upstream_failed",
    }
    on_cli = run_cli(own_runner / "failing.yaml", tmp_path, continue_on_error=True)
    as_airflow = {"success": "success", "failed": "failed", "skipped": "upstream_failed"}
    assert {task_id: as_airflow[r.status] for task_id, r in on_cli.results.items()} == on_airflow


def test_keyword_workflows_get_their_params_on_airflow_as_on_the_cli(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = [task("a", "keywords", params={"x": 1}), task("b", "keywords_and_context", "a", params={"y": 2})]
    path = write_workflow(tmp_path / "flows" / "kw.yaml", "kw_chain", tasks)
    runner = write_runner(
        tmp_path / "runner.yaml", [{"name": "wf_keywords", "dag": "flows/kw.yaml", "cron": "0 1 * * *"}]
    )
    monkeypatch.setenv("DATIVO_RUNNER_CONFIG", str(runner))
    dag_run = repo_dagbag().get_dag("wf_keywords").test()
    assert dag_run.state == DagRunState.SUCCESS
    on_airflow = xcom_results(dag_run)
    assert on_airflow["a"] == {"keys": ["x"], "total": 1}
    assert on_airflow["b"] == {"keys": ["a__keys", "a__total", "y"], "task": "b", "orchestrator": "airflow"}
    on_cli = {task_id: result.output for task_id, result in run_cli(path, tmp_path).results.items()}
    assert on_cli == {**on_airflow, "b": {**on_airflow["b"], "orchestrator": "cli"}}
