"""``--changed`` and ``--resume`` through ``dativo workflow run``: what reruns, what is cached, and
that a cached task's stored result is its payload downstream.

Change detection is tested on each part of a task's definition: params, dependencies, the job
and asset files of ``dativo_ingest`` (a real job writing Iceberg), and a workflow function's source.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from airflow_provider_dativo.workflows import load_workflow_file
from airflow_provider_dativo.workflows.state import read_state
from tests.support.deployment import make_deployment
from tests.support.workflow_files import (
    dativo_workflow_run,
    process_env,
    run_main,
    statuses_of,
    task,
    write_workflow,
)


def tally(task_id: str, log: Path, *depends_on: str, **params) -> dict:
    return task(task_id, "tally", *depends_on, params={"log": str(log), **params})


def chain(tmp_path: Path, **params_of: dict) -> Path:
    """a -> b -> c, and d on its own; every task logs to tmp_path/log when it really runs."""
    log = tmp_path / "log"
    return write_workflow(
        tmp_path / "wf.yaml",
        "modes",
        [
            tally("a", log, **{"value": 1, **params_of.get("a", {})}),
            tally("b", log, "a", **{"value": 2, **params_of.get("b", {})}),
            tally("c", log, "b", **{"value": 3, **params_of.get("c", {})}),
            tally("d", log, **{"value": 4, **params_of.get("d", {})}),
        ],
    )


def ran(tmp_path: Path) -> list[str]:
    """Task ids that really ran since the last call (read from the tally log, then cleared)."""
    log = tmp_path / "log"
    lines = log.read_text().split() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def test_a_second_changed_run_caches_every_task(tmp_path: Path, capsys) -> None:
    path, state = chain(tmp_path), str(tmp_path / "state.json")
    code, first, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and set(statuses_of(first).values()) == {"success"}
    assert first["tasks"]["a"]["reason"] == "not run before"
    assert ran(tmp_path) == ["a", "d", "b", "c"]

    code, second, err = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and ran(tmp_path) == []
    assert statuses_of(second) == {"a": "cached", "d": "cached", "b": "cached", "c": "cached"}
    assert (second["cached"], second["succeeded"], second["mode"]) == (4, 0, "changed")
    assert second["tasks"]["c"]["output"] == first["tasks"]["c"]["output"]
    assert second["tasks"]["c"]["from_run"] == first["run_id"]
    assert f"unchanged since its success in run {first['run_id']}" in second["tasks"]["c"]["reason"]
    assert "CACHED 4/4 c cached (unchanged since its success" in err and "Tasks Cached: 4" in err


def test_a_params_change_reruns_the_task_and_what_depends_on_it(tmp_path: Path, capsys) -> None:
    state = str(tmp_path / "state.json")
    run_main(capsys, chain(tmp_path), "--state", state)
    ran(tmp_path)
    code, summary, err = run_main(capsys, chain(tmp_path, b={"value": 20}), "--changed", "--state", state)
    assert code == 0 and ran(tmp_path) == ["b", "c"]
    assert statuses_of(summary) == {"a": "cached", "d": "cached", "b": "success", "c": "success"}
    assert summary["tasks"]["b"]["reason"] == "params changed"
    assert summary["tasks"]["c"]["reason"] == "upstream b runs"
    assert "RUN  3/4 b [RUNNING] (params changed)" in err
    # c received a's stored result (a was cached) and b's new one
    assert {"a__value", "b__value"} <= set(summary["tasks"]["c"]["output"]["seen"])
    assert summary["tasks"]["b"]["output"]["value"] == 20


def test_a_cached_tasks_stored_result_is_its_payload_downstream(tmp_path: Path, capsys) -> None:
    state = str(tmp_path / "state.json")
    run_main(capsys, chain(tmp_path), "--state", state)
    ran(tmp_path)
    path = write_workflow(  # c now echoes what it receives: the cached a's and b's results
        tmp_path / "wf.yaml",
        "modes",
        [
            tally("a", tmp_path / "log", value=1),
            tally("b", tmp_path / "log", "a", value=2),
            task("c", "echo", "b"),
            tally("d", tmp_path / "log", value=4),
        ],
    )
    code, summary, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and ran(tmp_path) == []
    assert summary["tasks"]["c"]["status"] == "success"
    received = summary["tasks"]["c"]["output"]["params"]
    assert received["a__value"] == 1 and received["b__value"] == 2
    assert received["b__seen"] == ["a__rows", "a__seen", "a__value", "log", "value"]


def test_a_dependency_change_reruns_the_task(tmp_path: Path, capsys) -> None:
    state = str(tmp_path / "state.json")
    log = tmp_path / "log"
    tasks = [tally("a", log, value=1), tally("b", log, value=2), tally("c", log, "a", value=3)]
    path = write_workflow(tmp_path / "wf.yaml", "deps", tasks)
    run_main(capsys, path, "--state", state)
    ran(tmp_path)
    tasks[2] = tally("c", log, "a", "b", value=3)
    code, summary, _ = run_main(
        capsys, write_workflow(tmp_path / "wf.yaml", "deps", tasks), "--changed", "--state", state
    )
    assert code == 0 and ran(tmp_path) == ["c"]
    assert summary["tasks"]["c"]["reason"] == "depends_on changed"
    assert "b__value" in summary["tasks"]["c"]["output"]["seen"]


def test_a_job_or_asset_file_change_reruns_the_ingest_task(tmp_path: Path, capsys, dativo_home: Path) -> None:
    root = tmp_path / "deploy"
    make_deployment(root, schedules="[]\n")
    load = task("load", "dativo_ingest", params={"config": "jobs/acme/orders.yaml"})
    path = write_workflow(root / "wf.yaml", "ingest", [load, task("after", "echo", "load")])
    state = str(tmp_path / "state.json")
    code, first, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and first["tasks"]["load"]["output"]["records_valid"] == 2
    assert first["tasks"]["load"]["rows"] == 2
    assert run_main(capsys, path, "--changed", "--state", state)[1]["cached"] == 2

    job = root / "jobs" / "acme" / "orders.yaml"
    job.write_text(job.read_text() + "validation:\n  mode: warn\n")
    code, summary, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and statuses_of(summary) == {"load": "success", "after": "success"}
    assert summary["tasks"]["load"]["reason"] == f"file {job} changed"

    asset = root / "assets" / "orders.yaml"
    asset.write_text(asset.read_text() + "description: orders of the shop\n")
    code, summary, _ = run_main(capsys, path, "--changed", "--state", state)
    assert summary["tasks"]["load"]["reason"] == f"file {asset} changed"
    assert run_main(capsys, path, "--changed", "--state", state)[1]["cached"] == 2


def test_a_workflow_function_source_change_reruns_its_tasks(tmp_path: Path, capsys) -> None:
    module = tmp_path / "flows.py"
    source = (
        "from airflow_provider_dativo.workflows import register_workflow\n\n\n"
        '@register_workflow("source_change_step")\n'
        "def step(params):\n"
        "    return {'version': 1}\n"
    )
    module.write_text(source)
    tasks = [task("a", "source_change_step"), task("b", "echo", "a"), task("c", "echo")]
    path = write_workflow(tmp_path / "wf.yaml", "src", tasks, workflow_modules=["flows.py"])
    state = str(tmp_path / "state.json")
    run_main(capsys, path, "--state", state)

    module.write_text(source.replace("'version': 1", "'version': 2"))
    stat = module.stat()  # a new mtime, so the module is imported again
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    code, summary, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and statuses_of(summary) == {"a": "success", "c": "cached", "b": "success"}
    assert summary["tasks"]["a"]["reason"] == "workflow function source changed"
    assert summary["tasks"]["a"]["output"] == {"version": 2}
    assert summary["tasks"]["b"]["output"]["params"] == {"a__version": 2}


def test_tags_are_not_part_of_the_definition(tmp_path: Path, capsys) -> None:
    state = str(tmp_path / "state.json")
    path = write_workflow(tmp_path / "wf.yaml", "tags", [task("a")])
    run_main(capsys, path, "--state", state)
    path = write_workflow(tmp_path / "wf.yaml", "tags", [task("a", tags=["nightly"])])
    assert statuses_of(run_main(capsys, path, "--changed", "--state", state)[1]) == {"a": "cached"}


def test_resume_after_a_failure_in_the_middle_runs_only_what_did_not_succeed(tmp_path: Path, capsys) -> None:
    log, counter = tmp_path / "log", tmp_path / "counter"
    flaky = task("b", "flaky", "a", params={"counter": str(counter), "fail_times": 1})
    tasks = [tally("a", log, value=1), flaky, tally("c", log, "b"), tally("d", log, "c"), tally("e", log)]
    path = write_workflow(tmp_path / "wf.yaml", "resume", tasks)
    state = str(tmp_path / "state.json")
    code, first, _ = run_main(capsys, path, "--state", state)
    assert code == 2 and ran(tmp_path) == ["a", "e"]
    assert statuses_of(first) == {
        "a": "success",
        "e": "success",
        "b": "failed",
        "c": "skipped",
        "d": "skipped",
    }

    code, second, err = run_main(capsys, path, "--resume", "--state", state)
    assert code == 0 and ran(tmp_path) == ["c", "d"] and counter.read_text() == "2"
    assert statuses_of(second) == {
        "a": "cached",
        "e": "cached",
        "b": "success",
        "c": "success",
        "d": "success",
    }
    assert second["tasks"]["b"]["reason"] == f"failed in run {first['run_id']}"
    assert (
        second["tasks"]["c"]["reason"] == f"skipped in run {first['run_id']} (the run stopped after b failed)"
    )
    assert second["tasks"]["c"]["output"]["seen"] == ["a__rows", "a__seen", "a__value", "b__tries", "log"]
    assert f"RUN  3/5 b [RUNNING] (failed in run {first['run_id']})" in err

    code, third, _ = run_main(capsys, path, "--resume", "--state", state)
    assert code == 0 and third["cached"] == 5 and ran(tmp_path) == []


def test_resume_caches_a_success_whose_definition_changed_and_says_so(tmp_path: Path, capsys) -> None:
    state = str(tmp_path / "state.json")
    run_main(capsys, chain(tmp_path), "--state", state)
    ran(tmp_path)
    code, summary, _ = run_main(capsys, chain(tmp_path, b={"value": 20}), "--resume", "--state", state)
    assert code == 0 and summary["cached"] == 4 and ran(tmp_path) == []
    assert summary["tasks"]["b"]["reason"].endswith(
        "; since then its params changed (--changed would run it)"
    )


def test_a_newer_upstream_result_reruns_its_dependants(tmp_path: Path, capsys) -> None:
    """``--only a`` gives a a new result while b keeps the one made from a's old result: --changed
    sees that b did not receive a's current result."""
    state = str(tmp_path / "state.json")
    run_main(capsys, chain(tmp_path), "--state", state)
    path = chain(tmp_path, a={"value": 10})
    code, only, _ = run_main(capsys, path, "--only", "a", "--state", state)
    assert statuses_of(only)["b"] == "skipped"
    assert read_state(Path(state), load_workflow_file(path)).tasks["b"].status == "success"  # kept
    ran(tmp_path)
    code, summary, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and ran(tmp_path) == ["b", "c"]
    assert summary["tasks"]["b"]["reason"] == "the result of upstream a is not the one it received"


