"""A partial run under real Airflow (``airflow dags test``, real task runner, retry policy):
with exit code 1 retryable, tries that are not the last commit nothing, so a source repaired
during the back-off ends with every row once (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.deployment import airflow_dags_test, make_deployment
from tests.support.iceberg_checks import order_ids
from tests.support.workspace import embedded_catalog

pytestmark = pytest.mark.slow

RETRY = """\
validation:
  mode: warn
retry_config:
  max_retries: 2
  initial_delay_seconds: {delay}
  max_delay_seconds: {delay}
  retryable_exit_codes: [1]
"""
BROKEN = "order_id,email,status,amount\n1,a@x.io,new,1.5\n2,b@x.io,lost,2.0\n"
FIXED = "order_id,email,status,amount\n1,a@x.io,new,1.5\n2,b@x.io,paid,2.0\n"


def deploy(tmp_path: Path, delay: int) -> Path:
    return make_deployment(
        tmp_path / "deploy",
        schedules="- {name: partial, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n",
        job_extra=RETRY.format(delay=delay),
        csv=BROKEN,
    )


def test_a_source_repaired_during_the_back_off_loads_every_row_once(
    airflow_db, tmp_path, dativo_home
) -> None:
    runner = deploy(tmp_path, delay=5)
    data = tmp_path / "deploy" / "data" / "orders.csv"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "factory_dags.py").write_text(
        "from airflow_provider_dativo.dag_factory import build_dags\n"
        f"globals().update(build_dags({str(runner)!r}))\n"
    )
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "DATIVO_HOME": str(dativo_home)}
    child = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", "partial"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    repaired_at: list[float] = []

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if '"event_type": "commit_decision"' in line and not repaired_at:
                data.write_text(FIXED)  # the source is fixed while Airflow waits to retry
                repaired_at.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        child.wait(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join(timeout=30)
    output = "".join(lines)
    assert child.returncode == 0, output[-4000:]
    decisions = [line for line in lines if '"event_type": "commit_decision"' in line]
    assert len(decisions) == 1 and '"commit": false' in decisions[0]
    assert "try 1 of 3 is not the last" in decisions[0]
    assert output.count('"event_type": "job_started"') == 2
    policy = [line for line in lines if "Retry policy decision" in line]
    assert len(policy) == 1 and "action=retry" in policy[0]
    assert order_ids(dativo_home, "acme.orders") == [1, 2]
    assert order_ids(dativo_home, "acme.orders__rejected") == []
    assert len(embedded_catalog(dativo_home).load_table("acme.orders").metadata.snapshots) == 1


def test_a_run_that_stays_partial_commits_once_on_its_last_try(airflow_db, tmp_path, dativo_home) -> None:
    result = airflow_dags_test(deploy(tmp_path, delay=0), "partial", tmp_path, dativo_home)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]  # the last try's partial load is a success
    decisions = [line for line in output.splitlines() if '"event_type": "commit_decision"' in line]
    assert [('"commit": true' in d) for d in decisions] == [False, False, True]
    assert "try 3 of 3 is the last" in decisions[-1]
    assert order_ids(dativo_home, "acme.orders") == [1]
    assert order_ids(dativo_home, "acme.orders__rejected") == [2]
    assert len(embedded_catalog(dativo_home).load_table("acme.orders").metadata.snapshots) == 1
