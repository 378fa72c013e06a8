"""Load a job file and its asset into a resolved, validated :class:`ResolvedJob`.

Every check that needs only the job file is here: tenant (given or inferred from
``jobs/<tenant>/``), namespace isolation, connector settings, and the paths the job names
against the folders its tenant may read. Runner files, which name job and workflow files,
are loaded a layer above, by :mod:`airflow_provider_dativo.plan.runner`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_dativo.config.confinement import Confinement, TenantRoots, job_confinement
from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError
from airflow_provider_dativo.config.job import (
    FILE_CONNECTORS,
    TENANT_ID,
    FileSourceSettings,
    JobConfig,
)
from airflow_provider_dativo.config.layout import layout_problems
from airflow_provider_dativo.config.paths import (
    infer_tenant,
    jobs_root,
    resolve_path,
    static_part,
)
from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.config.validation import validate_model
from airflow_provider_dativo.config.yaml_source import line_of, read_yaml
from airflow_provider_dativo.settings import resolve_app_root

if TYPE_CHECKING:  # imported where used: a DAG parse of file connectors needs neither
    from airflow_provider_dativo.config.asset import Asset

POOL_PREFIX = "dativo_tenant_"


def pool_name(tenant_id: str) -> str:
    """The Airflow pool that serializes one tenant's jobs."""
    return f"{POOL_PREFIX}{tenant_id}"


@dataclass(frozen=True)
class ResolvedJob:
    """A validated job file with its paths resolved and its tenant known."""

    path: Path
    config: JobConfig
    tenant_id: str
    tenant_inferred: bool
    asset_path: Path
    retry_config: RetryConfig | None
    source_path: Path | None = None
    confinement: Confinement | None = None
    """The folders this job may read (see :mod:`~airflow_provider_dativo.config.confinement`)."""

    @property
    def namespace(self) -> str:
        return self.config.target.namespace or self.tenant_id

    @property
    def asset_uri(self) -> str:
        """URI of the Airflow Asset that names the target table."""
        target = self.config.target
        return f"iceberg://{target.catalog_name}/{self.namespace}/{target.table}"


def load_asset(job: ResolvedJob) -> Asset:
    """Read and validate the asset a job refers to (after checking, symlinks resolved, that the
    job's tenant may read it)."""
    from airflow_provider_dativo.config.asset import Asset

    path = job.asset_path
    if job.confinement is not None:
        path = job.confinement.check(path, "asset")
    return validate_model(Asset, read_yaml(path), job.asset_path)


def target_problems(job: ResolvedJob, asset: Asset) -> list[ConfigProblem]:
    """What the job's ``target`` names that its asset does not have (see :mod:`.layout`)."""
    target = job.config.target
    return layout_problems(
        job.path,
        asset,
        partition_by=target.partition_by,
        sort_by=target.sort_by,
        merge_keys=target.merge_keys,
    )


def load_job(
    path: str | Path,
    *,
    app_root: str | None = None,
    default_retry: RetryConfig | None = None,
    allowed_roots: TenantRoots | None = None,
) -> ResolvedJob:
    """Read, validate and resolve one job file. Raises :class:`DativoConfigError`.

    ``allowed_roots`` maps tenant ids to the extra folders the runner file grants them
    (``runner.tenants.<t>.allowed_roots``); the paths the job names are checked, as written,
    against its tenant's roots (symlinks and glob matches are checked when they are read).
    """
    app_root = resolve_app_root(app_root)
    text = os.fspath(path)
    absolute = os.path.abspath(text)  # tenant inference and asset lookup read the folders
    path = path if isinstance(path, Path) and absolute == text else Path(absolute)
    data = read_yaml(path)
    config = validate_model(JobConfig, data, path)
    problems: list[ConfigProblem] = []

    tenant_inferred = config.tenant_id is None
    folder_tenant = infer_tenant(path)
    tenant = config.tenant_id or folder_tenant
    if tenant is not None and tenant_inferred and not TENANT_ID.match(tenant):
        problems.append(
            ConfigProblem(
                str(path),
                line_of(path, ()),
                "tenant_id",
                f"is inferred from the folder {tenant!r}, which is not a valid tenant id "
                "(letters, digits, '_' or '-'); set tenant_id or rename the folder",
            )
        )
    if tenant is None:
        problems.append(
            ConfigProblem(
                str(path),
                line_of(path, ()),
                "tenant_id",
                "is missing and cannot be inferred: the job file is not in a jobs/<tenant>/ folder",
            )
        )

    if tenant is not None:
        problems.extend(_tenant_folder_problems(config, tenant, folder_tenant, path))
        problems.extend(_namespace_problems(config, tenant, path))

    asset_path = _asset_path(config.asset, path, app_root)
    source_path = None
    if config.source_connector in FILE_CONNECTORS:
        try:
            settings = validate_model(FileSourceSettings, config.source, path, ("source",))
            source_path = resolve_path(settings.path, os.path.dirname(path), app_root)
        except DativoConfigError as exc:
            problems.extend(exc.problems)
    else:
        problems.extend(_service_settings_problems(config, path))
    confinement = None
    if tenant is not None:
        confinement = job_confinement(path, tenant, app_root, (allowed_roots or {}).get(tenant, ()))
        problems.extend(_confinement_problems(confinement, asset_path, source_path))
    if problems:
        raise DativoConfigError(problems)
    return ResolvedJob(
        path=path,
        config=config,
        tenant_id=tenant,  # type: ignore[arg-type]
        tenant_inferred=tenant_inferred,
        asset_path=asset_path,
        retry_config=config.retry_config or default_retry,
        source_path=source_path,
        confinement=confinement,
    )


