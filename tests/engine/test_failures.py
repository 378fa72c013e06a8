"""Failures end with exit code 2, a job_error event and an error text that says what to fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.workspace import HEADER

GOOD = "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z"


def test_missing_file_names_the_path(ws) -> None:
    job = ws.job(path="../../data/nope.csv")
    run = ws.run(job)
    assert run.result.exit_code == 2
    assert str(job.source_path) in run.result.error
    assert run.result.error.startswith("SourceError: source file not found")
    assert run.event_types[-1] == "job_error"


def test_glob_without_match_names_the_pattern(ws) -> None:
    ws.csv("orders.csv", GOOD)
    job = ws.job(path="../../data/2099-*.csv")
    result = ws.run(job).result
    assert result.exit_code == 2
    assert "no files match" in result.error and str(job.source_path) in result.error


def test_csv_header_mismatch_names_file_and_columns(ws) -> None:
    header = HEADER.replace("order_id", "id")
    path = ws.csv("orders.csv", GOOD, header=header)
    result = ws.run(ws.job()).result
    assert result.exit_code == 2
    assert str(path) in result.error
    assert "missing required columns 'order_id'" in result.error
    assert "columns not in asset 'orders': 'id'" in result.error


def test_csv_extra_column_is_rejected(ws) -> None:
    ws.csv("orders.csv", GOOD + ",x", header=HEADER + ",note")
    result = ws.run(ws.job()).result
    assert result.exit_code == 2 and "'note'" in result.error


def test_missing_optional_csv_column_is_null(ws) -> None:
    header = HEADER.replace(",gift", "")
    ws.csv("orders.csv", GOOD.replace(",true,", ","), header=header)
    assert ws.run(ws.job()).result.exit_code == 0
    assert ws.rows()[0]["gift"] is None


@pytest.mark.parametrize(
    ("connector", "problem"),
    [
        ("stripe", "source.object: required field is missing"),
        ("hubspot", "source.object: required field is missing"),
        ("postgres", "source: set exactly one of table or query"),
    ],
)
def test_service_connector_settings_are_checked_when_the_job_loads(ws, connector: str, problem: str) -> None:
    from airflow_provider_dativo.config.errors import DativoConfigError

    with pytest.raises(DativoConfigError) as info:
        ws.job(connector=connector)
    assert problem in str(info.value) and "jobs/acme/job.yaml:" in str(info.value)


def test_unreachable_catalog_is_a_retryable_connection_error(ws, tmp_path) -> None:
    ws.csv("orders.csv", GOOD)
    bad_uri = f"sqlite:///{tmp_path}/no/such/dir/catalog.db"
    job = ws.job(
        catalog={"name": "remote", "type": "sql", "uri": bad_uri, "warehouse": f"file://{tmp_path}/w"}
    )
    run = ws.run(job)
    assert run.result.exit_code == 2
    assert run.result.error_type == "ConnectionError"
    assert "cannot be reached" in run.result.error and "'remote'" in run.result.error
    assert run.result.metrics["status"] == "failure"
    assert list(run.result.metrics)[:3] == ["job_name", "tenant_id", "status"]


def test_unexpected_exception_is_reported_not_raised(ws) -> None:
    ws.csv("orders.csv", GOOD)
    job = ws.job()
    job.asset_path.write_text("fields: [")  # broken YAML: raised by load_asset, inside run_job
    result = ws.run(job).result
    assert result.exit_code == 2
    assert result.error_type and result.error.startswith(f"{result.error_type}: ")


def test_explicit_catalog_is_used(ws, tmp_path) -> None:
    ws.csv("orders.csv", GOOD)
    uri = f"sqlite:///{tmp_path}/own.db"
    job = ws.job(catalog={"name": "own", "type": "sql", "uri": uri, "warehouse": f"file://{tmp_path}/own-wh"})
    assert ws.run(job).result.exit_code == 0
    from pyiceberg.catalog import load_catalog

    own = load_catalog("own", type="sql", uri=uri, warehouse=f"file://{tmp_path}/own-wh")
    assert own.load_table("acme.orders").scan().to_arrow().num_rows == 1
    assert not (ws.home / "catalog.db").exists()


def test_engine_package_import_is_light_and_airflow_free() -> None:
    code = (
        "import sys, airflow_provider_dativo.engine;"
        "heavy = [m for m in ('pyarrow', 'pyiceberg') if m in sys.modules];"
        "assert not heavy, heavy;"
        "import airflow_provider_dativo.engine.run;"
        "assert 'pyiceberg' in sys.modules;"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')];"
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
