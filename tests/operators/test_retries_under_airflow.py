"""The retry policy decides real Airflow task failures (``airflow dags test``, real task runner)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deployment import airflow_dags_test, make_deployment

pytestmark = pytest.mark.slow

RETRY = """\
retry_config:
  max_retries: 2
  initial_delay_seconds: 0
  max_delay_seconds: 0
  retryable_exit_codes: [2]
  retryable_error_patterns: ['{pattern}']
"""


def run_dag(tmp_path: Path, dativo_home: Path, pattern: str, *, asset: str = "orders") -> str:
    """A job whose source glob matches nothing (exit 2, SourceError), under `airflow dags test`."""
    runner = make_deployment(
        tmp_path / "deploy",
        schedules="- {name: flaky, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n",
        job_extra=RETRY.format(pattern=pattern),
    )
    job = tmp_path / "deploy" / "jobs" / "acme" / "orders.yaml"
    job.write_text(
        job.read_text()
        .replace("../../data/orders.csv", "../../data/missing-*.csv")
        .replace("asset: orders", f"asset: {asset}")
    )
    result = airflow_dags_test(runner, "flaky", tmp_path, dativo_home)
    assert result.returncode != 0
    return result.stdout + result.stderr


def decisions(output: str) -> list[str]:
    return [line for line in output.splitlines() if "Retry policy decision" in line]


def test_retryable_failure_is_tried_max_retries_plus_one_times(airflow_db, tmp_path, dativo_home) -> None:
    output = run_dag(tmp_path, dativo_home, "SourceError")
    assert output.count('"event_type": "job_error"') == 3
    made = decisions(output)
    assert len(made) == 3
    assert "action=retry" in made[0] and "retry 1 in 0s" in made[0]
    assert "action=retry" in made[1] and "retry 2 in 0s" in made[1]
    assert "action=fail" in made[2] and "all 2 retries are used" in made[2]


def test_error_matching_no_pattern_fails_after_one_try(airflow_db, tmp_path, dativo_home) -> None:
    output = run_dag(tmp_path, dativo_home, "API rate limit")
    assert output.count('"event_type": "job_error"') == 1
    (made,) = decisions(output)
    assert "action=fail" in made and "matches none of retryable_error_patterns" in made


def test_missing_asset_fails_at_once_although_exit_2_is_retryable(airflow_db, tmp_path, dativo_home) -> None:
    output = run_dag(tmp_path, dativo_home, ".*", asset="no_such_asset")
    assert output.count('"event_type": "job_error"') == 1
    assert "AirflowFailException" in output and "invalid dativo job configuration" in output
    assert "no_such_asset.yaml" in output and decisions(output) == []