def _tenant_folder_problems(
    config: JobConfig, tenant: str, folder: str | None, path: Path
) -> list[ConfigProblem]:
    """A job file in ``jobs/<t>/`` (``folder`` is ``t``) runs as ``t``: a ``tenant_id`` naming
    another tenant would run it with that tenant's secrets, namespace and folders."""
    if config.tenant_id is None or folder is None or folder == tenant:
        return []
    return [
        ConfigProblem(
            str(path),
            line_of(path, ("tenant_id",)),
            "tenant_id",
            f"is {tenant!r}, but the file is in the folder of tenant {folder!r} (jobs/{folder}/); "
            f"a job file under jobs/<tenant>/ must name that tenant or leave tenant_id out",
        )
    ]


def _confinement_problems(
    confinement: Confinement, asset_path: Path, source_path: Path | None
) -> list[ConfigProblem]:
    """The paths of a job as written, against its tenant's roots (no file system access; a
    glob is checked up to its first wildcard, each match when the job runs)."""
    checks = [("asset", str(asset_path))]
    if source_path is not None:
        text = str(source_path)
        static = static_part(text)
        checks.append(("source.path", text if static == text else str(Path(static) / "*")))
    problems = []
    for field_name, text in checks:
        reason = confinement.written_problem(text)
        if reason is not None:
            problems.extend(confinement.error(field_name, reason).problems)
    return problems


def _service_settings_problems(config: JobConfig, path: Path) -> list[ConfigProblem]:
    """The ``source`` settings of a database or API connector, with the registry's defaults
    under them (a recipe's are checked at run time and by ``dativo validate``)."""
    from airflow_provider_dativo.config.connectors import REGISTRY  # service connectors only
    from airflow_provider_dativo.config.service_sources import SOURCE_SETTINGS

    defaults = REGISTRY[config.source_connector].defaults
    try:
        validate_model(
            SOURCE_SETTINGS[config.source_connector], {**defaults, **config.source}, path, ("source",)
        )
    except DativoConfigError as exc:
        return exc.problems
    return []


def _namespace_problems(config: JobConfig, tenant: str, path: Path) -> list[ConfigProblem]:
    """Tenant isolation of writes: a job writes its tenant's namespace (the default) and only
    the other namespaces that ``isolation.allow_namespaces`` lists, so a copied job file cannot
    silently write into another tenant's tables."""
    namespace = config.target.namespace
    if namespace is None or namespace == tenant or namespace in config.isolation.allow_namespaces:
        return []
    return [
        ConfigProblem(
            str(path),
            line_of(path, ("target", "namespace")),
            "target.namespace",
            f"namespace {namespace!r} is outside tenant {tenant!r}: a job of tenant {tenant!r} writes "
            f"only namespace {tenant!r} unless isolation.allow_namespaces lists {namespace!r}",
        )
    ]


def _asset_path(ref: str, job_path: Path, app_root: str | None) -> Path:
    """A path (relative to the job file) or a bare name looked up as ``assets/<name>.yaml``."""
    is_bare_name = "/" not in ref and not ref.endswith((".yaml", ".yml"))
    if is_bare_name:
        return _bare_asset_path(ref, os.path.dirname(job_path))
    return resolve_path(ref, os.path.dirname(job_path), app_root)


@lru_cache(maxsize=4096)
def _bare_asset_path(ref: str, folder: str) -> Path:
    """``assets/<ref>.yaml`` beside ``jobs/``: the same few per folder across a whole runner."""
    job_path = Path(folder, "job.yaml")  # jobs_root() looks at the folders of a file
    return (jobs_root(job_path) or job_path.parent) / "assets" / f"{ref}.yaml"
