"""The state file: where it lives, atomic private writes, and corrupt or foreign files refused."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from airflow_provider_dativo.workflows import load_workflow_file
from airflow_provider_dativo.workflows.state import (
    CorruptStateError,
    ForeignStateError,
    TaskRecord,
    WorkflowState,
    read_state,
    state_path,
    write_state,
)
from tests.support.workflow_files import task, write_workflow


@pytest.fixture
def workflow(tmp_path: Path):
    return load_workflow_file(write_workflow(tmp_path / "wf.yaml", "orders_chain", [task("a")]))


def a_state(workflow, **record) -> WorkflowState:
    state = WorkflowState.empty(workflow)
    fields = {"status": "success", "run_id": "r1", "fingerprint": "f", "result": {"x": 1}, **record}
    state.tasks["a"] = TaskRecord(**fields)
    return state


def test_written_state_reads_back_and_is_private(tmp_path: Path, workflow) -> None:
    path = tmp_path / "deep" / "state.json"
    write_state(path, a_state(workflow, rows=7))
    assert read_state(path, workflow).tasks["a"].rows == 7
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]
    assert read_state(tmp_path / "none.json", workflow) is None


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, workflow, monkeypatch) -> None:
    path = tmp_path / "states" / "state.json"
    write_state(path, a_state(workflow, rows=1))
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_state(path, a_state(workflow, rows=2))
    assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"format": "dativo-workflow-state",\n "version": 1,,}',
            r"state\.json:2: is corrupt, not valid JSON",
        ),
        ("", r"state\.json:1: is corrupt, not valid JSON"),
        ('["a"]', "is not a dativo workflow state file"),
        ('{"tasks": {}}', "is not a dativo workflow state file"),
        (
            '{"format": "dativo-workflow-state", "version": 2}',
            "has format version 2; this dativo reads version 1",
        ),
        (
            '{"format": "dativo-workflow-state", "version": 1, "workflow": "orders_chain", '
            '"tenant_id": "acme", "workflow_file": "x", "tasks": {"a": {"status": "done", "run_id": "r", '
            '"fingerprint": "f"}}}',
            r"is corrupt: tasks\.a\.status: Input should be 'success', 'failed'",
        ),
        (
            '{"format": "dativo-workflow-state", "version": 1, "workflow": "orders_chain", '
            '"tenant_id": "acme", "workflow_file": "x", "tasks": {"a": {"status": "success", '
            '"run_id": "r", "fingerprint": "f"}}}',
            r"is corrupt: tasks\.a: Value error, a 'success' record must hold the task's result",
        ),
    ],
)
def test_a_corrupt_file_is_refused_with_its_name_and_what_is_wrong(
    tmp_path: Path, workflow, text: str, expected: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(CorruptStateError, match=expected) as caught:
        read_state(path, workflow)
    assert str(caught.value).startswith(f"state file {path}")


def test_another_workflows_state_is_refused(tmp_path: Path, workflow) -> None:
    other = load_workflow_file(write_workflow(tmp_path / "other.yaml", "returns_chain", [task("a")]))
    path = tmp_path / "state.json"
    write_state(path, a_state(other))
    with pytest.raises(
        ForeignStateError, match="belongs to workflow 'returns_chain' of tenant 'acme'"
    ) as caught:
        read_state(path, workflow)
    assert "not to 'orders_chain' of tenant 'acme'" in str(caught.value)


def test_where_the_state_file_is(tmp_path: Path, workflow, monkeypatch) -> None:
    monkeypatch.delenv("DATIVO_WORKFLOW_STATE", raising=False)
    monkeypatch.setenv("DATIVO_HOME", str(tmp_path / "home"))
    assert state_path(workflow) == tmp_path / "home" / "workflow-state" / "acme" / "orders_chain.json"
    monkeypatch.delenv("DATIVO_HOME")
    assert state_path(workflow) == Path(".dativo/workflow-state/acme/orders_chain.json")
    monkeypatch.setenv("DATIVO_WORKFLOW_STATE", str(tmp_path / "one.json"))
    assert state_path(workflow) == tmp_path / "one.json"
    assert state_path(workflow, tmp_path / "given.json") == tmp_path / "given.json"
    assert state_path(workflow, f"{tmp_path}/states/") == tmp_path / "states" / "acme" / "orders_chain.json"
    assert state_path(workflow, tmp_path) == tmp_path / "acme" / "orders_chain.json"  # an existing folder


def test_the_file_is_plain_json_a_person_can_read(tmp_path: Path, workflow) -> None:
    path = tmp_path / "state.json"
    write_state(path, a_state(workflow, duration_seconds=0.52, rows=1000))
    data = json.loads(path.read_text())
    assert (data["format"], data["version"], data["workflow"]) == ("dativo-workflow-state", 1, "orders_chain")
    assert data["tasks"]["a"]["duration_seconds"] == 0.52 and data["tasks"]["a"]["rows"] == 1000
    assert path.read_text().startswith('{\n  "format"')
