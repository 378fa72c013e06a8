"""``dativo_ingest``: a job through the engine, its metrics as the task's result (real Iceberg)."""

from __future__ import annotations

from pathlib import Path

from tests.support.deployment import make_deployment
from tests.support.examples import EXAMPLES, ORDERS_JOB
from tests.support.iceberg_checks import order_ids
from tests.support.workflow_files import run_cli, task, write_workflow


def broken_job_workflow(tmp_path: Path, old: str, new: str, **task_fields) -> Path:
    """A workflow running the helpers' orders job with ``old`` replaced by ``new`` in it."""
    runner = make_deployment(tmp_path / "deploy", schedules="[]\n")
    job = tmp_path / "deploy" / "jobs" / "acme" / "orders.yaml"
    job.write_text(job.read_text().replace(old, new))
    load = task("load", "dativo_ingest", params={"config": "../jobs/acme/orders.yaml"}, **task_fields)
    return write_workflow(runner.parent / "wf.yaml", "w", [load])


def test_ingest_returns_the_metrics_and_passes_them_downstream(tmp_path: Path, dativo_home: Path) -> None:
    path = write_workflow(
        tmp_path / "wf.yaml",
        "ingest_chain",
        [task("load", "dativo_ingest", params={"config": str(ORDERS_JOB)}), task("after", "echo", "load")],
    )
    summary = run_cli(path, tmp_path)
    metrics = summary.results["load"].output
    assert metrics["status"] == "success" and metrics["records_valid"] == 50
    assert metrics["job_name"] == "ingest_chain.load" and metrics["tenant_id"] == "acme"
    assert summary.results["after"].output["params"]["load__records_valid"] == 50


def test_partial_run_is_a_success_with_status_partial(tmp_path: Path, dativo_home: Path) -> None:
    job = EXAMPLES / "jobs" / "globex" / "events_jsonl_to_iceberg.yaml"
    path = write_workflow(
        tmp_path / "wf.yaml",
        "g",
        [task("load", "dativo_ingest", params={"config": str(job)})],
        tenant_id="globex",
    )
    summary = run_cli(path, tmp_path)
    assert summary.exit_code == 0 and summary.results["load"].output["status"] == "partial"


def test_exit_code_2_fails_the_task_after_its_retries(tmp_path: Path, dativo_home: Path) -> None:
    path = broken_job_workflow(tmp_path, "orders.csv", "missing-*.csv", retries=1, retry_delay_seconds=0)
    result = run_cli(path, tmp_path).results["load"]
    assert result.status == "failed" and result.attempts == 2
    assert result.error.startswith("DativoJobError: SourceError: ")


def test_an_invalid_asset_fails_at_once(tmp_path: Path, dativo_home: Path) -> None:
    path = broken_job_workflow(tmp_path, "asset: orders", "asset: no_such_asset", retries=3)
    result = run_cli(path, tmp_path).results["load"]
    assert (
        result.attempts == 1
        and "FatalWorkflowError: dativo job w.load cannot succeed on retry" in result.error
    )


BROKEN = "order_id,email,status,amount\n1,a@x.io,new,1.5\n2,b@x.io,lost,2.0\n"


def partial_workflow(tmp_path: Path, retries: int) -> Path:
    """A warn-mode job whose second row is invalid, in a task with ``retries``."""
    runner = make_deployment(
        tmp_path / "deploy", schedules="[]\n", job_extra="validation:\n  mode: warn\n", csv=BROKEN
    )
    load = task("load", "dativo_ingest", params={"config": "../jobs/acme/orders.yaml"}, retries=retries)
    return write_workflow(runner.parent / "wf.yaml", "w", [load])


def test_a_partial_run_with_a_try_left_commits_nothing_and_the_retry_loads_the_repaired_source(
    tmp_path: Path, dativo_home: Path
) -> None:
    path = partial_workflow(tmp_path, retries=2)
    data = tmp_path / "deploy" / "data" / "orders.csv"

    class RepairWhileWaiting(list):
        def append(self, seconds: float) -> None:  # the runner's sleep: the back-off
            super().append(seconds)
            data.write_text(BROKEN.replace(",lost,", ",paid,"))

    result = run_cli(path, tmp_path, sleeps=RepairWhileWaiting()).results["load"]
    assert result.status == "success" and result.attempts == 2
    assert result.output["status"] == "success" and result.output["records_valid"] == 2
    assert order_ids(dativo_home, "acme.orders") == [1, 2]
    assert order_ids(dativo_home, "acme.orders__rejected") == []


def test_a_partial_run_that_stays_partial_commits_once_on_the_last_try(
    tmp_path: Path, dativo_home: Path
) -> None:
    result = run_cli(partial_workflow(tmp_path, retries=2), tmp_path).results["load"]
    assert result.status == "success" and result.attempts == 3
    assert result.output["status"] == "partial" and result.output["already_committed"] is False
    assert order_ids(dativo_home, "acme.orders") == [1]
    assert order_ids(dativo_home, "acme.orders__rejected") == [2]
