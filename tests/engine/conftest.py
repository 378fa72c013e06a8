"""The ``ws`` fixture: a throw-away dativo workspace per test (see :mod:`tests.support.workspace`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "tmp", home=tmp_path / "dativo-home")
