"""Path rules shared by runner and job files: relative to the file, ``/app/`` re-rooted."""

from __future__ import annotations

import os
from pathlib import Path

APP_PREFIX = "/app/"


def app_root_from_env(app_root: str | os.PathLike[str] | None = None) -> str | None:
    """The explicit argument wins, then ``DATIVO_APP_ROOT``; empty means "no re-rooting"."""
    value = os.fspath(app_root) if app_root is not None else os.environ.get("DATIVO_APP_ROOT", "")
    return value or None


def resolve_path(raw: str, base_dir: Path, app_root: str | None) -> Path:
    """Resolve a path written in a YAML file.

    ``/app/...`` (the dativo image's layout) moves under ``app_root`` when one is set; other
    absolute paths stay; relative paths are relative to the folder of the file that holds them.
    """
    expanded = os.path.expanduser(raw)
    if app_root and (expanded == APP_PREFIX.rstrip("/") or expanded.startswith(APP_PREFIX)):
        return Path(os.path.normpath(os.path.join(app_root, expanded[len(APP_PREFIX) :])))
    if os.path.isabs(expanded):
        return Path(os.path.normpath(expanded))
    return Path(os.path.normpath(os.path.join(base_dir, expanded)))


def infer_tenant(job_path: Path) -> str | None:
    """The folder after the last ``jobs`` segment: ``.../jobs/acme/x.yaml`` -> ``acme``."""
    parts = job_path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "jobs" and i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def jobs_root(job_path: Path) -> Path | None:
    """The folder that holds ``jobs/``; bare asset names are looked up in its ``assets/``."""
    parts = job_path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "jobs":
            return Path(*parts[:i]) if i else Path(parts[0])
    return None
