"""Test environment: an isolated AIRFLOW_HOME, the repo's dags/ folder and example configs.

Everything is set before Airflow is first imported, because Airflow reads its
configuration once, at import time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.examples import EXAMPLES, REPO, RUNNER_AIRFLOW

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="dativo-tests-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SESSION_HOME / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "DATIVO_RUNNER_CONFIG": str(RUNNER_AIRFLOW),
        "DATIVO_APP_ROOT": str(EXAMPLES),
        "DATIVO_HOME": str(_SESSION_HOME / "dativo"),
    }
)
Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated sqlite metadata database for the whole session (tests that run tasks need one)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture
def dativo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded catalog for one test."""
    home = tmp_path / "dativo-home"
    monkeypatch.setenv("DATIVO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL (Debian's package) on loopback for the session; stopped at the end."""
    from tests.support.postgres import start_server

    # Not under pytest's tmp folder: it is private to root, and the server runs as postgres.
    server = start_server(Path(tempfile.mkdtemp(prefix="dativo-pg-")))
    try:
        yield server
    finally:
        server.stop()
