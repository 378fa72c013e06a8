"""The workflow file's shape: seed 003's keys, unknown keys rejected with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.workflow import WorkflowTask
from airflow_provider_dativo.workflows import load_workflow_file
from tests.support.deployment import write
from tests.support.examples import EXAMPLES


def test_seed_example_loads_with_seed_fields() -> None:
    workflow = load_workflow_file(EXAMPLES / "workflows" / "weekly_ops_chain.yaml")
    assert (workflow.name, workflow.tenant_id, workflow.order) == (
        "weekly_ops_chain",
        "local-dev",
        ["sweep", "report", "brief"],
    )
    report = workflow.task("report")
    assert report.params == {"start_date": "2025-10-01", "end_date": "2025-10-07"}
    assert report.retries == 1 and report.depends_on == ["sweep"]


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("name: x\ntenant_id: acme\ntask:\n  - {id: a, workflow_ref: w}\n", 3, "task", "unknown key 'task'"),
        (
            "name: x\ntenant_id: acme\ntasks:\n  - id: a\n    workflow_ref: w\n    retry: 2\n",
            6,
            "tasks[0].retry",
            "allowed keys: id, workflow_ref, params, retries, depends_on",
        ),
        ("name: x\ntenant_id: acme\ntasks:\n  - {id: a}\n", 4, "tasks[0].workflow_ref", "required field"),
        ("name: x y\ntenant_id: acme\ntasks: [{id: a, workflow_ref: w}]\n", 1, "name", "cannot be a dag_id"),
        ("name: x\ntenant_id: a/b\ntasks: [{id: a, workflow_ref: w}]\n", 2, "tenant_id", "names a pool"),
        ("name: x\ntenant_id: acme\ntasks: []\n", 3, "tasks", "at least 1"),
        (
            "name: x\ntenant_id: acme\ntasks:\n  - {id: a, workflow_ref: w, retries: -1}\n",
            4,
            "tasks[0].retries",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_shape_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    path = write(tmp_path / "wf.yaml", text)
    with pytest.raises(DativoConfigError) as err:
        load_workflow_file(path)
    problem = next(p for p in err.value.problems if p.field == field)
    assert (problem.file, problem.line) == (str(path), line)
    assert words in problem.message


def test_yaml_dates_in_params_become_iso_strings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "wf.yaml",
        "name: x\ntenant_id: acme\ntasks:\n  - id: a\n"
        "    workflow_ref: tests.support.sample_workflows:echo\n"
        "    params: {start: 2025-10-01, nested: {at: [2025-10-02]}}\n",
    )
    assert load_workflow_file(path).task("a").params == {
        "start": "2025-10-01",
        "nested": {"at": ["2025-10-02"]},
    }


def test_retry_delays_must_be_ordered_and_give_the_exact_backoff() -> None:
    with pytest.raises(ValueError, match=r"max_retry_delay_seconds \(1\) is below retry_delay_seconds \(5\)"):
        WorkflowTask(id="a", workflow_ref="w", retry_delay_seconds=5, max_retry_delay_seconds=1)
    task = WorkflowTask(
        id="a", workflow_ref="w", retries=4, retry_delay_seconds=2, max_retry_delay_seconds=10
    )
    assert [task.retry_config().delay_before_retry(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
    assert task.retry_config(delay_override=0).delay_before_retry(3) == 0
    assert task.retry_config(delay_override=50).max_delay_seconds == 50


def test_example_workflow_files_fit_the_editor_schema() -> None:
    import json

    import yaml

    from airflow_provider_dativo.config.json_schema import render

    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(render("workflow.schema.json"))
    files = sorted((EXAMPLES / "workflows").glob("*.yaml"))
    assert len(files) == 2
    for path in files:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"name": "x", "tenant_id": "a", "tasks": [{"id": "a", "workflow_ref": "w", "x": 1}]}, schema
        )
