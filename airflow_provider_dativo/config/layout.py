"""``target.partition_by`` and ``target.sort_by``: the table layout a job declares.

The syntax is Iceberg's own, as Spark SQL writes it: a partition field is a column (identity)
or ``year(col)``, ``month(col)``, ``day(col)``, ``hour(col)``, ``bucket(N, col)`` or
``truncate(W, col)`` (Spark's plural ``years``/``months``/``days``/``hours`` are accepted
too); a sort field is ``col [asc|desc] [nulls first|last]`` (default ascending; nulls first
when ascending, last when descending, as in Iceberg and Spark).

Parsing needs only the job file, so syntax errors are pydantic errors with the item's line.
Whether a column exists and whether its type takes the transform needs the asset too:
:func:`layout_problems` checks that, for ``dativo validate`` and for the engine alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_dativo.config.errors import ConfigProblem
from airflow_provider_dativo.config.yaml_source import line_of

if TYPE_CHECKING:  # the asset model is imported where an asset is checked, not by every job load
    from airflow_provider_dativo.config.asset import Asset

TIME_TRANSFORMS = ("year", "month", "day", "hour")
TRANSFORMS = ("identity", *TIME_TRANSFORMS, "bucket", "truncate")
_ALIASES = {"years": "year", "months": "month", "days": "day", "hours": "hour"}
MAX_BUCKETS = 1 << 20
MAX_TRUNCATE_WIDTH = 1 << 20

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CALL = re.compile(rf"^({_NAME})\s*\((.*)\)$")
_COLUMN = re.compile(rf"^{_NAME}$")
_SORT = re.compile(
    rf"^(?P<column>{_NAME})(?:\s+(?P<direction>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?$",
    re.IGNORECASE,
)

# Which asset types each transform takes (Iceberg spec, "Partition Transforms"): bucket has
# no boolean or floating-point hash, truncate is defined for numbers with exact values and strings.
_TYPES_OF: dict[str, tuple[str, ...]] = {
    "identity": ("string", "int", "long", "double", "boolean", "date", "timestamp", "decimal"),
    "year": ("date", "timestamp"),
    "month": ("date", "timestamp"),
    "day": ("date", "timestamp"),
    "hour": ("timestamp",),
    "bucket": ("string", "int", "long", "date", "timestamp", "decimal"),
    "truncate": ("string", "int", "long", "decimal"),
}


@dataclass(frozen=True)
class PartitionField:
    """One ``partition_by`` entry: ``transform`` of ``column`` (``param``: N or W)."""

    transform: str
    column: str
    param: int | None = None

    def __str__(self) -> str:
        if self.transform == "identity":
            return self.column
        if self.param is not None:
            return f"{self.transform}({self.param}, {self.column})"
        return f"{self.transform}({self.column})"

    @property
    def name(self) -> str:
        """The partition field's name, as pyiceberg and Spark name it by default."""
        if self.transform == "identity":
            return self.column
        if self.transform == "bucket":
            return f"{self.column}_bucket_{self.param}"
        if self.transform == "truncate":
            return f"{self.column}_trunc_{self.param}"
        return f"{self.column}_{self.transform}"


@dataclass(frozen=True)
class SortField:
    """One ``sort_by`` entry."""

    column: str
    descending: bool = False
    nulls_first: bool = True

    def __str__(self) -> str:
        direction = "desc" if self.descending else "asc"
        return f"{self.column} {direction} nulls {'first' if self.nulls_first else 'last'}"


