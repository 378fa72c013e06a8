"""A two-tenant deployment (acme and globex) for hostile-input tests: jobs, secrets, data, assets.

Layout under ``root`` (the app root): ``jobs/<t>/``, ``secrets/<t>/secrets.env``, ``data/<t>/``,
``assets/orders.yaml``, ``configs/runner.yaml``. Every file is written as a hostile tenant or a
careless operator would, byte for byte when asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ORDERS_ASSET = "name: orders\nfields:\n  - {name: order_id, type: long, required: true}\n"
GLOBEX_PASSWORD = "globex-db-password-7781"


@dataclass
class Tenants:
    root: Path

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def job(self, name: str, body: str, *, tenant: str = "acme") -> Path:
        """A csv job of ``tenant`` whose own lines (``source``, ``target``...) are ``body``."""
        return self.write(f"jobs/{tenant}/{name}.yaml", "source_connector: csv\nasset: orders\n" + body)

    def runner(self, schedules: str, extra: str = "") -> Path:
        """``configs/runner.yaml`` with these schedule items (YAML list lines) and runner keys."""
        text = (
            "runner:\n"
            + textwrap.indent(textwrap.dedent(extra), "  ")
            + (
                "  orchestrator:\n    type: airflow\n    schedules:\n"
                + textwrap.indent(textwrap.dedent(schedules), "      ")
            )
        )
        return self.write("configs/runner.yaml", text)


def make_tenants(root: Path) -> Tenants:
    """Two tenants with a secret file and a data file each."""
    tenants = Tenants(root)
    tenants.write("assets/orders.yaml", ORDERS_ASSET)
    for tenant, password in (("acme", "acme-db-password-1234"), ("globex", GLOBEX_PASSWORD)):
        tenants.write(f"secrets/{tenant}/db.env", f"DB_PASSWORD={password}\n")
        tenants.write(f"data/{tenant}/orders.csv", "order_id\n1\n2\n")
        (root / "jobs" / tenant).mkdir(parents=True, exist_ok=True)
    return tenants


def dativo(*args: str, home: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """The ``dativo`` command as a user runs it; ``timeout`` only guards against a hang."""
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_dativo.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "DATIVO_HOME": str(home), "DATIVO_APP_ROOT": "", **env},
    )


def events(stdout: str) -> list[dict]:
    """The JSON events of ``dativo run`` (one object per line)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
