"""Every setting the provider reads from its environment or from Airflow's configuration.

The ``DATIVO_*`` and ``ORCH_*`` environment variables, the ``[dativo]`` options of Airflow's
configuration (airflow.cfg, or ``AIRFLOW__DATIVO__<OPTION>``) and the few variables of other
tools the provider honours are read here and nowhere else. :data:`SETTINGS` lists them all;
docs/configuration.md#settings is the same table for users.

Values are read when a function is called, never at import: a test or a long-running process
sees a changed variable. Importing this module imports nothing but the standard library, so
the DAG parse path pays nothing for it; Airflow's configuration is imported only when a
``[dativo]`` option could be set (:func:`airflow_option`).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

RUNNER_CONFIG = "DATIVO_RUNNER_CONFIG"
APP_ROOT = "DATIVO_APP_ROOT"
PARSE_CACHE_DIR = "DATIVO_PARSE_CACHE_DIR"
HOME = "DATIVO_HOME"
SECRETS_DIR = "DATIVO_SECRETS_DIR"
FRESHNESS_EVENTS_PATH = "DATIVO_FRESHNESS_EVENTS_PATH"
WORKFLOW_STATE = "DATIVO_WORKFLOW_STATE"
WORKFLOW_RETRY_DELAY = "DATIVO_WORKFLOW_RETRY_DELAY"
EVENTS_PATH = "ORCH_EVENTS_PATH"

SECTION = "dativo"
"""The section of Airflow's configuration that holds the provider's options."""
CACHE_OFF = "off"
DEFAULT_HOME = ".dativo"
DEFAULT_EVENTS_PATH = "logs/orchestrator_events.jsonl"


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: where a value comes from, its default, who reads it."""

    variable: str
    option: str | None
    default: str
    read_by: str
    purpose: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        RUNNER_CONFIG,
        "runner_config",
        "none: build_dags() fails naming the three ways to give it",
        "build_dags() (no argument), airflow dativo sync-pools (no argument)",
        "the runner.yaml whose schedules become DAGs",
    ),
    Setting(
        APP_ROOT,
        "app_root",
        "none: /app/ paths fall back to the nearest folder holding them",
        "build_dags(), every dativo command, the operators, load_job/load_runner/load_workflow_file "
        "without app_root=",
        "the folder that replaces the /app/ prefix of paths in runner, job and workflow files",
    ),
    Setting(
        PARSE_CACHE_DIR,
        "parse_cache_dir",
        "$AIRFLOW_HOME/dativo-parse-cache; 'off' disables the cache",
        "build_dags()",
        "the folder of the parse cache",
    ),
    Setting(
        HOME,
        None,
        DEFAULT_HOME + " (relative to the working directory)",
        "dativo run, the operators (embedded catalog); freshness and workflow-state defaults",
        "home of the embedded sqlite catalog and of files the provider keeps",
    ),
    Setting(
        SECRETS_DIR,
        None,
        "secrets/ beside jobs/",
        "dativo run, the operators, dativo validate (confinement)",
        "the folder holding one <tenant>/ folder of secret files per tenant",
    ),
    Setting(
        FRESHNESS_EVENTS_PATH,
        None,
        "$DATIVO_HOME/freshness_events.jsonl",
        "the append_jsonl freshness notifier (triggerer)",
        "the JSON Lines file missed freshness promises are appended to",
    ),
    Setting(
        WORKFLOW_STATE,
        None,
        "$DATIVO_HOME/workflow-state/<tenant>/<name>.json",
        "dativo workflow run",
        "the state file (or folder of them) of --changed and --resume",
    ),
    Setting(
        WORKFLOW_RETRY_DELAY,
        None,
        "each task's retry_delay_seconds",
        "dativo workflow run",
        "the base delay before a task's first retry, for every task",
    ),
    Setting(
        EVENTS_PATH,
        None,
        DEFAULT_EVENTS_PATH + " (relative to the working directory)",
        "dativo workflow run, dativo report",
        "the JSON Lines file of the seeds' orchestrator events",
    ),
    Setting("AIRFLOW_HOME", None, "~/airflow", "build_dags()", "Airflow's; the parse cache's default folder"),
    Setting("NO_COLOR", None, "unset", "dativo workflow run", "any value turns colour off"),
    Setting("TERM", None, "unset", "dativo workflow run", "dumb turns symbols and colour off"),
)


def _env(name: str) -> str:
    return os.environ.get(name, "")


def airflow_option(key: str) -> str:
    """``[dativo] <key>`` from Airflow's configuration, ``""`` when unset or unavailable.

    Importing Airflow's configuration takes seconds, so a command outside Airflow (``dativo
    validate``, ``dativo run``) imports it only when the option could be set: Airflow is
    already loaded, an ``AIRFLOW__DATIVO__<KEY>`` variable exists, or Airflow's config file
    has a ``[dativo]`` section. Otherwise the answer is the option's default, ``""``.
    """
    if "airflow.configuration" not in sys.modules and not _airflow_may_set(key):
        return ""
    try:
        from airflow.configuration import conf

        return conf.get(SECTION, key, fallback="") or ""
    except Exception:  # Airflow's configuration is unusable here: as if the option were unset
        return ""


