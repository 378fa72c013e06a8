"""Where references resolve: @register_workflow, entry points, package.module:function, module files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from airflow_provider_dativo.workflows import ENTRY_POINT_GROUP, load_workflow_file, register_workflow
from airflow_provider_dativo.workflows.registry import (
    import_workflow_module,
    known_names,
    load_workflow,
    resolve,
)
from airflow_provider_dativo.workflows.runner import WorkflowRunner
from airflow_provider_dativo.workflows.selection import select_tasks
from tests.support.deployment import write
from tests.support.workflow_files import task, write_workflow


def run(workflow_path: Path, tmp_path: Path):
    workflow = load_workflow_file(workflow_path)
    return WorkflowRunner(workflow, events_path=tmp_path / "events.jsonl").run(select_tasks(workflow))


def test_builtins_are_known_by_name() -> None:
    assert {"dativo_ingest", "iceberg_maintenance"} <= set(known_names())
    assert resolve("dativo_ingest").params_model.__name__ == "IngestParams"


def test_register_workflow_rejects_a_second_function_under_a_taken_name() -> None:
    @register_workflow("test_registry_taken")
    def first(params):
        return {}

    register_workflow("test_registry_taken")(first)  # the same function again: fine
    with pytest.raises(ValueError, match=r"'test_registry_taken' is already registered by tests\.workflows"):

        @register_workflow("test_registry_taken")
        def second(params):
            return {}


def test_entry_point_is_found_without_loading_it_and_loaded_when_it_runs(tmp_path, monkeypatch) -> None:
    site = tmp_path / "site"
    write(site / "dativo_ep_sample.py", "def hello(params):\n    return {'hello': params['who']}\n")
    write(
        site / "dativo_ep_sample-1.0.dist-info" / "METADATA",
        "Metadata-Version: 2.1\nName: dativo-ep-sample\nVersion: 1.0\n",
    )
    write(
        site / "dativo_ep_sample-1.0.dist-info" / "entry_points.txt",
        f"[{ENTRY_POINT_GROUP}]\nhello_ep = dativo_ep_sample:hello\n",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "dativo_ep_sample", raising=False)
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a", "hello_ep", params={"who": "ep"})])

    load_workflow_file(path)  # parse time: metadata only
    assert "hello_ep" in known_names() and "dativo_ep_sample" not in sys.modules
    summary = run(path, tmp_path)
    assert summary.results["a"].output == {"hello": "ep"} and "dativo_ep_sample" in sys.modules


def test_function_reference_and_registered_name_from_a_module_file(tmp_path) -> None:
    write(
        tmp_path / "flows" / "mine.py",
        "from airflow_provider_dativo.workflows import register_workflow\n\n"
        "@register_workflow('test_registry_from_file')\n"
        "def f(params):\n    return {'x': params['x'] * 2}\n",
    )
    path = write_workflow(
        tmp_path / "wf.yaml",
        "w",
        [
            task("by_name", "test_registry_from_file", params={"x": 2}),
            task("by_ref", "echo", "by_name", params={"y": 1}),
        ],
        workflow_modules=["flows/mine.py"],
    )
    summary = run(path, tmp_path)
    assert summary.results["by_name"].output == {"x": 4}
    assert summary.results["by_ref"].output["params"] == {"y": 1, "by_name__x": 4}


def test_a_changed_module_file_is_imported_again(tmp_path) -> None:
    module = write(tmp_path / "again.py", "VALUE = 1\n")
    assert import_workflow_module(str(module)).VALUE == 1
    assert import_workflow_module(str(module)) is import_workflow_module(str(module))
    module.write_text("VALUE = 2\n")
    os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))
    assert import_workflow_module(str(module)).VALUE == 2


def test_load_workflow_imports_modules_first(tmp_path) -> None:
    module = write(
        tmp_path / "late.py",
        "from airflow_provider_dativo.workflows import register_workflow\n\n"
        "@register_workflow('test_registry_late')\ndef g(params):\n    return None\n",
    )
    assert load_workflow("test_registry_late", [str(module)]).func({}) is None
