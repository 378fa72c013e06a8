"""runner.yaml schedules with ``dag:``: every schedule feature, placeholders, cache, pools, export."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from airflow.sdk import CronTriggerTimetable, DeltaTriggerTimetable
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_dativo.cli.main import main
from airflow_provider_dativo.dag_factory import build_dags
from airflow_provider_dativo.operators.workflow import DativoWorkflowOperator
from tests.support.deployment import forbid_yaml, make_deployment, write
from tests.support.examples import EXAMPLES
from tests.support.serialized import comparable
from tests.support.workflow_files import DIAMOND, task, write_runner, write_workflow

ORDERS_JOB = EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"


def healthy_schedules() -> list[dict]:
    return [
        {
            "name": "wf_cron",
            "dag": "flows/diamond.yaml",
            "cron": "15 4 * * *",
            "timezone": "America/New_York",
            "max_concurrent_runs": 3,
            "tags": {"team": "ops", "critical": True},
        },
        {"name": "wf_interval", "dag": "flows/diamond.yaml", "interval_seconds": 600},
        {"name": "wf_disabled", "dag": "flows/ops.yaml", "cron": "0 0 * * *", "enabled": False},
    ]


def write_deployment(root: Path, *extra: dict) -> Path:
    """Workflow schedules next to a job schedule of the helpers' deployment."""
    runner = make_deployment(root, schedules="[]\n")
    flows = root / "configs" / "flows"
    write_workflow(flows / "diamond.yaml", "diamond", DIAMOND)
    load = task("load", "dativo_ingest", params={"config": "../../jobs/acme/orders.yaml"})
    write_workflow(flows / "ops.yaml", "ops_flow", [load, task("x", "echo", "load")])
    write_workflow(flows / "other.yaml", "other", [task("a")], tenant_id="ops")
    return write_runner(
        runner,
        [
            {"name": "job", "config": "../jobs/acme/orders.yaml", "cron": "0 * * * *"},
            *healthy_schedules(),
            {"name": "wf_other_tenant", "dag": "flows/other.yaml", "cron": "0 1 * * *"},
            *extra,
        ],
        concurrency_per_tenant=2,
    )


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    return write_deployment(tmp_path)


def test_dag_schedules_get_every_schedule_feature(deployment: Path) -> None:
    dags = build_dags(deployment, cache_dir="off")
    cron = dags["wf_cron"]
    assert (
        isinstance(cron.timetable, CronTriggerTimetable)
        and str(cron.timetable.timezone) == "America/New_York"
    )
    assert cron.max_active_runs == 3 and cron.is_paused_upon_creation is False and cron.catchup is False
    assert set(cron.tags) == {
        "dativo",
        "tenant:acme",
        "workflow:diamond",
        "job:wf_cron",
        "team:ops",
        "critical:true",
    }
    assert [t.task_id for t in cron.tasks] == ["a", "e", "b", "c", "d"]
    assert all(isinstance(t, DativoWorkflowOperator) and t.pool == "dativo_tenant_acme" for t in cron.tasks)
    assert cron.task_dict["d"].workflow_name == "diamond"
    assert isinstance(dags["wf_interval"].timetable, DeltaTriggerTimetable)
    disabled = dags["wf_disabled"]
    assert disabled.is_paused_upon_creation is True and "dativo:disabled" in disabled.tags
    assert type(disabled.timetable).__name__ == "NullTimetable"
    assert dags["wf_other_tenant"].tasks[0].pool == "dativo_tenant_ops"
    assert dags["job"].tasks[0].task_id == "ingest"
    for dag in dags.values():
        json.dumps(DagSerialization.to_dict(dag))


