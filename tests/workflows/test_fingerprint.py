"""A task's fingerprint: one hash per part of its definition, and what changed in words."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_dativo.workflows import load_workflow_file
from airflow_provider_dativo.workflows.fingerprint import FUNCTION_UNKNOWN, describe_change, task_fingerprints
from tests.support.deployment import make_deployment
from tests.support.workflow_files import task, write_workflow


def fingerprints(tmp_path: Path, *tasks: dict, name: str = "fp", **extra):
    return task_fingerprints(
        load_workflow_file(write_workflow(tmp_path / "wf.yaml", name, list(tasks), **extra))
    )


def test_each_part_of_the_entry_has_its_own_hash(tmp_path: Path) -> None:
    base = fingerprints(tmp_path, task("a", params={"x": 1}), task("b", "echo", "a"))
    assert set(base["a"].parts) == {"workflow_ref", "params", "depends_on", "retries", "function"}
    assert base == fingerprints(tmp_path, task("a", params={"x": 1}), task("b", "echo", "a"))
    variants = {
        "params changed": task("a", params={"x": 2}),
        "retry settings changed": task("a", params={"x": 1}, retries=2),
        "workflow_ref, workflow function source changed": task("a", "tally", params={"x": 1}),
    }
    for described, changed in variants.items():
        now = fingerprints(tmp_path, changed, task("b", "echo", "a"))["a"]
        assert now.value != base["a"].value
        assert describe_change(base["a"].parts, now.parts) == described
    moved = fingerprints(tmp_path, task("a", params={"x": 1}), task("b", "echo", "a", retry_delay_seconds=9))
    assert describe_change(base["b"].parts, moved["b"].parts) == "retry settings changed"
    assert fingerprints(tmp_path, task("a", params={"x": 1}, tags=["t"]), task("b", "echo", "a")) == base


def test_job_and_asset_files_are_part_of_an_ingest_task(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    make_deployment(root, schedules="[]\n")
    path = write_workflow(
        root / "wf.yaml", "fp", [task("load", "dativo_ingest", params={"config": "jobs/acme/orders.yaml"})]
    )
    job, asset = root / "jobs" / "acme" / "orders.yaml", root / "assets" / "orders.yaml"
    workflow = load_workflow_file(path)
    assert workflow.config_files == {"load": [job, asset]}
    before = task_fingerprints(workflow)["load"]
    assert {f"file:{job}", f"file:{asset}"} <= set(before.parts)
    asset.write_text(asset.read_text() + "description: x\n")
    after = task_fingerprints(workflow)["load"]
    assert describe_change(before.parts, after.parts) == f"file {asset} changed"
    asset.unlink()
    assert task_fingerprints(workflow)["load"].parts[f"file:{asset}"] == "missing"


def test_a_function_without_source_counts_as_unchanged(tmp_path: Path) -> None:
    found = fingerprints(tmp_path, task("a", "builtins:dict"))["a"]
    assert found.parts["function"] == FUNCTION_UNKNOWN
    assert fingerprints(tmp_path, task("a"))["a"].parts["function"] != FUNCTION_UNKNOWN
