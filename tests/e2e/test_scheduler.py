"""Pools and retries on a real Airflow scheduler (what ``airflow dags test`` cannot show).

Five DAGs of ``configs/runner.yaml`` are triggered at the same moment through the REST API,
on the stack of ``conftest.py`` (PostgreSQL, api-server, scheduler, dag-processor;
LocalExecutor with the parallelism of docker-compose.yaml). The tests then read what Airflow
recorded: task start and end times, tries, logs, XCom, the task history, and the Iceberg tables.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.support.e2e_deployment import Deployment
from tests.support.stack import E2E_DATABASE, AirflowStack, Api

pytestmark = pytest.mark.e2e

SCHEDULES = ("acme_orders", "acme_returns", "globex_orders", "initech_late_delivery", "umbrella_bad_input")
TASK_ID = "ingest"
RUN_TIMEOUT = 300.0
SCHEDULER_TICK = 1.0
"""``[scheduler] scheduler_idle_sleep_time``, Airflow's default, which the compose file keeps."""
TICK_TOLERANCE = 2 * SCHEDULER_TICK + 1.0
"""How much later than its delay a retry may be scheduled: up to two scheduler loops (the loop
that sees the retry due may start just before it is) and the loop's own work."""
RETRY_DELAYS = (3.0, 5.0)
"""initech's retry_config: min(3 * 2^(n-1), 5) for retries 1 and 2."""


@dataclass
class Run:
    """What Airflow recorded about one DAG run."""

    dag_id: str
    run_id: str
    state: str
    task: dict[str, Any]
    tries: list[dict[str, Any]]
    logs: dict[int, str]

    def errors(self) -> str:
        """The error lines of every try's log, for assertion messages."""
        return "\n".join(
            f"try {n}: {line[:400]}"
            for n, log in self.logs.items()
            for line in log.splitlines()
            if '"level": "error"' in line or "Retry policy decision" in line
        )

    def interval(self) -> tuple[datetime, datetime]:
        return parse_time(self.task["start_date"]), parse_time(self.task["end_date"])


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def task_path(dag_id: str, run_id: str) -> str:
    return f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{TASK_ID}"


def wait_for_dags(api: Api, timeout: float = 120.0) -> None:
    """Until the dag-processor has parsed the DAG file and serialized every schedule's DAG."""
    deadline = time.monotonic() + timeout
    while True:
        found = {dag["dag_id"] for dag in api.get("/dags", limit=100)["dags"]}
        if set(SCHEDULES) <= found:
            return
        errors = api.get("/importErrors")["import_errors"]
        assert not errors, f"the DAG file did not import: {errors}"
        assert time.monotonic() < deadline, f"DAGs not parsed after {timeout}s: have {sorted(found)}"
        time.sleep(1)


def read_log(api: Api, dag_id: str, run_id: str, try_number: int) -> str:
    response = api.client.get(
        f"{task_path(dag_id, run_id)}/logs/{try_number}",
        params={"full_content": "true"},
        headers={"Accept": "application/json"},
    )
    response.raise_for_status()
    content = response.json()["content"]
    return "\n".join(json.dumps(line) if isinstance(line, dict) else str(line) for line in content)


