# Environment of the local demo and tests: everything under the repo, nothing global.
# Source it: `. scripts/env.sh`.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export DATIVO_RUNNER_CONFIG="${DATIVO_RUNNER_CONFIG:-$REPO/example_configs/runner_airflow.yaml}"
export DATIVO_APP_ROOT="${DATIVO_APP_ROOT:-$REPO/example_configs}"
export DATIVO_HOME="${DATIVO_HOME:-$REPO/.dativo}"
export PATH="$REPO/.venv/bin:$PATH"
