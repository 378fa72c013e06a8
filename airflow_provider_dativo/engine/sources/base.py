"""The contract every source connector meets, and the registry that picks one for a job.

Sources only read and shape data (one column per asset field, in asset order, either text or
already the field's type); validation and typing happen later in one place for all of them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pyarrow as pa

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.job import DECLARED_CONNECTORS, FILE_CONNECTORS
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.errors import ConnectorNotAvailable


@runtime_checkable
class Source(Protocol):
    """Reads a job's input."""

    def read(self) -> pa.Table:
        """All records, one column per asset field in asset order (text or the field's Arrow type)."""
        ...

    def describe(self) -> str:
        """A short human description for events and error messages, e.g. ``csv /data/*.csv``."""
        ...


def get_source(job: ResolvedJob, asset: Asset) -> Source:
    """The source connector of ``job``; declared-but-unimplemented connectors fail clearly."""
    connector = job.config.source_connector
    if connector in FILE_CONNECTORS:
        from airflow_provider_dativo.engine.sources.files import file_source

        return file_source(job, asset)
    if connector in DECLARED_CONNECTORS:
        raise ConnectorNotAvailable(f"connector {connector!r} is not available in this version")
    raise ConnectorNotAvailable(f"unknown connector {connector!r}")
