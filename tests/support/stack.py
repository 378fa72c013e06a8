"""A real Airflow stack as local processes, configured by ``docker-compose.yaml`` itself.

The end-to-end tests (``tests/e2e/``) and the native stack (``scripts/stack.sh``) both use it:

- the Airflow settings are the environment of the compose file's ``x-airflow-common`` block,
  read from the file; only the settings that name a container path, host or port
  (:data:`PLACES`) get local values, and the Celery settings are left out (LocalExecutor)
  unless the stack runs the ``celery`` profile: then ``AIRFLOW_EXECUTOR=CeleryExecutor`` as
  the compose file documents, the broker is a local redis-server and the result backend the
  stack's PostgreSQL, and every Celery worker is ``airflow <command of airflow-worker>``
  (``celery worker``) with the worker service's environment, in a folder of its own: its own
  AIRFLOW_HOME, copy of airflow.cfg, DATIVO_HOME, log server port and hostname, so that
  workers share nothing through the disk (:class:`Worker`);
- the set-up step is the compose file's ``airflow-init`` script, run as it is with ``bash``:
  it writes the shared config (JWT secret, Fernet key, API secret key, UI password), migrates
  the database and creates the tenant pools with ``airflow dativo sync-pools``;
- each component is ``airflow <command of its compose service>`` (``api-server``,
  ``scheduler``, ``dag-processor``, ``triggerer``), started as a process of its own;
- :meth:`AirflowStack.stop` ends every process the stack started, including the task
  processes that run in process groups of their own, and checks that the ports are free;
- with the example configs, the native stack serves the Stripe and HubSpot schedules from
  loopback fakes (``tests/support/demo_apis.py``), so the demo starts green.

From a shell (what ``scripts/stack.sh`` runs)::

    python -m tests.support.stack start [--dir .airflow/stack] [--port 8080]
    python -m tests.support.stack status
    python -m tests.support.stack stop
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import yaml

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
E2E_DATABASE = "airflow_e2e"
"""The metadata database of the e2e package's stack."""
COMPOSE_FILE = REPO / "docker-compose.yaml"
COMMON = "x-airflow-common"
INIT_SERVICE = "airflow-init"
API_SERVICE = "airflow-apiserver"
WORKER_SERVICE = "airflow-worker"
CELERY_EXECUTOR = "CeleryExecutor"
DEFAULT_SERVICES = (API_SERVICE, "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
"""The services the native stack runs; the end-to-end tests leave out the triggerer."""

PLACES = frozenset(
    {
        "AIRFLOW_CONFIG",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "DATIVO_RUNNER_CONFIG",
        "DATIVO_APP_ROOT",
        "DATIVO_HOME",
    }
)
"""Compose settings that name a container path, host or port: the only ones given local values."""
CELERY_ONLY = frozenset({"AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND"})
NATIVE_ONLY = frozenset(
    {
        "AIRFLOW_HOME",
        "AIRFLOW__API__HOST",
        "AIRFLOW__API__PORT",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT",
    }
)
"""What the images set (AIRFLOW_HOME) or fix by container (ports), set for local processes."""
HEALTH_PARTS = {
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag_processor",
    "airflow-triggerer": "triggerer",
}
"""The part of ``/api/v2/monitor/health`` that reports each service."""
MARKER = "DATIVO_STACK_ID"
"""Every process of a stack carries this variable, so orphaned task processes are found too."""
WORKER_MARKER = "DATIVO_WORKER_NAME"
"""Every process of a Celery worker (its pool, task supervisors and tasks) carries its name."""
WORKER_HOSTNAME_CALLABLE = "tests.support.worker_identity.hostname"
"""``[core] hostname_callable`` of the workers: the worker's name is the hostname Airflow records
for the task instances it runs (two workers on one machine would otherwise share one)."""
ADMIN_USER = "admin"

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class StackError(RuntimeError):
    """The stack could not be set up, started or stopped; the message holds the log's tail."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's variable substitution: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?error}``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        value = variables.get(name)
        if operator == ":-" and not value:
            return argument
        if operator == "-" and value is None:
            return argument
        if operator in (":?", "?") and (value is None or (operator == ":?" and not value)):
            raise StackError(f"compose variable {name} is required: {argument}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as data, YAML anchors and ``<<`` merges resolved."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def service_environment(
    compose: Mapping[str, Any], service: str, variables: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a service (or of ``x-airflow-common``), interpolated with ``variables``."""
    block = compose[COMMON] if service == COMMON else compose["services"][service]
    environment = block.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: interpolate(str(value), variables or {}) for key, value in environment.items()}


