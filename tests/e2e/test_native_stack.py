"""The native stack of ``scripts/stack.sh``: start, use, stop, and nothing left behind."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.support.stack import (
    ADMIN_USER,
    MARKER,
    Api,
    Layout,
    free_port,
    port_is_free,
    stack_cli,
)

pytestmark = pytest.mark.e2e

EXAMPLE_DAGS = {"acme_orders_csv", "globex_events_jsonl", "stripe_customers_hourly", "maintenance_job"}





def marked_processes(stack_id: str) -> list[int]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARKER) == stack_id:
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_the_native_stack_starts_serves_the_example_dags_and_stops_cleanly() -> None:
    # not under pytest's tmp folder: PostgreSQL runs as user postgres when the tests run as root
    layout = Layout(Path(tempfile.mkdtemp(prefix="dativo-native-stack-")))
    port = free_port()
    try:
        started = stack_cli("start", "--dir", str(layout.root), "--port", str(port))
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"http://127.0.0.1:{port}" in started.stdout
        state = json.loads(layout.state_file.read_text())
        assert set(state["processes"]) == {
            "airflow-apiserver",
            "airflow-scheduler",
            "airflow-dag-processor",
            "airflow-triggerer",
        }

        status = stack_cli("status", "--dir", str(layout.root))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "NOT RUNNING" not in status.stdout

        api = Api(f"http://127.0.0.1:{port}", ADMIN_USER, "admin")  # the documented default login
        try:
            deadline = time.monotonic() + 120
            while not {d["dag_id"] for d in api.get("/dags", limit=100)["dags"]} >= EXAMPLE_DAGS:
                assert time.monotonic() < deadline, "the example DAGs were not parsed"
                time.sleep(1)
            pools = {pool["name"]: pool["slots"] for pool in api.get("/pools")["pools"]}
            assert pools["dativo_tenant_acme"] == pools["dativo_tenant_globex"] == 1
        finally:
            api.close()
        assert marked_processes(state["stack_id"])
    finally:
        stopped = stack_cli("stop", "--dir", str(layout.root))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert marked_processes(state["stack_id"]) == []
    assert all(port_is_free(p) for p in state["ports"].values())
    assert not (layout.postgres / "data" / "postmaster.pid").exists()
    assert not layout.state_file.exists()
    shutil.rmtree(layout.root, ignore_errors=True)
