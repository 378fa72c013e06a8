"""The private pyiceberg APIs the engine relies on, fenced in one module behind a version check.

pyiceberg has no public API for two things a streamed load needs: writing Arrow records as data
files of a table *without* committing them (``_dataframe_to_data_files``: the files are
committed later, all at once, or deleted), and the staged table of a create-table transaction
(``CreateTableTransaction._table``: where a first load writes before the commit creates the
table). Private names may change in any release, so they are used only here, and only with a
pyiceberg release in the tested range; any other release fails the run with a clear message
instead of misbehaving half-way through a commit.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable

import pyarrow as pa
import pyiceberg
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.io.pyarrow import _dataframe_to_data_files as _write_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import CreateTableTransaction, FileScanTask, StagedTable
from pyiceberg.table.metadata import TableMetadata

from airflow_provider_dativo.engine.errors import JobFailed


class UnsupportedPyiceberg(JobFailed):
    """The installed pyiceberg is outside the tested series: no retry can help."""

    error_type = "UnsupportedPyiceberg"
    retryable = False


TESTED_RELEASES = ((0, 12),)
"""``(major, minor)`` release series whose private APIs this module was tested with."""


def check_version(installed: str = pyiceberg.__version__) -> None:
    """Refuse a pyiceberg release outside the series these private calls were tested with."""
    found = re.match(r"(\d+)\.(\d+)", installed)
    series = (int(found.group(1)), int(found.group(2))) if found else None
    if series not in TESTED_RELEASES:
        tested = ", ".join(f"{major}.{minor}.x" for major, minor in TESTED_RELEASES)
        raise UnsupportedPyiceberg(
            f"pyiceberg {installed} is installed; this provider writes Iceberg through pyiceberg APIs "
            f"tested with pyiceberg {tested} only: install a pyiceberg of that series "
            "(the provider's constraints file pins one)"
        )


def write_data_files(
    metadata: TableMetadata, records: pa.Table, io: FileIO, write_uuid: uuid.UUID, counter: itertools.count
) -> list[DataFile]:
    """Write ``records`` (already in ``metadata``'s schema) as data files under the table's
    location, with field ids and column statistics, without committing them."""
    check_version()
    return list(
        _write_data_files(table_metadata=metadata, df=records, io=io, write_uuid=write_uuid, counter=counter)
    )


def staged_table(transaction: CreateTableTransaction) -> StagedTable:
    """The table a create-table transaction will create, as the catalog laid it out."""
    check_version()
    return transaction._table  # type: ignore[return-value]


def read_data_files(
    metadata: TableMetadata, io: FileIO, tasks: Iterable[FileScanTask], columns: list[str] | None = None
) -> pa.Table:
    """The records of ``tasks`` (data files with their delete files applied), projected by field
    id on ``metadata``'s current schema, or only on its ``columns``."""
    schema = metadata.schema()
    if columns is not None:
        schema = schema.select(*columns)
    return ArrowScan(metadata, io, schema, AlwaysTrue()).to_table(tasks)
