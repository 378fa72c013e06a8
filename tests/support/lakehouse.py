"""The deployment the Celery workers run: jobs writing to a shared lakehouse, data, secrets.

The lakehouse is an Iceberg SQL catalog in a PostgreSQL database and a warehouse in an S3
bucket (moto's server). Every job reaches it through its ``target.catalog`` block alone, and
the credentials come from secrets, never from the YAML: tenant files
(``secrets/<tenant>/lake.env``) for most tenants, an Airflow connection (``lake_s3``, created
by the tests through the REST API) for globex's S3 keys. The same files serve both workers.

Schedules (one tenant each, so that every fault test checks a table of its own), except acme,
whose two schedules share a pool:

- ``acme_orders``, ``acme_returns`` (tenant acme) and ``globex_orders``: the pool test;
- ``hooli_orders``: a worker is killed while it loads;
- ``soylent_orders``: object storage stops answering while it loads;
- ``umbrella_orders``: the catalog database restarts while it loads;
- ``wayne_orders``, ``stark_orders``: the scheduler restarts while they run.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tests.support.services import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY

BUCKET = "lakehouse"
CATALOG = "lake"
CATALOG_DATABASE = "iceberg"
S3_CONNECTION = "lake_s3"
STATUSES = ("pending", "paid", "shipped", "cancelled")

SCHEDULES = {
    # name: (tenant, rows, first order_id)
    "acme_orders": ("acme", 300_000, 1_000_000),
    "acme_returns": ("acme", 300_000, 2_000_000),
    "globex_orders": ("globex", 300_000, 3_000_000),
    "hooli_orders": ("hooli", 1_000_000, 4_000_000),
    "soylent_orders": ("soylent", 1_000_000, 6_000_000),
    "umbrella_orders": ("umbrella", 1_000_000, 8_000_000),
    "wayne_orders": ("wayne", 300_000, 10_000_000),
    "stark_orders": ("stark", 300_000, 11_000_000),
}

ASSET = """\
name: orders
fields:
  - {name: order_id, type: long, required: true}
  - {name: customer_email, type: string, required: true, pattern: "^[^@\\\\s]+@[^@\\\\s]+$"}
  - {name: status, type: string, required: true, enum: [pending, paid, shipped, cancelled]}
  - {name: amount, type: "decimal(10,2)", required: true, min: 0}
  - {name: ordered_at, type: timestamp, required: true}
"""

FILE_SECRETS = """\
CATALOG_PASSWORD={catalog_password}
S3_ACCESS_KEY_ID={access_key}
S3_SECRET_ACCESS_KEY={secret_key}
"""

CONNECTION_KEYS = """\
    s3.access-key-id: {secret: LAKE_S3_KEY_ID, conn_id: lake_s3, field: login}
    s3.secret-access-key: {secret: LAKE_S3_SECRET, conn_id: lake_s3, field: password}"""
FILE_KEYS = """\
    s3.access-key-id: ${secret:S3_ACCESS_KEY_ID}
    s3.secret-access-key: ${secret:S3_SECRET_ACCESS_KEY}"""

JOB = """\
tenant_id: {tenant}
source_connector: csv
source:
  path: ../../data/{tenant}/{name}.csv
target_connector: iceberg
target:
  table: {name}
  catalog:
    name: lake
    type: sql
    uri: postgresql+psycopg2://{user}:${{secret:CATALOG_PASSWORD}}@127.0.0.1:{catalog_port}/iceberg
    warehouse: s3://lakehouse/warehouse
    s3.endpoint: {s3_endpoint}
    s3.region: {region}
    s3.connect-timeout: 5
    s3.request-timeout: 5
{keys}
asset: orders
logging:
  redaction: true
retry_config:
  max_retries: 3
  initial_delay_seconds: 2
  backoff_multiplier: 1.5
  max_delay_seconds: 4
  retryable_exit_codes: [2]