def test_broken_workflow_files_become_placeholders_and_hide_nothing(tmp_path: Path) -> None:
    flows = tmp_path / "configs" / "flows"
    cycle = [task("sweep", "echo", "report"), task("report", "echo", "sweep")]
    write_workflow(flows / "cycle.yaml", "weekly_ops_chain", cycle)
    write_workflow(flows / "unknown.yaml", "unk", [task("a", "no_such_workflow")])
    deployment = write_deployment(
        tmp_path,
        {"name": "cyc", "dag": "flows/cycle.yaml", "cron": "0 1 * * *"},
        {"name": "unk", "dag": "flows/unknown.yaml", "cron": "0 1 * * *"},
        {"name": "gone", "dag": "flows/nope.yaml", "cron": "0 1 * * *"},
        {"name": "bad_tz", "dag": "flows/diamond.yaml", "cron": "0 1 * * *", "timezone": "Mars/Olympus"},
    )
    dags = build_dags(deployment, cache_dir="off")
    assert {"job", "wf_cron", "wf_interval", "wf_disabled", "wf_other_tenant"} <= set(dags)
    for name in ("cyc", "unk", "gone", "bad_tz"):
        assert set(dags[name].tags) == {"dativo", "dativo:config-error"}, name
    assert dags["cyc"].description.startswith(f"CONFIG ERROR: {deployment}:")
    assert "schedules[5].dag: schedule 'cyc': workflow file" in dags["cyc"].description
    assert "CycleDetectedError: weekly_ops_chain: sweep -> report -> sweep" in dags["cyc"].description
    assert f"{flows / 'cycle.yaml'}:" in dags["cyc"].tasks[0].error_message
    assert (
        "UnknownWorkflowError: unknown workflow 'no_such_workflow'; known workflows: "
        in dags["unk"].description
    )
    assert "dativo_ingest" in dags["unk"].description
    assert f"workflow file {flows / 'nope.yaml'} does not exist" in dags["gone"].description
    assert "'Mars/Olympus' is not an IANA time zone name" in dags["bad_tz"].description
    for dag in dags.values():  # an unknown time zone would only fail here
        DagSerialization.to_dict(dag)


def test_validate_and_pools_cover_workflow_schedules(deployment: Path, capsys) -> None:
    assert main(["validate", str(deployment)]) == 0
    assert "valid (5 schedule(s)" in capsys.readouterr().err
    assert main(["pools", str(deployment)]) == 0
    pools = json.loads(capsys.readouterr().out)
    assert {name: p["slots"] for name, p in pools.items()} == {
        "dativo_tenant_acme": 2,
        "dativo_tenant_ops": 2,
    }


def age(*paths: Path) -> None:
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


def test_parse_cache_serves_workflow_dags_and_sees_changed_module_files(tmp_path: Path, monkeypatch) -> None:
    module = write(
        tmp_path / "flows" / "mods.py",
        "from airflow_provider_dativo.workflows import register_workflow\n\n"
        "@register_workflow('test_dag_args_cached')\ndef f(params):\n    return {}\n",
    )
    flow = write_workflow(
        tmp_path / "flows" / "wf.yaml",
        "cached",
        [
            task("a", "test_dag_args_cached"),
            task("load", "dativo_ingest", "a", params={"config": str(ORDERS_JOB)}),
        ],
        workflow_modules=["mods.py"],
    )
    runner = write_runner(
        tmp_path / "runner.yaml", [{"name": "wf", "dag": "flows/wf.yaml", "interval_seconds": 60}]
    )
    age(module, flow, runner)
    cache = tmp_path / "cache"
    cold = build_dags(runner, cache_dir=cache)
    inputs = json.loads(next(cache.glob("*.json")).read_text())["inputs"]
    assert {p for p, _ in inputs} == {str(runner), str(flow), str(module), str(ORDERS_JOB)}

    with monkeypatch.context() as patched:
        forbid_yaml(patched)
        warm = build_dags(runner, cache_dir=cache)
    assert comparable(warm["wf"]) == comparable(cold["wf"])
    assert warm["wf"].task_dict["a"].retry_policy == cold["wf"].task_dict["a"].retry_policy
    assert warm["wf"].task_dict["load"].workflow_params == {"config": str(ORDERS_JOB)}

    module.write_text(module.read_text().replace("test_dag_args_cached", "test_dag_args_renamed"))
    assert "dativo:config-error" in build_dags(runner, cache_dir=cache)["wf"].tags


def test_export_writes_workflow_dags_that_serialize_like_the_factory(
    deployment: Path, tmp_path: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    out = tmp_path / "exported"
    assert main(["export", str(deployment), "--out", str(out)]) == 0
    exported = DagBag(dag_folder=str(out), safe_mode=False)
    assert exported.import_errors == {}
    factory = build_dags(deployment, cache_dir="off")
    assert set(exported.dag_ids) == set(factory)
    for dag_id, dag in factory.items():
        assert comparable(exported.dags[dag_id]) == comparable(dag), dag_id
