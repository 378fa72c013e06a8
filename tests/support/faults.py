"""Real sqlite-backed pyiceberg catalogs with one injected fault each, loaded through
``py-catalog-impl`` exactly like a user's catalog would be.

Nothing here mocks pyiceberg: every commit goes through ``SqlCatalog.commit_table`` against a
real sqlite database and real files. The faults only add what production has and a single test
process lacks: another writer committing at the wrong moment, a lost response, a slow commit.
Each fault applies to the table named by the catalog property ``test.table`` (default
``orders``) so the quarantine table next to it commits normally.

Settings are catalog properties (strings), so a job file can carry them:
``test.conflicts`` / ``test.lost_responses`` / ``test.unknown_failures``: how many commits fail;
``test.marker`` and ``test.sleep``: file to create, then seconds to sleep, before committing;
``test.barrier``: name of a :class:`threading.Barrier` in :data:`BARRIERS` to wait on once.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitStateUnknownException

BARRIERS: dict[str, threading.Barrier] = {}
COMMITS: list[tuple[str, str]] = []
"""(catalog class, table) of every commit that reached a faulty catalog, for assertions."""


class _FaultyCatalog(SqlCatalog):
    def _is_target(self, table: Any) -> bool:
        return table.name()[-1] == self.properties.get("test.table", "orders")

    def _take(self, key: str) -> bool:
        """Consume one fault of kind ``key``; False once all configured ones are used."""
        left = int(self.properties.get(key, 0))
        if left <= 0:
            return False
        self.properties[key] = str(left - 1)
        return True

    def plain(self) -> SqlCatalog:
        """A second, fault-free catalog on the same database: the 'other writer'."""
        return SqlCatalog(self.name, uri=self.properties["uri"], warehouse=self.properties["warehouse"])


class ConflictingCatalog(_FaultyCatalog):
    """Another writer commits (an empty append) right before each of our first N commits, so the
    metadata pointer has moved by the time ours lands: the sql catalog raises
    ``CommitFailedException``. When our commit would create the table, the other writer creates
    it first (and appends), so ours fails with ``TableAlreadyExistsError``."""

    def commit_table(self, table, requirements, updates):  # type: ignore[no-untyped-def]
        if self._is_target(table) and self._take("test.conflicts"):
            plain = self.plain()
            if plain.table_exists(table.name()):
                other = plain.load_table(table.name())
            else:  # our commit creates the table: the other writer creates it first
                other = plain.create_table(table.name(), schema=table.schema())
            other.append(other.schema().as_arrow().empty_table(), snapshot_properties={"writer": "other"})
        return super().commit_table(table, requirements, updates)


class LostResponseCatalog(_FaultyCatalog):
    """The commit lands, then the response is 'lost': ``CommitStateUnknownException``."""

    def commit_table(self, table, requirements, updates):  # type: ignore[no-untyped-def]
        response = super().commit_table(table, requirements, updates)
        if self._is_target(table) and self._take("test.lost_responses"):
            raise CommitStateUnknownException("connection reset after the commit request was sent")
        return response


class UnknownFailureCatalog(_FaultyCatalog):
    """The commit does not land but the client cannot know: ``CommitStateUnknownException``."""

    def commit_table(self, table, requirements, updates):  # type: ignore[no-untyped-def]
        if self._is_target(table) and self._take("test.unknown_failures"):
            raise CommitStateUnknownException("gateway timeout before the catalog answered")
        return super().commit_table(table, requirements, updates)


class SlowCommitCatalog(_FaultyCatalog):
    """Data files are written; the commit waits: a window to kill the process mid-write."""

    def commit_table(self, table, requirements, updates):  # type: ignore[no-untyped-def]
        if self._is_target(table) and self.properties.get("test.marker"):
            Path(self.properties["test.marker"]).write_text("staged")
            time.sleep(float(self.properties.get("test.sleep", 0)))
        return super().commit_table(table, requirements, updates)


class BarrierCatalog(_FaultyCatalog):
    """Each instance waits once at a shared barrier before committing, so concurrent runs all
    stage against the same table state and then race for the commit."""

    def commit_table(self, table, requirements, updates):  # type: ignore[no-untyped-def]
        if self._is_target(table) and self._take("test.barrier_waits"):
            BARRIERS[self.properties["test.barrier"]].wait(timeout=30)
        COMMITS.append((type(self).__name__, table.name()[-1]))
        return super().commit_table(table, requirements, updates)


def faulty_catalog(home: Path, impl: str, **settings: Any) -> dict[str, Any]:
    """``target.catalog`` of a job using the faulty catalog ``impl`` on the workspace's database
    (same name, uri and warehouse as the embedded catalog, so ``ws.table()`` sees its tables)."""
    (home / "warehouse").mkdir(parents=True, exist_ok=True)
    return {
        "name": "dativo",
        "py-catalog-impl": f"tests.support.faults.{impl}",
        "uri": f"sqlite:///{home}/catalog.db",
        "warehouse": f"file://{home}/warehouse",
        **{f"test.{key}": str(value) for key, value in settings.items()},
    }


def race(ws: Any, jobs_and_ids: list[tuple[Any, str]]) -> list[Any]:
    """Run the jobs in threads; each one's first commit waits until all have staged."""
    with ThreadPoolExecutor(len(jobs_and_ids)) as pool:
        futures = [pool.submit(ws.run, job, run_id=run_id) for job, run_id in jobs_and_ids]
        return [f.result(timeout=60).result for f in futures]


def racing_catalog(ws: Any, parties: int) -> dict[str, Any]:
    name = uuid.uuid4().hex
    BARRIERS[name] = threading.Barrier(parties)
    return faulty_catalog(ws.home, "BarrierCatalog", barrier=name, barrier_waits=1)


RUN_IN_CHILD = """
import sys
from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.engine.run import run_job

result = run_job(load_job(sys.argv[1]), job_name="orders_job", run_id=sys.argv[2], dativo_home=sys.argv[3])
sys.exit(result.exit_code)
"""


def kill_9_at_commit(job_path: Path, run_id: str, home: Path, marker: Path, repo: Path) -> str:
    """Run ``job_path`` (whose catalog is a :class:`SlowCommitCatalog` creating ``marker``) in a
    child process, and SIGKILL it once its data files are written and it waits to commit.
    Returns what the child wrote on stderr; fails when the child never reached its commit."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_IN_CHILD, str(job_path), run_id, str(home)],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never reached its commit"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        errors = child.stderr.read().decode() if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL, errors
    return errors
