"""Where the repository, its example deployment and its Airflow runner file are."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_configs"
RUNNER_AIRFLOW = EXAMPLES / "runner_airflow.yaml"
