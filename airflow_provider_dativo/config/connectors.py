"""The connector registry, and the connector recipes that adjust it per deployment.

The **registry** (:data:`REGISTRY`) is built in: for every connector a job may name it says
which engine runs it (imported only when a job runs), what that engine can do (capability
flags) and the settings every job of it gets by default (e.g. the secret holding the API key).

A **recipe** is an optional ``connectors/<name>.yaml`` in the folder that holds ``jobs/`` (the
dativo image's read-only ``/app/connectors``). It gives the deployment's own defaults for the
connector's settings (a proxy ``base_url``, another secret name, a smaller page size) and can
switch capabilities **off**, never on: a recipe cannot make an engine do what it cannot.

Job settings win over recipe defaults, which win over the built-in ones (top-level keys are
replaced, never merged). Recipes are read when a job runs and by ``dativo validate``, never
while Airflow parses DAGs (like assets), so a recipe costs the DAG files nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError
from airflow_provider_dativo.config.job import API_CONNECTORS, DATABASE_CONNECTORS, FILE_CONNECTORS
from airflow_provider_dativo.config.paths import jobs_root
from airflow_provider_dativo.config.service_sources import SOURCE_SETTINGS
from airflow_provider_dativo.config.validation import validate_model
from airflow_provider_dativo.config.yaml_source import line_of, read_yaml

if TYPE_CHECKING:
    from airflow_provider_dativo.config.loader import ResolvedJob

RECIPES_FOLDER = "connectors"


@dataclass(frozen=True)
class Capabilities:
    """What a connector's engine does, as flags a recipe may switch off."""

    incremental: bool
    """Jobs may set ``source.incremental`` (load only records beyond the committed cursor)."""
    cursor_pushdown: bool
    """The source itself asks only for records beyond the cursor (a SQL ``WHERE``, an API
    filter); off, it reads everything and the engine drops what was loaded already."""
    streaming: bool
    """Kept so recipes that set it stay valid; it changes nothing any more: every load is read,
    validated and written in record batches (bounded memory), whatever the mode."""

    def narrowed(self, switched: RecipeCapabilities) -> Capabilities:
        """These capabilities with the ones the recipe sets to ``false`` switched off."""
        offs = {name: False for name, value in switched.model_dump().items() if value is False}
        return replace(self, **offs)


@dataclass(frozen=True)
class ConnectorSpec:
    """One registry entry."""

    name: str
    kind: Literal["file", "database", "api"]
    engine: str
    """``module:name`` of what builds the source (files: a function of the job; databases and
    APIs: a ``RecordBatchSource`` class); imported only when a job runs."""
    capabilities: Capabilities
    defaults: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Settings every job of this connector gets unless its recipe or itself sets them."""
    credentials: tuple[str, ...] = ()
    """Settings that hold credentials: never logged, and scrubbed from every error text."""
    package: str | None = None
    """The pip requirement that brings the engine's driver, when it is an optional extra."""


_FILES = Capabilities(incremental=True, cursor_pushdown=False, streaming=True)
_SERVICES = Capabilities(incremental=True, cursor_pushdown=True, streaming=True)
_ENGINES = "airflow_provider_dativo.engine.sources"


def _api(name: str, engine: str, credential: str, secret: str) -> ConnectorSpec:
    """An API connector whose one credential defaults to the tenant's secret ``secret``."""
    return ConnectorSpec(
        name,
        "api",
        f"{_ENGINES}.api.{name}:{engine}",
        _SERVICES,
        defaults=MappingProxyType({credential: f"${{secret:{secret}}}"}),
        credentials=(credential,),
    )


REGISTRY: dict[str, ConnectorSpec] = {
    **{
        name: ConnectorSpec(name, "file", f"{_ENGINES}.files:file_source", _FILES) for name in FILE_CONNECTORS
    },
    "postgres": ConnectorSpec(
        "postgres",
        "database",
        f"{_ENGINES}.postgres.source:PostgresSource",
        _SERVICES,
        credentials=("dsn", "password"),
        package="airflow-provider-dativo[postgres]",
    ),
    "stripe": _api("stripe", "StripeSource", "api_key", "STRIPE_API_KEY"),
    "hubspot": _api("hubspot", "HubspotSource", "access_token", "HUBSPOT_ACCESS_TOKEN"),
}
"""Every connector a job may name."""

assert set(REGISTRY) == set(FILE_CONNECTORS + DATABASE_CONNECTORS + API_CONNECTORS)


class RecipeCapabilities(StrictModel):
    """Capability flags of a recipe: ``false`` switches one off; ``true`` only restates it."""

    incremental: bool | None = None
    cursor_pushdown: bool | None = None
    streaming: bool | None = None


