"""Merge keys must name asset columns, be set in every record and be unique within a run's
records: with two records for one key, which one wins a merge would be arbitrary.

The check runs across every batch of a run in bounded memory: only the key columns of the
valid records are kept until the end of the input, then counted once.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.engine.errors import WriteError


class MergeKeyCheck:
    """Collects the merge keys of each batch's valid records; :meth:`verify` raises
    :class:`WriteError` naming what is wrong."""

    def __init__(self, merge_keys: list[str], columns: list[str]) -> None:
        unknown = [k for k in merge_keys if k not in columns]
        if unknown:
            raise WriteError(f"merge_keys {unknown} are not columns of the asset")
        self.merge_keys = merge_keys
        self.nulls = dict.fromkeys(merge_keys, 0)
        self.keys: list[pa.Table] = []

    def add(self, valid: pa.Table) -> None:
        for key in self.merge_keys:
            self.nulls[key] += valid.column(key).null_count
        self.keys.append(valid.select(self.merge_keys))

    def verify(self) -> None:
        for key, nulls in self.nulls.items():
            if nulls:
                raise WriteError(
                    f"merge key {key!r} is null in {nulls} records; merge keys must always be set"
                )
        if not self.keys:
            return
        keys = pa.concat_tables(self.keys)
        self.keys = []
        counts = keys.group_by(self.merge_keys).aggregate([([], "count_all")])
        duplicates = counts.filter(pc.greater(counts.column("count_all"), 1))
        if duplicates.num_rows:
            examples = [
                ", ".join(f"{k}={row[k]!r}" for k in self.merge_keys)
                for row in duplicates.slice(0, 5).to_pylist()
            ]
            raise WriteError(
                f"merge keys ({', '.join(self.merge_keys)}) are not unique in this batch: "
                f"{duplicates.num_rows} keys appear more than once, e.g. {'; '.join(examples)}"
            )
