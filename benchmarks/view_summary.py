#!/usr/bin/env python
"""How fast the Dativo view's ``GET /dativo/api/summary`` answers on a big deployment.

The script seeds Airflow's metadata database with ``--schedules`` ingest schedules (default
1000: 10% hourly, 30% every 6 hours, 60% daily, a freshness promise on every fourth, spread
over ``--tenants`` tenants) built by the DAG factory and synced as Airflow's DAG processor does,
then ``--days`` (default 30) of their runs: one DAG run, task instance, XCom with the ingest
metrics and (for successes) asset event per run, 3% of them failed (about 126,000 runs at the
defaults), then lets PostgreSQL ``ANALYZE`` it as autovacuum would. The data is realistic in
shape: run times spread over the day, durations and row counts vary, failures leave no rows.

It then asks Airflow's own api-server app (``airflow.api_fastapi.app.create_app``, the plugin
mounted as in production, a JWT in the ``Authorization`` header) for:

* **summary 24h** (the target, under 300 ms): ``/dativo/api/summary?hours=24`` as ``admin``;
* **summary 24h, one tenant's viewer**: the same for a user the auth manager lets read one
  tenant's DAGs (``tests/support/tenant_auth_manager.py``);
* **summary 7d** and **summary 30d**: longer windows;
* **baseline**: ``/api/v2/dags?limit=100`` (Airflow's own DAG list, one page) on the same app.

Each is asked ``--repeats`` times after one warm-up; the table shows the median, the fastest
and the ratio of the median to the baseline's.

Usage::

    python benchmarks/view_summary.py [--schedules 1000] [--days 30] [--repeats 15] [--markdown]
    python benchmarks/view_summary.py --sqlite    # Airflow's sqlite database instead of PostgreSQL

Without ``--sqlite`` it starts a throwaway PostgreSQL (Debian's ``postgresql`` package) on
loopback (``tests/support/postgres.py``) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_MS = 300.0
CADENCES = (
    (0.1, {"cron": "0 * * * *"}, 1),
    (0.3, {"interval_seconds": 21600}, 6),
    (0.6, {"cron": "0 3 * * *"}, 24),
)
"""(share of schedules, schedule keys, hours between runs)."""


def schedules(count: int, tenants: int) -> list[dict]:
    out = []
    for i in range(count):
        share = (i % 10) / 10
        keys, every = next((k, e) for limit, k, e in _cumulative() if share < limit)
        tenant = f"tenant{i % tenants:02d}"
        item = {
            "name": f"{tenant}_job{i:04d}",
            "tenant": tenant,
            "table": f"t{i:04d}",
            **keys,
            "_every": every,
        }
        if i % 4 == 0:
            item["freshness_minutes"] = 60
        out.append(item)
    return out


def _cumulative():
    total = 0.0
    for share, keys, every in CADENCES:
        total += share
        yield round(total, 6), keys, every


def history(items: list[dict], days: int, now: datetime):
    from tests.support.history import Run

    rng = random.Random(7)
    runs = []
    for item in items:
        step = timedelta(hours=item["_every"])
        offset = timedelta(minutes=rng.randrange(60))
        moment = now - timedelta(days=days) + offset
        while moment < now:
            failed = rng.random() < 0.03
            duration = round(rng.uniform(2, 120), 3)
            rows = 0 if failed else rng.randrange(0, 50_000)
            runs.append(
                Run(
                    item["name"],
                    moment,
                    "failed" if failed else "success",
                    duration,
                    rows,
                    0 if failed else rng.randrange(0, 20),
                    f"{item['tenant']}.{item['table']}",
                )
            )
            moment += step
    return runs


def measure(client, path: str, headers: dict, repeats: int) -> list[float]:
    response = client.get(path, headers=headers)  # warm-up
    assert response.status_code == 200, response.text
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return times


def profile_summary(user) -> None:
    """Where one 24-hour summary spends its time (auth manager, queries, assembly), on stderr; run
    in this thread, since the app serves requests in worker threads cProfile does not see."""
    import cProfile
    import io
    import pstats

    from airflow.utils.session import create_session

    from airflow_provider_dativo.ui.auth import readable_dag_ids
    from airflow_provider_dativo.ui.summary import build_summary

    profiler = cProfile.Profile()
    profiler.enable()
    with create_session(scoped=False) as session:
        body = build_summary(session, readable_dag_ids(user, session), hours=24)
    json.dumps(body)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue(), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sqlite", action="store_true", help="use a sqlite metadata database")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one 24h summary")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dativo-view-bench-"))
    work.chmod(0o711)  # PostgreSQL runs as user postgres when this runs as root
    server = None
    if args.sqlite:
        url = f"sqlite:///{work / 'airflow.db'}"
    else:
        from tests.support.postgres import start_server

        server = start_server(work / "postgres")
        server.create_database("airflow")
        url = server.sqlalchemy_url("airflow")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": "tests.support.tenant_auth_manager.TenantAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,tenant03_viewer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(work / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": "dativo-view-benchmark-secret-0123456789",
            "DATIVO_PARSE_CACHE_DIR": "off",
        }
    )
    try:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        return run(args, work)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.session import create_session
    from fastapi.testclient import TestClient

    from airflow_provider_dativo.dag_factory import build_dags
    from tests.support.history import insert_runs, sync_dags, write_runner

    now = datetime.now(timezone.utc)
    items = schedules(args.schedules, args.tenants)
    started = time.perf_counter()
    runner = write_runner(work / "deployment", [{k: v for k, v in i.items() if k != "_every"} for i in items])
    dags = build_dags(runner)
    with create_session() as session:
        sync_dags(dags.values(), session)
    synced = time.perf_counter()
    runs = history(items, args.days, now)
    with create_session() as session:
        insert_runs(session, runs)
    if not args.sqlite:  # fresh statistics, as autovacuum keeps them in a running deployment
        with create_session() as session:
            session.connection().exec_driver_sql("ANALYZE")
    seeded = time.perf_counter()
    print(
        f"seeded {len(dags)} DAGs in {synced - started:.0f}s and {len(runs)} runs (+ task instances, XComs, "
        f"asset events) in {seeded - synced:.0f}s on {'sqlite' if args.sqlite else 'PostgreSQL'}",
        file=sys.stderr,
    )

    app = create_app()
    manager = get_auth_manager()

    def headers(name: str, role: str) -> dict:
        return {
            "Authorization": f"Bearer {manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role))}"
        }

    admin, viewer = headers("admin", "admin"), headers("tenant03_viewer", "viewer")
    cases = [
        ("baseline: /api/v2/dags?limit=100", "/api/v2/dags?limit=100", admin),
        ("summary 24h", "/dativo/api/summary?hours=24", admin),
        ("summary 24h, one tenant's viewer", "/dativo/api/summary?hours=24", viewer),
        ("summary 7d", "/dativo/api/summary?hours=168", admin),
        ("summary 30d", "/dativo/api/summary?hours=720", admin),
    ]
    results = []
    with TestClient(app) as client:
        day = client.get("/dativo/api/summary?hours=24", headers=admin).json()
        print(
            f"24h window: {day['runs']} runs, {day['tasks_ok'] + day['tasks_failed']} tasks", file=sys.stderr
        )
        for name, path, who in cases:
            times = measure(client, path, who, args.repeats)
            results.append((name, statistics.median(times), min(times)))
    if args.profile:
        profile_summary(SimpleAuthManagerUser(username="admin", role="admin"))
    base = results[0][1]
    header = ["request", "median ms", "fastest ms", "x baseline"]
    rows = [[n, f"{m:.1f}", f"{f:.1f}", f"{m / base:.2f}"] for n, m, f in results]
    if args.markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        print("\n".join("| " + " | ".join(r) + " |" for r in rows))
    else:
        widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
        for row in [header, *rows]:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    target = results[1][1]
    print(f"target: summary 24h median {target:.1f} ms (under {TARGET_MS:.0f} ms: {target < TARGET_MS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
