"""The cursor's boundary: which records a run committed at the cursor value it committed.

Incremental runs re-read the boundary (``cursor >= committed``): exports with second- or
day-resolution cursors routinely hold several records at one value, and some of them arrive in
a later extract. To load those late records without loading the others twice, the commit that
moves the cursor also records what identifies the records at the new cursor value:

* with ``merge_keys``, a digest of each record's typed key values;
* otherwise (and for a record whose keys cannot be typed), a digest of the record's content:
  every non-null field by name, typed when its text parses as the field's type, else as the
  source text. Adding an optional field to the asset leaves digests unchanged.

A digest is the first 64 bits of SHA-256 (16 hex characters), hand-written because no library
fingerprints an Arrow row; among :data:`MAX_BOUNDARY_IDS` records the chance that two collide
is below 1e-13. Beyond that many records at one cursor value the commit records only their
number, and the next run identifies them by reading the table's records at that value instead
(see :func:`..iceberg.state.committed_record_ids`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import AssetField
from airflow_provider_dativo.engine.checks.validation import to_typed

MAX_BOUNDARY_IDS = 1_000
"""Most record identifiers one commit records (about 19 KB of snapshot property)."""
BY_KEYS = "keys"
BY_CONTENT = "content"


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def digest(kind: str, payload: Any) -> str:
    """64-bit SHA-256 digest of ``payload``'s canonical JSON, tagged with ``kind``."""
    text = json.dumps([kind, payload], default=_json_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def row_mask(length: int, rows: list[int]) -> pa.Array:
    """A boolean mask of ``length`` rows, true at the row numbers ``rows``."""
    if not rows:
        return pa.repeat(pa.scalar(False), length)
    numbers = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), length)), 1)
    return pc.is_in(numbers, value_set=pa.array(rows, pa.int64()))


@dataclass(frozen=True)
class RecordIdentity:
    """How a job identifies a record: by merge keys when it has them, else by content."""

    fields: tuple[AssetField, ...]
    merge_keys: tuple[str, ...] = ()

    @property
    def by(self) -> str:
        return BY_KEYS if self.merge_keys else BY_CONTENT

    def _values(self, records: pa.Table) -> dict[str, list[Any]]:
        """Per field, each record's typed value, or ``("text", raw)`` when it does not parse."""
        out: dict[str, list[Any]] = {}
        for asset_field in self.fields:
            if asset_field.name not in records.column_names:
                continue
            raw = records.column(asset_field.name)
            typed, failed = to_typed(raw, asset_field)
            values = typed.to_pylist()
            if any(failed.to_pylist()):
                raws = raw.to_pylist()
                values = [
                    ["text", str(r)] if bad and r is not None else v
                    for v, bad, r in zip(values, failed.to_pylist(), raws, strict=True)
                ]
            out[asset_field.name] = values
        return out

    def ids(self, records: pa.Table) -> list[tuple[str, str]]:
        """For each record ``(identifier, content digest)``: the identifier is the key digest
        when the job has merge keys and the record's keys are usable, else the content digest."""
        values = self._values(records)
        names = list(values)
        out = []
        for row in range(records.num_rows):
            content = digest(BY_CONTENT, {n: values[n][row] for n in names if values[n][row] is not None})
            keys = [values[k][row] for k in self.merge_keys if k in values]
            usable = (
                self.merge_keys
                and len(keys) == len(self.merge_keys)
                and all(v is not None and not isinstance(v, list) for v in keys)
            )
            out.append((digest(BY_KEYS, keys) if usable else content, content))
        return out


@dataclass
class Boundary:
    """The records committed at one cursor value: their identifiers, or only their number
    when there were more than :data:`MAX_BOUNDARY_IDS` (``ids is None``)."""

    by: str
    ids: set[str] | None = field(default_factory=set)
    count: int = 0

    def add(self, identifiers: list[str]) -> bool:
        """Add the identifiers of records at the boundary; returns whether any was new."""
        if self.ids is None:
            self.count += len(identifiers)
            return bool(identifiers)
        new = [i for i in dict.fromkeys(identifiers) if i not in self.ids]
        self.ids.update(new)
        self.count += len(new)
        if len(self.ids) > MAX_BOUNDARY_IDS:
            self.ids = None
        return bool(new)

    def to_property(self) -> str:
        ids = sorted(self.ids) if self.ids is not None else None
        return json.dumps({"by": self.by, "count": self.count, "ids": ids}, separators=(",", ":"))

    @classmethod
    def from_property(cls, text: str) -> Boundary:
        """The boundary a commit recorded; a malformed one reads as unknown (``ids`` None)."""
        try:
            document = json.loads(text)
            ids = document.get("ids")
            return cls(
                by=str(document.get("by", BY_CONTENT)),
                ids=None if ids is None else {str(i) for i in ids},
                count=int(document.get("count", 0)),
            )
        except (ValueError, TypeError, AttributeError):
            return cls(by=BY_CONTENT, ids=None, count=0)
