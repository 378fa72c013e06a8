"""A throwaway PostgreSQL server from Debian's packages, on loopback, owned by the tests.

Why not a container or a mock: the standards ask for a real PostgreSQL, and CI has only
Debian's apt. ``initdb`` refuses to run as root, so when the tests run as root the cluster
is created and started as the ``postgres`` system user that Debian's package creates.

Use :func:`start_server` / :meth:`PostgresServer.stop`, the ``postgres_server`` fixture in
``tests/conftest.py``, or from a shell::

    python -m tests.support.postgres start DIR   # prints the admin DSN
    python -m tests.support.postgres stop DIR
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "dativo"
PASSWORD = "dativo-test-password"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed (CI installs Debian's ``postgresql``)."""


def server_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian keeps them out of PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.insert(0, found)
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found: install Debian's package "
            "(apt-get install -y postgresql), as .ci/run does"
        )
    return Path(candidates[0]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as ``postgres`` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result


@dataclass
class PostgresServer:
    """A running cluster: its folder, port and superuser credentials."""

    root: Path
    port: int
    user: str = SUPERUSER
    password: str = PASSWORD
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URI for ``database`` (psycopg, ADBC and SQLAlchemy all accept it)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def sqlalchemy_url(self, database: str = "postgres", driver: str = "psycopg2") -> str:
        return f"postgresql+{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through Debian's ``psql`` client; returns its unaligned output."""
        result = subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-At", "-d", self.dsn(database), "-c", sql],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create ``name`` and return its DSN."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self, *, remove: bool = True) -> None:
        """Stop at once (no checkpoint wait) and free the port; remove the folder if asked."""
        bindir = server_bindir()
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user(
                    [str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"]
                ),
                capture_output=True,
                text=True,
            )
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server(root: Path, *, port: int | None = None) -> PostgresServer:
    """Create a cluster under ``root`` and start it on loopback; returns once it accepts logins.

    When running as root, ``root`` must be reachable by the ``postgres`` user (not under a
    0700 folder such as pytest's ``tmp_path``): use ``tempfile.mkdtemp()``."""
    bindir = server_bindir()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    server = PostgresServer(root=root, port=port or free_port())
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
        root.chmod(0o755)
    if not (server.data_dir / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories='{root}' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(server.data_dir),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            server.psql("SELECT 1")
            return server
        except RuntimeError:
            if time.monotonic() > deadline:
                log = (root / "server.log").read_text(errors="replace")
                server.stop(remove=False)
                raise RuntimeError(f"PostgreSQL did not accept logins: {log[-2000:]}") from None
            time.sleep(0.2)


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        print("usage: python -m tests.support.postgres start|stop DIR", file=sys.stderr)
        return 2
    action, root = argv[0], Path(argv[1]).resolve()
    if action == "start":
        port_file = root / "port"
        port = int(port_file.read_text()) if port_file.exists() else None
        server = start_server(root, port=port)
        port_file.write_text(str(server.port))
        print(server.dsn())
    else:
        port = int((root / "port").read_text())
        PostgresServer(root=root, port=port).stop(remove=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
