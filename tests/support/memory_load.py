"""Generate a large customers CSV (vectorised, in chunks) and load it; used by the memory test.

``python -m tests.support.memory_load generate <dir> <rows>`` writes the workspace;
``python -m tests.support.memory_load run <dir>`` runs the job and prints its metrics as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

CUSTOMERS_FIELDS = [
    {"name": "id", "type": "long", "required": True},
    {"name": "email", "type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]+$"},
    {"name": "name", "type": "string"},
    {"name": "country", "type": "string", "enum": ["DE", "FR", "US", "GB", "NL"]},
    {"name": "created_at", "type": "timestamp"},
    {"name": "balance", "type": "decimal(12,2)", "min": 0},
]
CHUNK_ROWS = 250_000


def customers_chunk(start: int, rows: int) -> pa.Table:
    ids = pa.array(range(start, start + rows), pa.int64())
    text = pc.cast(ids, pa.string())
    countries = pa.array(["DE", "FR", "US", "GB", "NL"])
    seconds = pc.multiply(pc.cast(pc.remainder(ids, 86_400 * 365), pa.int64()), 1_000_000)
    created = pc.cast(pc.add(seconds, 1_704_067_200_000_000), pa.timestamp("us", tz="UTC"))
    balance = pc.divide(pc.cast(pc.remainder(pc.multiply(ids, 7919), 1_000_000), pa.float64()), 100.0)
    return pa.table(
        {
            "id": text,
            "email": pc.binary_join_element_wise("customer", text, "@example.com", ""),
            "name": pc.binary_join_element_wise("Customer Name ", text, ""),
            "country": pc.take(countries, pc.remainder(ids, 5)),
            "created_at": pc.strftime(created, format="%Y-%m-%dT%H:%M:%SZ"),
            "balance": pc.cast(balance, pa.string()),
        }
    )


def generate(root: Path, rows: int) -> None:
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "jobs" / "acme").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "customers.yaml").write_text(
        yaml.safe_dump({"name": "customers", "fields": CUSTOMERS_FIELDS})
    )
    job = {
        "source_connector": "csv",
        "source": {"path": "../../data/customers.csv"},
        "target": {"table": "customers"},
        "asset": "customers",
        "validation": {"mode": "strict"},
    }
    (root / "jobs" / "acme" / "customers.yaml").write_text(yaml.safe_dump(job))
    schema = customers_chunk(0, 1).schema
    with pacsv.CSVWriter(root / "data" / "customers.csv", schema) as writer:
        for start in range(0, rows, CHUNK_ROWS):
            writer.write_table(customers_chunk(start, min(CHUNK_ROWS, rows - start)))


def run(root: Path) -> dict:
    from airflow_provider_dativo.config.loader import load_job
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.run import run_job

    job = load_job(root / "jobs" / "acme" / "customers.yaml")
    with open(root / "events.jsonl", "w") as stream:
        emitter = EventEmitter(job_name="customers", tenant_id=job.tenant_id, run_id="mem-1", stream=stream)
        result = run_job(
            job, job_name="customers", run_id="mem-1", emitter=emitter, dativo_home=str(root / "home")
        )
    return {"exit_code": result.exit_code, "error": result.error, **result.metrics}


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    if command == "generate":
        generate(directory, int(sys.argv[3]))
    else:
        print(json.dumps(run(directory), default=str))