def service_command(
    compose: Mapping[str, Any], service: str, variables: Mapping[str, str] | None = None
) -> list[str]:
    """A service's ``command`` as an argument list (Airflow services: the arguments of ``airflow``)."""
    command = compose["services"][service]["command"]
    arguments = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    return [interpolate(argument, variables or {}) for argument in arguments]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Ports:
    """The loopback ports of one native stack (the containers each have their own)."""

    api: int
    scheduler_health: int
    worker_logs: int
    trigger_logs: int

    @classmethod
    def pick(cls, api: int | None = None) -> Ports:
        return cls(api or free_port(), free_port(), free_port(), free_port())

    def all(self) -> list[int]:
        return [self.api, self.scheduler_health, self.worker_logs, self.trigger_logs]


class Layout:
    """Where a native stack keeps its files: everything under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.airflow_home = self.root / "airflow"  # AIRFLOW_HOME: task logs, parse cache
        self.config_dir = self.airflow_home / "config"  # airflow.cfg and the UI password file
        self.dativo_home = self.root / "dativo"  # DATIVO_HOME: the embedded Iceberg catalog
        self.logs = self.root / "process-logs"  # stdout and stderr of each process
        self.postgres = self.root / "postgres"  # the PostgreSQL cluster of the native stack
        self.state_file = self.root / "stack.json"  # what `stop` needs
        self.redis = self.root / "redis"  # the Celery broker of the celery profile

    def worker(self, name: str) -> Path:
        """The folder of one Celery worker: everything it writes, as on a machine of its own."""
        return self.root / "workers" / name


def database_url(compose_url: str, dsn: str) -> str:
    """The compose file's SQLAlchemy URL (same dialect and driver) pointing at ``dsn``'s server."""
    scheme = urlsplit(compose_url).scheme
    return f"{scheme}://{dsn.split('://', 1)[1]}"


def localize(
    settings: Mapping[str, str],
    *,
    layout: Layout,
    ports: Ports,
    dsn: str,
    runner_config: Path,
    app_root: Path,
    broker_url: str | None = None,
) -> dict[str, str]:
    """A compose service's settings for local processes: :data:`PLACES` and ports made local;
    with a ``broker_url`` (the celery profile) the Celery broker and result backend too."""
    local = {key: value for key, value in settings.items() if key not in CELERY_ONLY}
    if broker_url is not None:
        backend = settings["AIRFLOW__CELERY__RESULT_BACKEND"]
        prefix = backend.split("+", 1)[0] + "+" if backend.startswith("db+") else ""
        local["AIRFLOW__CELERY__BROKER_URL"] = broker_url
        local["AIRFLOW__CELERY__RESULT_BACKEND"] = prefix + database_url(backend.removeprefix(prefix), dsn)
    local.update(
        {
            "AIRFLOW_CONFIG": str(layout.config_dir / "airflow.cfg"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports.api}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                layout.config_dir / "simple_auth_manager_passwords.json"
            ),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url(
                settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], dsn
            ),
            "DATIVO_RUNNER_CONFIG": str(runner_config),
            "DATIVO_APP_ROOT": str(app_root),
            "DATIVO_HOME": str(layout.dativo_home),
            "AIRFLOW_HOME": str(layout.airflow_home),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(ports.api),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports.scheduler_health),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.worker_logs),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.trigger_logs),
        }
    )
    return local


def _process_environment(settings: Mapping[str, str], stack_id: str) -> dict[str, str]:
    """This process's environment without any Airflow or dativo setting, plus ``settings``."""
    own = ("AIRFLOW", "_AIRFLOW", "DATIVO_", "PYICEBERG_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    # `python` and `airflow` of the init script are this interpreter's
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(settings)
    env[MARKER] = stack_id
    return env


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Api:
    """The Airflow 3 public REST API (``/api/v2``) with a JWT from ``POST /auth/token``."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        response = httpx.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=timeout
        )
        response.raise_for_status()
        token = response.json()["access_token"]
        self.client = httpx.Client(
            base_url=f"{self.base_url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        response = self.client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.client.close()


class AirflowStack:
    """PostgreSQL-backed Airflow components as local processes, set up like ``docker-compose.yaml``.

    :param layout: the folder for the stack's files.
    :param dsn: libpq URI of an existing database (``postgresql://user:pw@host:port/db``).
    :param runner_config: the runner file the DAG file and ``sync-pools`` read.
    :param app_root: what ``/app/`` in the runner's paths stands for.
    :param services: compose services to run as processes.
    :param broker_url: the celery profile: run ``AIRFLOW_EXECUTOR=CeleryExecutor`` with this
        broker (a local redis-server), and start :attr:`workers` with :meth:`start_worker`.
    :param overrides: Airflow settings that differ from the compose file (tests use shorter
        timeouts, said where they are set).
    """

    def __init__(
        self,
        layout: Layout,
        *,
        dsn: str,
        runner_config: Path,
        app_root: Path,
        services: Sequence[str] = DEFAULT_SERVICES,
        api_port: int | None = None,
        admin_password: str | None = None,
        compose_file: Path = COMPOSE_FILE,
        broker_url: str | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.layout = layout
        self.services = tuple(services)
        self.ports = Ports.pick(api_port)
        self.admin_password = admin_password or secrets.token_urlsafe(16)
        self.stack_id = uuid.uuid4().hex
        self.compose = load_compose(compose_file)
        self.variables = {"AIRFLOW_UID": str(os.getuid()), "AIRFLOW_ADMIN_PASSWORD": self.admin_password}
        if broker_url is not None:
            self.variables["AIRFLOW_EXECUTOR"] = CELERY_EXECUTOR  # what docs/docker-compose.md says to set
        place = {
            "layout": layout,
            "ports": self.ports,
            "dsn": dsn,
            "runner_config": runner_config,
            "app_root": app_root,
            "broker_url": broker_url,
        }
        self._place = place
        common = service_environment(self.compose, COMMON, self.variables)
        self.settings = {**localize(common, **place), **(overrides or {})}
        self.init_settings = {
            **localize(service_environment(self.compose, INIT_SERVICE, self.variables), **place),
            **(overrides or {}),
        }
        self.overrides = dict(overrides or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: dict[str, Worker] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of every component (and of ``airflow`` commands run against the stack)."""
        return _process_environment(self.settings, self.stack_id)

    def init(self) -> None:
        """Run the compose file's ``airflow-init`` script: shared config, migration, tenant pools."""
        for folder in (self.layout.logs, self.layout.airflow_home):
            folder.mkdir(parents=True, exist_ok=True)
        script = service_command(self.compose, INIT_SERVICE, self.variables)
        log = self.layout.logs / "init.log"
        with log.open("w") as out:
            result = subprocess.run(
                ["bash", *script],
                env=_process_environment(self.init_settings, self.stack_id),
                cwd=self.layout.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if result.returncode != 0:
            raise StackError(f"airflow-init failed ({result.returncode}), {log}:\n{_tail(log)}")

    def start(self) -> None:
        """Start one process per service; any failure stops what was started."""
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        busy = [port for port in self.ports.all() if not port_is_free(port)]
        if busy:
            raise StackError(
                f"port(s) {busy} are in use: is another stack running? (`scripts/stack.sh stop`)"
            )
        try:
            for service in self.services:
                (self.layout.logs / f"{service}.log").write_text("")
                self.start_service(service)
        except BaseException:
            self.stop()
            raise

    def start_service(self, service: str) -> None:
        """(Re)start one compose service's process, e.g. after :meth:`kill_service`."""
        command = [sys.executable, "-m", "airflow", *service_command(self.compose, service)]
        with (self.layout.logs / f"{service}.log").open("a") as out:
            self.processes[service] = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.layout.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill_service(self, service: str) -> None:
        """SIGKILL a service's process and its children, as a crash would (no clean shutdown)."""
        process = self.processes.pop(service)
        victims = [psutil.Process(process.pid)]
        with contextlib.suppress(psutil.NoSuchProcess):
            victims += victims[0].children(recursive=True)
        for victim in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.kill()
        psutil.wait_procs(victims, timeout=10)
        process.wait(timeout=10)

    # --- Celery workers (the celery profile) ---------------------------------------------------

    def worker_settings(self, name: str, log_port: int) -> dict[str, str]:
        """The settings of the compose file's worker service for worker ``name``: the stack's,
        with the worker's own home, config copy, DATIVO_HOME, log server port and hostname."""
        folder = self.layout.worker(name)
        settings = localize(
            service_environment(self.compose, WORKER_SERVICE, self.variables),
            **{**self._place, "layout": Layout(folder)},
        )
        settings.update(self.overrides)
        settings.update(
            {
                "AIRFLOW_HOME": str(folder / "airflow"),
                "AIRFLOW_CONFIG": str(folder / "airflow" / "config" / "airflow.cfg"),
                "DATIVO_HOME": str(folder / "dativo"),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": self.settings[
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
                ],
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                WORKER_MARKER: name,
            }
        )
        return settings

    def start_worker(self, name: str) -> Worker:
        """Start (or restart) Celery worker ``name``: ``airflow celery worker`` in its own folder,
        with a copy of the shared airflow.cfg (the JWT secret), as a remote worker would have."""
        folder = self.layout.worker(name)
        config = folder / "airflow" / "config"
        config.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.layout.config_dir / "airflow.cfg", config / "airflow.cfg")
        worker = self.workers.get(name) or Worker(name=name, folder=folder, log_port=free_port())
        settings = self.worker_settings(name, worker.log_port)
        command = [
            sys.executable,
            "-m",
            "airflow",
            *service_command(self.compose, WORKER_SERVICE),
            "--celery-hostname",
            f"{name}@%h",
        ]
        with (self.layout.logs / f"{WORKER_SERVICE}-{name}.log").open("a") as out:
            worker.process = subprocess.Popen(
                command,
                env=_process_environment(settings, self.stack_id),
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker.settings = settings
        self.workers[name] = worker
        return worker

    def wait_worker(self, name: str, timeout: float = 180.0) -> None:
        """Until the compose file's worker health check (``celery inspect ping``) answers for it."""
        worker = self.workers[name]
        check = service_command_healthcheck(self.compose, WORKER_SERVICE)
        check = check.replace("celery@$${HOSTNAME}", f"{name}@{socket.gethostname()}").replace("$$", "$")
        env = _process_environment(worker.settings, self.stack_id)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
        deadline = time.monotonic() + timeout
        while True:
            if worker.process is None or worker.process.poll() is not None:
                log = self.layout.logs / f"{WORKER_SERVICE}-{name}.log"
                raise StackError(f"worker {name} exited; {log}:\n{_tail(log)}")
            result = subprocess.run(
                ["bash", "-c", check], env=env, capture_output=True, text=True, timeout=120
            )
            if result.returncode == 0 and "pong" in result.stdout:
                return
            if time.monotonic() > deadline:
                raise StackError(f"worker {name} does not answer: {result.stdout}{result.stderr}")
            time.sleep(2)

    def kill_worker(self, name: str) -> list[int]:
        """SIGKILL every process of worker ``name`` at once (its task processes included), as
        when its machine is lost; returns their pids."""
        worker = self.workers[name]
        victims = []
        if worker.process is not None:  # its title is rewritten (setproctitle): find it by pid too
            with contextlib.suppress(psutil.NoSuchProcess):
                main = psutil.Process(worker.process.pid)
                victims += [main, *main.children(recursive=True)]
        for process in psutil.process_iter():
            if process in victims:
                continue
            try:
                env = process.environ()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            if env.get(MARKER) == self.stack_id and env.get(WORKER_MARKER) == name:
                victims.append(process)
        for process in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(victims, timeout=10)
        if worker.process is not None:
            worker.process.wait(timeout=10)
        return [p.pid for p in victims]

    def wait_healthy(self, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until ``/api/v2/monitor/health`` reports every started component healthy."""
        wanted = {"metadatabase"} | {HEALTH_PARTS[s] for s in self.services if s in HEALTH_PARTS}
        deadline = time.monotonic() + timeout
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                health = {}
            if all((health.get(part) or {}).get("status") == "healthy" for part in wanted):
                return health
            time.sleep(1)
        raise StackError(f"the stack was not healthy after {timeout:.0f}s: {health}\n{self._log_tails()}")

    def _check_alive(self) -> None:
        for service, process in self.processes.items():
            if process.poll() is not None:
                log = self.layout.logs / f"{service}.log"
                raise StackError(f"{service} exited with {process.returncode}; {log}:\n{_tail(log)}")

    def _log_tails(self) -> str:
        return "\n".join(
            f"--- {service}:\n{_tail(self.layout.logs / f'{service}.log', 15)}" for service in self.processes
        )

    def api(self) -> Api:
        return Api(self.url, ADMIN_USER, self.admin_password)

    def stop(self, timeout: float = 30.0) -> None:
        """End every process of the stack (workers and task processes too) and check the ports
        are free."""
        popens = [*self.processes.values(), *(w.process for w in self.workers.values() if w.process)]
        live = []
        for process in popens:
            with contextlib.suppress(psutil.NoSuchProcess):
                live.append(psutil.Process(process.pid))
        stop_processes(live, self.stack_id, timeout=timeout)
        for process in popens:
            process.wait(timeout=10)  # reaped already; sets returncode
        self.processes.clear()
        wait_ports_free(self.ports.all() + [w.log_port for w in self.workers.values()])
        self.workers.clear()

    def state(self) -> dict[str, Any]:
        """What ``stop`` needs in another Python process (the native stack's ``stack.json``)."""
        return {
            "stack_id": self.stack_id,
            "url": self.url,
            "ports": asdict(self.ports),
            "processes": {s: [p.pid, psutil.Process(p.pid).create_time()] for s, p in self.processes.items()},
        }


@dataclass
class Worker:
    """One Celery worker of the stack: its folder, log server port, process and settings."""

    name: str
    folder: Path
    log_port: int
    process: subprocess.Popen[bytes] | None = None
    settings: dict[str, str] | None = None

    @property
    def logs(self) -> Path:
        """Where its task logs are (``[logging] base_log_folder`` under its AIRFLOW_HOME)."""
        return self.folder / "airflow" / "logs"


def service_command_healthcheck(compose: Mapping[str, Any], service: str) -> str:
    """The shell command of a service's ``CMD-SHELL`` health check."""
    test = compose["services"][service]["healthcheck"]["test"]
    if test[0] != "CMD-SHELL":
        raise StackError(f"{service}: expected a CMD-SHELL health check, found {test[0]}")
    return str(test[1])


def stop_processes(processes: Any, stack_id: str, *, timeout: float = 30.0) -> None:
    """Terminate the given processes, their descendants and every process carrying the stack's
    marker (task processes whose parent has already gone); kill what is left after ``timeout``."""
    victims: dict[int, psutil.Process] = {}
    for process in processes:
        try:
            victims.update({p.pid: p for p in [process, *process.children(recursive=True)]})
        except psutil.NoSuchProcess:
            continue
    for process in psutil.process_iter():
        try:
            if process.pid not in victims and process.environ().get(MARKER) == stack_id:
                victims[process.pid] = process
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for process in victims.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(list(victims.values()), timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _, alive = psutil.wait_procs(alive, timeout=10)
    if alive:
        raise StackError(f"processes still running after kill: {[p.pid for p in alive]}")


def wait_ports_free(ports: Sequence[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    busy = list(ports)
    while busy and time.monotonic() < deadline:
        busy = [port for port in busy if not port_is_free(port)]
        if busy:
            time.sleep(0.2)
    if busy:
        raise StackError(f"port(s) {busy} still in use after the stack stopped")


# --- the native stack: `scripts/stack.sh start|stop|status` -----------------------------------

DEFAULT_DIR = REPO / ".airflow" / "stack"
EXAMPLES = REPO / "example_configs"


def _start(args: argparse.Namespace) -> int:
    from tests.support.postgres import PostgresServer, start_server

    layout = Layout(Path(args.dir).resolve())
    if layout.state_file.exists() and _running(json.loads(layout.state_file.read_text())):
        print(f"the stack in {layout.root} is already running: scripts/stack.sh stop", file=sys.stderr)
        return 1
    layout.root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # PostgreSQL then runs as user postgres, which must reach its folder
        layout.root.chmod(layout.root.stat().st_mode | 0o711)
    port_file = layout.postgres / "port"
    server: PostgresServer = start_server(
        layout.postgres, port=int(port_file.read_text()) if port_file.exists() else None
    )
    port_file.write_text(str(server.port))
    stack = None
    try:
        if not server.psql("SELECT 1 FROM pg_database WHERE datname = 'airflow'").strip():
            server.create_database("airflow")
        app_root = Path(args.app_root).resolve()
        demo = args.demo_apis and app_root == EXAMPLES
        stack = AirflowStack(
            layout,
            dsn=server.dsn("airflow"),
            runner_config=Path(args.runner).resolve(),
            app_root=layout.root / "app" if demo else app_root,
            api_port=args.port,
            admin_password=os.environ.get("AIRFLOW_ADMIN_PASSWORD") or "admin",
        )
        if demo:  # Stripe and HubSpot schedules run against loopback fakes, with sample data
            from tests.support import demo_apis

            layout.logs.mkdir(parents=True, exist_ok=True)
            _, urls = demo_apis.start(layout.root / "demo-apis", stack.env, layout.logs / "demo-apis.log")
            demo_apis.prepare_demo_app(EXAMPLES, layout.root / "app", urls)
            print(
                f"demo APIs: {urls['stripe']} (Stripe), {urls['hubspot']} (HubSpot), app {layout.root}/app"
            )
        print(f"setting up (config, migration, pools): {layout.logs / 'init.log'}")
        stack.init()
        stack.start()
        layout.state_file.write_text(json.dumps({**stack.state(), "postgres_port": server.port}, indent=2))
        print("starting " + ", ".join(stack.services) + " ...")
        stack.wait_healthy()
    except BaseException:
        if stack is not None:
            stack.stop()  # ends the demo APIs too (they carry the stack's marker)
        server.stop(remove=False)
        layout.state_file.unlink(missing_ok=True)
        raise
    where = "" if layout.root == DEFAULT_DIR else f" --dir {layout.root}"
    print(
        f"Airflow is up: {stack.url}  (user {ADMIN_USER}, password {stack.admin_password})\n"
        f"  runner file   {args.runner}\n  process logs  {layout.logs}\n"
        f"  metadata DB   {server.dsn('airflow')}\n  stop with     bash scripts/stack.sh stop{where}"
    )
    return 0


def _running(state: Mapping[str, Any]) -> bool:
    return any(_live_process(pid, created) for pid, created in state.get("processes", {}).values())


def _live_process(pid: int, created: float) -> psutil.Process | None:
    try:
        process = psutil.Process(pid)
        return process if abs(process.create_time() - created) < 0.01 else None
    except psutil.NoSuchProcess:
        return None


def _stop(args: argparse.Namespace) -> int:
    from tests.support.postgres import PostgresServer

    layout = Layout(Path(args.dir).resolve())
    if not layout.state_file.exists():
        print(f"no stack state in {layout.root}: nothing to stop")
        return 0
    state = json.loads(layout.state_file.read_text())
    live = [p for pid, created in state["processes"].values() if (p := _live_process(pid, created))]
    stop_processes(live, state["stack_id"])
    wait_ports_free(list(state["ports"].values()))
    PostgresServer(root=layout.postgres, port=state["postgres_port"]).stop(remove=False)
    layout.state_file.unlink()
    print(f"stopped the stack of {layout.root} (data kept; delete the folder to start afresh)")
    return 0


def _status(args: argparse.Namespace) -> int:
    layout = Layout(Path(args.dir).resolve())
    if not layout.state_file.exists():
        print("not running")
        return 1
    state = json.loads(layout.state_file.read_text())
    for service, (pid, created) in state["processes"].items():
        print(f"{service:24} pid {pid:<8} {'running' if _live_process(pid, created) else 'NOT RUNNING'}")
    try:
        print(json.dumps(httpx.get(f"{state['url']}/api/v2/monitor/health", timeout=5).json(), indent=2))
    except httpx.HTTPError as exc:
        print(f"{state['url']}: {exc}")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", default=os.environ.get("DATIVO_STACK_DIR", str(DEFAULT_DIR)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DATIVO_STACK_PORT", "8080")))
    parser.add_argument(
        "--runner",
        default=os.environ.get("DATIVO_RUNNER_CONFIG", str(REPO / "example_configs" / "runner_airflow.yaml")),
    )
    parser.add_argument("--app-root", default=os.environ.get("DATIVO_APP_ROOT", str(EXAMPLES)))
    parser.add_argument(
        "--no-demo-apis",
        dest="demo_apis",
        action="store_false",
        help="with the example configs, do not serve Stripe and HubSpot from loopback fakes",
    )
    args = parser.parse_args(argv)
    try:
        return {"start": _start, "stop": _stop, "status": _status}[args.action](args)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())


def stack_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """What ``bash scripts/stack.sh ...`` runs (after installing the venv)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.support.stack", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
