"""Opening a new embedded catalog from several processes at once (first runs of several tenants).

pyiceberg's SqlCatalog creates its tables by check-then-create, so two processes opening a new
database at the same moment can both try, and one fails with ``table iceberg_tables already
exists``: seen on a real scheduler when two tenants' first runs started in the same tick. The
engine opens a sqlite catalog under an exclusive lock on ``<database>.lock``. The race itself is
too narrow to hit on demand, so the test holds that lock and checks every process waits for it.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from pathlib import Path

from tests.support.examples import REPO

OPEN = """
import sys
from airflow_provider_dativo.config.job import TargetSettings
from airflow_provider_dativo.engine.iceberg.catalog import ensure_namespace, open_catalog

home, tenant = sys.argv[1], sys.argv[2]
print("importing done", flush=True)
catalog = open_catalog(TargetSettings(table="t"), home)
ensure_namespace(catalog, tenant)
print("ok", flush=True)
"""


def test_processes_opening_a_new_sqlite_catalog_wait_for_its_setup_lock(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with open(home / "catalog.db.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        children = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, str(home), f"tenant{i}"],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        for child in children:  # each one got as far as opening the catalog ...
            assert child.stdout is not None and child.stdout.readline().strip() == "importing done"
        time.sleep(1.0)
        # ... and waits there while the set-up lock is held
        assert [child.poll() for child in children] == [None] * 4
        assert not (home / "catalog.db").exists()
        fcntl.flock(lock, fcntl.LOCK_UN)
    outcomes = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0] * 4, [err[-600:] for _, err in outcomes]
    assert all(out.strip() == "ok" for out, _ in outcomes)
