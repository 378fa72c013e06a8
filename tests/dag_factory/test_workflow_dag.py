"""``build_workflow_dag(path)``: the file's tasks, dependencies, retries, pool and tags as a DAG."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_dativo.operators.workflow import DativoWorkflowOperator
from airflow_provider_dativo.retry_policy import DativoRetryPolicy
from airflow_provider_dativo.workflows import CycleDetectedError, UnknownWorkflowError, build_workflow_dag
from tests.support.examples import EXAMPLES
from tests.support.workflow_files import DIAMOND, task, write_workflow


def test_seed_example_becomes_a_dag_named_after_the_file() -> None:
    dag = build_workflow_dag(EXAMPLES / "workflows" / "weekly_ops_chain.yaml")
    assert dag.dag_id == "weekly_ops_chain" and dag.catchup is False
    assert [t.task_id for t in dag.tasks] == ["sweep", "report", "brief"]
    assert set(dag.tags) == {"dativo", "tenant:local-dev", "workflow:weekly_ops_chain"}
    brief = dag.task_dict["brief"]
    assert isinstance(brief, DativoWorkflowOperator)
    assert brief.upstream_task_ids == {"report"} and brief.payload_from == ["sweep", "report"]
    assert brief.pool == "dativo_tenant_local-dev" and brief.retries == 1
    assert brief.retry_delay == timedelta(seconds=5) and brief.retry_exponential_backoff == 2.0
    assert brief.max_retry_delay == timedelta(seconds=300)
    assert isinstance(brief.retry_policy, DativoRetryPolicy)
    # 1: a partial dativo_ingest run with a try left commits nothing and is retried (issue 16)
    assert brief.retry_policy.retry_config.retryable_exit_codes == [1, 2]
    assert brief.workflow_params == {"meeting_title": "Sprint Review"}
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert restored.task_dict["brief"].upstream_task_ids == {"report"}
    assert restored.task_dict["brief"].has_retry_policy


def test_dependencies_and_tasks_without_retries(tmp_path: Path) -> None:
    dag = build_workflow_dag(write_workflow(tmp_path / "wf.yaml", "diamond", DIAMOND))
    assert [t.task_id for t in dag.tasks] == ["a", "e", "b", "c", "d"]
    assert (
        dag.task_dict["d"].upstream_task_ids == {"b", "c"} and dag.task_dict["e"].upstream_task_ids == set()
    )
    assert dag.task_dict["a"].retries == 0 and dag.task_dict["a"].retry_policy is None
    DagSerialization.to_dict(dag)


def test_invalid_files_raise_their_errors(tmp_path: Path) -> None:
    with pytest.raises(CycleDetectedError, match="cyc: a -> b -> a"):
        build_workflow_dag(
            write_workflow(tmp_path / "c.yaml", "cyc", [task("a", "echo", "b"), task("b", "echo", "a")])
        )
    with pytest.raises(UnknownWorkflowError, match="unknown workflow 'nope'"):
        build_workflow_dag(write_workflow(tmp_path / "u.yaml", "unk", [task("a", "nope")]))
