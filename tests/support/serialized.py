"""DAGs compared as Airflow stores them: serialized, without the file they were parsed from."""

from __future__ import annotations

from airflow.serialization.serialized_objects import DagSerialization


def comparable(dag) -> dict:
    """The serialized DAG without the file it was parsed from."""
    data = DagSerialization.to_dict(dag)
    for key in ("fileloc", "relative_fileloc"):
        data["dag"].pop(key, None)
    return data
