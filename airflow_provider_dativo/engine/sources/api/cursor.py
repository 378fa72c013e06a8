"""The committed cursor of an API source, as the epoch number the API filters on.

API sources filter on a server-side timestamp (Stripe's ``created`` in seconds, HubSpot's
last-modified date in milliseconds). The engine keeps the cursor in the asset field's own type,
so an API cursor field is a ``timestamp`` or a ``long`` holding the API's epoch number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import pyarrow as pa

from airflow_provider_dativo.config.asset import Asset, AssetField
from airflow_provider_dativo.engine.checks.incremental import asset_cursor_field
from airflow_provider_dativo.engine.errors import ConfigError
from airflow_provider_dativo.engine.sources.api.records import EPOCH

CURSOR_TYPES = ("timestamp", "long")


def cursor_field(asset: Asset, name: str, service: str) -> AssetField:
    """The asset field ``source.incremental.cursor_field`` names, checked to be usable."""
    found = asset_cursor_field(asset, name)
    if found.type not in CURSOR_TYPES:
        raise ConfigError(
            f"source.incremental.cursor_field {name!r} is {found.type}; a {service} cursor is a timestamp "
            "(or a long holding the API's epoch number)"
        )
    return found


def epoch_of(value: pa.Scalar, unit: Literal["s", "ms"]) -> int:
    """``value`` (a timestamp, or a long already in ``unit``) as an epoch number, rounded down."""
    python = value.as_py()
    if isinstance(python, datetime):
        step = timedelta(seconds=1) if unit == "s" else timedelta(milliseconds=1)
        return (python - EPOCH) // step
    return int(python)
