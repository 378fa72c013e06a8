"""File connectors (csv, jsonl, parquet): read one file or every match of a glob into one table.

Every file is read and shaped to the asset separately, so an error names the file at fault;
the shaped tables are then concatenated in sorted path order (deterministic across runs).
CSV values are read as text so that validation can report bad values row by row instead of
the reader failing the whole file on the first one.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.confinement import Confinement
from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.job import FileSourceSettings
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.errors import ConfigError, SourceError
from airflow_provider_dativo.engine.schema import arrow_type

_GLOB_CHARS = ("*", "?", "[")


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

    def read(self) -> pa.Table:
        tables = []
        for path in self.files():
            if path.stat().st_size == 0:
                tables.append(self._empty())
                continue
            tables.append(self._shape(self._read_file(path), path))
        return _concat(tables)

    def _read_file(self, path: Path) -> pa.Table:
        raise NotImplementedError

    def _empty(self) -> pa.Table:
        return pa.table({f.name: pa.array([], pa.string()) for f in self.asset.fields})

    def _shape(self, table: pa.Table, path: Path, check_cursor: bool = True) -> pa.Table:
        """Keep exactly the asset's columns in asset order; unknown columns are an error.

        ``check_cursor=False`` leaves the cursor check to the caller (a streamed file is
        checked once all its batches were seen, see :mod:`..streaming`)."""
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
        if check_cursor:
            self._check_cursor(table, path)
        columns = [
            table.column(name) if name in names else pa.chunked_array([pa.nulls(table.num_rows)])
            for name in expected
        ]
        return pa.Table.from_arrays(columns, names=expected)

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
        """Reader options shared by the whole-file and the streamed reads: every asset column
        as text (parsed and checked later, row by row), empty fields as nulls."""
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

    def _read_file(self, path: Path) -> pa.Table:
        try:
            return pacsv.read_csv(path, **self.csv_options())
        except (pa.ArrowInvalid, LookupError, UnicodeDecodeError) as exc:
            raise SourceError(f"{path}: cannot read CSV: {exc}") from None


class JsonlSource(FileSource):
    """One JSON object per line. Keys a line omits are nulls; nested values are rejected."""

    connector = "jsonl"
    missing_required_is_error = False

    def _read_file(self, path: Path) -> pa.Table:
        # Text-like fields are read as strings explicitly: left to inference, a string field
        # holding dates would come back as timestamps and lose its original text.
        text_like = ("string", "date", "timestamp")
        fields = [pa.field(f.name, pa.string()) for f in self.asset.fields if f.type in text_like]
        explicit = pa.schema(fields)
        try:
            table = pajson.read_json(path, parse_options=pajson.ParseOptions(explicit_schema=explicit))
        except pa.ArrowInvalid as exc:
            raise SourceError(f"{path}: cannot read JSON lines: {exc}") from None
        for name, type_ in zip(table.column_names, table.schema.types, strict=True):
            if pa.types.is_nested(type_):
                raise SourceError(f"{path}: column {name!r} holds nested JSON values ({type_}), not scalars")
        return table


class ParquetSource(FileSource):
    """Typed Parquet: columns are cast (safely) to the asset types; text columns are parsed later."""

    connector = "parquet"

    def _read_file(self, path: Path) -> pa.Table:
        try:
            return pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceError(f"{path}: cannot read Parquet: {exc}") from None

    def _shape(self, table: pa.Table, path: Path, check_cursor: bool = True) -> pa.Table:
        shaped = super()._shape(table, path, check_cursor)
        columns = []
        for asset_field, column in zip(self.asset.fields, shaped.columns, strict=True):
            columns.append(self._cast(column, asset_field.name, asset_field.type, path))
        return pa.Table.from_arrays(columns, names=shaped.column_names)

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


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Concatenate shaped tables; a column typed differently across files falls back to text."""
    if len(tables) == 1:
        return tables[0]
    names = tables[0].column_names
    unified: list[list[pa.ChunkedArray]] = [[] for _ in tables]
    for i in range(len(names)):
        columns = [t.column(i) for t in tables]
        types = {c.type for c in columns if not pa.types.is_null(c.type)}
        target = types.pop() if len(types) == 1 else (pa.string() if types else pa.null())
        for j, column in enumerate(columns):
            unified[j].append(column if column.type == target else column.cast(target))
    return pa.concat_tables([pa.Table.from_arrays(cols, names=names) for cols in unified])
