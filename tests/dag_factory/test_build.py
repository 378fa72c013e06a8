"""The DAG factory: one DAG per schedule, mapped exactly as the contract says."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
import pytest
from airflow.sdk import CronTriggerTimetable, DeltaTriggerTimetable

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.dag_factory import build_dags
from airflow_provider_dativo.operators.config_error import DativoConfigErrorOperator
from airflow_provider_dativo.operators.ingest import DativoIngestOperator
from airflow_provider_dativo.retry_policy import DativoRetryPolicy
from tests.support.deployment import make_deployment
from tests.support.examples import (
    EXAMPLES,
    INGEST_SCHEDULES,
    MAINTENANCE_DAGS,
    RUNNER_AIRFLOW,
    WORKFLOW_SCHEDULES,
)


@pytest.fixture(scope="module")
def dags() -> dict:
    return build_dags(RUNNER_AIRFLOW, app_root=EXAMPLES)


def only_task(dag) -> DativoIngestOperator:
    (task,) = dag.tasks
    assert isinstance(task, DativoIngestOperator)
    return task





def test_one_dag_per_schedule_with_exactly_one_ingest_task(dags: dict) -> None:
    assert set(dags) == INGEST_SCHEDULES | WORKFLOW_SCHEDULES | MAINTENANCE_DAGS
    for dag_id in INGEST_SCHEDULES:
        dag = dags[dag_id]
        assert dag.dag_id == dag_id
        assert only_task(dag).task_id == "ingest"
        assert dag.catchup is False


def test_cron_schedule_maps_to_cron_trigger_timetable_with_timezone(dags: dict) -> None:
    timetable = dags["acme_orders_csv"].timetable
    assert isinstance(timetable, CronTriggerTimetable)
    assert timetable.expression == "30 6 * * 1-5"
    assert str(timetable.timezone) == "America/New_York"
    assert dags["acme_orders_csv"].is_paused_upon_creation is False


def test_interval_schedule_maps_to_delta_trigger_timetable(dags: dict) -> None:
    timetable = dags["hubspot_contacts_daily"].timetable
    assert isinstance(timetable, DeltaTriggerTimetable)
    assert timetable.delta == timedelta(seconds=21600)


def test_disabled_schedule_is_built_without_schedule_paused_and_tagged(dags: dict) -> None:
    dag = dags["maintenance_job"]
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    assert isinstance(dag.timetable, NullTimetable)
    assert dag.is_paused_upon_creation is True
    assert "dativo:disabled" in dag.tags


def test_tags_max_active_runs_and_pools(dags: dict) -> None:
    dag = dags["stripe_customers_hourly"]
    assert set(dag.tags) == {
        "dativo",
        "tenant:acme",
        "job:stripe_customers_hourly",
        "connector:stripe",
        "environment:production",
        "priority:high",
    }
    assert dag.max_active_runs == 1
    assert only_task(dag).pool == "dativo_tenant_acme"
    assert only_task(dags["globex_events_jsonl"]).pool == "dativo_tenant_globex"


def test_retries_map_exactly_from_retry_config(dags: dict) -> None:
    task = only_task(dags["stripe_customers_hourly"])  # retry_config of the seed example
    assert task.retries == 3
    assert task.retry_delay == timedelta(seconds=10)
    assert task.retry_exponential_backoff == 2.0
    assert task.max_retry_delay == timedelta(seconds=60)
    assert isinstance(task.retry_policy, DativoRetryPolicy)
    assert task.retry_policy.retry_config.retryable_error_patterns == ["API rate limit", "Connection timeout"]


def test_runner_retry_config_is_the_default_for_jobs_without_one(dags: dict) -> None:
    task = only_task(dags["globex_events_jsonl"])
    assert task.retries == 2 and task.retry_delay == timedelta(seconds=30)
    assert task.retry_policy.retry_config.retryable_exit_codes == [2]


def test_no_retry_config_anywhere_means_no_retries(tmp_path: Path) -> None:
    runner = make_deployment(
        tmp_path, schedules="- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
    )
    task = only_task(build_dags(runner)["a"])
    assert task.retries == 0 and task.retry_policy is None


def test_target_table_is_the_task_outlet_asset(dags: dict) -> None:
    (outlet,) = only_task(dags["acme_orders_csv"]).outlets
    assert outlet.uri == "iceberg://dativo/acme/orders"


def test_broken_schedule_becomes_a_placeholder_and_hides_no_healthy_one(tmp_path: Path) -> None:
    runner = make_deployment(
        tmp_path,
        schedules="- {name: good, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
        "- {name: bad, config: ../jobs/acme/orders.yaml, cron: '0 * * * *', timezone: Nowhere/Land}\n"
        "- {name: good, config: ../jobs/acme/orders.yaml, cron: '5 * * * *'}\n",
    )
    dags = build_dags(runner)
    assert isinstance(dags["good"].tasks[0], DativoIngestOperator)
    bad = dags["bad"]
    assert "dativo:config-error" in bad.tags
    (task,) = bad.tasks
    assert isinstance(task, DativoConfigErrorOperator)
    assert f"{runner}:6: runner.orchestrator.schedules[1].timezone:" in bad.description
    assert "'Nowhere/Land'" in task.error_message
    duplicate_id = "dativo_config_error__good__schedule_2"
    assert "duplicate name" in dags[duplicate_id].doc_md
    assert len(dags) == 3


def test_unusable_runner_file_raises_with_file_and_line(tmp_path: Path) -> None:
    runner = tmp_path / "runner.yaml"
    runner.write_text("runner:\n  orchestrator:\n    schedules: []\n    concurency_per_tenant: 2\n")
    with pytest.raises(DativoConfigError) as err:
        build_dags(runner)
    assert f"{runner}:4: runner.orchestrator.concurency_per_tenant: unknown key" in str(err.value)


def test_runner_path_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATIVO_RUNNER_CONFIG", str(RUNNER_AIRFLOW))
    monkeypatch.setenv("DATIVO_APP_ROOT", str(EXAMPLES))
    assert "acme_orders_csv" in build_dags()
    monkeypatch.delenv("DATIVO_RUNNER_CONFIG")
    with pytest.raises(DativoConfigError, match="DATIVO_RUNNER_CONFIG"):
        build_dags()


def test_cron_timetable_fires_at_local_time_across_dst_change(dags: dict) -> None:
    """06:30 New York is 11:30 UTC in winter (EST) and 10:30 UTC in summer (EDT)."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dags["acme_orders_csv"]))
    timetable = dag.timetable
    fires = []
    after = pendulum.datetime(2026, 3, 5, 12, 0, tz="UTC")  # Thursday before the change of 8 March 2026
    for _ in range(4):
        after = timetable._get_next(after)
        fires.append(after.in_timezone("UTC").strftime("%a %m-%d %H:%M"))
    assert fires == ["Fri 03-06 11:30", "Mon 03-09 10:30", "Tue 03-10 10:30", "Wed 03-11 10:30"]


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_cyclic_collector_is_paused_while_building_and_restored_after(
    tmp_path: Path, enabled_before: bool
) -> None:
    """A parse builds with the cyclic GC paused (docs/performance.md), and leaves it as it was,
    even when the runner file is unusable."""
    import gc

    seen: list[bool] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(True)

    previous = gc.isenabled()
    (gc.enable if enabled_before else gc.disable)()
    gc.callbacks.append(record)
    try:
        dags = build_dags(RUNNER_AIRFLOW, app_root=EXAMPLES, cache_dir="off")
        collected_during_build = list(seen)
        assert gc.isenabled() is enabled_before
        with pytest.raises(DativoConfigError):
            build_dags(tmp_path / "missing.yaml", cache_dir="off")
        assert gc.isenabled() is enabled_before
    finally:
        gc.callbacks.remove(record)
        (gc.enable if previous else gc.disable)()
    assert set(dags) >= INGEST_SCHEDULES | WORKFLOW_SCHEDULES
    # at most the one young collection that the first allocation after re-enabling triggers
    assert len(collected_during_build) <= (1 if enabled_before else 0)


def test_cyclic_gc_paused_restores_the_collector_on_errors() -> None:
    import gc

    from airflow_provider_dativo.dag_factory.build import cyclic_gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
