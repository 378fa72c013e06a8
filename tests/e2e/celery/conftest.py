"""One CeleryExecutor stack for the package: the compose file's ``celery`` profile as local processes.

- Airflow's database: the session's PostgreSQL (Debian's, as for the LocalExecutor suite);
- the broker: Debian's redis-server on loopback;
- two Celery workers, ``worker-a`` and ``worker-b``, each in a folder of its own (AIRFLOW_HOME,
  airflow.cfg copy, DATIVO_HOME, task logs, parse cache) with a hostname of its own;
- the lakehouse they share: an Iceberg SQL catalog in a PostgreSQL server of its own (so the
  catalog can be restarted without restarting Airflow's database) and an S3 bucket on moto's
  server. Set up as a deployment would be: the catalog database and the bucket exist before
  the first run, and the catalog's tables are created once (pyiceberg creates them when it first
  opens a catalog).

The fault tests share the stack and each uses a schedule and table of its own.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.support.celery_runs import WORKERS
from tests.support.lakehouse import (
    BUCKET,
    CATALOG,
    CATALOG_DATABASE,
    S3_CONNECTION,
    Lakehouse,
    make_deployment,
)
from tests.support.postgres import PASSWORD, SUPERUSER, start_server
from tests.support.services import S3_ACCESS_KEY, S3_SECRET_KEY, start_redis, start_s3
from tests.support.stack import API_SERVICE, AirflowStack, Layout

CELERY_DATABASE = "airflow_celery"
SERVICES = (API_SERVICE, "airflow-scheduler", "airflow-dag-processor")
TEST_OVERRIDES = {
    # A task whose worker is lost is failed (and retried) after 20 s without a heartbeat, not
    # after Airflow's default 5 minutes: the only setting the tests shorten.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
}


@pytest.fixture(scope="package")
def service_root() -> Path:
    # not under pytest's tmp folder: PostgreSQL runs as user postgres when the tests run as root
    root = Path(tempfile.mkdtemp(prefix="dativo-celery-e2e-"))
    root.chmod(0o711)  # the postgres user must reach the catalog cluster's folder
    return root


@pytest.fixture(scope="package")
def redis_server(service_root: Path):
    server = start_redis(service_root / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def s3_server(service_root: Path):
    server = start_s3(service_root / "s3")
    try:
        server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def catalog_server(service_root: Path):
    """The PostgreSQL of the Iceberg catalog (restarted by a fault test)."""
    server = start_server(service_root / "catalog-postgres")
    try:
        server.create_database(CATALOG_DATABASE)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def lakehouse(catalog_server, s3_server) -> Lakehouse:
    lake = Lakehouse(
        catalog_port=catalog_server.port,
        catalog_user=SUPERUSER,
        catalog_password=PASSWORD,
        s3_endpoint=s3_server.endpoint,
    )
    from pyiceberg.catalog import load_catalog

    load_catalog(CATALOG, **lake.catalog_properties())  # creates the catalog's tables once
    return lake


@pytest.fixture(scope="package")
def lake_deployment(service_root: Path, lakehouse: Lakehouse):
    return make_deployment(service_root / "deployment", lakehouse)


@pytest.fixture(scope="package")
def celery_stack(postgres_server, redis_server, lake_deployment, service_root: Path):
    stack = AirflowStack(
        Layout(service_root / "stack"),
        dsn=postgres_server.create_database(CELERY_DATABASE),
        runner_config=lake_deployment.runner,
        app_root=lake_deployment.root,
        services=SERVICES,
        broker_url=redis_server.url,
        overrides=TEST_OVERRIDES,
    )
    try:
        stack.init()
        stack.start()
        for name in WORKERS:
            stack.start_worker(name)
        stack.wait_healthy()
        for name in WORKERS:
            stack.wait_worker(name)
        api = stack.api()
        try:  # globex's S3 keys: an Airflow connection in the metadata database, read by any worker
            api.post(
                "/connections",
                {
                    "connection_id": S3_CONNECTION,
                    "conn_type": "aws",
                    "login": S3_ACCESS_KEY,
                    "password": S3_SECRET_KEY,
                },
            )
        finally:
            api.close()
        yield stack
    finally:
        stack.stop()
