"""A worker's parse (Airflow's parsing context names a dag_id) builds that DAG only, from its own files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_dativo.dag_factory import build_dags
from tests.support.deployment import make_deployment, write
from tests.support.examples import EXAMPLES, RUNNER_AIRFLOW

PARSING_CONTEXT = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"
"""What Airflow's task runner sets (``airflow.sdk.get_parsing_context().dag_id``)."""


def serialized(dag) -> dict:
    return DagSerialization.to_dict(dag)


def retry_policies(dag) -> dict:
    return {task.task_id: getattr(task, "retry_policy", None) for task in dag.tasks}


def test_every_example_dag_is_built_alone_and_equal_to_the_full_parse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    full = build_dags(RUNNER_AIRFLOW, app_root=EXAMPLES, cache_dir="off")
    assert len(full) >= 7
    for dag_id, dag in full.items():
        monkeypatch.setenv(PARSING_CONTEXT, dag_id)
        one = build_dags(RUNNER_AIRFLOW, app_root=EXAMPLES, cache_dir=tmp_path / "cache")
        assert list(one) == [dag_id]
        assert serialized(one[dag_id]) == serialized(dag), dag_id
        assert retry_policies(one[dag_id]) == retry_policies(dag), dag_id
    assert not (tmp_path / "cache").exists(), "a one-DAG parse never writes the parse cache"


def test_placeholders_and_duplicates_are_built_alone_as_in_the_full_parse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runner = make_deployment(
        tmp_path,
        schedules="- {name: good, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
        "- {name: bad, config: ../jobs/acme/orders.yaml, cron: '0 * * * *', timezone: Nowhere/Land}\n"
        "- {name: good, config: ../jobs/acme/orders.yaml, cron: '5 * * * *'}\n"
        "- {name: 'no good!', config: ../jobs/acme/orders.yaml, cron: '5 * * * *'}\n"
        "- {name: missing, config: ../jobs/acme/nowhere.yaml, cron: '5 * * * *'}\n",
    )
    full = build_dags(runner, cache_dir="off")
    assert "dativo_config_error__good__schedule_2" in full
    assert "dativo_config_error__no_good___schedule_3" in full
    for dag_id, dag in full.items():
        monkeypatch.setenv(PARSING_CONTEXT, dag_id)
        one = build_dags(runner, cache_dir="off")
        assert list(one) == [dag_id]
        assert serialized(one[dag_id]) == serialized(dag), dag_id


def test_a_dag_id_the_runner_does_not_have_gets_the_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    full = build_dags(RUNNER_AIRFLOW, app_root=EXAMPLES, cache_dir="off")
    monkeypatch.setenv(PARSING_CONTEXT, "some_other_files_dag")
    assert set(build_dags(RUNNER_AIRFLOW, app_root=EXAMPLES, cache_dir="off")) == set(full)


PROBE = """\
import json, os, sys

opened = []
root = sys.argv[1]


def audit(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(root):
        opened.append(args[0])


sys.addaudithook(audit)
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[2], safe_mode=False)
errors = {k: str(v) for k, v in bag.import_errors.items()}
print("RESULT " + json.dumps({"dags": sorted(bag.dag_ids), "errors": errors, "opened": opened}))
"""


def fill_dagbag(probe: Path, root: Path, dags: Path, env: dict) -> dict:
    """Run the probe: a DagBag of ``dags`` in a fresh process; what it holds and which files
    under ``root`` were opened. A FIFO opened by mistake blocks: the timeout fails the test."""
    result = subprocess.run(
        [sys.executable, str(probe), str(root), str(dags)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    return json.loads(line[len("RESULT ") :])


def test_other_schedules_files_are_never_opened(tmp_path: Path) -> None:
    """Missing, invalid, a folder, a FIFO that would block any reader: the worker parse of
    ``wanted`` does not care, because it opens the runner file and ``wanted``'s job file only."""
    schedules = "".join(
        f"- {{name: {name}, config: ../jobs/acme/{name}.yaml, cron: '0 * * * *'}}\n"
        for name in ("before", "wanted", "missing", "invalid", "folder", "fifo")
    )
    root = tmp_path / "deployment"
    runner = make_deployment(root, schedules=schedules)
    jobs = root / "jobs" / "acme"
    for name in ("before", "wanted"):
        (jobs / f"{name}.yaml").write_text((jobs / "orders.yaml").read_text())
    write(jobs / "invalid.yaml", "source_connector: [unclosed\n")
    (jobs / "folder.yaml").mkdir()
    os.mkfifo(jobs / "fifo.yaml")
    dags = tmp_path / "dags"
    write(
        dags / "factory.py",
        f"from airflow_provider_dativo.dag_factory import build_dags\n"
        f"globals().update(build_dags({str(runner)!r}))\n",
    )
    probe = write(tmp_path / "probe.py", PROBE)
    env = {**os.environ, PARSING_CONTEXT: "wanted", "DATIVO_PARSE_CACHE_DIR": str(tmp_path / "cache")}
    report = fill_dagbag(probe, root, dags, env)
    assert report["errors"] == {}
    assert report["dags"] == ["wanted"]
    assert set(report["opened"]) == {str(runner), str(jobs / "wanted.yaml")}
    assert not (tmp_path / "cache").exists()

    # Without the parsing context (the dag-processor), the same folder shows every schedule,
    # the broken ones as placeholders: the FIFO is made a plain broken file first.
    (jobs / "fifo.yaml").unlink()
    write(jobs / "fifo.yaml", "not: [a job\n")
    del env[PARSING_CONTEXT]
    report = fill_dagbag(probe, root, dags, env)
    assert report["dags"] == sorted(["before", "wanted", "missing", "invalid", "folder", "fifo"])
    assert str(jobs / "invalid.yaml") in report["opened"]


def test_a_large_runner_is_parsed_in_part_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the parsing context, only the wanted schedule's text is parsed as YAML."""
    from airflow_provider_dativo.plan import one_schedule

    schedules = "".join(
        f"- name: job_{i:04d}\n  config: ../jobs/acme/orders.yaml\n  cron: '{i % 60} * * * *'\n"
        for i in range(300)
    )
    runner = make_deployment(tmp_path, schedules=textwrap.dedent(schedules))
    parsed: list[str] = []
    original = one_schedule.compose_and_load

    def spy(text: str):
        parsed.append(text)
        return original(text)

    monkeypatch.setattr(one_schedule, "compose_and_load", spy)
    monkeypatch.setenv(PARSING_CONTEXT, "job_0123")
    (dag,) = build_dags(runner, cache_dir="off").values()
    assert dag.dag_id == "job_0123"
    (text,) = parsed
    assert "job_0123" in text and "job_0122" not in text and "job_0124" not in text
