"""Loading job and asset files, and a table of bad job files that must each get a precise message."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import load_asset, load_job
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.deployment import make_deployment, write
from tests.support.examples import EXAMPLES, RUNNER_AIRFLOW


def test_every_example_asset_is_valid() -> None:
    plan = load_runner(RUNNER_AIRFLOW, app_root=str(EXAMPLES))
    names = {load_asset(spec.job).name for spec in plan.specs}
    assert names == {"stripe_customers", "hubspot_contacts", "orders", "events"}


BAD_JOBS = [
    pytest.param(
        "retry_config:\n  initial_delay_seconds: -1\n",
        "retry_config.initial_delay_seconds",
        "greater than or equal to 0",
        id="negative-delay",
    ),
    pytest.param(
        "retry_config:\n  retryable_error_patterns: ['API (rate']\n",
        "retry_config.retryable_error_patterns",
        "not a valid regular expression",
        id="bad-regex",
    ),
    pytest.param(
        "retry_config:\n  max_delay_seconds: 1\n  initial_delay_seconds: 5\n",
        "retry_config",
        "below initial_delay_seconds",
        id="max-below-initial",
    ),
    pytest.param(
        "retry_config:\n  retryable_exit_codes: [3]\n",
        "retry_config.retryable_exit_codes",
        "never produced",
        id="unknown-exit-code",
    ),
    pytest.param("extra_key: 1\n", "extra_key", "unknown key 'extra_key'", id="unknown-job-key"),
    pytest.param(
        "validation:\n  mode: lenient\n", "validation.mode", "'strict' or 'warn'", id="bad-validation-mode"
    ),
]


@pytest.mark.parametrize(("job_extra", "field", "words"), BAD_JOBS)
def test_bad_job_file_is_reported_with_file_line_and_field(
    tmp_path: Path, job_extra: str, field: str, words: str
) -> None:
    runner = make_deployment(
        tmp_path,
        schedules="- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n",
        job_extra=job_extra,
    )
    plan = load_runner(runner)
    problems = plan.failures[0].problems
    assert "is invalid" in problems[0].message and problems[0].file == str(runner)
    job_problem = problems[1]
    assert job_problem.file == str(tmp_path / "jobs" / "acme" / "orders.yaml")
    assert job_problem.field == field
    assert words in job_problem.message
    assert job_problem.line is not None and job_problem.line >= 7  # after the 6 lines of the base job


def test_job_without_tenant_outside_jobs_folder_is_an_error(tmp_path: Path) -> None:
    job = write(
        tmp_path / "elsewhere" / "job.yaml",
        "source_connector: csv\nsource: {path: x.csv}\ntarget: {table: t}\nasset: a.yaml\n",
    )
    with pytest.raises(DativoConfigError) as err:
        load_job(job)
    assert "tenant_id: is missing and cannot be inferred" in str(err.value)


def test_file_connector_needs_a_path(tmp_path: Path) -> None:
    job = write(
        tmp_path / "jobs" / "acme" / "job.yaml", "source_connector: csv\ntarget: {table: t}\nasset: a\n"
    )
    with pytest.raises(DativoConfigError) as err:
        load_job(job)
    (problem,) = err.value.problems
    assert problem.field == "source.path" and problem.message == "required field is missing"


def test_unknown_connector_lists_the_known_ones(tmp_path: Path) -> None:
    job = write(
        tmp_path / "jobs" / "acme" / "j.yaml", "source_connector: ftp\ntarget: {table: t}\nasset: a\n"
    )
    with pytest.raises(DativoConfigError) as err:
        load_job(job)
    assert "unknown connector 'ftp'; known connectors: csv, jsonl, parquet" in str(err.value)
    assert err.value.problems[0].line == 1


def test_asset_pattern_must_be_re2_syntax(tmp_path: Path) -> None:
    runner = make_deployment(
        tmp_path, schedules="- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
    )
    asset = tmp_path / "assets" / "orders.yaml"
    asset.write_text(asset.read_text().replace('pattern: "^[^@]+@[^@]+$"', 'pattern: "^(?!admin)[^@]+@.+$"'))
    (spec,) = load_runner(runner).specs
    with pytest.raises(DativoConfigError) as err:
        load_asset(spec.job)
    (problem,) = err.value.problems
    assert problem.field == "fields[1].pattern" and problem.line == 4
    assert "'(?!'" in problem.message and "RE2" in problem.message


def test_relative_job_path_still_finds_tenant_and_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES / "jobs" / "acme")
    job = load_job("orders_csv_to_iceberg.yaml")
    assert job.tenant_id == "acme" and job.asset_path == EXAMPLES / "assets" / "orders.yaml"
    assert load_asset(job).name == "orders"


def test_inferred_tenant_must_be_a_valid_id(tmp_path: Path) -> None:
    job = write(
        tmp_path / "jobs" / "acme corp" / "j.yaml",
        "source_connector: csv\nsource: {path: x.csv}\ntarget: {table: t}\nasset: a\n",
    )
    with pytest.raises(DativoConfigError, match="inferred from the folder 'acme corp'"):
        load_job(job)
