"""``DativoHook``: a job's secrets from Airflow connections, and their masking in Airflow's logs.

Under Airflow a job's secrets come from its tenant's ``secrets/<tenant>/`` files and from
Airflow connections, and connections win (that is where operators rotate credentials). Only
the secrets a job references are looked up, each in ``dativo_<tenant>_<name>`` or the
``conn_id`` its reference declares; docs/secrets.md has the rules. The ``dativo`` connection
type gives the Airflow UI a form that asks for just the secret; connections of any type work.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.secrets.refs import SecretRef
from airflow_provider_dativo.engine.secrets.store import (
    SecretEntry,
    SecretsError,
    SecretsUnavailable,
    TenantSecrets,
    check_secret_access,
    job_secret_refs,
    load_secrets,
)
from airflow_provider_dativo.get_provider_info import SECRET_CONNECTION_FORM

CONN_PREFIX = "dativo_"


class DativoHook(BaseHook):
    """One Airflow connection that holds a dativo secret.

    The secret is the connection's password or, when it has none, its extra (e.g. a JSON key
    file); :meth:`secret` can take another part instead (``uri``, ``login``, ``host``, ...).

    :param dativo_conn_id: the connection, by default ``dativo_<tenant>_<name>`` of the secret
        (see :func:`connection_id`).
    """

    conn_name_attr = "dativo_conn_id"
    default_conn_name = "dativo_default"
    conn_type = "dativo"
    hook_name = "Dativo secret"

    def __init__(self, dativo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dativo_conn_id = dativo_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form shows only what a secret needs: the value, or an extra (the same
        form ``get_provider_info()`` declares, which Airflow reads without importing this hook)."""
        return copy.deepcopy(SECRET_CONNECTION_FORM)

    def get_conn(self) -> Any:
        """The Airflow connection (raises ``AirflowNotFoundException`` when it does not exist)."""
        return self.get_connection(self.dativo_conn_id)

    def secret(self, field: str | None = None, *, what: str = "") -> str:
        """The password, else the extra; or the named ``field`` (``uri``: the whole connection as
        a URI). ``what`` names the secret in the error when that part is empty."""
        return self.secret_of(self.get_conn(), field, what=what)

    def secret_of(self, conn: Any, field: str | None = None, *, what: str = "") -> str:
        """:meth:`secret` of a connection already read."""
        if field is None:
            value, wanted = conn.password or conn.extra, "neither a password nor an extra"
        elif field == "uri":
            value, wanted = conn.get_uri(), "no URI"
        else:
            value, wanted = getattr(conn, field), f"no {field}"
        if not value:
            raise SecretsError(
                f"Airflow connection {self.dativo_conn_id!r}{what} has {wanted} to take the value from"
            )
        return value


def connection_id(tenant: str, name: str) -> str:
    """The default connection of one tenant's secret: ``dativo_<tenant>_<name>``, lower case."""
    return f"{CONN_PREFIX}{tenant}_{name}".lower()


def _check_declared_conn_id(job: ResolvedJob, ref: SecretRef) -> None:
    """A declared ``dativo_*`` connection must carry the prefix of a tenant the job may read.

    Other connection ids are the deployment's own and not tenant-scoped by this provider.
    """
    conn_id = (ref.conn_id or "").lower()
    if not conn_id.startswith(CONN_PREFIX):
        return
    readable = {job.tenant_id, *job.config.isolation.allow_secrets_from}
    if not any(conn_id.startswith(f"{CONN_PREFIX}{t}_".lower()) for t in readable):
        raise SecretsError(
            f"connection {ref.conn_id!r} (declared at {ref.location}) holds another tenant's secrets; "
            f"a job of tenant {job.tenant_id!r} reads only dativo_{job.tenant_id}_* connections "
            "and those of the tenants in isolation.allow_secrets_from"
        )


def _wanted_connections(job: ResolvedJob) -> dict[tuple[str, str], tuple[str, SecretRef, bool]]:
    """Per referenced (tenant, name): the connection to read, the reference, whether declared."""
    wanted: dict[tuple[str, str], tuple[str, SecretRef, bool]] = {}
    for ref in job_secret_refs(job):
        tenant = ref.tenant_or(job.tenant_id)
        check_secret_access(job, tenant, ref.location)
        key = (tenant, ref.name)
        if not ref.conn_id:
            wanted.setdefault(key, (connection_id(tenant, ref.name), ref, False))
            continue
        _check_declared_conn_id(job, ref)
        known = wanted.get(key)
        if known is not None and known[2] and (known[0], known[1].field) != (ref.conn_id, ref.field):
            raise SecretsError(
                f"secret {ref.spelled()!r} is declared with two connections or fields: "
                f"{_declared(known[1])} (at {known[1].location}) and {_declared(ref)} (at {ref.location})"
            )
        wanted[key] = (ref.conn_id, ref, True)
    return wanted


def read_connection_secrets(job: ResolvedJob) -> dict[tuple[str, str], SecretEntry]:
    """The secrets the job references that Airflow connections define, by (tenant, name);
    each connection is read once, however often the secret is referenced."""
    entries: dict[tuple[str, str], SecretEntry] = {}
    for key, (conn_id, ref, declared) in _wanted_connections(job).items():
        value = _connection_value(conn_id, ref, required=declared)
        if value is not None:
            entries[key] = SecretEntry(value, f"Airflow connection {conn_id!r}")
    return entries


def _connection_value(conn_id: str, ref: SecretRef, *, required: bool) -> str | None:
    hook = DativoHook(conn_id)
    try:
        conn = hook.get_conn()
    except AirflowNotFoundException:
        if required:
            raise SecretsError(
                f"Airflow connection {conn_id!r} declared for secret {ref.spelled()!r} "
                f"(at {ref.location}) does not exist"
            ) from None
        return None
    except Exception as exc:
        raise SecretsUnavailable(
            f"Airflow connection {conn_id!r} cannot be read: {type(exc).__name__}: {exc}"
        ) from None
    return hook.secret_of(conn, ref.field, what=f" (for secret {ref.spelled()!r})")


def _declared(ref: SecretRef) -> str:
    return f"{ref.conn_id!r}" + (f" field {ref.field!r}" if ref.field else "")


def mask_in_airflow(values: Iterable[str]) -> None:
    """Register values with Airflow's secrets masker, in this process and the supervisor's,
    so Airflow's own task log lines mask them too: each in every spelling (URL-, form-, JSON-
    and base64-encoded; a URI's password on its own), sent to the supervisor in one message."""
    from airflow.sdk.log import mask_secret

    from airflow_provider_dativo.engine.secrets.redaction import masker_spellings

    forms = sorted({form for value in values for form in masker_spellings(value)})
    if forms:
        mask_secret(forms)


def airflow_secrets_loader(job: ResolvedJob, *, secrets_dir: str | None = None) -> TenantSecrets:
    """Files, then Airflow connections on top; with ``logging.redaction: true``, every value is
    registered with Airflow's secrets masker as well."""
    secrets = load_secrets(job, secrets_dir=secrets_dir)
    entries = read_connection_secrets(job)
    secrets = secrets.merged(
        entries,
        source="connections",
        count=len(entries),
        places={t: f"Airflow connection {connection_id(t, '<name>')}" for t in secrets.places},
    )
    if job.config.logging.redaction:
        mask_in_airflow(secrets.values())
    return secrets
