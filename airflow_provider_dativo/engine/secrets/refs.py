"""The syntax that lets job settings name a secret instead of holding its value.

Two forms, allowed at any depth of ``source`` and ``target.catalog``:

- ``"${secret:NAME}"`` or ``"${secret:TENANT/NAME}"`` inside any string, alone or embedded
  (``postgresql://etl:${secret:PG_PASSWORD}@db/lake``); the value is inserted verbatim.
- a mapping whose only keys are ``secret`` (the name) and optionally ``tenant``, ``conn_id``
  (the Airflow connection to read it from, used only under Airflow) and ``field`` (which part
  of that connection is the value: ``password``, ``extra``, ``login``, ``host`` or ``uri``, the
  whole connection as a URI; default: its password, else its extra):
  ``api_key: {secret: STRIPE_API_KEY, conn_id: stripe_prod}``,
  ``dsn: {secret: PG_DSN, conn_id: analytics_db, field: uri}``. The whole mapping becomes the
  value. A mapping with any other key is ordinary settings, untouched.

A ``${secret:`` that does not form a valid reference is an error rather than text passed
on, so a typo cannot send a reference to a remote system as if it were the secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_dativo.engine.secrets.files import SECRET_NAME

_TENANT = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
STRING_REF = re.compile(r"\$\{secret:(?:(?P<tenant>" + _TENANT + r")/)?(?P<name>" + _NAME + r")\}")
MARKER = "${secret:"
TENANT = re.compile(f"^{_TENANT}$")
MAPPING_KEYS = frozenset({"secret", "tenant", "conn_id", "field"})
CONNECTION_FIELDS = ("password", "extra", "login", "host", "uri")
"""Parts of an Airflow connection a reference's ``field`` may name."""


class SecretRefError(ValueError):
    """A malformed reference; ``location`` is where in the settings (``source.api_key``)."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


@dataclass(frozen=True)
class SecretRef:
    """One reference to a secret found in job settings."""

    name: str
    tenant: str | None = None
    """``None``: the job's own tenant."""
    conn_id: str | None = None
    """The Airflow connection declared for this secret (read only under Airflow)."""
    location: str = ""
    field: str | None = None
    """The part of the Airflow connection that is the value (``None``: password, else extra)."""

    def tenant_or(self, own: str) -> str:
        return self.tenant or own

    def spelled(self) -> str:
        return f"{self.tenant}/{self.name}" if self.tenant else self.name


Lookup = Callable[[SecretRef], str]


def find_refs(value: Any, location: str = "") -> list[SecretRef]:
    """Every reference in ``value`` (a settings dict, list or string), in document order."""
    found: list[SecretRef] = []
    _walk(value, location, lambda ref: found.append(ref) or "")
    return found


def substitute(value: Any, lookup: Lookup, location: str = "") -> Any:
    """A copy of ``value`` with each reference replaced by ``lookup(ref)``."""
    return _walk(value, location, lookup)


def _walk(value: Any, location: str, lookup: Lookup) -> Any:
    if isinstance(value, str):
        return _substitute_text(value, location, lookup)
    if isinstance(value, dict):
        ref = mapping_ref(value, location)
        if ref is not None:
            return lookup(ref)
        return {k: _walk(v, _join(location, str(k)), lookup) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, f"{location}[{i}]", lookup) for i, v in enumerate(value)]
    return value


def _join(location: str, key: str) -> str:
    return f"{location}.{key}" if location else key


def _substitute_text(text: str, location: str, lookup: Lookup) -> str:
    if MARKER not in text:
        return text
    if MARKER in STRING_REF.sub("", text):
        raise SecretRefError(
            location, "malformed secret reference: write ${secret:NAME} or ${secret:TENANT/NAME}"
        )
    return STRING_REF.sub(
        lambda m: lookup(SecretRef(m.group("name"), m.group("tenant"), location=location)), text
    )


def mapping_ref(value: dict[Any, Any], location: str = "") -> SecretRef | None:
    """The reference a ``{secret: NAME, ...}`` mapping stands for, or ``None`` for plain settings."""
    if "secret" not in value or not set(value) <= MAPPING_KEYS:
        return None
    name, tenant, conn_id = value.get("secret"), value.get("tenant"), value.get("conn_id")
    if not isinstance(name, str) or not SECRET_NAME.match(name):
        raise SecretRefError(location, "'secret' must name a secret: letters, digits, '_', '.' or '-'")
    if tenant is not None and (not isinstance(tenant, str) or not TENANT.match(tenant)):
        raise SecretRefError(location, "'tenant' must be a tenant id: letters, digits, '_' or '-'")
    if conn_id is not None and (not isinstance(conn_id, str) or not conn_id):
        raise SecretRefError(location, "'conn_id' must be the id of an Airflow connection")
    field = value.get("field")
    if field is not None and field not in CONNECTION_FIELDS:
        raise SecretRefError(
            location,
            f"'field' must be one of {', '.join(CONNECTION_FIELDS)} (the part of the Airflow connection)",
        )
    return SecretRef(name, tenant, conn_id, location, field)
