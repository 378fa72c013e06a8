"""Redis (Debian's ``redis-server``) and an S3 API (``moto``'s server) on loopback, owned by the tests.

Why real servers: the CeleryExecutor end-to-end tests need a broker the workers and the
scheduler share, and a warehouse the workers share that is not a local folder. Redis is the
broker of Airflow's own compose file; moto's server speaks the S3 REST API that pyarrow's
``S3FileSystem`` (pyiceberg's file IO) talks to, on a port of this machine.

Both run as child processes of the tests in their own process group, and stop with them.
:meth:`S3Server.pause` / :meth:`S3Server.resume` stop and continue the server (SIGSTOP /
SIGCONT): clients see an endpoint that accepts connections but never answers, as with a
storage outage.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.postgres import free_port

S3_REGION = "us-east-1"
S3_ACCESS_KEY = "dativo-e2e-access"
S3_SECRET_KEY = "dativo-e2e-secret-key"
"""moto accepts any key; these are the ones the tests hand to the jobs through secrets."""


class ServiceUnavailable(RuntimeError):
    """A server program is not installed (CI installs it with scripts/system_packages.sh)."""


def _wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(
        f"server did not listen on {port} within {timeout}s: {log.read_text(errors='replace')[-2000:]}"
    )


@dataclass
class _Server:
    root: Path
    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server (continued first if it was paused) and its process group."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@dataclass
class RedisServer(_Server):
    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(root: Path, *, port: int | None = None) -> RedisServer:
    """``redis-server`` on 127.0.0.1, no persistence, its log under ``root``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailable(
            "redis-server not found: install Debian's package (apt-get install -y redis-server)"
        )
    root.mkdir(parents=True, exist_ok=True)
    server = RedisServer(root=root, port=port or free_port())
    log = root / "redis.log"
    with log.open("w") as out:
        server.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(server.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(root),
                "--protected-mode",
                "yes",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _wait_port(server.port, server.process, log)
    return server


@dataclass
class S3Server(_Server):
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix``, without the empty ``.../`` markers that pyarrow's
        S3 file system leaves to keep a "directory" whose last file it deleted."""
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
            if not item["Key"].endswith("/")
        ]

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)


def start_s3(root: Path, *, port: int | None = None) -> S3Server:
    """moto's S3 server on 127.0.0.1 (``python -m moto.server``), in memory."""
    root.mkdir(parents=True, exist_ok=True)
    server = S3Server(root=root, port=port or free_port())
    log = root / "moto.log"
    with log.open("w") as out:
        server.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(server.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
        )
    _wait_port(server.port, server.process, log)
    return server
