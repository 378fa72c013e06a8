"""A tenant's secrets: read from ``secrets/<tenant>/`` and handed out by reference only.

Secrets live in ``secrets/<tenant>/*.env`` and ``*.json`` (formats in
:mod:`~airflow_provider_dativo.engine.secrets.files`), in the folder that holds ``jobs/``: the
dativo image's ``/app/secrets`` beside ``/app/jobs``. ``DATIVO_SECRETS_DIR`` (or
``secrets_dir=``) names another folder holding the ``<tenant>/`` folders.

A job reads its own tenant's secrets, plus those of the tenants in
``isolation.allow_secrets_from``; a reference to any other tenant's secret is a
:class:`SecretsError` before a single file of that tenant is opened. Job settings name secrets
with references (:mod:`~airflow_provider_dativo.engine.secrets.refs`), resolved by
:func:`resolve_secret_refs` right before use, so values never sit in a parsed job file, a
DAG or a rendered template.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_dativo import settings
from airflow_provider_dativo.config.job import CatalogSettings
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.config.paths import jobs_root
from airflow_provider_dativo.engine.errors import JobFailed
from airflow_provider_dativo.engine.secrets.files import SECRET_SUFFIXES, SecretFileError, read_secret_file
from airflow_provider_dativo.engine.secrets.refs import (
    MARKER,
    TENANT,
    SecretRef,
    SecretRefError,
    find_refs,
    substitute,
)


class SecretsError(JobFailed):
    """Secrets cannot be loaded or a reference cannot be resolved: the job fails (exit code 2).

    Messages name secrets, tenants, files and settings, never a value.
    """

    error_type = "SecretsError"
    retryable = False
    hopeless = "dativo job {job_name} cannot read its secrets"


class SecretsUnavailable(SecretsError):
    """A secrets backend (e.g. Airflow's) failed to answer; possibly temporary, so retryable."""

    error_type = "SecretsUnavailable"
    retryable = True


@dataclass(frozen=True)
class SecretEntry:
    """One secret value and where it came from (a file, an Airflow connection)."""

    value: str = field(repr=False)
    origin: str


Key = tuple[str, str]
"""(tenant, name)"""


class TenantSecrets(Mapping[str, str]):
    """The secrets one job may use: ``NAME`` for its own tenant, ``TENANT/NAME`` for others.

    ``repr``/``str`` list names only, so logging the object (or an error holding it) leaks
    nothing.
    """

    def __init__(
        self,
        tenant_id: str,
        entries: Mapping[Key, SecretEntry] | None = None,
        *,
        allowed_tenants: frozenset[str] | set[str] | tuple[str, ...] = (),
        sources: Mapping[str, int] | None = None,
        places: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self._entries: dict[Key, SecretEntry] = dict(entries or {})
        self.allowed_tenants = frozenset(allowed_tenants) | {tenant_id}
        self.sources: dict[str, int] = {"files": 0, "connections": 0, **(sources or {})}
        """How many secret files and Airflow connections were read."""
        self.places: dict[str, tuple[str, ...]] = dict(places or {})
        """Per tenant, where secrets were looked for (for "not defined" errors)."""

    def _spell(self, key: Key) -> str:
        tenant, name = key
        return name if tenant == self.tenant_id else f"{tenant}/{name}"

    def _key(self, spelled: str) -> Key:
        tenant, sep, name = spelled.rpartition("/")
        return (tenant, name) if sep else (self.tenant_id, name)

    def __getitem__(self, spelled: str) -> str:
        try:
            return self._entries[self._key(spelled)].value
        except KeyError:
            raise KeyError(spelled) from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._spell(k) for k in self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TenantSecrets(tenant_id={self.tenant_id!r}, names={list(self)!r})"

    __str__ = __repr__

    @property
    def names(self) -> list[str]:
        """Every secret name (``TENANT/NAME`` for other tenants'), sorted."""
        return list(self)

    def origin(self, spelled: str) -> str:
        """Where a secret came from, e.g. ``file /app/secrets/acme/stripe.env``."""
        return self._entries[self._key(spelled)].origin

    def lookup(self, ref: SecretRef) -> str:
        """The value ``ref`` names; a foreign tenant not allowed, or a missing secret, fails."""
        tenant = ref.tenant_or(self.tenant_id)
        at = f" (referenced at {ref.location})" if ref.location else ""
        if tenant not in self.allowed_tenants:
            raise SecretsError(_access_message(self.tenant_id, tenant, at))
        entry = self._entries.get((tenant, ref.name))
        if entry is None:
            looked = "; ".join(self.places.get(tenant, ())) or "nowhere"
            raise SecretsError(
                f"secret {ref.name!r} of tenant {tenant!r} is not defined{at}; looked in: {looked}"
            )
        return entry.value

    def merged(
        self, entries: Mapping[Key, SecretEntry], *, source: str, count: int, places: Mapping[str, str]
    ) -> TenantSecrets:
        """A copy where ``entries`` (read from ``count`` items of ``source``) override these.

        ``places`` adds, per tenant, where ``source`` was searched.
        """
        all_places = dict(self.places)
        for tenant, place in places.items():
            all_places[tenant] = (*all_places.get(tenant, ()), place)
        sources = dict(self.sources)
        sources[source] = sources.get(source, 0) + count
        return TenantSecrets(
            self.tenant_id,
            {**self._entries, **entries},
            allowed_tenants=self.allowed_tenants,
            sources=sources,
            places=all_places,
        )


def _access_message(own: str, other: str, at: str) -> str:
    return (
        f"a job of tenant {own!r} may not read the secrets of tenant {other!r}{at}; "
        f"list {other!r} in isolation.allow_secrets_from to allow it"
    )


def check_secret_access(job: ResolvedJob, tenant: str, location: str = "") -> None:
    """Fail unless ``job`` may read ``tenant``'s secrets (its own, or allowed by isolation)."""
    if tenant == job.tenant_id or tenant in job.config.isolation.allow_secrets_from:
        return
    at = f" (referenced at {location})" if location else ""
    raise SecretsError(_access_message(job.tenant_id, tenant, at))


def secrets_root(job: ResolvedJob, secrets_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``<tenant>/`` folders: the argument, ``$DATIVO_SECRETS_DIR``, else
    ``secrets/`` beside ``jobs/`` (the job file's folder when it is not under ``jobs/``)."""
    explicit = secrets_dir or settings.secrets_dir()
    if explicit:
        return Path(explicit).expanduser().absolute()
    return (jobs_root(job.path) or job.path.parent) / "secrets"


def _catalog_settings(job: ResolvedJob) -> dict[str, Any] | None:
    catalog = job.config.target.catalog
    if catalog is None:
        return None
    return {"name": catalog.name, **(catalog.model_extra or {})}


def job_secret_refs(job: ResolvedJob) -> list[SecretRef]:
    """Every secret reference in the job's ``source`` and ``target.catalog`` settings."""
    try:
        return find_refs(job.config.source, "source") + find_refs(_catalog_settings(job), "target.catalog")
    except SecretRefError as exc:
        raise SecretsError(f"job {job.path}: {exc}") from None


def _secret_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SECRET_SUFFIXES) and p.is_file())


def load_secrets(job: ResolvedJob, *, secrets_dir: str | os.PathLike[str] | None = None) -> TenantSecrets:
    """Read the secret files of the job's tenant and of every other tenant it references.

    A reference to a tenant that is neither the job's nor in ``isolation.allow_secrets_from``
    fails here, before anything of that tenant is read. A tenant without a folder simply has
    no secrets: missing ones are reported when a reference is resolved.
    """
    root = secrets_root(job, secrets_dir)
    tenants = [job.tenant_id]
    for ref in job_secret_refs(job):
        tenant = ref.tenant_or(job.tenant_id)
        check_secret_access(job, tenant, ref.location)
        if tenant not in tenants:
            tenants.append(tenant)

    entries: dict[Key, SecretEntry] = {}
    places: dict[str, tuple[str, ...]] = {}
    files = 0
    for tenant in tenants:
        if not TENANT.match(tenant):  # never a path outside the secrets folder
            raise SecretsError(f"{tenant!r} is not a tenant id")
        folder = root / tenant
        places[tenant] = (f"{folder}/*.env, *.json",)
        for path in _secret_files(folder):
            try:
                values = read_secret_file(path)
            except SecretFileError as exc:
                raise SecretsError(f"secrets file {exc}") from None
            files += 1
            for name, value in values.items():
                known = entries.get((tenant, name))
                if known is not None and known.value != value:
                    raise SecretsError(
                        f"secret {name!r} of tenant {tenant!r} has different values in "
                        f"{known.origin.removeprefix('file ')} and {path}"
                    )
                entries.setdefault((tenant, name), SecretEntry(value, f"file {path}"))
    return TenantSecrets(
        job.tenant_id,
        entries,
        allowed_tenants=set(job.config.isolation.allow_secrets_from),
        sources={"files": files},
        places=places,
    )


def resolve_secret_refs(
    settings: dict[str, Any], secrets: TenantSecrets, location: str = ""
) -> dict[str, Any]:
    """A copy of ``settings`` with every secret reference replaced by its value.

    ``location`` prefixes the setting paths in errors (``source`` -> ``source.api_key``).
    """
    try:
        return substitute(settings, secrets.lookup, location)
    except SecretRefError as exc:
        raise SecretsError(str(exc)) from None


def resolve_job_secrets(job: ResolvedJob, secrets: TenantSecrets) -> ResolvedJob:
    """The job with references in ``source`` and ``target.catalog`` replaced by values.

    The result holds secret values: use it for the run only, never log or persist it.
    """
    if not job_secret_refs(job):
        return job
    source = resolve_secret_refs(job.config.source, secrets, "source")
    target = job.config.target
    catalog = _catalog_settings(job)
    if catalog is not None:
        resolved = CatalogSettings.model_validate(resolve_secret_refs(catalog, secrets, "target.catalog"))
        target = target.model_copy(update={"catalog": resolved})
    source_path = job.source_path
    if source_path is not None and MARKER in str(source_path):
        # load_job resolved the path with the reference in it; substituting keeps that resolution
        source_path = Path(substitute(str(source_path), secrets.lookup, "source.path"))
    config = job.config.model_copy(update={"source": source, "target": target})
    return dataclasses.replace(job, config=config, source_path=source_path)
