"""Tenant confinement: every file a job reads lies under that tenant's allowed roots.

A job file is hostile input: ``source.path: ../../secrets/globex/*.env`` must not load another
tenant's secrets or the host's files. A tenant reads its app root minus every ``secrets``
folder and other tenants' ``jobs/``, ``secrets/`` and ``data/`` folders, plus the folders
``runner.tenants.<t>.allowed_roots`` grants it (docs/security.md has the rules). Paths are
checked as written when a job file loads (:meth:`TenantReach.written_problem`: no symlink
followed, only a folder's existence looked up) and again, symlinks resolved, right before a
run opens each file (:meth:`Confinement.confine`).

Hand-written: no library confines paths per tenant; the checks are a few ``os.path`` calls.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError
from airflow_provider_dativo.config.paths import jobs_root, resolve_path
from airflow_provider_dativo.config.yaml_source import line_of
from airflow_provider_dativo.settings import secrets_dir

SECRETS_FOLDER = "secrets"
TENANT_FOLDERS = ("jobs", SECRETS_FOLDER, "data")
"""Folders of the app root that hold one sub-folder per tenant."""

FIELD_LOCATIONS: dict[str, tuple[object, ...]] = {
    "source.path": ("source", "path"),
    "asset": ("asset",),
    "source_connector": ("source_connector",),
}
"""Where in a job file each confined field is written (for the line of an error)."""


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _folders_below(path: str, root: str) -> list[str]:
    """The folders between ``root`` and the file ``path`` (which lies within ``root``)."""
    rest = path[len(root.rstrip(os.sep)) + 1 :]
    return rest.split(os.sep)[:-1] if rest else []


@dataclass(frozen=True)
class Root:
    """One allowed root in its written (normalised) and its real (symlinks resolved) form; the
    real form is computed on first use, so loading a job (e.g. while Airflow parses DAGs) stats
    nothing."""

    written: str

    @cached_property
    def real(self) -> str:
        return os.path.realpath(self.written)

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> Root:
        return cls(os.path.abspath(os.fspath(path)))


@dataclass(frozen=True)
class TenantReach:
    """The roots one tenant may read from when its job files are in a given folder, and the
    check of a path against them. Shared by every job of that folder (see :func:`job_confinement`)."""

    tenant: str
    app_root: Root
    granted: tuple[Root, ...] = ()
    secrets_dirs: tuple[Root, ...] = field(default_factory=tuple)
    _written: dict[str, str | None] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """Memo of :meth:`written_problem`: a runner's jobs name the same few paths."""

    def describe(self) -> str:
        """The allowed roots in words, for error messages."""
        roots = [self.app_root.written, *(root.written for root in self.granted)]
        return ", ".join(roots)

    def written_problem(self, path: str) -> str | None:
        """:meth:`problem` of ``path`` as written (``resolve=False``), memoized."""
        try:
            return self._written[path]
        except KeyError:
            reason = self.problem(path, resolve=False)
            if len(self._written) < _WRITTEN_MEMO_LIMIT:
                self._written[path] = reason
            return reason

    def problem(self, path: str | os.PathLike[str], *, resolve: bool) -> str | None:
        """Why ``path`` may not be read by this tenant, or ``None`` when it may.

        ``resolve=False`` checks the path as written (no file system access but whether a
        folder names a tenant); ``resolve=True`` follows every symlink first.
        """
        text = os.path.abspath(os.fspath(path))
        if resolve:
            text = os.path.realpath(text)
        form = "real" if resolve else "written"
        for secrets in self.secrets_dirs:
            if _within(text, getattr(secrets, form)):
                return f"{self._shown(path, text)} is in the secrets folder {secrets.written}"
        for root in self.granted:
            if _within(text, getattr(root, form)):
                return self._in_secrets_folder(path, text, getattr(root, form))
        app_root = getattr(self.app_root, form)
        if not _within(text, app_root):
            return (
                f"{self._shown(path, text)} is outside the folders tenant {self.tenant!r} may read "
                f"({self.describe()}); the deployment's operator can grant more in runner.yaml "
                f"(runner.tenants.{self.tenant}.allowed_roots)"
            )
        return self._in_secrets_folder(path, text, app_root) or self._other_tenants(path, text, app_root)

    def _shown(self, written: str | os.PathLike[str], real: str) -> str:
        written = os.path.abspath(os.fspath(written))
        return written if written == real else f"{written} (which resolves to {real})"

    def _in_secrets_folder(self, path: str | os.PathLike[str], text: str, root: str) -> str | None:
        if SECRETS_FOLDER in _folders_below(text, root):
            return (
                f"{self._shown(path, text)} is in a {SECRETS_FOLDER}/ folder; secrets are read only "
                "through ${secret:NAME} references"
            )
        return None

    def _other_tenants(self, path: str | os.PathLike[str], text: str, root: str) -> str | None:
        folders = _folders_below(text, root)
        for i, folder in enumerate(folders):
            if folder in TENANT_FOLDERS:
                owner = folders[i + 1] if i + 1 < len(folders) else None
                level = os.path.join(root, *folders[:i])
                if owner is not None and owner != self.tenant and self._is_tenant(level, owner):
                    return (
                        f"{self._shown(path, text)} is in {folder}/{owner}/, a folder of tenant "
                        f"{owner!r}; a job of tenant {self.tenant!r} reads only its own"
                    )
                return None
        return None

    def _is_tenant(self, level: str, name: str) -> bool:
        """Whether ``name`` is a tenant of the deployment: it has a ``jobs/<name>/`` folder beside
        the folder being entered, or a secrets folder. ``data/shared/`` stays readable by all
        while no tenant is called ``shared``."""
        candidates = [os.path.join(level, folder, name) for folder in ("jobs", SECRETS_FOLDER)]
        candidates += [os.path.join(secrets.written, name) for secrets in self.secrets_dirs]
        return any(os.path.isdir(candidate) for candidate in candidates)


