"""A throw-away dativo workspace: jobs/, assets/, data/ and an embedded catalog, plus runs whose
events are captured. The ``ws`` fixture (tests/engine/conftest.py) hands one to each test."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ORDERS_FIELDS: list[dict[str, Any]] = [
    {"name": "order_id", "type": "long", "required": True},
    {"name": "email", "type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]+$"},
    {"name": "status", "type": "string", "enum": ["paid", "shipped"]},
    {"name": "amount", "type": "decimal(10,2)", "min": 0},
    {"name": "quantity", "type": "int", "min": 1, "max": 100},
    {"name": "score", "type": "double"},
    {"name": "gift", "type": "boolean"},
    {"name": "ship_date", "type": "date"},
    {"name": "ordered_at", "type": "timestamp"},
]
HEADER = ",".join(f["name"] for f in ORDERS_FIELDS)
ORDER_ROW = "{id},a{id}@example.com,paid,1.5,1,0.5,true,2024-01-03,2024-01-02T03:04:0{id}Z"


def order_rows(*ids: int) -> list[str]:
    """Valid CSV rows of the orders asset, one per id."""
    return [ORDER_ROW.format(id=i) for i in ids]


@dataclass
class Run:
    """What one ``run_job`` call returned and emitted."""

    result: Any
    events: list[dict[str, Any]]

    @property
    def event_types(self) -> list[str]:
        return [e["event_type"] for e in self.events]


def run_capturing_events(
    job, *, home: Path, run_id: str | None, job_name: str, secrets_loader: Any = None
) -> Run:
    """``run_job`` with the embedded catalog under ``home``, its events captured."""
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.run import run_job

    stream = io.StringIO()
    emitter = EventEmitter(job_name=job_name, tenant_id=job.tenant_id, run_id=run_id, stream=stream)
    result = run_job(
        job,
        job_name=job_name,
        run_id=run_id,
        emitter=emitter,
        dativo_home=str(home),
        secrets_loader=secrets_loader,
    )
    return Run(result, [json.loads(line) for line in stream.getvalue().splitlines()])


def embedded_catalog(home: Path):
    """The embedded sqlite catalog under ``home``, as the engine opens it by default."""
    from pyiceberg.catalog import load_catalog

    home.mkdir(parents=True, exist_ok=True)  # a run that failed early never created it
    return load_catalog(
        "dativo", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    )


@dataclass
class Workspace:
    root: Path
    home: Path

    def asset(self, fields: list[dict[str, Any]] | None = None, name: str = "orders") -> Path:
        path = self.root / "assets" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"name": name, "fields": fields or ORDERS_FIELDS}))
        return path

    def data(self, name: str, content: str | bytes) -> Path:
        path = self.root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def csv(self, name: str, *rows: str, header: str = HEADER) -> Path:
        return self.data(name, "\n".join([header, *rows]) + "\n")

    def job(
        self,
        *,
        connector: str = "csv",
        path: str = "../../data/orders.csv",
        validation: str = "strict",
        tenant_id: str | None = None,
        name: str = "job",
        source: dict[str, Any] | None = None,
        **target: Any,
    ):
        from airflow_provider_dativo.config.loader import load_job

        if not (self.root / "assets" / "orders.yaml").exists():
            self.asset()
        doc: dict[str, Any] = {
            "source_connector": connector,
            "source": {"path": path, **(source or {})} if connector in ("csv", "jsonl", "parquet") else {},
            "target": {"table": "orders", **target},
            "asset": "orders",
            "validation": {"mode": validation},
        }
        if tenant_id:
            doc["tenant_id"] = tenant_id
        job_path = self.root / "jobs" / "acme" / f"{name}.yaml"
        job_path.parent.mkdir(parents=True, exist_ok=True)
        job_path.write_text(yaml.safe_dump(doc))
        return load_job(job_path)

    def run(self, job, *, run_id: str | None = "run-1", job_name: str = "orders_job") -> Run:
        return run_capturing_events(job, home=self.home, run_id=run_id, job_name=job_name)

    def catalog(self):
        return embedded_catalog(self.home)

    def create_table(self, identifier: str = "acme.orders"):
        """The job's table, created empty from the asset (as an earlier run would have)."""
        from airflow_provider_dativo.config.loader import load_asset
        from airflow_provider_dativo.engine.iceberg.schema import iceberg_schema

        schema = iceberg_schema(load_asset(self.job(name="create_table")))
        catalog = self.catalog()
        catalog.create_namespace_if_not_exists(identifier.rsplit(".", 1)[0])
        return catalog.create_table(identifier, schema=schema)

    def table(self, identifier: str = "acme.orders"):
        return self.catalog().load_table(identifier)

    def rows(self, identifier: str = "acme.orders", key: str = "order_id") -> list[dict[str, Any]]:
        return sorted(self.table(identifier).scan().to_arrow().to_pylist(), key=lambda r: r[key])