class ConnectorRecipe(StrictModel):
    """``connectors/<name>.yaml``: a deployment's defaults and capability flags for a connector."""

    connector: str
    description: str | None = None
    capabilities: RecipeCapabilities = RecipeCapabilities()
    defaults: dict[str, Any] = {}


@dataclass(frozen=True)
class EffectiveConnector:
    """A connector as one job sees it: registry entry, recipe applied."""

    spec: ConnectorSpec
    capabilities: Capabilities
    defaults: dict[str, Any]
    """Built-in defaults, overridden by the recipe's."""
    recipe_path: Path | None = None

    def settings_for(self, source: dict[str, Any]) -> dict[str, Any]:
        """The job's ``source`` settings with the defaults under them."""
        return {**self.defaults, **source}


def recipe_path(job_path: Path, connector: str) -> Path:
    """``connectors/<connector>.yaml`` in the folder that holds ``jobs/`` (else the job's folder)."""
    return (jobs_root(job_path) or job_path.parent) / RECIPES_FOLDER / f"{connector}.yaml"


def load_connector(job: ResolvedJob) -> EffectiveConnector:
    """The job's connector with its recipe (if any) applied and checked against the job.

    Raises :class:`DativoConfigError` naming the recipe's file, line and field, or the job's
    ``source.incremental`` when the recipe switched incremental loads off, or the job's
    ``source_connector`` when the recipe resolves outside the folders its tenant may read.
    """
    name = job.config.source_connector
    path = recipe_path(job.path, name)
    if job.confinement is not None and os.path.lexists(path):
        path = job.confinement.check(path, "source_connector")  # a symlink must not lead out
    connector = _effective(name, path)
    if not connector.capabilities.incremental and job.config.source.get("incremental") is not None:
        raise DativoConfigError(
            [
                ConfigProblem(
                    str(job.path),
                    line_of(job.path, ("source", "incremental")),
                    "source.incremental",
                    f"connector {name!r} has incremental loads switched off by its recipe "
                    f"{connector.recipe_path} (capabilities.incremental: false)",
                )
            ]
        )
    return connector


def _effective(name: str, path: Path) -> EffectiveConnector:
    spec = REGISTRY[name]
    try:
        st = os.stat(path)
    except OSError:
        return EffectiveConnector(spec, spec.capabilities, dict(spec.defaults))
    return _from_recipe(name, str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _from_recipe(name: str, path_text: str, mtime_ns: int, size: int) -> EffectiveConnector:
    """Read and check one recipe (cached while the file is unchanged)."""
    path = Path(path_text)
    spec = REGISTRY[name]
    recipe = validate_model(ConnectorRecipe, read_yaml(path), path)
    problems: list[ConfigProblem] = []

    def problem(loc: tuple[object, ...], message: str) -> None:
        problems.append(ConfigProblem(str(path), line_of(path, loc), ".".join(map(str, loc)), message))

    if recipe.connector != name:
        problem(("connector",), f"is {recipe.connector!r}, but this file is the recipe of {name!r}")
    for flag, value in recipe.capabilities.model_dump().items():
        if value and not getattr(spec.capabilities, flag):
            problem(
                ("capabilities", flag),
                f"the {name} engine has no {flag}; a recipe can switch a capability off, not on",
            )
    allowed = SOURCE_SETTINGS[name].model_fields
    for key in recipe.defaults:
        if key not in allowed:
            problem(("defaults", key), f"unknown setting {key!r}; {name} settings: {', '.join(allowed)}")
        elif spec.kind == "file" and key == "path":
            problem(("defaults", key), "a file connector's path belongs in each job, not in its recipe")
    if problems:
        raise DativoConfigError(problems)
    defaults = {**spec.defaults, **recipe.defaults}
    return EffectiveConnector(spec, spec.capabilities.narrowed(recipe.capabilities), defaults, path)


def recipe_problems(job: ResolvedJob) -> list[ConfigProblem]:
    """What ``dativo validate`` reports about the job's recipe and the settings it yields."""
    try:
        connector = load_connector(job)
    except DativoConfigError as exc:
        return exc.problems
    try:
        validate_model(
            SOURCE_SETTINGS[job.config.source_connector],
            connector.settings_for(job.config.source),
            job.path,
            ("source",),
        )
    except DativoConfigError as exc:
        return [_blame_recipe(p, job, connector) for p in exc.problems]
    return []


def _blame_recipe(problem: ConfigProblem, job: ResolvedJob, connector: EffectiveConnector) -> ConfigProblem:
    """A problem with a setting the job does not set but its recipe does, moved to the recipe."""
    key = problem.field.removeprefix("source.").split(".")[0].split("[")[0]
    path = connector.recipe_path
    if path is None or key in job.config.source or key not in connector.defaults:
        return problem
    rest = problem.field.removeprefix(f"source.{key}")
    line = line_of(path, ("defaults", key))
    return ConfigProblem(str(path), line, f"defaults.{key}{rest}", problem.message)
