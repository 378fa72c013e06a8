"""One real Airflow stack for the whole e2e package, stopped at the end even when a test fails."""

from __future__ import annotations

import pytest

from tests.support.e2e_deployment import Deployment, make_deployment
from tests.support.stack import API_SERVICE, E2E_DATABASE, AirflowStack, Layout

SERVICES = (API_SERVICE, "airflow-scheduler", "airflow-dag-processor")
"""What the issue asks for; the triggerer has nothing to do here (no deferrable task)."""


@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    return make_deployment(tmp_path_factory.mktemp("e2e-deployment"))


@pytest.fixture(scope="package")
def airflow_stack(postgres_server, deployment: Deployment, tmp_path_factory: pytest.TempPathFactory):
    stack = AirflowStack(
        Layout(tmp_path_factory.mktemp("e2e-stack")),
        dsn=postgres_server.create_database(E2E_DATABASE),
        runner_config=deployment.runner,
        app_root=deployment.root,
        services=SERVICES,
    )
    try:
        stack.init()
        stack.start()
        stack.wait_healthy()
        yield stack
    finally:
        stack.stop()
