"""``dativo maintain``: a job's table compacted, expired and cleaned, one JSON line, exit 0/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airflow_provider_dativo.cli.main import main
from tests.support.cli import dativo
from tests.support.iceberg_checks import orphan_files
from tests.support.workspace import Workspace, order_rows


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "tmp", home=tmp_path / "dativo-home")


def _loaded(ws: Workspace, runs: int = 4, **maintenance) -> Path:
    """A job with ``target.maintenance`` whose table holds ``runs`` small appends."""
    settings = {"cron": "@daily", "target_file_size_mb": 1, **maintenance}
    job = ws.job(maintenance=settings)
    for i in range(runs):
        ws.csv("orders.csv", *order_rows(i * 2 + 1, i * 2 + 2))
        assert ws.run(job, run_id=f"r{i}").result.exit_code == 0
    return job.path


def _maintain(capsys, *args: str) -> tuple[int, dict]:
    code = main(["maintain", *args])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return code, json.loads(lines[0])


def test_all_three_steps_by_default(ws: Workspace, capsys) -> None:
    path = _loaded(
        ws, expire_snapshots_older_than_hours=0, keep_last_snapshots=1, remove_orphans_older_than_hours=0
    )
    code, summary = _maintain(capsys, "--config", str(path), "--dativo-home", str(ws.home))
    assert code == 0, summary
    assert summary["steps"] == ["compact", "expire_snapshots", "remove_orphans"]
    assert (summary["status"], summary["table"], summary["tenant_id"]) == ("success", "acme.orders", "acme")
    assert (summary["compacted_files_rewritten"], summary["snapshots_after"]) == (4, 1)
    assert summary["orphan_files_deleted"] > 0
    table = ws.table()
    assert [r["order_id"] for r in ws.rows()] == list(range(1, 9))
    assert sum(1 for _ in table.scan().plan_files()) == 1
    assert orphan_files(table) == []


def test_named_steps_only(ws: Workspace, capsys) -> None:
    path = _loaded(ws, runs=3)
    code, summary = _maintain(capsys, "--config", str(path), "--dativo-home", str(ws.home), "--compact")
    assert code == 0 and summary["steps"] == ["compact"]
    assert "snapshots_expired" not in summary and "orphan_files_deleted" not in summary
    assert len(ws.table().metadata.snapshots) == 4  # three loads and the compaction
    code, summary = _maintain(capsys, "--config", str(path), "--dativo-home", str(ws.home), "--compact")
    assert code == 0 and summary["compaction_snapshot_id"] is None  # nothing left to do


def test_a_job_outside_its_tenant_namespace_fails_with_exit_2(ws: Workspace, capsys) -> None:
    path = _loaded(ws, runs=1)
    doc = yaml.safe_load(path.read_text())
    doc["target"]["namespace"] = "globex"
    path.write_text(yaml.safe_dump(doc))
    code, summary = _maintain(capsys, "--config", str(path), "--dativo-home", str(ws.home))
    assert code == 2 and summary["status"] == "failed"
    assert "globex" in summary["error"] and str(path) in summary["problems"][0]


def test_a_bad_maintenance_block_names_file_line_and_field(ws: Workspace) -> None:
    path = _loaded(ws, runs=0)
    path.write_text(path.read_text().replace("target_file_size_mb: 1", "target_file_size_mb: 0.5"))
    result = dativo("maintain", "--config", str(path), "--dativo-home", str(ws.home))
    assert result.returncode == 2
    summary = json.loads(result.stdout)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "target_file_size_mb" in text)
    assert summary["problems"][0].startswith(f"{path}:{line}: target.maintenance.target_file_size_mb")
