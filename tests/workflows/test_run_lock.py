"""Two runs of one workflow at the same time, in two real processes: the second is refused at
once, naming the first, and the state file stays valid throughout."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from airflow_provider_dativo.workflows import load_workflow_file
from airflow_provider_dativo.workflows.state import read_state
from tests.support.workflow_files import dativo_workflow_run, process_env, read_events, task, write_workflow


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_second_run_is_refused_while_the_first_holds_the_state(tmp_path: Path) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    tasks = [
        task("first"),
        task("hold", "gate", "first", params={"started": str(started), "release": str(release)}),
        task("last", "echo", "hold"),
    ]
    path = write_workflow(tmp_path / "wf.yaml", "locked", tasks)
    state, events = tmp_path / "state.json", tmp_path / "events.jsonl"
    command = dativo_workflow_run(path, "--state", str(state), "--events", str(events), "--json")
    holder = subprocess.Popen(
        [*command, "--run-id", "holder"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(),
    )
    try:
        wait_for(started, holder)
        workflow = load_workflow_file(path)
        during = read_state(state, workflow)  # valid while the first run is in its second task
        assert {t: r.status for t, r in during.tasks.items()} == {"first": "success", "hold": "running"}

        second = subprocess.run(
            [*command, "--changed", "--run-id", "second"], capture_output=True, text=True, env=process_env()
        )
        assert second.returncode == 2 and second.stdout == ""
        assert (
            f"error: workflow 'locked' is already running: run holder (pid {holder.pid} on " in second.stderr
        )
        assert f"holds its state file {state}; this run is refused" in second.stderr
        assert read_state(state, workflow) == during  # the refused run wrote nothing
        assert {e["run_id"] for e in read_events(events)} == {"holder"}
    finally:
        release.write_text("go")
        out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    assert json.loads(out)["succeeded"] == 3
    after = read_state(state, workflow)
    assert after.last_run.run_id == "holder" and after.last_run.status == "success"
    assert {r.status for r in after.tasks.values()} == {"success"}

    # the lock went with the first process: the next run goes ahead
    third = subprocess.run([*command, "--changed"], capture_output=True, text=True, env=process_env())
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["cached"] == 3
