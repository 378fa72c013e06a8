"""The private pyiceberg APIs are used only with the pyiceberg series they were tested with."""

from __future__ import annotations

import ast
from pathlib import Path

import pyiceberg
import pytest

from airflow_provider_dativo.engine.iceberg._pyiceberg import UnsupportedPyiceberg, check_version

PACKAGE = Path(__file__).resolve().parents[3] / "airflow_provider_dativo"


def test_the_installed_pyiceberg_is_in_the_tested_series() -> None:
    check_version(pyiceberg.__version__)
    check_version("0.12.9")


@pytest.mark.parametrize("version", ["0.11.1", "0.13.0", "1.0.0", "nightly"])
def test_any_other_pyiceberg_fails_clearly_and_is_not_retried(version: str) -> None:
    with pytest.raises(UnsupportedPyiceberg) as raised:
        check_version(version)
    assert f"pyiceberg {version} is installed" in str(raised.value)
    assert "0.12.x" in str(raised.value)
    assert raised.value.retryable is False


def test_only_the_fence_names_private_pyiceberg_attributes() -> None:
    """``from pyiceberg... import _name`` and ``._table`` appear in _pyiceberg.py alone."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_pyiceberg.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyiceberg"):
                offenders += [f"{path}: {a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Attribute) and node.attr == "_table":
                offenders.append(f"{path}: ._table")
    assert offenders == []
