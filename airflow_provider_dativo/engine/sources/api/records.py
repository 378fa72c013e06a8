"""Flatten API records (JSON objects) into asset-shaped columns of text.

Each asset field reads one path in the record (``address.city``); API fields the asset does
not name are ignored, since SaaS objects carry far more than a table wants. Values become
text and the engine's validation types them like CSV values, so one bad value fails its own
record, not the page:

* ``null`` or a missing path -> null; booleans -> ``true``/``false``; numbers -> their digits;
* for ``timestamp`` and ``date`` fields, a number or a string of digits is an epoch in the
  API's unit (Stripe: seconds, HubSpot: milliseconds) and becomes ISO-8601 UTC text;
* an object or a list -> its JSON text (a ``string`` field keeps it; any other type rejects it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import pyarrow as pa

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.engine.errors import ConfigError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TEMPORAL = ("timestamp", "date")

Path = tuple[str, ...]


def parse_path(text: str) -> Path:
    """``"address.city"`` -> ``("address", "city")``."""
    parts = tuple(text.split("."))
    if not all(parts):
        raise ValueError(f"{text!r} is not a path: write keys separated by dots, e.g. address.city")
    return parts


def lookup(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` in ``record``; ``None`` when any step is missing or not an object."""
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def epoch_to_datetime(value: int | float | str, unit: Literal["s", "ms"]) -> datetime:
    """An epoch in seconds or milliseconds as an aware UTC datetime (exact for integers)."""
    number = float(value) if isinstance(value, float) else int(value)
    return EPOCH + (timedelta(seconds=number) if unit == "s" else timedelta(milliseconds=number))


def value_text(value: Any, type_name: str, epoch_unit: Literal["s", "ms"]) -> str | None:
    """One JSON value as the text validation parses (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if type_name in _TEMPORAL and _is_epoch(value):
        try:
            moment = epoch_to_datetime(value, epoch_unit)
        except (OverflowError, ValueError):
            return str(value)  # out of range: validation reports it as a bad timestamp
        return moment.date().isoformat() if type_name == "date" else moment.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _is_epoch(value: Any) -> bool:
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and value.isascii() and value.isdigit()


class RecordShaper:
    """Turns a list of API records into one table with the asset's columns, as text."""

    def __init__(self, asset: Asset, paths: Mapping[str, Path], epoch_unit: Literal["s", "ms"]) -> None:
        self.fields = [(f.name, f.type, paths[f.name]) for f in asset.fields]
        self.epoch_unit = epoch_unit

    def table(self, records: Sequence[Mapping[str, Any]]) -> pa.Table:
        columns = {
            name: pa.array(
                [value_text(lookup(r, path), type_name, self.epoch_unit) for r in records], pa.string()
            )
            for name, type_name, path in self.fields
        }
        return pa.table(columns)


def field_paths(asset: Asset, mapping: Mapping[str, str], default: Callable[[str], Path]) -> dict[str, Path]:
    """The record path of every asset field: ``source.fields`` where it names one, else
    ``default(name)``. A mapping for a field the asset lacks, or a malformed path, is a
    :class:`ConfigError` naming the setting."""
    names = [f.name for f in asset.fields]
    unknown = sorted(set(mapping) - set(names))
    if unknown:
        raise ConfigError(
            f"source.fields maps {', '.join(map(repr, unknown))}, which asset {asset.name!r} does not "
            f"have (fields: {', '.join(names)})"
        )
    paths: dict[str, Path] = {}
    for name in names:
        if name not in mapping:
            paths[name] = default(name)
            continue
        try:
            paths[name] = parse_path(mapping[name])
        except ValueError as exc:
            raise ConfigError(f"source.fields.{name}: {exc}") from None
    return paths
