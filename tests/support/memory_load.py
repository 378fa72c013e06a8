"""Generate large customers inputs (vectorised, in chunks) and load them in a child process whose
peak RSS is measured; used by the memory tests (``slow``).

``python -m tests.support.memory_load generate <dir> <rows>`` writes a CSV workspace;
``python -m tests.support.memory_load run <dir> [job]`` runs a job and prints its metrics as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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
REPO = Path(__file__).resolve().parents[2]


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


def jsonl_lines(chunk: pa.Table) -> pa.Array:
    """One JSON object per row of a :func:`customers_chunk` (id and balance as JSON numbers)."""
    parts = ['{"id":', chunk["id"], ',"email":"', chunk["email"], '","name":"', chunk["name"]]
    parts += ['","country":"', chunk["country"], '","created_at":"', chunk["created_at"]]
    parts += ['","balance":', chunk["balance"], "}\n"]
    return pc.binary_join_element_wise(*parts, "")


def write_job(root: Path, name: str, data: str, *, connector: str = "csv", **target: object) -> Path:
    """``jobs/acme/<name>.yaml`` loading ``data/<data>`` into ``acme.customers``."""
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "jobs" / "acme").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "customers.yaml").write_text(
        yaml.safe_dump({"name": "customers", "fields": CUSTOMERS_FIELDS})
    )
    job = {
        "source_connector": connector,
        "source": {"path": f"../../data/{data}"},
        "target": {"table": "customers", **target},
        "asset": "customers",
        "validation": {"mode": "strict"},
    }
    path = root / "jobs" / "acme" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


def write_data(root: Path, name: str, rows: int, *, start: int = 0) -> Path:
    """``data/<name>``: customers ``start`` to ``start + rows - 1``, as CSV or JSON Lines."""
    path = root / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = (
        customers_chunk(offset, min(CHUNK_ROWS, start + rows - offset))
        for offset in range(start, start + rows, CHUNK_ROWS)
    )
    if name.endswith(".jsonl"):
        with open(path, "wb") as stream:
            for chunk in chunks:
                for piece in jsonl_lines(chunk).to_pylist():
                    stream.write(piece.encode())
        return path
    with pacsv.CSVWriter(path, customers_chunk(0, 1).schema) as writer:
        for chunk in chunks:
            writer.write_table(chunk)
    return path


def generate(root: Path, rows: int) -> None:
    """The CSV workspace of the 5,000,000-row load test: job ``customers``."""
    write_job(root, "customers", "customers.csv")
    write_data(root, "customers.csv", rows)


def run(root: Path, job_name: str = "customers") -> dict:
    from airflow_provider_dativo.config.loader import load_job
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.run import run_job

    job = load_job(root / "jobs" / "acme" / f"{job_name}.yaml")
    run_id = f"mem-{job_name}"
    with open(root / f"events-{job_name}.jsonl", "w") as stream:
        emitter = EventEmitter(job_name=job_name, tenant_id=job.tenant_id, run_id=run_id, stream=stream)
        result = run_job(
            job, job_name=job_name, run_id=run_id, emitter=emitter, dativo_home=str(root / "home")
        )
    return {"exit_code": result.exit_code, "error": result.error, **result.metrics}


def measured_run(root: Path, job_name: str) -> tuple[dict, int, float]:
    """Run ``job_name`` in a child process: its metrics, its own peak RSS in bytes (``wait4``,
    so no other child counts) and the seconds it took."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.memory_load", "run", str(root), job_name],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    out = child.stdout.read()
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    assert child.returncode == 0, err[-3000:]
    return json.loads(out), usage.ru_maxrss * 1024, elapsed  # kilobytes on Linux


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    if command == "generate":
        generate(directory, int(sys.argv[3]))
    else:
        print(json.dumps(run(directory, *sys.argv[3:]), default=str))