"""


@dataclass
class Lakehouse:
    """Where the jobs write: the catalog's PostgreSQL and the S3 endpoint."""

    catalog_port: int
    catalog_user: str
    catalog_password: str
    s3_endpoint: str

    def catalog_properties(self) -> dict[str, str]:
        """What the jobs' catalog blocks resolve to, for reading the tables back in the tests."""
        return {
            "type": "sql",
            "uri": f"postgresql+psycopg2://{self.catalog_user}:{self.catalog_password}"
            f"@127.0.0.1:{self.catalog_port}/{CATALOG_DATABASE}",
            "warehouse": f"s3://{BUCKET}/warehouse",
            "s3.endpoint": self.s3_endpoint,
            "s3.region": S3_REGION,
            "s3.access-key-id": S3_ACCESS_KEY,
            "s3.secret-access-key": S3_SECRET_KEY,
        }


def orders(first_id: int, count: int) -> pa.Table:
    """The records of a generated file, typed as the asset types them (zoned timestamps, decimals)."""
    ids = pa.array(range(first_id, first_id + count), pa.int64())
    index = pc.subtract(ids, first_id)
    start = pa.scalar(1_793_577_600_000_000, pa.int64())  # 2026-11-02T00:00:00Z in microseconds
    return pa.table(
        {
            "order_id": ids,
            "customer_email": pc.binary_join_element_wise(
                "customer", pc.cast(index, pa.string()), "@example.com", ""
            ),
            "status": pc.take(pa.array(STATUSES), pc.bit_wise_and(index, 3)),
            "amount": pc.cast(_cents_text(pc.bit_wise_and(index, 0xFFFFF)), pa.decimal128(10, 2)),
            "ordered_at": pc.cast(pc.add(start, pc.multiply(index, 1_000_000)), pa.timestamp("us", tz="UTC")),
        }
    )


def _cents_text(cents: pa.Array) -> pa.Array:
    """``1234`` -> ``"12.34"``: amounts with cents, exactly (no float on the way)."""
    units = pc.cast(pc.divide(cents, 100), pa.string())
    rest = pc.utf8_lpad(
        pc.cast(pc.subtract(cents, pc.multiply(pc.divide(cents, 100), 100)), pa.string()), 2, "0"
    )
    return pc.binary_join_element_wise(units, rest, ".")


def write_csv(path: Path, table: pa.Table) -> None:
    """The table as the upstream system would deliver it: ISO-8601 timestamps with ``Z``."""
    text = table.set_column(4, "ordered_at", pc.strftime(table["ordered_at"], format="%Y-%m-%dT%H:%M:%SZ"))
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(text, path, pacsv.WriteOptions(quoting_style="none"))


class Deployment:
    """The folder both workers read (runner, jobs, asset, data, secrets), as a config checkout."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = root / "runner.yaml"

    def expected(self, schedule: str) -> pa.Table:
        _, rows, first = SCHEDULES[schedule]
        return orders(first, rows)


def make_deployment(root: Path, lakehouse: Lakehouse) -> Deployment:
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "orders.yaml").write_text(ASSET)
    schedules = []
    for name, (tenant, rows, first) in SCHEDULES.items():
        write_csv(root / "data" / tenant / f"{name}.csv", orders(first, rows))
        keys = CONNECTION_KEYS if tenant == "globex" else FILE_KEYS
        job = JOB.format(
            tenant=tenant,
            name=name,
            user=lakehouse.catalog_user,
            catalog_port=lakehouse.catalog_port,
            s3_endpoint=lakehouse.s3_endpoint,
            region=S3_REGION,
            keys=textwrap.indent(textwrap.dedent(keys), "    "),
        )
        path = root / "jobs" / tenant / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(job)
        secrets = root / "secrets" / tenant
        secrets.mkdir(parents=True, exist_ok=True)
        (secrets / "lake.env").write_text(
            FILE_SECRETS.format(
                catalog_password=lakehouse.catalog_password,
                access_key=S3_ACCESS_KEY,
                secret_key=S3_SECRET_KEY,
            )
        )
        schedules.append(
            f"      - name: {name}\n        config: jobs/{tenant}/{name}.yaml\n        cron: 0 0 1 1 *\n"
        )
    (root / "runner.yaml").write_text(
        "# tests/e2e/celery: every schedule fires once a year; the tests trigger the runs\n"
        "runner:\n  mode: orchestrated\n  orchestrator:\n    type: airflow\n    concurrency_per_tenant: 1\n"
        "    schedules:\n" + "".join(schedules)
    )
    return Deployment(root)
