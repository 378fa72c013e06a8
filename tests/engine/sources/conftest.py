"""The ``deployment`` fixture for database and API connector jobs (see
:mod:`tests.support.connector_deployment`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.connector_deployment import Deployment


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return Deployment(root=tmp_path / "app", home=tmp_path / "home")
