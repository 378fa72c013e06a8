"""The drop-in ``dags/`` folder under Airflow's real DagBag and serializer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.serialized_dag import SerializedDagModel
from airflow.serialization.serialized_objects import DagSerialization

from tests.support.examples import INGEST_SCHEDULES, MAINTENANCE_DAGS, REPO, WORKFLOW_SCHEDULES


def fill_dagbag() -> DagBag:
    return DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)


def test_dagbag_has_every_schedule_and_no_import_errors() -> None:
    bag = fill_dagbag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == INGEST_SCHEDULES | WORKFLOW_SCHEDULES | MAINTENANCE_DAGS
    for dag in bag.dags.values():
        assert dag.fileloc == str(REPO / "dags" / "dativo_dags.py")


def test_every_dag_serializes_and_its_hash_is_stable_across_parses() -> None:
    first = {
        d.dag_id: SerializedDagModel.hash(DagSerialization.to_dict(d)) for d in fill_dagbag().dags.values()
    }
    second = {
        d.dag_id: SerializedDagModel.hash(DagSerialization.to_dict(d)) for d in fill_dagbag().dags.values()
    }
    assert first == second and len(first) == len(INGEST_SCHEDULES | WORKFLOW_SCHEDULES | MAINTENANCE_DAGS)
    for dag in fill_dagbag().dags.values():
        data = DagSerialization.to_dict(dag)
        json.dumps(data)  # JSON-able, as the metadata DB stores it
        restored = DagSerialization.from_dict(data)
        for task in dag.tasks:  # one "ingest" task, or one per workflow task
            assert restored.task_dict[task.task_id].pool.startswith("dativo_tenant_")
            assert restored.task_dict[task.task_id].has_retry_policy == bool(task.retry_policy)


def test_parsing_touches_no_heavy_module_network_or_database() -> None:
    """Parse the dags folder in a fresh interpreter and list what got imported or opened."""
    code = (
        "import sys, socket\n"
        "def no_net(*a, **k): raise RuntimeError('network access at parse time')\n"
        "socket.socket.connect = no_net\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r}, safe_mode=False)\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "heavy = sorted(m for m in ('pyiceberg', 'pyarrow') if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "none"


@pytest.mark.parametrize("bad_tz", ["Mars/Olympus"])
def test_unknown_timezone_never_reaches_the_serializer(tmp_path, bad_tz: str) -> None:
    """Airflow would only fail at serialization; the factory turns it into a placeholder DAG."""
    from airflow_provider_dativo.dag_factory import build_dags
    from tests.support.deployment import make_deployment

    runner = make_deployment(
        tmp_path,
        schedules=f"- {{name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *', timezone: {bad_tz}}}\n",
    )
    (dag,) = build_dags(runner).values()
    assert "dativo:config-error" in dag.tags
    DagSerialization.to_dict(dag)  # must not raise
