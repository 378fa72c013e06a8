#!/usr/bin/env bash
# The native stack: Airflow without Docker, set up like docker-compose.yaml.
#   bash scripts/stack.sh start    # PostgreSQL + api-server, scheduler, dag-processor, triggerer
#   bash scripts/stack.sh status
#   bash scripts/stack.sh stop     # data stays in .airflow/stack/ (delete it to start afresh)
# Needs Debian's postgresql package (apt-get install -y postgresql). Settings: --port N or
# DATIVO_STACK_PORT (default 8080), DATIVO_RUNNER_CONFIG, DATIVO_APP_ROOT, DATIVO_STACK_DIR,
# AIRFLOW_ADMIN_PASSWORD (default admin). With the example configs, the Stripe and HubSpot
# schedules read loopback fakes of those APIs (--no-demo-apis: off). The Dativo view:
# http://127.0.0.1:8080/plugin/dativo. See README.md, "Airflow without Docker".
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "start" ]; then
  bash scripts/setup.sh
fi
exec .venv/bin/python -m tests.support.stack "$@"
