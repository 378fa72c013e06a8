#!/usr/bin/env bash
# The demo: install, migrate a local sqlite Airflow, create the tenant pools, run the
# offline schedule `acme_orders_csv` with `airflow dags test`, and print the rows it wrote
# to the Iceberg table acme.orders in the embedded catalog (.dativo/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
DAG_ID="${1:-acme_orders_csv}"
mkdir -p "$AIRFLOW_HOME"
airflow db migrate > "$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
dativo validate "$DATIVO_RUNNER_CONFIG"
airflow dativo sync-pools "$DATIVO_RUNNER_CONFIG"
airflow dags test "$DAG_ID"
python scripts/show_table.py "$DATIVO_RUNNER_CONFIG" "$DAG_ID"
