"""run_job defaults: where the embedded catalog lives and where events go without an emitter."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_dativo.config.job import TargetSettings
from airflow_provider_dativo.engine.errors import CatalogUnavailable
from airflow_provider_dativo.engine.iceberg.catalog import catalog_settings, open_catalog
from airflow_provider_dativo.engine.run import run_job

GOOD = "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z"


def test_defaults_use_dativo_home_env_and_log_events(
    ws, tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "env-home"
    monkeypatch.setenv("DATIVO_HOME", str(home))
    ws.csv("orders.csv", GOOD)
    with caplog.at_level(logging.INFO, logger="dativo.events"):
        result = run_job(ws.job(), job_name="orders_job", run_id="r-env")
    assert result.exit_code == 0, result.error
    assert (home / "catalog.db").is_file()
    assert any((home / "warehouse").rglob("*.parquet"))
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "dativo.events"]
    assert [e["event_type"] for e in events][-2:] == ["metrics_complete", "job_finished"]
    assert {e["run_id"] for e in events} == {"r-env"}


def test_default_home_is_dot_dativo_in_cwd(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATIVO_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = catalog_settings(TargetSettings(table="t"), None)
    assert settings == {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path}/.dativo/catalog.db",
        "warehouse": f"file://{tmp_path}/.dativo/warehouse",
    }
    assert (tmp_path / ".dativo" / "warehouse").is_dir()


def test_unreachable_catalog_message_hides_credentials() -> None:
    target = TargetSettings.model_validate(
        {
            "table": "t",
            "catalog": {"name": "pg", "type": "sql", "uri": "postgresql://u:s3cret@127.0.0.1:1/db"},
        }
    )
    with pytest.raises(CatalogUnavailable) as info:
        open_catalog(target)
    assert "cannot be reached" in str(info.value)
    assert "s3cret" not in str(info.value)
