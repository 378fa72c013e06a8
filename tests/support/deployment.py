"""Builders of small deployments (runner, jobs, assets, data) inside a test's tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ORDERS_ASSET = """\
name: orders
fields:
  - {name: order_id, type: long, required: true}
  - {name: email, type: string, required: true, pattern: "^[^@]+@[^@]+$"}
  - {name: status, type: string, enum: [new, paid]}
  - {name: amount, type: double, min: 0}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_deployment(root: Path, *, schedules: str, job_extra: str = "", csv: str | None = None) -> Path:
    """A runner at root/configs/runner.yaml, job jobs/acme/orders.yaml, asset, CSV data."""
    write(root / "assets" / "orders.yaml", ORDERS_ASSET)
    write(
        root / "data" / "orders.csv",
        csv or "order_id,email,status,amount\n1,a@x.io,new,1.5\n2,b@x.io,paid,2.0\n",
    )
    base_job = """\
        source_connector: csv
        source:
          path: ../../data/orders.csv
        target:
          table: orders
        asset: orders
        """
    write(root / "jobs" / "acme" / "orders.yaml", textwrap.dedent(base_job) + textwrap.dedent(job_extra))
    runner = "runner:\n  orchestrator:\n    type: airflow\n    schedules:\n" + textwrap.indent(
        textwrap.dedent(schedules), "      "
    )
    return write(root / "configs" / "runner.yaml", runner)


def airflow_dags_test(
    runner: Path, dag_id: str, work: Path, dativo_home: Path
) -> subprocess.CompletedProcess:
    """``airflow dags test DAG_ID`` on a dags folder holding only a factory file for ``runner``.

    Runs in a subprocess because ``dag.test()`` only finds DAGs in the configured dags folder,
    and the session's is the repo's ``dags/``.
    """
    dags = work / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "factory_dags.py").write_text(
        "from airflow_provider_dativo.dag_factory import build_dags\n"
        f"globals().update(build_dags({str(runner)!r}))\n"
    )
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "DATIVO_HOME": str(dativo_home)}
    return subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id], capture_output=True, text=True, env=env
    )


def forbid_yaml(monkeypatch) -> None:
    """Make any parse of the runner file fail the test (a warm parse cache must not parse)."""
    from airflow_provider_dativo.plan import runner

    def fail(*args, **kwargs):
        raise AssertionError("the runner was parsed although the cache was valid")

    monkeypatch.setattr(runner, "load_runner", fail)
