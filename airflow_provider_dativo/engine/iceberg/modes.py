"""The sink of each write mode: ``append`` and ``overwrite`` (:mod:`.sinks`), ``merge`` (:mod:`.merge`)."""

from __future__ import annotations

from typing import Any

from pyiceberg.table import Table

from airflow_provider_dativo.engine.errors import WriteError
from airflow_provider_dativo.engine.iceberg.merge import MergeSink
from airflow_provider_dativo.engine.iceberg.sinks import OverwriteSink, Sink


def sink_for(mode: str, table: Table, *, merge_keys: list[str], **settings: Any) -> Sink:
    """The sink of a job's ``target.mode`` (``settings``: those of :class:`.sinks.Sink`)."""
    if mode == "append":
        return Sink(table, **settings)
    if mode == "overwrite":
        return OverwriteSink(table, **settings)
    if mode == "merge":
        return MergeSink(table, merge_keys=merge_keys, **settings)
    raise WriteError(f"unknown write mode {mode!r}")
