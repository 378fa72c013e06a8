"""File connectors (csv, jsonl, parquet): one file or every match of a glob, in record batches.

Files are read in sorted path order (deterministic across runs), each in batches of bounded
size, so memory stays bounded whatever the file's size:

* CSV in blocks of :data:`CSV_BLOCK_SIZE` bytes (``pyarrow.csv.open_csv``), every column as
  text, so validation reports bad values row by row instead of the reader failing the whole
  file on the first one;
* Parquet in batches of :data:`BATCH_ROWS` rows, cast (safely) to the asset's types;
* JSON Lines in chunks of about :data:`JSONL_CHUNK_BYTES` bytes cut at line ends, each parsed
  on its own by :mod:`.jsonl` (Arrow's reader where it agrees, Python's ``json`` for a chunk
  it refuses: a value of the wrong JSON type fails its row, not the file); text that is not
  JSON names the file and line.

Every batch is shaped to the asset (its columns, in asset order), so an error names the file
at fault, and notes where its rows come from (:mod:`..batch_notes`: the JSON Lines line, the
CSV or Parquet record number), so an invalid record can be named too; the cursor column of an
incremental job is checked once the whole file was seen.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.confinement import Confinement
from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.job import FileSourceSettings
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine import batch_notes
from airflow_provider_dativo.engine.batch_notes import Origin, with_origin
from airflow_provider_dativo.engine.checks.schema import arrow_type
from airflow_provider_dativo.engine.errors import ConfigError, SourceError
from airflow_provider_dativo.engine.sources.jsonl import JsonLinesReader, line_chunks
from airflow_provider_dativo.engine.sources.read_ahead import read_ahead

_GLOB_CHARS = ("*", "?", "[")
CSV_BLOCK_SIZE = 8 << 20
"""Bytes of CSV text per record batch."""
BATCH_ROWS = 64 * 1024
"""Rows per record batch of Parquet sources."""
JSONL_CHUNK_BYTES = 16 << 20
"""Bytes of JSON Lines text parsed at once (cut at a line end)."""


def resolve_files(pattern: Path | str, confinement: Confinement | None = None) -> list[Path]:
    """The files a source path names: the file itself, or the sorted matches of a glob.

    With the job's ``confinement``, every file is checked (symlinks resolved) before any is
    read, and the real paths are returned, so what is opened is what was checked; one file the
    tenant may not read fails the run with a :class:`ConfigError` (exit code 2).
    """
    text = os.fspath(pattern)
    if any(ch in text for ch in _GLOB_CHARS):
        matches = sorted({Path(p) for p in glob.glob(text, recursive=True) if os.path.isfile(p)})
        if not matches:
            raise SourceError(f"no files match the source pattern {text!r}")
    else:
        path = Path(text)
        if path.is_dir():
            raise SourceError(
                f"source path {text!r} is a directory; name a file or a glob such as '{text}/*'"
            )
        if not path.is_file():
            raise SourceError(f"source file not found: {text!r}")
        matches = [path]
    if confinement is None:
        return matches
    try:
        return confinement.confine(matches, "source.path")
    except DativoConfigError as exc:
        raise ConfigError(str(exc)) from None


def _names(columns: list[str]) -> str:
    return ", ".join(repr(c) for c in columns)


class FileSource:
    """Shared logic of the file connectors; subclasses only know how to read one file."""

    connector = "file"
    missing_required_is_error = True
    """Whether a file lacking a required column is rejected (a header mismatch) rather than its
    rows failing the ``required`` rule (JSON records simply omit keys)."""

    def __init__(
        self,
        pattern: Path,
        settings: FileSourceSettings,
        asset: Asset,
        confinement: Confinement | None = None,
    ) -> None:
        self.pattern = pattern
        self.settings = settings
        self.asset = asset
        self.confinement = confinement
        """The folders the job's tenant may read; every file is checked before it is opened."""

    def describe(self) -> str:
        return f"{self.connector} {self.pattern}"

    def files(self) -> list[Path]:
        """The files to read, in order, each checked against the tenant's confinement."""
        return resolve_files(self.pattern, self.confinement)

    def preflight(self) -> None:
        """A missing or forbidden file, or a glob without match, fails before anything else is opened."""
        self.files()

    def batches(self, after: pa.Scalar | None = None) -> Iterator[pa.Table]:
        """Every file's records as asset-shaped tables of bounded size (``after`` is unused:
        files cannot filter by the cursor; the pipeline selects), read one batch ahead of
        the caller (:mod:`.read_ahead`)."""
        return read_ahead(self._all_batches())

    def _all_batches(self) -> Iterator[pa.Table]:
        for path in self.files():
            if path.stat().st_size == 0:
                yield self._empty()
                continue
            schema, batches = self._batches(path)
            yield from self._shaped(path, schema, batches)

    def _shaped(self, path: Path, schema: pa.Schema, batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
        """Shape every batch like the asset; columns are checked even when the file has no rows,
        and the incremental cursor once the whole file was seen."""
        empty = self._shape(schema.empty_table(), path)
        incremental = self.settings.incremental
        cursor = incremental.cursor_field if incremental is not None else None
        rows = with_cursor = 0
        produced = False
        for table in batches:
            if table.num_rows == 0:
                continue
            rows += table.num_rows
            if cursor is not None and cursor in table.column_names:
                with_cursor += table.num_rows - table.column(cursor).null_count
            produced = True
            yield self._shape(table, path)
        if not produced:
            yield empty
        if cursor is not None and rows and not with_cursor:
            # The same check and message as for a file read at once, on a stand-in of its columns.
            names = schema.names if cursor not in schema.names else [cursor]
            self._check_cursor(pa.table({n: pa.nulls(rows) for n in names}), path)

    def _batches(self, path: Path) -> tuple[pa.Schema, Iterator[pa.Table]]:
        """The file's columns and its records in tables of bounded size."""
        raise NotImplementedError

    def _empty(self) -> pa.Table:
        return pa.table({f.name: pa.array([], pa.string()) for f in self.asset.fields})

    def _shape(self, table: pa.Table, path: Path) -> pa.Table:
        """Keep exactly the asset's columns in asset order, and the batch's notes; unknown
        columns are an error (the incremental cursor is checked by :meth:`_shaped` once the
        whole file was seen)."""
        metadata = table.schema.metadata
        table, failures = batch_notes.split(table)
        names = table.column_names
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SourceError(f"{path}: duplicate columns {_names(duplicates)}")
        expected = [f.name for f in self.asset.fields]
        extra = [n for n in names if n not in expected]
        missing_required = [f.name for f in self.asset.fields if f.required and f.name not in names]
        problems = []
        if self.missing_required_is_error and missing_required:
            problems.append(f"missing required columns {_names(missing_required)}")
        if extra:
            problems.append(f"columns not in asset {self.asset.name!r}: {_names(extra)}")
        if problems:
            raise SourceError(f"{path}: {'; '.join(problems)} (asset columns: {', '.join(expected)})")
        columns = [
            table.column(name) if name in names else pa.chunked_array([pa.nulls(table.num_rows)])
            for name in expected
        ]
        shaped = pa.Table.from_arrays(columns, names=expected).replace_schema_metadata(metadata)
        return batch_notes.with_type_failures(shaped, failures)

    def _check_cursor(self, table: pa.Table, path: Path) -> None:
        """An incremental job cannot place records without their cursor: a file that lacks the
        cursor column (or has no value in it at all) is an error, not a file of new records."""
        incremental = self.settings.incremental
        if incremental is None or table.num_rows == 0:
            return
        name = incremental.cursor_field
        if name not in table.column_names:
            raise SourceError(
                f"{path}: incremental cursor field {name!r} (source.incremental.cursor_field) is missing "
                f"from the data; columns found: {_names(table.column_names)}"
            )
        if table.column(name).null_count == table.num_rows:
            raise SourceError(
                f"{path}: incremental cursor field {name!r} (source.incremental.cursor_field) has no "
                f"value in any of the {table.num_rows} records"
            )


class CsvSource(FileSource):
    """CSV read entirely as text; empty fields are nulls."""

    connector = "csv"

    def csv_options(self, block_size: int | None = None) -> dict[str, Any]:
        """Reader options: every asset column as text (parsed and checked later, row by row),
        empty fields as nulls."""
        names = [f.name for f in self.asset.fields]
        read_options = pacsv.ReadOptions(
            encoding=self.settings.encoding,
            column_names=None if self.settings.header else names,
            **({"block_size": block_size} if block_size else {}),
        )
        return {
            "read_options": read_options,
            "parse_options": pacsv.ParseOptions(delimiter=self.settings.delimiter),
            "convert_options": pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        }

    def _batches(self, path: Path) -> tuple[pa.Schema, Iterator[pa.Table]]:
        errors = (pa.ArrowInvalid, LookupError, UnicodeDecodeError)
        try:
            reader = pacsv.open_csv(path, **self.csv_options(CSV_BLOCK_SIZE))
        except errors as exc:
            raise SourceError(f"{path}: cannot read CSV: {exc}") from None

        def batches() -> Iterator[pa.Table]:
            record = 1
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except errors as exc:
                    raise SourceError(f"{path}: cannot read CSV: {exc}") from None
                yield with_origin(pa.Table.from_batches([batch]), Origin(str(path), "record", record))
                record += batch.num_rows

        return reader.schema, batches()


class JsonlSource(FileSource):
    """One JSON object per line (:mod:`.jsonl`). Keys a line omits are nulls."""

    connector = "jsonl"
    missing_required_is_error = False

    def _batches(self, path: Path) -> tuple[pa.Schema, Iterator[pa.Table]]:
        reader = JsonLinesReader(path, self.asset)
        chunks = line_chunks(path, JSONL_CHUNK_BYTES)
        first = next(chunks, None)
        if first is None:
            return pa.schema([]), iter(())
        table = reader.read(*first)

        def batches() -> Iterator[pa.Table]:
            yield table
            for chunk in chunks:
                yield reader.read(*chunk)

        return table.schema, batches()


class ParquetSource(FileSource):
    """Typed Parquet: columns are cast (safely) to the asset types; text columns are parsed later."""

    connector = "parquet"

    def _batches(self, path: Path) -> tuple[pa.Schema, Iterator[pa.Table]]:
        errors = (pa.ArrowInvalid, OSError)
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
        except errors as exc:
            raise SourceError(f"{path}: cannot read Parquet: {exc}") from None

        def batches() -> Iterator[pa.Table]:
            record = 1
            try:
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                    yield with_origin(pa.Table.from_batches([batch]), Origin(str(path), "record", record))
                    record += batch.num_rows
            except errors as exc:
                raise SourceError(f"{path}: cannot read Parquet: {exc}") from None

        return schema, batches()

    def _shape(self, table: pa.Table, path: Path) -> pa.Table:
        shaped = super()._shape(table, path)
        columns = []
        for asset_field, column in zip(self.asset.fields, shaped.columns, strict=True):
            columns.append(self._cast(column, asset_field.name, asset_field.type, path))
        names = [f.name for f in self.asset.fields]
        return pa.Table.from_arrays(columns, names=names).replace_schema_metadata(shaped.schema.metadata)

    @staticmethod
    def _cast(column: pa.ChunkedArray, name: str, type_name: str, path: Path) -> pa.ChunkedArray:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        target = arrow_type(type_name)
        if pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        if column.type == target or pa.types.is_null(column.type) or pa.types.is_string(column.type):
            return column
        try:
            return column.cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SourceError(
                f"{path}: column {name!r} of type {column.type} cannot be cast to {type_name} "
                f"({target}): {exc}"
            ) from None


_CONNECTORS: dict[str, type[FileSource]] = {"csv": CsvSource, "jsonl": JsonlSource, "parquet": ParquetSource}


def file_source(job: ResolvedJob, asset: Asset) -> FileSource:
    """The file connector of ``job`` reading ``job.source_path``."""
    if job.source_path is None:
        raise SourceError(f"job {job.path}: source.path is not set")
    cls = _CONNECTORS[job.config.source_connector]
    return cls(job.source_path, job.config.file_source(), asset, job.confinement)
