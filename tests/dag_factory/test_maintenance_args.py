"""``<schedule>__maintenance`` DAGs: built for jobs with ``target.maintenance``, serialized by
real Airflow, in the tenant's pool, alone on a worker, from the parse cache, and never hiding
the healthy DAGs when the block is broken."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import CronTriggerTimetable
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_dativo.dag_factory import build_dags
from airflow_provider_dativo.dag_factory.config_error import TAG_CONFIG_ERROR
from airflow_provider_dativo.operators.maintenance import DativoMaintenanceOperator
from tests.support.deployment import make_deployment
from tests.support.serialized import comparable

PARSING_CONTEXT = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"


def deployment(tmp_path: Path, maintenance: str, schedules: str | None = None) -> Path:
    """A runner whose orders job has ``target.maintenance`` (``maintenance``: the block's YAML
    lines), with a second job without it."""
    runner = make_deployment(
        tmp_path,
        schedules=schedules
        or "- {name: orders, config: ../jobs/acme/orders.yaml, cron: '0 * * * *', timezone: Europe/Paris}\n"
        "- {name: plain, config: ../jobs/acme/plain.yaml, cron: '5 * * * *'}\n",
    )
    jobs = tmp_path / "jobs" / "acme"
    (jobs / "plain.yaml").write_text(
        (jobs / "orders.yaml").read_text().replace("table: orders", "table: plain")
    )
    job = jobs / "orders.yaml"
    job.write_text(
        job.read_text().replace("  table: orders\n", "  table: orders\n  maintenance:\n" + maintenance)
    )
    return runner


def test_the_maintenance_dag_runs_in_the_tenant_pool_on_its_cron(tmp_path: Path) -> None:
    runner = deployment(tmp_path, "    cron: '0 3 * * 0'\n    target_file_size_mb: 64\n")
    dags = build_dags(runner, cache_dir="off")
    assert set(dags) == {"orders", "plain", "orders__maintenance"}

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dags["orders__maintenance"]))
    (task,) = dag.tasks
    assert task.task_type == "DativoMaintenanceOperator" and task.task_id == "maintain"
    assert task.pool == "dativo_tenant_acme" == dags["orders"].tasks[0].pool
    assert set(dag.tags) == {"dativo", "dativo:maintenance", "tenant:acme", "job:orders"}
    assert (dag.catchup, dag.max_active_runs) == (False, 1)
    timetable = dags["orders__maintenance"].timetable
    assert isinstance(timetable, CronTriggerTimetable)
    assert (timetable.expression, str(timetable.timezone)) == ("0 3 * * 0", "Europe/Paris")
    assert "compact to 64 MB files" in dags["orders__maintenance"].doc_md
    built = dags["orders__maintenance"].tasks[0]
    assert isinstance(built, DativoMaintenanceOperator)
    assert built.config_path == str(tmp_path / "jobs" / "acme" / "orders.yaml")


def test_a_disabled_schedule_has_a_paused_maintenance_dag_without_timetable(tmp_path: Path) -> None:
    runner = deployment(
        tmp_path,
        "    cron: '@daily'\n",
        "- {name: orders, config: ../jobs/acme/orders.yaml, cron: '0 * * * *', enabled: false}\n",
    )
    dag = build_dags(runner, cache_dir="off")["orders__maintenance"]
    assert dag.is_paused_upon_creation is True and "dativo:disabled" in dag.tags
    assert type(dag.timetable).__name__ == "NullTimetable"


def test_a_broken_block_shows_its_file_line_and_field_and_hides_nothing_else(tmp_path: Path) -> None:
    runner = deployment(tmp_path, "    cron: '0 3 * * 0'\n    keep_last_snapshots: 0\n")
    dags = build_dags(runner, cache_dir="off")
    assert set(dags) == {"orders", "plain"}
    assert TAG_CONFIG_ERROR in dags["orders"].tags and TAG_CONFIG_ERROR not in dags["plain"].tags
    job = tmp_path / "jobs" / "acme" / "orders.yaml"
    line = next(n for n, text in enumerate(job.read_text().splitlines(), 1) if "keep_last_snapshots" in text)
    assert f"{job}:{line}: target.maintenance.keep_last_snapshots" in dags["orders"].doc_md


def test_a_schedule_named_like_the_maintenance_dag_gets_a_placeholder(tmp_path: Path) -> None:
    runner = deployment(
        tmp_path,
        "    cron: '@daily'\n",
        "- {name: orders, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
        "- {name: orders__maintenance, config: ../jobs/acme/plain.yaml, cron: '5 * * * *'}\n",
    )
    dags = build_dags(runner, cache_dir="off")
    placeholder = "dativo_config_error__orders__maintenance__schedule_0"
    assert set(dags) == {"orders", "orders__maintenance", placeholder}
    assert dags["orders__maintenance"].tasks[0].task_type == "DativoIngestOperator"
    assert "rename one of them" in dags[placeholder].doc_md


def test_a_worker_builds_the_maintenance_dag_alone_equal_to_the_full_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = deployment(tmp_path, "    cron: '0 3 * * 0'\n")
    full = build_dags(runner, cache_dir="off")
    (tmp_path / "jobs" / "acme" / "plain.yaml").write_text("not: [a job\n")  # only its own files are read
    monkeypatch.setenv(PARSING_CONTEXT, "orders__maintenance")
    one = build_dags(runner, cache_dir="off")
    assert list(one) == ["orders__maintenance"]
    assert comparable(one["orders__maintenance"]) == comparable(full["orders__maintenance"])


def test_the_parse_cache_rebuilds_the_same_maintenance_dag(tmp_path: Path, monkeypatch) -> None:
    import os
    import time

    runner = deployment(tmp_path, "    cron: '0 3 * * 0'\n")
    old = time.time() - 60  # older than the cache's racy window
    for path in [runner, *(tmp_path / "jobs" / "acme").glob("*.yaml")]:
        os.utime(path, (old, old))
    cold = build_dags(runner, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("*.json"))
    from tests.support.deployment import forbid_yaml

    forbid_yaml(monkeypatch)
    warm = build_dags(runner, cache_dir=tmp_path / "cache")
    assert comparable(warm["orders__maintenance"]) == comparable(cold["orders__maintenance"])
