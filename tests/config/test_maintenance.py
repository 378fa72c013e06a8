"""``target.maintenance`` of a job file: defaults, bounds, and file:line:field errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.config.maintenance import MaintenanceSettings
from tests.support.deployment import make_deployment


def job_with(tmp_path: Path, block: str) -> Path:
    make_deployment(tmp_path, schedules="- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n")
    job = tmp_path / "jobs" / "acme" / "orders.yaml"
    job.write_text(job.read_text().replace("  table: orders\n", "  table: orders\n  maintenance:\n" + block))
    return job


def test_defaults_need_only_a_cron(tmp_path: Path) -> None:
    settings = load_job(job_with(tmp_path, "    cron: '@daily'\n")).config.target.maintenance
    assert settings == MaintenanceSettings(cron="@daily")
    assert (settings.compact, settings.target_file_size_mb, settings.keep_last_snapshots) == (True, 128, 10)
    assert (settings.expire_snapshots_older_than_hours, settings.remove_orphans_older_than_hours) == (168, 72)


def test_null_turns_a_step_off(tmp_path: Path) -> None:
    block = (
        "    cron: '@daily'\n"
        "    remove_orphans_older_than_hours: null\n"
        "    expire_snapshots_older_than_hours: null\n"
    )
    settings = load_job(job_with(tmp_path, block)).config.target.maintenance
    assert (
        settings.remove_orphans_older_than_hours is None
        and settings.expire_snapshots_older_than_hours is None
    )


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("cron: '0 0 30 2 *'", "cron", "never fires"),
        ("cron: 'every day'", "cron", "not a valid cron expression"),
        ("target_file_size_mb: 0.5", "target_file_size_mb", "greater than or equal to 1"),
        ("target_file_size_mb: 1e400", "target_file_size_mb", "finite number"),
            ("target_file_size_mb: 5000", "target_file_size_mb", "less than or equal to 4096"),
        ("keep_last_snapshots: 0", "keep_last_snapshots", "greater than or equal to 1"),
        (
            "expire_snapshots_older_than_hours: -1",
            "expire_snapshots_older_than_hours",
            "greater than or equal to 0",
        ),
        ("remove_orphans_older_than_hours: 1e12", "remove_orphans_older_than_hours", "less than or equal to"),
        ("compact: maybe", "compact", "valid boolean"),
        ("compaction: true", "compaction", "unknown key"),
    ],
)
def test_bad_values_name_file_line_and_field(tmp_path: Path, line: str, field: str, message: str) -> None:
    block = "    cron: '@daily'\n" if not line.startswith("cron") else ""
    job = job_with(tmp_path, block + f"    {line}\n")
    with pytest.raises(DativoConfigError) as err:
        load_job(job)
    (problem,) = err.value.problems
    number = next(n for n, text in enumerate(job.read_text().splitlines(), 1) if text.strip() == line)
    assert str(problem).startswith(f"{job}:{number}: target.maintenance.{field}"), str(problem)
    assert message in str(problem)
