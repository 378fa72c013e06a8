"""Builders of small deployments (runner, jobs, assets, data) inside a test's tmp_path."""

from __future__ import annotations

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
