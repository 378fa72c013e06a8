"""``iceberg_maintenance``: expire snapshots older than N days, keeping the last K (real Iceberg)."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_dativo.config.job import TargetSettings
from airflow_provider_dativo.engine.iceberg.catalog import open_catalog
from airflow_provider_dativo.engine.iceberg.maintenance import snapshots_to_expire
from tests.support.examples import ORDERS_JOB
from tests.support.workflow_files import run_cli, task, write_workflow

DAY = 86_400_000


def test_selection_keeps_the_newest_and_protected_snapshots() -> None:
    now = 100 * DAY
    snapshots = [(1, now - 30 * DAY), (2, now - 20 * DAY), (3, now - 10 * DAY), (4, now - 5 * DAY), (5, now)]
    assert snapshots_to_expire(snapshots, set(), now_ms=now, older_than_days=7, retain_last=1) == [1, 2, 3]
    assert snapshots_to_expire(snapshots, set(), now_ms=now, older_than_days=7, retain_last=3) == [1, 2]
    assert snapshots_to_expire(snapshots, {1}, now_ms=now, older_than_days=15, retain_last=1) == [2]
    assert snapshots_to_expire(snapshots, set(), now_ms=now, older_than_days=0, retain_last=5) == []


def test_expiry_after_three_loads(tmp_path: Path, dativo_home: Path) -> None:
    load = {"config": str(ORDERS_JOB)}
    path = write_workflow(
        tmp_path / "wf.yaml",
        "maint",
        [
            task("missing_table", "iceberg_maintenance", params={"table": "acme.nothing_here"}),
            task("load1", "dativo_ingest", params=load),
            task("load2", "dativo_ingest", "load1", params=load),
            task("load3", "dativo_ingest", "load2", params=load),
            task("keep_recent", "iceberg_maintenance", "load3", params={"config": str(ORDERS_JOB)}),
            task(
                "trim",
                "iceberg_maintenance",
                "keep_recent",
                params={"config": str(ORDERS_JOB), "older_than_days": 0, "retain_last": 2},
            ),
            task(
                "trim_table", "iceberg_maintenance", "trim", params={"table": "orders", "older_than_days": 0}
            ),
        ],
    )
    summary = run_cli(path, tmp_path)
    assert summary.exit_code == 0, summary.as_dict()
    out = {t: r.output for t, r in summary.results.items()}
    assert out["missing_table"]["snapshots_before"] == 0
    assert (out["keep_recent"]["snapshots_before"], out["keep_recent"]["snapshots_expired"]) == (3, 0)
    assert (out["trim"]["snapshots_expired"], out["trim"]["snapshots_after"]) == (1, 2)
    assert (out["trim_table"]["table"], out["trim_table"]["snapshots_after"]) == ("acme.orders", 1)
    table = open_catalog(TargetSettings(table="orders")).load_table(("acme", "orders"))
    assert [s.snapshot_id for s in table.metadata.snapshots] == [out["load3"]["snapshot_id"]]
    assert table.scan().to_arrow().num_rows == 150  # data is untouched: three loads of 50


def test_files_of_expired_snapshots_are_deleted(tmp_path: Path, dativo_home: Path) -> None:
    """Expiry leaves the data files of overwritten records on disk; the orphan clean-up that
    follows deletes exactly those, and the table still reads."""
    import pyarrow as pa

    from airflow_provider_dativo.workflows.builtins.maintenance import iceberg_maintenance
    from airflow_provider_dativo.workflows.context import WorkflowContext

    catalog = open_catalog(TargetSettings(table="orders"))
    catalog.create_namespace("acme")
    table = catalog.create_table("acme.orders", schema=pa.schema([pa.field("x", pa.int64())]))
    for value in (1, 2, 3):
        table.overwrite(pa.table({"x": pa.array([value], pa.int64())}))
    files_on_disk = sorted((dativo_home / "warehouse").rglob("*.parquet"))
    assert len(files_on_disk) == 3

    context = WorkflowContext(
        dag_id="m",
        workflow_name="m",
        tenant_id="acme",
        task_id="t",
        run_id="r",
        try_number=1,
        base_dir=tmp_path,
    )
    params = {"table": "orders", "older_than_days": 0, "retain_last": 1, "orphans_older_than_hours": 0}
    out = iceberg_maintenance(params, context)
    assert out["snapshots_after"] == 1
    # the two overwritten data files, plus the manifests and manifest lists of expired snapshots
    assert out["orphan_files_deleted"] >= 2
    current = catalog.load_table("acme.orders")
    live = [Path(task.file.file_path.removeprefix("file://")) for task in current.scan().plan_files()]
    assert sorted((dativo_home / "warehouse").rglob("*.parquet")) == live
    assert current.scan().to_arrow().column("x").to_pylist() == [3]

    kept = iceberg_maintenance({**params, "orphans_older_than_hours": 72}, context)
    assert (kept["orphan_files_deleted"], kept["snapshots_expired"]) == (0, 0)


def test_compaction_on_request(tmp_path: Path, dativo_home: Path) -> None:
    """``compact: true`` rewrites the three loads' files into one before the expiry; without it
    (the default) the workflow compacts nothing, as it did before compaction existed."""
    load = {"config": str(ORDERS_JOB)}
    path = write_workflow(
        tmp_path / "wf.yaml",
        "compact",
        [
            task("load1", "dativo_ingest", params=load),
            task("load2", "dativo_ingest", "load1", params=load),
            task("load3", "dativo_ingest", "load2", params=load),
            task("expire_only", "iceberg_maintenance", "load3", params=load),
            task(
                "compact",
                "iceberg_maintenance",
                "expire_only",
                params={
                    **load,
                    "compact": True,
                    "target_file_size_mb": 1,
                    "older_than_days": 0,
                    "retain_last": 1,
                },
            ),
        ],
    )
    summary = run_cli(path, tmp_path)
    assert summary.exit_code == 0, summary.as_dict()
    out = {t: r.output for t, r in summary.results.items()}
    assert "compacted_files_rewritten" not in out["expire_only"]
    assert (out["compact"]["compacted_files_rewritten"], out["compact"]["compacted_files_written"]) == (3, 1)
    assert out["compact"]["snapshots_after"] == 1
    table = open_catalog(TargetSettings(table="orders")).load_table(("acme", "orders"))
    assert sum(1 for _ in table.scan().plan_files()) == 1
    assert table.scan().to_arrow().num_rows == 150
