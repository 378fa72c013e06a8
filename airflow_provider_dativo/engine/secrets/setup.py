"""Bring a job's secrets into one run: load, switch on redaction, report, resolve references.

:func:`prepare_secrets` is the single call the runner makes; the steps stay separate
functions so that a caller with its own flow (or a test) can use any of them alone. The order
matters: redaction is on before the first event that could carry a value, and references are
resolved last, into a job object that lives only for the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.secrets.store import TenantSecrets, load_secrets, resolve_job_secrets

SecretsLoader = Callable[[ResolvedJob], TenantSecrets]
"""Reads the secrets of a job: :func:`load_secrets` (files), or the operator's (files + Airflow)."""


def enable_redaction(emitter: EventEmitter, job: ResolvedJob, secrets: TenantSecrets) -> list[str]:
    """With ``logging.redaction: true``, mask every secret value in the emitter's events.

    Returns the names of the values too short to be masked (reported in ``secrets_loaded``).
    """
    if not job.config.logging.redaction:
        return []
    emitter.add_secrets(secrets.values())
    return [name for name in secrets if not emitter.redactor.masks(secrets[name])]


def emit_secrets_loaded(
    emitter: EventEmitter, secrets: TenantSecrets, *, redaction: bool, not_masked: list[str] | None = None
) -> dict[str, Any] | None:
    """The seeds' ``secrets_loaded`` event: names and counts, never a value.

    Emitted only when a secrets file or an Airflow connection was actually read, so jobs
    without secrets keep their event sequence.
    """
    files, connections = secrets.sources.get("files", 0), secrets.sources.get("connections", 0)
    if not files and not connections:
        return None
    fields: dict[str, Any] = {
        "secret_names": secrets.names,
        "sources": {"files": files, "connections": connections},
        "redaction": redaction,
    }
    if not_masked:
        fields["not_masked"] = not_masked
    return emitter.emit(
        "secrets_loaded",
        message=(
            f"{len(secrets)} secrets loaded for tenant {secrets.tenant_id!r} from {files} files "
            f"and {connections} Airflow connections"
        ),
        **fields,
    )


def prepare_secrets(
    job: ResolvedJob, emitter: EventEmitter, *, loader: SecretsLoader | None = None
) -> tuple[ResolvedJob, TenantSecrets]:
    """Load the job's secrets, enable redaction, emit ``secrets_loaded`` and resolve references.

    Returns the job with its references replaced by values (for this run only) and the
    secrets. Raises :class:`~airflow_provider_dativo.engine.secrets.SecretsError` (exit code 2).
    """
    secrets = (loader or load_secrets)(job)
    not_masked = enable_redaction(emitter, job, secrets)
    emit_secrets_loaded(emitter, secrets, redaction=job.config.logging.redaction, not_masked=not_masked)
    return resolve_job_secrets(job, secrets), secrets
