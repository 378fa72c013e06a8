"""Table maintenance (engine/iceberg/maintenance.py): compaction, expiry and orphan removal in
one call on real tables, and an expiry that never loses an incremental job's cursor."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.config.maintenance import MaintenanceSettings
from airflow_provider_dativo.engine.iceberg.maintenance import (
    MaintenanceSteps,
    maintain_table,
    state_snapshots,
)
from airflow_provider_dativo.engine.iceberg.state import committed_cursor
from tests.support.iceberg_checks import orphan_files
from tests.support.maintenance import data_file_count, event_rows, events_table, rows_digest, sql_catalog

EVERYTHING_NOW = MaintenanceSteps(
    compact_target_file_size_mb=1,
    expire_older_than_hours=0,
    keep_last_snapshots=1,
    remove_orphans_older_than_hours=0,
)


@pytest.fixture
def catalog(tmp_path: Path):
    return sql_catalog(tmp_path / "home")


def test_all_steps_leave_the_rows_and_only_the_live_files(catalog, tmp_path: Path) -> None:
    table = events_table(catalog)
    for i in range(8):
        table.append(event_rows(i * 25, 25))
    before = rows_digest(table.scan().to_arrow())

    result = maintain_table(catalog, "acme", "events", EVERYTHING_NOW)

    table = catalog.load_table("acme.events")
    assert rows_digest(table.scan().to_arrow()) == before
    assert (result["compacted_files_rewritten"], data_file_count(table)) == (8, 1)
    assert (result["snapshots_before"], result["snapshots_after"]) == (8, 1)
    assert result["orphan_files_deleted"] >= 8  # the small files, their manifests and lists
    assert orphan_files(table) == []
    on_disk = sorted((tmp_path / "home" / "warehouse").rglob("*.parquet"))
    assert len(on_disk) == 1


def test_expiry_keeps_the_walk_to_the_committed_cursor(catalog) -> None:
    table = events_table(catalog)
    table.append(event_rows(0, 10), snapshot_properties={"dativo.cursor.event_id": "9"})
    for i in range(1, 5):  # later commits that carry no cursor (full reloads of other data, fixes)
        table.append(event_rows(i * 10, 10))
    assert len(state_snapshots(table)) == 5

    steps = MaintenanceSteps(
        expire_older_than_hours=0, keep_last_snapshots=1, remove_orphans_older_than_hours=None
    )
    result = maintain_table(catalog, "acme", "events", steps)

    table = catalog.load_table("acme.events")
    assert result["snapshots_expired"] == 0
    assert committed_cursor(table, "event_id").value == 9
    table.append(event_rows(50, 10), snapshot_properties={"dativo.cursor.event_id": "59"})
    result = maintain_table(catalog, "acme", "events", steps)
    assert result["snapshots_expired"] == 5  # the cursor moved on: the older ones can go
    assert committed_cursor(catalog.load_table("acme.events"), "event_id").value == 59


def test_a_missing_table_has_nothing_to_maintain(catalog) -> None:
    assert maintain_table(catalog, "acme", "nothing", EVERYTHING_NOW)["table_exists"] is False


def test_steps_for_a_job_follow_its_settings_and_the_chosen_steps() -> None:
    settings = MaintenanceSettings(cron="@daily", compact=False, keep_last_snapshots=3)
    steps = MaintenanceSteps.for_job(settings)
    assert steps.names() == ["expire_snapshots", "remove_orphans"]  # compact: false wins
    assert steps.keep_last_snapshots == 3
    assert MaintenanceSteps.for_job(None, expire=False, remove_orphans=False).names() == ["compact"]
    never = MaintenanceSettings(cron="@daily", remove_orphans_older_than_hours=None)
    assert MaintenanceSteps.for_job(never).names() == ["compact", "expire_snapshots"]