def test_full_runs_every_task_and_refreshes_the_state(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    path = chain(tmp_path)
    _, first, _ = run_main(capsys, path, "--changed", "--state", str(state))
    ran(tmp_path)
    _, full, _ = run_main(capsys, path, "--full", "--state", str(state))
    assert full["cached"] == 0 and ran(tmp_path) == ["a", "d", "b", "c"]
    records = read_state(state, load_workflow_file(path)).tasks
    assert {r.run_id for r in records.values()} == {full["run_id"]} != {first["run_id"]}


def test_a_killed_run_leaves_a_valid_state_and_resume_picks_up_the_interrupted_task(tmp_path: Path) -> None:
    log, marker, state = tmp_path / "log", tmp_path / "marker", tmp_path / "state.json"
    tasks = [
        tally("a", log),
        task("b", "die_once", "a", params={"marker": str(marker)}),
        tally("c", log, "b"),
    ]
    path = write_workflow(tmp_path / "wf.yaml", "killed", tasks)
    command = dativo_workflow_run(path, "--state", str(state), "--events", str(tmp_path / "events.jsonl"))
    killed = subprocess.run(command, capture_output=True, text=True, env=process_env())
    assert killed.returncode == -9, killed.stderr
    recorded = read_state(state, load_workflow_file(path))
    assert recorded.last_run.status == "running"
    assert {t: r.status for t, r in recorded.tasks.items()} == {"a": "success", "b": "running"}
    assert not list(tmp_path.glob(".state.json.*.tmp"))  # no half-written file left behind

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, env=process_env())
    assert resumed.returncode == 0, resumed.stderr
    assert f"the last run {recorded.last_run.run_id} (pid" in resumed.stderr
    assert f"b [RUNNING] (interrupted in run {recorded.last_run.run_id}" in resumed.stderr
    assert ran(tmp_path) == ["a", "c"]  # a once, in the killed run; c once, after the resume
    final = yaml.safe_load(state.read_text())  # JSON is YAML: the file as any tool reads it
    assert final["last_run"]["status"] == "success"
    assert {t: r["status"] for t, r in final["tasks"].items()} == {
        "a": "cached",
        "b": "success",
        "c": "success",
    }