@pytest.fixture(scope="module")
def runs(airflow_stack: AirflowStack, deployment: Deployment) -> dict[str, Run]:
    """Trigger every schedule at the same moment, deliver initech's file once its second try has
    failed, wait until every run has finished, and collect what Airflow recorded."""
    api = airflow_stack.api()
    try:
        wait_for_dags(api)

        def trigger(dag_id: str) -> str:
            return api.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

        with ThreadPoolExecutor(len(SCHEDULES)) as pool:
            run_ids = dict(zip(SCHEDULES, pool.map(trigger, SCHEDULES), strict=True))

        delivered = False
        deadline = time.monotonic() + RUN_TIMEOUT
        states: dict[str, str] = {}
        while True:
            if not delivered:
                late = api.get(task_path("initech_late_delivery", run_ids["initech_late_delivery"]))
                if late["state"] == "up_for_retry" and late["try_number"] == 2:
                    deployment.deliver_late_file()
                    delivered = True
            states = {d: api.get(f"/dags/{d}/dagRuns/{r}")["state"] for d, r in run_ids.items()}
            if all(state in ("success", "failed") for state in states.values()):
                break
            assert time.monotonic() < deadline, f"runs not finished after {RUN_TIMEOUT}s: {states}"
            time.sleep(0.5)

        records = {}
        for dag_id, run_id in run_ids.items():
            tries = api.get(f"{task_path(dag_id, run_id)}/tries")["task_instances"]
            records[dag_id] = Run(
                dag_id=dag_id,
                run_id=run_id,
                state=states[dag_id],
                task=api.get(task_path(dag_id, run_id)),
                tries=sorted(tries, key=lambda t: t["try_number"]),
                logs={t["try_number"]: read_log(api, dag_id, run_id, t["try_number"]) for t in tries},
            )
        return records
    finally:
        api.close()


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_same_tenant_runs_never_overlap(runs: dict[str, Run]) -> None:
    orders, returns = runs["acme_orders"], runs["acme_returns"]
    assert orders.state == returns.state == "success", orders.errors() + returns.errors()
    assert orders.task["pool"] == returns.task["pool"] == "dativo_tenant_acme"
    first, second = sorted([orders.interval(), returns.interval()])
    assert first[1] <= second[0], f"acme's tasks overlap: {first} and {second}"


def test_other_tenant_runs_alongside(runs: dict[str, Run]) -> None:
    globex = runs["globex_orders"]
    assert globex.state == "success", globex.errors()
    assert globex.task["pool"] == "dativo_tenant_globex"
    acme = [runs["acme_orders"].interval(), runs["acme_returns"].interval()]
    assert any(overlaps(globex.interval(), interval) for interval in acme), (
        f"globex {globex.interval()} ran alongside none of acme's tasks {acme}"
    )


def test_pools_come_from_sync_pools(airflow_stack: AirflowStack) -> None:
    """The compose init script's `airflow dativo sync-pools` created one pool per tenant."""
    api = airflow_stack.api()
    try:
        pools = {pool["name"]: pool["slots"] for pool in api.get("/pools", limit=100)["pools"]}
    finally:
        api.close()
    tenants = ("acme", "globex", "initech", "umbrella")
    assert {f"dativo_tenant_{tenant}": 1 for tenant in tenants}.items() <= pools.items()


def test_retries_wait_exactly_the_configured_delays(
    airflow_stack: AirflowStack, runs: dict[str, Run]
) -> None:
    """The scheduler puts try n+1 in the `scheduled` state (``scheduled_when``) at the first loop
    after try n's ``end_date`` plus the retry policy's delay: never before, at most a tick after."""
    tick = airflow_stack.settings.get("AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", "1")
    assert float(tick) == SCHEDULER_TICK
    late = runs["initech_late_delivery"]
    assert late.state == "success", late.errors()
    assert [t["try_number"] for t in late.tries] == [1, 2, 3]
    assert [t["state"] for t in late.tries] == ["failed", "failed", "success"]
    for failed, retry, delay in zip(late.tries[:-1], late.tries[1:], RETRY_DELAYS, strict=True):
        # the scheduler schedules the next try once end_date + delay has passed
        gap = (parse_time(retry["scheduled_when"]) - parse_time(failed["end_date"])).total_seconds()
        assert delay <= gap <= delay + TICK_TOLERANCE, (
            f"try {retry['try_number']} scheduled {gap:.2f}s after try {failed['try_number']} ended; "
            f"retry_config says {delay}s (+ up to {TICK_TOLERANCE}s of scheduler loop)"
        )
        assert parse_time(retry["start_date"]) >= parse_time(failed["end_date"])


