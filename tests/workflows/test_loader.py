"""Graph and reference problems: duplicates, unknown ids, cycles, unknown refs, params."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.workflows import CycleDetectedError, UnknownWorkflowError, load_workflow_file
from tests.support.deployment import write
from tests.support.examples import EXAMPLES
from tests.support.workflow_files import DIAMOND, task, write_workflow

SEED_CYCLE = """\
name: weekly_ops_chain
tenant_id: local-dev
tasks:
  - id: sweep
    workflow_ref: dativo_ingest
    depends_on: [report]
  - id: report
    workflow_ref: dativo_ingest
    depends_on:
      - sweep
"""


def test_cycle_names_its_path_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "wf.yaml", SEED_CYCLE)
    with pytest.raises(CycleDetectedError) as err:
        load_workflow_file(path)
    assert err.value.cycle == ["sweep", "report", "sweep"] and err.value.dag_name == "weekly_ops_chain"
    first = err.value.problems[0]
    assert str(first) == (
        f"{path}:6: tasks[0].depends_on[0]: CycleDetectedError: weekly_ops_chain: sweep -> report -> sweep"
    )
    assert isinstance(err.value, DativoConfigError)


def test_duplicate_ids_and_unknown_upstream_ids(tmp_path: Path) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a"), task("b", "echo", "a", "nope"), task("a")])
    with pytest.raises(DativoConfigError) as err:
        load_workflow_file(path)
    messages = [(p.field, p.message) for p in err.value.problems]
    assert ("tasks[2].id", "duplicate task id 'a'; tasks[0] already uses it") in messages
    assert ("tasks[1].depends_on[1]", "unknown task id 'nope'; task ids: a, b") in messages
    assert all(p.line for p in err.value.problems)


def test_unknown_ref_lists_the_known_names(tmp_path: Path) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a", "dativo_ingst")])
    with pytest.raises(UnknownWorkflowError) as err:
        load_workflow_file(path)
    assert err.value.ref == "dativo_ingst"
    assert {"dativo_ingest", "iceberg_maintenance"} <= set(err.value.known)
    (problem,) = err.value.problems
    assert problem.field == "tasks[0].workflow_ref" and problem.line == 5
    assert problem.message.startswith(
        "UnknownWorkflowError: unknown workflow 'dativo_ingst'; known workflows: "
    )
    assert "dativo_ingest, " in problem.message and "'package.module:function'" in problem.message


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("tests.workflows.no_such_module:f", "module 'tests.workflows.no_such_module' is not importable"),
        ("tests.support.sample_workflows:nope", "has no function 'nope'"),
        ("not a ref:x", "a function reference is 'package.module:function'"),
    ],
)
def test_bad_function_refs(tmp_path: Path, ref: str, why: str) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a", ref)])
    with pytest.raises(UnknownWorkflowError, match=why):
        load_workflow_file(path)


def test_cycle_and_unknown_ref_are_both_reported(tmp_path: Path) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a", "echo", "b"), task("b", "nope", "a")])
    with pytest.raises(CycleDetectedError) as err:
        load_workflow_file(path)
    assert len(err.value.problems) == 2 and "UnknownWorkflowError" in str(err.value)


def test_workflow_module_that_fails_to_import_is_reported_and_recorded(tmp_path: Path) -> None:
    module = write(tmp_path / "mine.py", "raise RuntimeError('broken at import')\n")
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a")], workflow_modules=["mine.py"])
    inputs: list[Path] = []
    with pytest.raises(DativoConfigError) as err:
        load_workflow_file(path, record_inputs=inputs)
    (problem,) = err.value.problems
    assert problem.field == "workflow_modules[0]" and "RuntimeError: broken at import" in problem.message
    assert inputs == [path, module]  # a parse cache re-parses once the module is fixed


def test_params_of_dativo_ingest_are_checked_when_loading(tmp_path: Path) -> None:
    jobs = EXAMPLES / "jobs"
    path = write_workflow(
        tmp_path / "wf.yaml",
        "w",
        [
            task("missing", "dativo_ingest", params={}),
            task(
                "typo",
                "dativo_ingest",
                params={"config": str(jobs / "acme/orders_csv_to_iceberg.yaml"), "cfg": 1},
            ),
            task("no_file", "dativo_ingest", params={"config": "nope.yaml"}),
            task(
                "other_tenant",
                "dativo_ingest",
                params={"config": str(jobs / "globex/events_jsonl_to_iceberg.yaml")},
            ),
            task("table", "iceberg_maintenance", params={"table": "globex.events"}),
        ],
    )
    with pytest.raises(DativoConfigError) as err:
        load_workflow_file(path)
    by_field = {p.field: p.message for p in err.value.problems}
    assert by_field["tasks[0].params.config"] == "required field is missing"
    assert by_field["tasks[1].params.cfg"].startswith("unknown key 'cfg'; allowed keys: config, job_name")
    assert by_field["tasks[2].params.config"] == f"job file {tmp_path / 'nope.yaml'} does not exist"
    assert (
        "belongs to tenant 'globex', not to the workflow's tenant 'acme'"
        in by_field["tasks[3].params.config"]
    )
    assert by_field["tasks[4].params"] == "namespace 'globex' is outside tenant 'acme'"


def test_loaded_workflow_knows_order_payload_sources_and_inputs(tmp_path: Path) -> None:
    job = EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"
    path = write_workflow(
        tmp_path / "wf.yaml", "w", [*DIAMOND, task("load", "dativo_ingest", params={"config": str(job)})]
    )
    workflow = load_workflow_file(path)
    assert workflow.order == ["a", "e", "load", "b", "c", "d"]
    assert workflow.payload_from["d"] == ["a", "b", "c"]
    assert workflow.inputs == [path, job] and workflow.pool == "dativo_tenant_acme"
