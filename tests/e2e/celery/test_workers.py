"""CeleryExecutor with two workers sharing a lakehouse: pools across workers, and faults survived.

Every test triggers runs through the REST API and checks the Iceberg table afterwards, record
by record: no loss, no duplicate.
"""

from __future__ import annotations

import time

import pytest

from tests.support.celery_runs import (
    WORKERS,
    assert_rows_exactly_once,
    clean_orphans,
    files_under,
    interval,
    referenced,
    snapshot_count,
    task,
    task_log,
    tries,
    trigger,
    wait_finished,
    wait_for_dags,
    wait_for_load_start,
    wait_until,
)
from tests.support.lakehouse import SCHEDULES

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 20.0


@pytest.fixture(scope="module")
def api(celery_stack):
    client = celery_stack.api()
    try:
        wait_for_dags(client, list(SCHEDULES))
        yield client
    finally:
        client.close()


def failure_text(stack, dag_id: str, run_id: str, all_tries: list[dict]) -> str:
    return "\n".join(
        f"try {t['try_number']} on {t['hostname']}: {t['state']}\n"
        + "\n".join(
            line[:300]
            for line in task_log(stack, dag_id, run_id, t["try_number"]).splitlines()
            if '"level": "error"' in line or "Error" in line
        )[-3000:]
        for t in all_tries
    )


def assert_loaded_once_then_clean(
    stack, api, lakehouse, deployment, s3_server, name: str, run_id: str
) -> list:
    """The run succeeded, its table holds every record once from one commit, and after the
    orphan clean-up exactly the referenced files are left in the bucket. Returns the tries."""
    states = wait_finished(api, {name: run_id})
    all_tries = tries(api, name, run_id)
    assert states[name] == "success", failure_text(stack, name, run_id, all_tries)
    table = assert_rows_exactly_once(lakehouse, deployment, name)
    assert snapshot_count(table) == 1
    clean_orphans(table)
    assert files_under(s3_server, table) == referenced(table)
    return all_tries


def test_tenant_pools_hold_across_workers(celery_stack, api, lakehouse, lake_deployment) -> None:
    """acme's two schedules share one pool slot, whichever worker takes them; globex runs alongside.
    acme reads its S3 keys from its secret file, globex from an Airflow connection."""
    names = ("acme_orders", "acme_returns", "globex_orders")
    runs = {name: trigger(api, name) for name in names}
    states = wait_finished(api, runs)
    found = {name: task(api, name, run_id) for name, run_id in runs.items()}
    for name, run_id in runs.items():
        assert states[name] == "success", failure_text(celery_stack, name, run_id, tries(api, name, run_id))
        assert found[name]["hostname"] in WORKERS, found[name]["hostname"]
    assert found["acme_orders"]["pool"] == found["acme_returns"]["pool"] == "dativo_tenant_acme"
    first, second = sorted([interval(found["acme_orders"]), interval(found["acme_returns"])])
    assert first[1] <= second[0], f"acme's tasks overlap: {first} and {second}"
    globex = interval(found["globex_orders"])
    assert any(globex[0] < end and start < globex[1] for start, end in (first, second)), (
        f"globex {globex} ran alongside none of acme's tasks {first}, {second}"
    )
    for name in names:
        table = assert_rows_exactly_once(lakehouse, lake_deployment, name)
        assert snapshot_count(table) == 1, f"{name}: one run, one commit"
    assert "secrets_loaded" in task_log(celery_stack, "globex_orders", runs["globex_orders"], 1)


def test_a_worker_killed_mid_load_is_retried_on_the_other_worker(
    celery_stack, api, lakehouse, lake_deployment, s3_server
) -> None:
    name = "hooli_orders"
    run_id = trigger(api, name)
    victim = wait_for_load_start(celery_stack, api, name, run_id)
    killed = celery_stack.kill_worker(victim)
    assert killed, f"no process of {victim} found"
    try:
        # whatever the killed try had written stays unreferenced until the orphan clean-up
        all_tries = assert_loaded_once_then_clean(
            celery_stack, api, lakehouse, lake_deployment, s3_server, name, run_id
        )
        assert all_tries[0]["hostname"] == victim and all_tries[0]["state"] == "failed"
        survivor = next(w for w in WORKERS if w != victim)
        assert all_tries[-1]["hostname"] == survivor and all_tries[-1]["state"] == "success"
    finally:
        celery_stack.start_worker(victim)
        celery_stack.wait_worker(victim)


def test_object_storage_unreachable_mid_load(
    celery_stack, api, lakehouse, lake_deployment, s3_server
) -> None:
    """moto stops answering for 20 s while the load writes: the try fails cleanly and a retry loads
    once, or the load waits it out; the failed try's files go with the orphan clean-up."""
    name = "soylent_orders"
    run_id = trigger(api, name)
    wait_for_load_start(celery_stack, api, name, run_id)
    s3_server.pause()
    try:
        time.sleep(OUTAGE_SECONDS)
    finally:
        s3_server.resume()
    assert_loaded_once_then_clean(celery_stack, api, lakehouse, lake_deployment, s3_server, name, run_id)


def test_the_catalog_database_restarts_between_data_write_and_commit(
    celery_stack, api, lakehouse, lake_deployment, s3_server, catalog_server
) -> None:
    """The catalog's PostgreSQL goes down once the load has opened its table, stays down while
    the data files are written, and comes back: the commit fails cleanly (or waits) and the
    table ends with every record once."""
    from tests.support.postgres import start_server

    name = "umbrella_orders"
    tenant = SCHEDULES[name][0]
    run_id = trigger(api, name)
    wait_for_load_start(celery_stack, api, name, run_id)
    catalog_server.stop(remove=False)
    try:
        wait_until(
            lambda: any(
                "/data/" in key for key in s3_server.keys("lakehouse", f"warehouse/{tenant}/{name}/")
            ),
            240,
            "a data file written while the catalog is down",
        )
        time.sleep(2)
    finally:
        start_server(catalog_server.root, port=catalog_server.port)
    assert_loaded_once_then_clean(celery_stack, api, lakehouse, lake_deployment, s3_server, name, run_id)


def test_the_scheduler_restarts_while_runs_are_in_flight(
    celery_stack, api, lakehouse, lake_deployment
) -> None:
    names = ("wayne_orders", "stark_orders")
    runs = {name: trigger(api, name) for name in names}
    for name, run_id in runs.items():
        wait_until(lambda n=name, r=run_id: task(api, n, r)["state"] == "running", 300, f"{name} running")
    celery_stack.kill_service("airflow-scheduler")
    time.sleep(5)
    celery_stack.start_service("airflow-scheduler")
    states = wait_finished(api, runs)
    for name, run_id in runs.items():
        assert states[name] == "success", failure_text(celery_stack, name, run_id, tries(api, name, run_id))
        table = assert_rows_exactly_once(lakehouse, lake_deployment, name)
        assert snapshot_count(table) == 1