def test_an_upstream_excluded_every_time_does_not_rerun_its_dependants(tmp_path: Path, capsys) -> None:
    state, log = str(tmp_path / "state.json"), tmp_path / "log"
    tasks = [{**tally("a", log), "tags": ["expensive"]}, tally("b", log, "a")]
    path = write_workflow(tmp_path / "wf.yaml", "excluded", tasks)
    run_main(capsys, path, "--state", state)  # a full run: a has a result in the state
    code, first, _ = run_main(capsys, path, "--changed", "--exclude-tags", "expensive", "--state", state)
    assert code == 0 and statuses_of(first) == {
        "a": "skipped",
        "b": "success",
    }  # b ran without a's keys this time
    ran(tmp_path)
    code, again, _ = run_main(capsys, path, "--changed", "--exclude-tags", "expensive", "--state", state)
    assert code == 0 and statuses_of(again) == {"a": "skipped", "b": "cached"} and ran(tmp_path) == []
    code, all_in, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and statuses_of(all_in) == {
        "a": "cached",
        "b": "success",
    }  # now it receives a's keys again
    assert all_in["tasks"]["b"]["reason"] == "the result of upstream a is not the one it received"


def test_a_stopped_run_still_reports_and_keeps_what_is_cached(tmp_path: Path, capsys) -> None:
    state, log, counter = str(tmp_path / "state.json"), tmp_path / "log", tmp_path / "counter"
    tasks = [tally("a", log), tally("b", log, "a"), tally("c", log)]  # order: a, c, b
    path = write_workflow(tmp_path / "wf.yaml", "stops", tasks)
    run_main(capsys, path, "--state", state)
    tasks[0] = task("a", "flaky", params={"counter": str(counter), "fail_times": 1})
    path = write_workflow(tmp_path / "wf.yaml", "stops", tasks)
    code, summary, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 2 and statuses_of(summary) == {"a": "failed", "c": "cached", "b": "skipped"}
    assert summary["tasks"]["b"]["reason"] == "the run stopped after a failed"
    code, fixed, _ = run_main(capsys, path, "--changed", "--state", state)
    assert code == 0 and statuses_of(fixed) == {"a": "success", "c": "cached", "b": "success"}