_WRITTEN_MEMO_LIMIT = 4096
"""Paths each :class:`TenantReach` remembers the written check of."""


@dataclass(frozen=True)
class Confinement:
    """The roots one tenant's job may read from (its :class:`TenantReach`), and the job file
    whose errors name the offending field."""

    reach: TenantReach
    job_path: Path

    def written_problem(self, path: str) -> str | None:
        """See :meth:`TenantReach.written_problem`."""
        return self.reach.written_problem(path)

    def error(self, field_name: str, message: str) -> DativoConfigError:
        """A problem of the job file at ``field_name`` (file, line, field)."""
        loc = FIELD_LOCATIONS.get(field_name, tuple(field_name.split(".")))
        return DativoConfigError(
            [ConfigProblem(str(self.job_path), line_of(self.job_path, loc), field_name, message)]
        )

    def confine(self, paths: Iterable[Path], field_name: str) -> list[Path]:
        """The real paths of ``paths`` (symlinks resolved: what is opened is what was checked),
        or a :class:`DativoConfigError` listing every path the tenant may not read."""
        real: list[Path] = []
        problems: list[str] = []
        for path in paths:
            reason = self.reach.problem(path, resolve=True)
            if reason is not None:
                problems.append(reason)
            real.append(Path(os.path.realpath(path)))
        if problems:
            shown = problems[:5] + ([f"... and {len(problems) - 5} more"] if len(problems) > 5 else [])
            raise self.error(field_name, "; ".join(shown))
        return real

    def check(self, path: Path, field_name: str) -> Path:
        """One path, symlinks resolved (see :meth:`confine`)."""
        return self.confine([path], field_name)[0]


def app_root_of(job_path: Path, app_root: str | None) -> Path:
    """The app root a job is confined to (see the module docstring)."""
    if app_root and _within(os.path.abspath(job_path), os.path.abspath(app_root)):
        return Path(os.path.abspath(app_root))
    return jobs_root(job_path) or job_path.parent


def secrets_dir_of(job_path: Path) -> Path:
    """Where the deployment's secrets live: ``DATIVO_SECRETS_DIR``, else ``secrets/`` beside
    ``jobs/`` (the job file's folder when it is not under ``jobs/``)."""
    explicit = secrets_dir()
    if explicit:
        return Path(explicit).expanduser().absolute()
    return (jobs_root(job_path) or job_path.parent) / SECRETS_FOLDER


def job_confinement(
    job_path: Path, tenant: str, app_root: str | None, granted: Sequence[str | os.PathLike[str]] = ()
) -> Confinement:
    """The confinement of a job of ``tenant`` in ``job_path``, with the roots granted to it."""
    reach = _reach(os.path.dirname(job_path), tenant, app_root, tuple(map(os.fspath, granted)), secrets_dir())
    return Confinement(reach, job_path)


@lru_cache(maxsize=1024)
def _reach(
    folder: str, tenant: str, app_root: str | None, granted: tuple[str, ...], secrets_env: str | None
) -> TenantReach:
    """The reach of ``tenant``'s job files in ``folder``: computed once per folder and tenant
    while a runner with thousands of schedules is loaded (``secrets_env`` is part of the key)."""
    job_path = Path(folder, "job.yaml")  # the roots depend on the job file's folder only
    return TenantReach(
        tenant=tenant,
        app_root=Root.of(app_root_of(job_path, app_root)),
        granted=tuple(Root.of(path) for path in granted),
        secrets_dirs=(Root.of(secrets_dir_of(job_path)),),
    )


TenantRoots = Mapping[str, Sequence[str]]
"""Tenant id -> the folders the runner file grants it (absolute paths)."""


def granted_roots(runner_path: str | os.PathLike[str] | None, app_root: str | None) -> dict[str, list[str]]:
    """``runner.tenants.<t>.allowed_roots`` of a runner file, resolved like every path in it.

    Only the runner's ``tenants`` section is validated (its schedules are not loaded): the
    operator and ``dativo run --runner`` read the grants at run time, fresh from the file.
    """
    if not runner_path:
        return {}
    from airflow_provider_dativo.config.runner import RunnerFile
    from airflow_provider_dativo.config.validation import validate_model
    from airflow_provider_dativo.config.yaml_source import read_yaml

    path = Path(os.path.abspath(runner_path))
    runner = validate_model(RunnerFile, read_yaml(path), path)
    return roots_of(runner.runner.tenants, path, app_root)


def roots_of(tenants: Mapping[str, object], runner_path: Path, app_root: str | None) -> dict[str, list[str]]:
    """Per tenant, its granted folders resolved relative to the runner file."""
    return {
        tenant: [str(resolve_path(raw, runner_path.parent, app_root)) for raw in settings.allowed_roots]  # type: ignore[attr-defined]
        for tenant, settings in tenants.items()
    }


def source_file_problems(confinement: Confinement, source_path: Path | None) -> list[ConfigProblem]:
    """What ``dativo validate`` finds on disk: every file the source path names now (a glob
    expanded), symlinks resolved, against the tenant's roots. A path holding a secret reference
    is checked when the job runs, once the reference is resolved."""
    if source_path is None or "${secret:" in str(source_path):
        return []
    text = str(source_path)
    candidates = glob.glob(text, recursive=True) if glob.has_magic(text) else [text]
    files = [Path(candidate) for candidate in candidates if os.path.isfile(candidate)]
    try:
        confinement.confine(files, "source.path")
    except DativoConfigError as exc:
        return exc.problems
    return []
