"""Open a job's Iceberg catalog (its own properties, or the embedded sqlite catalog under the
dativo home) and make sure a namespace exists; an unreachable catalog is a retryable failure."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog, load_catalog

from airflow_provider_dativo import settings
from airflow_provider_dativo.config.job import TargetSettings
from airflow_provider_dativo.engine.errors import CatalogUnavailable

_RETRY_HINT = "when the catalog is only temporarily unavailable, retrying the run helps"


def resolve_dativo_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the embedded catalog lives: the argument, else ``$DATIVO_HOME``, else ``./.dativo``."""
    home = settings.dativo_home(explicit).absolute()
    home.mkdir(parents=True, exist_ok=True)
    return home


def catalog_settings(target: TargetSettings, dativo_home: str | os.PathLike[str] | None) -> dict[str, Any]:
    """pyiceberg properties of the job's catalog; without any (``catalog`` absent, or only a
    ``name``), the embedded sqlite catalog registered under that name."""
    if target.catalog_properties():
        return target.catalog_properties()
    home = resolve_dativo_home(dativo_home)
    (home / "warehouse").mkdir(exist_ok=True)
    return {"type": "sql", "uri": f"sqlite:///{home}/catalog.db", "warehouse": f"file://{home}/warehouse"}


def _describe(properties: dict[str, Any]) -> str:
    """Where the catalog is, without any credential that may sit in its properties."""
    for key in ("uri", "warehouse"):
        if properties.get(key):
            return " at " + re.sub(r"//[^/@]*@", "//***@", str(properties[key]))
    return ""


def open_catalog(target: TargetSettings, dativo_home: str | os.PathLike[str] | None = None) -> Catalog:
    """Load the catalog; any failure is reported as unreachable (retryable)."""
    properties = catalog_settings(target, dativo_home)
    try:
        with _sqlite_setup_lock(properties):
            return load_catalog(target.catalog_name, **properties)
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {target.catalog_name!r}{_describe(properties)} cannot be reached: "
            f"{type(exc).__name__}: {exc} ({_RETRY_HINT})"
        ) from exc


@contextlib.contextmanager
def _sqlite_setup_lock(properties: dict[str, Any]) -> Iterator[None]:
    """Hold an exclusive file lock beside a sqlite catalog's database while it is opened.

    pyiceberg's ``SqlCatalog`` creates its tables when they are missing, by checking and then
    creating: two processes opening a new database at once (two tenants' first runs started by
    the same scheduler tick) both try, and one fails with ``table iceberg_tables already
    exists``. The lock serialises only that set-up; commits are not affected.
    """
    uri = str(properties.get("uri", ""))
    if not uri.startswith("sqlite:///") or ":memory:" in uri:
        yield
        return
    database = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    if not database.parent.is_dir():  # sqlite will report the missing folder; create nothing
        yield
        return
    with open(f"{database}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create the namespace when missing (a table can be neither created nor staged without it)."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {catalog.name!r} cannot be reached (creating namespace {namespace!r}): "
            f"{type(exc).__name__}: {exc} ({_RETRY_HINT})"
        ) from exc