def _airflow_may_set(key: str) -> bool:
    prefix = f"AIRFLOW__{SECTION.upper()}__{key.upper()}"
    if any(name.startswith(prefix) for name in os.environ):
        return True
    config = _env("AIRFLOW_CONFIG") or os.path.join(airflow_home(), "airflow.cfg")
    try:
        text = Path(os.path.expandvars(config)).expanduser().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(rf"^\s*\[{SECTION}\]", text, re.MULTILINE | re.IGNORECASE) is not None


def airflow_dag_defaults() -> dict[str, object]:
    """The DAG arguments whose default ``airflow.sdk.DAG`` looks up in Airflow's configuration
    for every DAG it builds: read once, so a factory building a thousand DAGs in one parse pays
    once (the DAGs are the same; the tests compare them serialized)."""
    from airflow.sdk.configuration import conf

    return {
        "max_active_tasks": conf.getint("core", "max_active_tasks_per_dag"),
        "max_consecutive_failed_dag_runs": conf.getint("core", "max_consecutive_failed_dag_runs_per_dag"),
        "disable_bundle_versioning": conf.getboolean("dag_processor", "disable_bundle_versioning"),
    }


def airflow_home() -> str:
    """``AIRFLOW_HOME`` as Airflow reads it (default ``~/airflow``), user and variables expanded."""
    return os.path.expanduser(os.path.expandvars(_env("AIRFLOW_HOME") or "~/airflow"))


def resolve_runner_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The argument, then ``DATIVO_RUNNER_CONFIG``, then ``[dativo] runner_config``."""
    value = os.fspath(explicit) if explicit else _env(RUNNER_CONFIG) or airflow_option("runner_config")
    if not value:
        from airflow_provider_dativo.config.errors import DativoConfigError

        raise DativoConfigError.single(
            "<runner.yaml>",
            "runner_config",
            f"no runner file given: pass build_dags(path), set {RUNNER_CONFIG}, "
            f"or set [{SECTION}] runner_config in airflow.cfg",
        )
    return Path(value)


def resolve_app_root(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The folder that stands for ``/app/``: the argument, then ``DATIVO_APP_ROOT``, then
    ``[dativo] app_root``; ``None`` when none is set.

    Every entry point resolves it this way (the factory, every ``dativo`` command, the
    operators), so a DAG, its export and ``dativo validate`` read the same files. An empty
    argument means "no app root" and reads nothing: what a caller passes on once resolved.
    """
    if explicit is not None:
        return os.fspath(explicit) or None
    return _env(APP_ROOT) or airflow_option("app_root") or None


def parse_cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The parse cache's folder: the argument, ``DATIVO_PARSE_CACHE_DIR``, ``[dativo]
    parse_cache_dir``, else ``$AIRFLOW_HOME/dativo-parse-cache``; ``None`` when one says ``off``."""
    for value in (explicit, _env(PARSE_CACHE_DIR), airflow_option("parse_cache_dir")):
        text = os.fspath(value) if value is not None else ""
        if text:
            return None if text.strip().lower() == CACHE_OFF else Path(text)
    return Path(airflow_home()) / "dativo-parse-cache"


def dativo_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The argument, else ``DATIVO_HOME``, else ``./.dativo`` (user expanded, not created)."""
    return Path(os.fspath(explicit) if explicit else _env(HOME) or DEFAULT_HOME).expanduser()


def secrets_dir() -> str | None:
    """``DATIVO_SECRETS_DIR`` when set (callers default to ``secrets/`` beside ``jobs/``)."""
    return _env(SECRETS_DIR) or None


def freshness_events_path() -> Path:
    """``DATIVO_FRESHNESS_EVENTS_PATH``, else ``$DATIVO_HOME/freshness_events.jsonl``."""
    explicit = _env(FRESHNESS_EVENTS_PATH)
    return Path(explicit) if explicit else dativo_home() / "freshness_events.jsonl"


def workflow_state(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The argument (``--state``), else ``DATIVO_WORKFLOW_STATE``; ``None`` means the default
    under ``DATIVO_HOME`` (the caller knows the workflow's tenant and name)."""
    return (os.fspath(explicit) if explicit else _env(WORKFLOW_STATE)) or None


def workflow_retry_delay() -> str | None:
    """``DATIVO_WORKFLOW_RETRY_DELAY`` as written (the CLI checks it is a number)."""
    return _env(WORKFLOW_RETRY_DELAY) or None


def events_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The argument, then ``ORCH_EVENTS_PATH``, then ``logs/orchestrator_events.jsonl`` (relative
    to the working directory, as in the seeds)."""
    return Path(explicit or _env(EVENTS_PATH) or DEFAULT_EVENTS_PATH)


def colour_allowed() -> bool:
    """``NO_COLOR`` (https://no-color.org) unset."""
    return not _env("NO_COLOR")


def dumb_terminal() -> bool:
    """``TERM=dumb``: a terminal that shows no symbols or colour."""
    return _env("TERM") == "dumb"
