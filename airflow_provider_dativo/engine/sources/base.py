"""The contract every source connector meets, and the registry lookup that picks one for a job.

Sources only read and shape data, in record batches of bounded size (one column per asset
field, in asset order, either text or already the field's type); cursor selection, typing and
validation happen later in one place for all of them (:mod:`..pipeline`).

File sources (:mod:`.files`) read paths. Database and API sources (:mod:`.batched`) can start
beyond a cursor, so an incremental run asks the service only for what is new. Which engine
runs a connector, and what it may do, comes from the connector registry and the deployment's
recipe (:mod:`airflow_provider_dativo.config.connectors`).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.connectors import EffectiveConnector, load_connector
from airflow_provider_dativo.config.errors import DativoConfigError, format_loc
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.config.service_sources import SOURCE_SETTINGS
from airflow_provider_dativo.engine.errors import ConfigError, ConnectorNotAvailable


@runtime_checkable
class Source(Protocol):
    """Reads a job's input as asset-shaped record batches of bounded size."""

    def preflight(self) -> None:
        """Fail early, before the catalog is opened, when the input cannot exist (a file
        source whose path matches nothing); sources that must ask a service do nothing."""
        ...

    def batches(self, after: pa.Scalar | None) -> Iterator[pa.Table]:
        """Tables of bounded size, one column per asset field in asset order (text or the
        field's Arrow type); at least one, possibly empty. With ``after`` (the least cursor the
        run needs, typed: the committed cursor or the start of the lookback window) a source
        may leave out records whose cursor is below it, never one at it (the boundary is
        re-read) nor one it cannot place: the pipeline selects again."""
        ...

    def describe(self) -> str:
        """A short human description for events and error messages, e.g. ``csv /data/*.csv``."""
        ...


def connector_of(job: ResolvedJob) -> EffectiveConnector:
    """The job's connector as its recipe leaves it; a broken recipe is a :class:`ConfigError`."""
    try:
        return load_connector(job)
    except DativoConfigError as exc:
        raise ConfigError(f"connector {job.config.source_connector!r} cannot be used:\n{exc}") from None


def with_connector_defaults(job: ResolvedJob) -> ResolvedJob:
    """The job with its connector's defaults (built-in, then its recipe's) under its own
    ``source`` settings. Runs before secrets are loaded: a default may reference a secret."""
    source = connector_of(job).settings_for(job.config.source)
    if source == job.config.source:
        return job
    return dataclasses.replace(job, config=job.config.model_copy(update={"source": source}))


def source_settings(job: ResolvedJob, model: type[BaseModel]) -> Any:
    """The job's ``source`` as ``model``. Errors name the settings, never their values (by now
    secret references are resolved, and pydantic would quote the input)."""
    try:
        return model.model_validate(job.config.source)
    except ValidationError as exc:
        problems = "; ".join(
            f"source.{format_loc(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"job {job.path}: {problems}") from None


def get_source(job: ResolvedJob, asset: Asset, *, metrics: dict[str, Any] | None = None) -> Source:
    """The source connector of ``job``, built by the engine the registry names (for databases
    and APIs a :class:`~.batched.RecordBatchSource` given the typed settings).

    ``metrics`` is the run's metrics dict: API sources keep their call counts and page
    timings in it as they go, so they are reported even when the run fails half-way.
    """
    connector = connector_of(job)
    module_name, _, factory_name = connector.spec.engine.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        hint = f": pip install '{connector.spec.package}'" if connector.spec.package else ""
        raise ConnectorNotAvailable(
            f"connector {connector.spec.name!r} needs the Python package {exc.name!r}, which is not "
            f"installed{hint}"
        ) from None
    factory = getattr(module, factory_name)
    if connector.spec.kind == "file":
        return factory(job, asset)
    settings = source_settings(job, SOURCE_SETTINGS[connector.spec.name])
    return factory(settings, asset, connector=connector, metrics=metrics if metrics is not None else {})
