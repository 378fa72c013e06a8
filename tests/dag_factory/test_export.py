"""``dativo export``: static DAG files that serialize exactly like the factory's DAGs."""

from __future__ import annotations

from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

from airflow_provider_dativo.cli.main import main
from tests.support.examples import (
    EXAMPLES,
    INGEST_SCHEDULES,
    MAINTENANCE_DAGS,
    REPO,
    RUNNER_AIRFLOW,
    WORKFLOW_SCHEDULES,
)
from tests.support.serialized import comparable


def test_exported_files_serialize_identically_to_the_factory(tmp_path: Path) -> None:
    out = tmp_path / "exported"
    assert main(["export", str(RUNNER_AIRFLOW), "--out", str(out), "--app-root", str(EXAMPLES)]) == 0
    files = sorted(p.name for p in out.glob("*.py"))
    assert files == sorted(f"{n}.py" for n in INGEST_SCHEDULES | WORKFLOW_SCHEDULES | MAINTENANCE_DAGS)
    exported = DagBag(dag_folder=str(out), safe_mode=False)
    assert exported.import_errors == {}
    factory = DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)
    assert set(exported.dag_ids) == set(factory.dag_ids)
    for dag_id in factory.dag_ids:
        assert comparable(exported.dags[dag_id]) == comparable(factory.dags[dag_id]), dag_id


def test_exported_file_reads_no_yaml(tmp_path: Path) -> None:
    out = tmp_path / "exported"
    main(["export", str(RUNNER_AIRFLOW), "--out", str(out), "--app-root", str(EXAMPLES)])
    source = (out / "acme_orders_csv.py").read_text()
    assert "yaml" not in source.lower().replace(".yaml", "")
    assert "CronTriggerTimetable('30 6 * * 1-5', timezone='America/New_York')" in source
    compile(source, "acme_orders_csv.py", "exec")


def test_export_refuses_a_runner_with_problems(tmp_path: Path, capsys) -> None:
    from tests.support.deployment import make_deployment

    runner = make_deployment(
        tmp_path, schedules="- {name: a, config: ../jobs/acme/nope.yaml, cron: '0 * * * *'}\n"
    )
    assert main(["export", str(runner), "--out", str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().out
    assert not list((tmp_path / "out").glob("*.py")) if (tmp_path / "out").exists() else True
