#!/usr/bin/env bash
# The whole default test run: install (Debian packages, .venv), lint, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system_packages.sh
bash scripts/setup.sh
.venv/bin/ruff check airflow_provider_dativo tests dags benchmarks scripts
.venv/bin/python -m pytest "$@"
