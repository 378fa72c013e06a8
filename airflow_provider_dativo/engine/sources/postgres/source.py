"""The ``postgres`` connector: a table or a query, read in Arrow record batches.

Driver: ADBC's PostgreSQL driver (``adbc-driver-postgresql``, an Apache Arrow project). It
streams the result of ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` straight into Arrow
record batches of about ``batch_bytes`` each, so memory stays bounded whatever the table's
size, without a Python object per value (how it compares with psycopg 3: docs/performance.md).

The session is read-only (``default_transaction_read_only``) and in UTC, so a timestamp
without time zone is read, compared and stored as UTC. A table read selects only the asset's
columns (other columns are never read); a query must return only asset columns. An asset
column the relation lacks is null when optional and an error when required.

Incremental loads ask the database only for rows whose cursor column is at or beyond the
committed cursor (``WHERE cursor >= <literal>``, see :mod:`.sql`); the engine skips the rows
the last commit recorded at that value, and commits the cursor with the data, so new, late and
updated rows (an ``updated_at`` cursor) are loaded once.

Errors quote PostgreSQL's message and SQLSTATE, with every credential of the connection
scrubbed, and end the run with exit code 2; a server that cannot be reached is a
``ConnectionError`` (retry rules can match it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from airflow_provider_dativo.config.service_sources import PostgresSourceSettings
from airflow_provider_dativo.engine.errors import ConfigError, SourceError
from airflow_provider_dativo.engine.sources.batched import RecordBatchSource
from airflow_provider_dativo.engine.sources.postgres.columns import conform_column
from airflow_provider_dativo.engine.sources.postgres.sql import (
    connection_uri,
    probe_sql,
    select_sql,
)

BATCH_HINT_OPTION = "adbc.postgresql.batch_size_hint_bytes"
_STATUS_PREFIX = re.compile(r"^[A-Z_]+: (\[libpq\] )?")


class PostgresSource(RecordBatchSource):
    """Reads one table or query (see the module docstring)."""

    connector = "postgres"
    settings: PostgresSourceSettings

    def configure(self) -> None:
        settings = self.settings
        incremental = settings.incremental
        self.cursor = incremental.cursor_field if incremental is not None else None
        try:
            self.uri = connection_uri(settings)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def describe(self) -> str:
        if self.settings.table is not None:
            return f"postgres table {self.settings.table}"
        return "postgres query"

    def _batches(self, after: pa.Scalar | None) -> Iterator[pa.Table]:
        dbapi = _driver()
        try:
            connection = dbapi.connect(self.uri)
        except dbapi.Error as exc:
            problem = f"{self.describe()}: cannot connect: {_message(exc)}"
            # often temporary (a restart, a failover), so a type retry rules can match
            raise SourceError(self.scrub(problem), error_type="ConnectionError") from None
        with connection:
            cursor = connection.cursor()
            try:
                yield from self._read(cursor, after)
            except dbapi.Error as exc:
                raise SourceError(self.scrub(f"{self.describe()} failed: {_message(exc)}")) from None
            finally:
                cursor.close()

    def _read(self, cursor: Any, after: pa.Scalar | None) -> Iterator[pa.Table]:
        cursor.execute(probe_sql(self.settings))
        offered = cursor.fetch_arrow_table().schema
        columns = self._columns(offered)
        text_cursor = self.cursor is not None and pa.types.is_string(offered.field(self.cursor).type)
        try:
            sql = select_sql(self.settings, columns, self.cursor, after, text_cursor=text_cursor)
        except ValueError as exc:
            raise SourceError(f"{self.describe()}: the committed cursor cannot be used: {exc}") from None
        cursor.adbc_statement.set_options(**{BATCH_HINT_OPTION: str(self.settings.batch_bytes)})
        cursor.execute(sql)
        for batch in cursor.fetch_record_batch():
            if batch.num_rows:
                yield self._shape(batch)

    def _columns(self, offered: pa.Schema) -> list[str]:
        """The asset columns to select; required or cursor columns the relation lacks fail,
        and so do query columns the asset does not have."""
        names = offered.names
        duplicates = sorted({n for n in names if names.count(n) > 1})
        expected = [f.name for f in self.asset.fields]
        problems = []
        if duplicates:
            problems.append(f"duplicate columns {', '.join(map(repr, duplicates))}")
        missing = [f.name for f in self.asset.fields if f.required and f.name not in names]
        if self.cursor is not None and self.cursor not in names and self.cursor not in missing:
            missing.append(self.cursor)
        if missing:
            problems.append(f"missing required or cursor columns {', '.join(map(repr, missing))}")
        extra = [n for n in names if n not in expected]
        if self.settings.query is not None and extra:
            problems.append(f"columns not in asset {self.asset.name!r}: {', '.join(map(repr, extra))}")
        if problems:
            raise SourceError(
                f"{self.describe()}: {'; '.join(problems)} (asset columns: {', '.join(expected)}; "
                f"columns found: {', '.join(names)})"
            )
        return [name for name in expected if name in names]

    def _shape(self, batch: pa.RecordBatch) -> pa.Table:
        """One batch with the asset's columns in asset order (missing optional ones null)."""
        columns = []
        for asset_field in self.asset.fields:
            index = batch.schema.get_field_index(asset_field.name)
            if index < 0:
                columns.append(pa.nulls(batch.num_rows, pa.string()))
                continue
            field = batch.schema.field(index)
            columns.append(conform_column(batch.column(index), field, asset_field, self.describe()))
        arrays = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
        return pa.Table.from_arrays(arrays, names=[f.name for f in self.asset.fields])


def _driver() -> Any:
    """ADBC's DB-API module, imported only when a job reads PostgreSQL."""
    try:
        import adbc_driver_postgresql.dbapi as dbapi
    except ModuleNotFoundError:
        from airflow_provider_dativo.engine.errors import ConnectorNotAvailable

        raise ConnectorNotAvailable(
            "connector 'postgres' needs the PostgreSQL driver adbc-driver-postgresql: "
            "pip install 'airflow-provider-dativo[postgres]'"
        ) from None
    return dbapi


def _message(exc: Exception) -> str:
    """The driver's message without its status prefix, on one line where it was two."""
    text = _STATUS_PREFIX.sub("", str(exc)).strip()
    return re.sub(r"\s*\n\s*", " ", text)