def parse_partition(text: str) -> PartitionField:
    """``text`` as a partition field; ``ValueError`` saying what is wrong and what is allowed."""
    text = text.strip()
    if _COLUMN.match(text):
        return PartitionField("identity", text)
    call = _CALL.match(text)
    if call is None:
        raise ValueError(
            f"{text!r} is not a partition field: write a column name or one of "
            "year(col), month(col), day(col), hour(col), bucket(N, col), truncate(W, col)"
        )
    name = call.group(1).lower()
    transform = _ALIASES.get(name, name)
    args = [a.strip() for a in call.group(2).split(",")]
    if transform not in TRANSFORMS:
        known = ", ".join(TRANSFORMS)
        raise ValueError(f"unknown partition transform {call.group(1)!r} in {text!r}; known: {known}")
    if transform in ("bucket", "truncate"):
        letter = "N" if transform == "bucket" else "W"
        if len(args) != 2 or not args[0].isdigit() or not _COLUMN.match(args[1]):
            raise ValueError(f"{text!r}: write {transform}({letter}, column) with {letter} a whole number")
        param = int(args[0])
        limit = MAX_BUCKETS if transform == "bucket" else MAX_TRUNCATE_WIDTH
        if not 1 <= param <= limit:
            raise ValueError(f"{text!r}: {letter} must be from 1 to {limit}")
        return PartitionField(transform, args[1], param)
    if len(args) != 1 or not _COLUMN.match(args[0]):
        raise ValueError(f"{text!r}: write {transform}(column) with one column name")
    return PartitionField(transform, args[0])


def parse_sort(text: str) -> SortField:
    """``text`` as a sort field (``col [asc|desc] [nulls first|last]``)."""
    found = _SORT.match(" ".join(text.split()))
    if found is None:
        raise ValueError(f"{text!r} is not a sort field: write 'column [asc|desc] [nulls first|last]'")
    descending = (found.group("direction") or "asc").lower() == "desc"
    nulls = found.group("nulls")
    nulls_first = (nulls.lower() == "first") if nulls else not descending
    return SortField(found.group("column"), descending, nulls_first)


def check_partition_by(items: list[str]) -> list[str]:
    """Every entry parses, and no column is partitioned twice the same way (or by two time transforms)."""
    seen: dict[tuple[str, str], str] = {}
    for text in items:
        field = parse_partition(text)
        kind = "time" if field.transform in TIME_TRANSFORMS else f"{field.transform}{field.param}"
        earlier = seen.get((field.column, kind))
        if earlier is not None:
            raise ValueError(f"{text!r} partitions column {field.column!r} again (already {earlier!r})")
        seen[(field.column, kind)] = text
    return items


def check_sort_by(items: list[str]) -> list[str]:
    """Every entry parses and names a column once."""
    seen: set[str] = set()
    for text in items:
        field = parse_sort(text)
        if field.column in seen:
            raise ValueError(f"{text!r} sorts by column {field.column!r} twice")
        seen.add(field.column)
    return items


def _type_family(type_name: str) -> str:
    from airflow_provider_dativo.config.asset import decimal_precision_scale

    return "decimal" if decimal_precision_scale(type_name) is not None else type_name


def layout_problems(
    path: str | Path,
    asset: Asset,
    *,
    partition_by: Sequence[str] = (),
    sort_by: Sequence[str] = (),
    merge_keys: Sequence[str] = (),
) -> list[ConfigProblem]:
    """The ``partition_by``, ``sort_by`` and ``merge_keys`` entries of the job file at ``path``
    that name a column the asset lacks, or apply a transform the column's type cannot take."""
    types = {f.name: f.type for f in asset.fields}
    problems = []

    def problem(key: str, index: int, message: str) -> None:
        loc = ("target", key, index)
        problems.append(ConfigProblem(str(path), line_of(path, loc), f"target.{key}[{index}]", message))

    for index, text in enumerate(partition_by):
        field = parse_partition(text)
        if field.column not in types:
            problem("partition_by", index, _unknown_column(field.column, asset))
            continue
        family = _type_family(types[field.column])
        if family not in _TYPES_OF[field.transform]:
            allowed = ", ".join(_TYPES_OF[field.transform])
            problem(
                "partition_by",
                index,
                f"{text!r}: transform {field.transform} does not apply to column {field.column!r} of type "
                f"{types[field.column]} (it takes: {allowed})",
            )
    for index, text in enumerate(sort_by):
        field = parse_sort(text)
        if field.column not in types:
            problem("sort_by", index, _unknown_column(field.column, asset))
    for index, column in enumerate(merge_keys):
        if column not in types:
            problem("merge_keys", index, _unknown_column(column, asset))
    return problems


def _unknown_column(column: str, asset: Asset) -> str:
    return (
        f"column {column!r} is not a field of asset {asset.name!r} "
        f"(fields: {', '.join(f.name for f in asset.fields)})"
    )
