"""The ``dativo`` console script: validate and pools (run is covered with the engine)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from airflow_provider_dativo.cli.main import main
from tests.support.cli import dativo
from tests.support.examples import EXAMPLES, RUNNER_AIRFLOW


def test_validate_example_runner_exits_0() -> None:
    result = dativo("validate", str(RUNNER_AIRFLOW), env={"DATIVO_APP_ROOT": str(EXAMPLES)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid (7 schedule(s)" in result.stderr


def test_validate_broken_copy_exits_2_with_file_line_field(tmp_path: Path) -> None:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLES, copy)
    runner = copy / "runner_airflow.yaml"
    runner.write_text(runner.read_text().replace('cron: "0 2 * * *"', 'cron: "0 2 * * * * *"'))
    job = copy / "jobs" / "acme" / "stripe_customers_to_iceberg.yaml"
    job.write_text(job.read_text().replace("max_delay_seconds: 60", "max_delay_seconds: 60\n  jitter: true"))
    asset = copy / "assets" / "events.yaml"
    asset.write_text(asset.read_text().replace("type: double", "type: float64"))

    result = dativo("validate", str(runner), env={"DATIVO_APP_ROOT": str(copy)})
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"{runner}:") and "schedules[2].cron" in line and "not a valid cron" in line
        for line in lines
    ), lines
    assert any(
        line.startswith(f"{job}:") and "retry_config.jitter: unknown key 'jitter'" in line for line in lines
    )
    assert any(
        line.startswith(f"{copy}/assets/events.yaml:")
        and "fields[3].type" in line
        and "unknown type 'float64'" in line
        for line in lines
    ), lines


def test_validate_accepts_a_single_job_file() -> None:
    job = EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"
    assert main(["validate", str(job)]) == 0


def test_pools_prints_airflow_pools_import_json(capsys) -> None:
    assert main(["pools", str(RUNNER_AIRFLOW), "--app-root", str(EXAMPLES)]) == 0
    pools = json.loads(capsys.readouterr().out)
    assert set(pools) == {"dativo_tenant_acme", "dativo_tenant_globex", "dativo_tenant_local-dev"}
    assert all(
        p["slots"] == 1 and p["include_deferred"] is False and p["description"] for p in pools.values()
    )


def test_every_pool_the_dags_use_is_in_the_pools_export(capsys) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.examples import REPO

    main(["pools", str(RUNNER_AIRFLOW), "--app-root", str(EXAMPLES)])
    exported = set(json.loads(capsys.readouterr().out))
    bag = DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)
    used = {task.pool for dag in bag.dags.values() for task in dag.tasks}
    assert used <= exported
    assert used == {"dativo_tenant_acme", "dativo_tenant_globex", "dativo_tenant_local-dev"}


def test_concurrency_per_tenant_sizes_the_pools(tmp_path: Path, capsys) -> None:
    from tests.support.deployment import make_deployment

    runner = make_deployment(
        tmp_path, schedules="- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
    )
    runner.write_text(
        runner.read_text().replace(
            "    type: airflow\n", "    type: airflow\n    concurrency_per_tenant: 3\n"
        )
    )
    main(["pools", str(runner)])
    assert json.loads(capsys.readouterr().out)["dativo_tenant_acme"]["slots"] == 3


def test_validate_pools_and_export_resolve_the_app_root_from_the_airflow_option(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """``[dativo] app_root`` alone (no variable, no flag) re-roots /app/ for every command, as
    for the factory: validate checks the files the exported DAGs will read."""
    from tests.support.deployment import make_deployment

    app = tmp_path / "app"
    made = make_deployment(
        app, schedules="- {name: a, config: /app/jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
    )
    runner = (
        tmp_path / "ops" / "deploy" / "runner.yaml"
    )  # no folder above it holds jobs/: only the root finds it
    runner.parent.mkdir(parents=True)
    made.rename(runner)
    monkeypatch.delenv("DATIVO_APP_ROOT", raising=False)
    monkeypatch.setenv("AIRFLOW__DATIVO__APP_ROOT", str(app))

    assert main(["validate", str(runner)]) == 0, capsys.readouterr()
    assert main(["pools", str(runner)]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"dativo_tenant_acme"}
    assert main(["export", str(runner), "--out", str(tmp_path / "dags")]) == 0
    exported = (tmp_path / "dags" / "a.py").read_text()
    assert f"config_path={str(app / 'jobs' / 'acme' / 'orders.yaml')!r}" in exported
    assert f"app_root={str(app)!r}" in exported

    monkeypatch.delenv("AIRFLOW__DATIVO__APP_ROOT")
    capsys.readouterr()
    assert main(["validate", str(runner)]) == 2
    assert "does not exist (set DATIVO_APP_ROOT" in capsys.readouterr().out


def test_run_prints_one_json_event_per_line_and_exits_with_the_job_code(tmp_path: Path) -> None:
    env = {"DATIVO_APP_ROOT": str(EXAMPLES), "DATIVO_HOME": str(tmp_path / "home")}
    ok = dativo("run", "--config", str(EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"), env=env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    events = [json.loads(line) for line in ok.stdout.splitlines()]
    assert [e["event_type"] for e in events] == [
        "job_started",
        "infra_validated",
        "metrics_complete",
        "job_finished",
    ]
    assert events[2]["records_valid"] == 50 and events[2]["status"] == "success"
    assert all(e["tenant_id"] == "acme" and e["run_id"].startswith("cli/") for e in events)

    partial = dativo(
        "run", "--config", str(EXAMPLES / "jobs" / "globex" / "events_jsonl_to_iceberg.yaml"), env=env
    )
    assert partial.returncode == 1
    events = [json.loads(line) for line in partial.stdout.splitlines()]
    assert "tenant_inferred" in [e["event_type"] for e in events]
    metrics = next(e for e in events if e["event_type"] == "metrics_complete")
    assert (metrics["status"], metrics["records_invalid"]) == ("partial", 2)
    assert metrics["invalid_by_rule"] == {"event_type.enum": 2}


def test_run_with_an_invalid_job_file_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    job = tmp_path / "jobs" / "acme" / "job.yaml"
    job.parent.mkdir(parents=True)
    job.write_text(
        "source_connector: csv\nsource: {path: x.csv}\ntarget: {table: t, mode: upsert}\nasset: a\n"
    )
    result = dativo("run", "--config", str(job))
    assert result.returncode == 2
    (event,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert event["event_type"] == "job_error" and event["error_type"] == "ConfigError"
    (problem,) = event["problems"]
    assert problem.startswith(f"{job}:3: target.mode:") and "'append', 'overwrite' or 'merge'" in problem
