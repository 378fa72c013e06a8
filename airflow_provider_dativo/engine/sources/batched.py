"""What database and API sources share: reading in batches, the pushdown switch, clean errors.

A :class:`RecordBatchSource` produces asset-shaped tables of bounded size (:meth:`batches`).
Whether the source
may filter by the committed cursor itself is the connector's ``cursor_pushdown`` capability:
switched off (in a recipe), the source reads everything and the engine's own selection drops
what was loaded already.

Credentials must never reach an error text, log line or XCom, whether or not the job turned
``logging.redaction`` on, because driver and HTTP errors quote connection strings and URLs:
every message a source raises goes through :meth:`RecordBatchSource.scrub`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.connectors import EffectiveConnector
from airflow_provider_dativo.engine.errors import ConfigError
from airflow_provider_dativo.engine.secrets.redaction import Redactor


class RecordBatchSource:
    """Base of the database and API sources (see the module docstring).

    The registry names a subclass as a connector's engine; it is built with the job's typed
    ``source`` settings (secret references resolved) and checks them against the asset in
    :meth:`configure`, before the service is asked anything.
    """

    connector = "source"

    def __init__(
        self, settings: Any, asset: Asset, *, connector: EffectiveConnector, metrics: dict[str, Any]
    ) -> None:
        credentials = [getattr(settings, name, None) for name in connector.spec.credentials]
        if any(value is not None and not isinstance(value, str) for value in credentials):
            names = ", ".join(f"source.{name}" for name in connector.spec.credentials)
            raise ConfigError(f"{names}: a secret reference was not resolved")
        self.settings = settings
        self.asset = asset
        self.pushdown = connector.capabilities.cursor_pushdown
        self.metrics = metrics
        """The run's metrics dict; sources add their own counters to it as they go."""
        self._redactor = Redactor(value for value in credentials if value)
        self.configure()

    def configure(self) -> None:
        """Check the settings against the asset (a :class:`ConfigError` costs no call)."""

    def describe(self) -> str:
        return self.connector

    def preflight(self) -> None:
        """Nothing to check before the service is asked (``configure`` checked the settings)."""

    def scrub(self, text: str) -> str:
        """``text`` with this source's credentials masked (also URL- and JSON-escaped forms)."""
        return self._redactor.redact_text(text)

    def batches(self, after: pa.Scalar | None) -> Iterator[pa.Table]:
        """Shaped tables of bounded size, at or beyond ``after`` when pushdown is on."""
        produced = False
        for table in self._batches(after if self.pushdown else None):
            produced = True
            yield table
        if not produced:
            yield self.empty()

    def empty(self) -> pa.Table:
        """No records, with the asset's columns (as text: validation types them)."""
        return pa.table({f.name: pa.array([], pa.string()) for f in self.asset.fields})

    def _batches(self, after: pa.Scalar | None) -> Iterator[pa.Table]:
        raise NotImplementedError