def test_task_history_shows_the_policy_reasons(runs: dict[str, Run], postgres_server) -> None:
    late = runs["initech_late_delivery"]
    reason = "dativo: exit code 2 is retryable and the error matches 'SourceError'; retry {n} in {delay:g}s"
    for n, delay in enumerate(RETRY_DELAYS, start=1):
        log = late.logs[n]
        assert "SourceError: no files match the source pattern" in log
        assert "Retry policy decision" in log
        assert reason.format(n=n, delay=delay) in log
    assert "Retry policy decision" not in late.logs[3]
    # The reason and the delay also go to the task's history in the metadata database
    # (the REST API of Airflow 3.3 does not return these two columns).
    history = postgres_server.psql(
        "SELECT try_number, retry_delay_override, retry_reason FROM task_instance_history "
        f"WHERE dag_id = 'initech_late_delivery' AND run_id = '{late.run_id}' ORDER BY try_number",
        database=E2E_DATABASE,
    ).splitlines()
    assert history == [
        f"{n}|{delay:g}|{reason.format(n=n, delay=delay)}" for n, delay in enumerate(RETRY_DELAYS, start=1)
    ]


def test_non_retryable_exit_code_fails_after_one_try(runs: dict[str, Run]) -> None:
    bad = runs["umbrella_bad_input"]
    assert bad.state == "failed"
    assert bad.task["state"] == "failed"
    assert bad.task["max_tries"] == 3  # retries=3 from max_retries, unused
    assert [(t["try_number"], t["state"]) for t in bad.tries] == [(1, "failed")]
    log = bad.logs[1]
    assert "validation failed (strict): 1 of 3 records invalid" in log
    assert "dativo: exit code 2 is not in retryable_exit_codes [1]" in log


def test_tables_hold_exactly_the_expected_rows(
    airflow_stack: AirflowStack, runs: dict[str, Run], deployment: Deployment
) -> None:
    from airflow_provider_dativo.engine.iceberg.catalog import open_catalog
    from airflow_provider_dativo.plan.runner import load_runner

    for schedule in SCHEDULES[:-1]:
        assert runs[schedule].state == "success", runs[schedule].errors()
    plan = load_runner(deployment.runner)
    specs = {spec.schedule.name: spec for spec in plan.specs}
    home = airflow_stack.layout.dativo_home
    for schedule in ("acme_orders", "acme_returns", "globex_orders", "initech_late_delivery"):
        target = specs[schedule].job.config.target
        table = open_catalog(target, home).load_table((specs[schedule].job.namespace, target.table))
        records = table.scan().to_arrow().to_pylist()
        rows = sorted(
            (r["order_id"], r["customer_email"], r["status"], r["amount"], utc(r["ordered_at"]))
            for r in records
        )
        assert rows == sorted(deployment.expected_rows(schedule)), schedule
        assert len(table.snapshots()) == 1, f"{schedule}: one run, one commit"
    umbrella = specs["umbrella_bad_input"].job
    catalog = open_catalog(umbrella.config.target, home)
    assert not catalog.table_exists((umbrella.namespace, umbrella.config.target.table))


def test_metrics_are_in_xcom(
    airflow_stack: AirflowStack, runs: dict[str, Run], deployment: Deployment
) -> None:
    api = airflow_stack.api()
    try:
        for schedule in ("acme_orders", "acme_returns", "globex_orders", "initech_late_delivery"):
            run = runs[schedule]
            metrics = api.get(f"{task_path(schedule, run.run_id)}/xcomEntries/return_value")["value"]
            expected = len(deployment.expected_rows(schedule))
            assert metrics["job_name"] == schedule
            assert metrics["status"] == "success"
            assert metrics["records_extracted"] == metrics["records_valid"] == expected
            assert metrics["records_invalid"] == 0
            assert metrics["files_written"] >= 1
        response = api.client.get(
            f"{task_path('umbrella_bad_input', runs['umbrella_bad_input'].run_id)}/xcomEntries/return_value"
        )
        assert response.status_code == 404  # a failed task returns nothing
    finally:
        api.close()


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
