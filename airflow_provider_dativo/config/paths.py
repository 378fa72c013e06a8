"""Path rules shared by runner and job files: relative to the file, ``/app/`` re-rooted."""

from __future__ import annotations

import glob
import os
from functools import lru_cache
from pathlib import Path

APP_PREFIX = "/app/"

LOCAL_APP_ROOT_LEVELS = 3
"""How many folders above a file are tried as the local stand-in for ``/app/``."""


def resolve_path(raw: str, base_dir: str | os.PathLike[str], app_root: str | None) -> Path:
    """Resolve a path written in a YAML file.

    ``/app/...`` (the dativo image's layout) moves under ``app_root`` when one is set. Without
    one, when ``/app/...`` does not exist on this machine, the nearest folder at or above the
    file's folder that holds the rest of the path stands for ``/app/``: a checkout of a
    deployment (``configs/``, ``jobs/``, ``assets/`` side by side) works as it is. Other
    absolute paths stay; relative paths are relative to the folder of the file that holds them.
    """
    expanded = os.path.expanduser(raw) if raw.startswith("~") else raw
    if expanded.startswith(APP_PREFIX):
        rest = expanded[len(APP_PREFIX) :]
        if app_root:
            return _joined(rest, app_root)
        if not os.path.exists(static_part(expanded)):
            local = _local_app_root(Path(base_dir), rest)
            if local is not None:
                return _joined(rest, os.fspath(local))
    return _joined(expanded, os.fspath(base_dir))


@lru_cache(maxsize=8192)
def _joined(path: str, base: str) -> Path:
    """``path`` relative to ``base`` (or absolute), normalised. Memoized: the job files of one
    folder name the same few paths, and building a ``Path`` costs more than looking it up."""
    return Path(os.path.normpath(os.path.join(base, path)))


def static_part(path: str) -> str:
    """The leading part of a path before any glob character: what must exist for it to match."""
    if not glob.has_magic(path):
        return path or "/"
    static = []
    for part in path.split("/"):
        if glob.has_magic(part):
            break
        static.append(part)
    return "/".join(static) or "/"


def _local_app_root(base_dir: Path, rest: str) -> Path | None:
    target = static_part(rest)
    for candidate in [base_dir, *base_dir.parents][: LOCAL_APP_ROOT_LEVELS + 1]:
        if os.path.exists(os.path.join(candidate, target)):
            return candidate
    return None


def infer_tenant(job_path: str | os.PathLike[str]) -> str | None:
    """The folder after the last ``jobs`` segment: ``.../jobs/acme/x.yaml`` -> ``acme``."""
    return _tenant_folder(os.path.dirname(os.fspath(job_path)))


@lru_cache(maxsize=4096)
def _tenant_folder(folder: str) -> str | None:
    """:func:`infer_tenant` of the files of ``folder`` (the same for all of them)."""
    parts = Path(folder).parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "jobs" and i + 1 < len(parts):
            return parts[i + 1]
    return None


def jobs_root(job_path: Path) -> Path | None:
    """The folder that holds ``jobs/``; bare asset names are looked up in its ``assets/``."""
    parts = job_path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "jobs":
            return Path(*parts[:i]) if i else Path(parts[0])
    return None
