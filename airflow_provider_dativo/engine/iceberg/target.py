"""The job's target table and its catalog, opened once and only when a phase needs them.

Reading a committed cursor must not create anything, and a job that fails before writing must
not even open the catalog (an unreachable catalog would hide the real error), so the catalog is
opened lazily and shared by the phases that do need it.
"""

from __future__ import annotations

from functools import cached_property

from pyiceberg.catalog import Catalog
from pyiceberg.schema import Schema
from pyiceberg.table import Table

from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.iceberg.catalog import ensure_namespace, open_catalog
from airflow_provider_dativo.engine.iceberg.creation import stage_new_table
from airflow_provider_dativo.engine.iceberg.layout import (
    Layout,
    partition_spec,
    sort_order,
    with_identifier_fields,
)
from airflow_provider_dativo.engine.iceberg.tables import load_existing_table


class TargetTable:
    """Where one job writes: ``<namespace>.<table>`` in the job's catalog."""

    def __init__(self, job: ResolvedJob, dativo_home: str | None) -> None:
        self.job = job
        self.dativo_home = dativo_home
        self.namespace = job.namespace
        self.table_name = job.config.target.table
        self.catalog_name = job.config.target.catalog_name

    @property
    def table_id(self) -> str:
        return f"{self.namespace}.{self.table_name}"

    @cached_property
    def catalog(self) -> Catalog:
        return open_catalog(self.job.config.target, self.dativo_home)

    def existing_table(self) -> Table | None:
        """The table if it already exists; creates nothing."""
        return load_existing_table(self.catalog, self.namespace, self.table_name)

    def existing_or_staged(self, schema: Schema, layout: Layout | None = None) -> Table:
        """The table, or when missing a staged one (a :class:`~pyiceberg.table.StagedTable`)
        that only the commit of a load creates (see :mod:`.creation`), laid out as ``layout``
        declares; the namespace is created when missing."""
        ensure_namespace(self.catalog, self.namespace)
        existing = self.existing_table()
        if existing is not None:
            return existing
        if layout is None:
            return stage_new_table(self.catalog, self.table_id, schema)
        return stage_new_table(
            self.catalog,
            self.table_id,
            with_identifier_fields(schema, layout),
            partition_spec(layout, schema),
            sort_order(layout, schema),
        )
