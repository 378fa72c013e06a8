"""The repository, its example deployment (example_configs/) and what that deployment holds."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_configs"
RUNNER_AIRFLOW = EXAMPLES / "runner_airflow.yaml"
ORDERS_JOB = EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"

INGEST_SCHEDULES = {
    "stripe_customers_hourly",
    "hubspot_contacts_daily",
    "maintenance_job",
    "acme_orders_csv",
    "globex_events_jsonl",
}
WORKFLOW_SCHEDULES = {"weekly_ops_chain", "acme_ingest_chain"}  # `dag:` schedules
MAINTENANCE_DAGS = {"acme_orders_csv__maintenance"}  # jobs with target.maintenance
