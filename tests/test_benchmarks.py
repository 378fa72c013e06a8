"""Every script in ``benchmarks/`` still starts: they import each other's data definitions, and
a refactor of one must not leave another broken until somebody next measures. The smallest
run of the incremental benchmark goes end to end through ``dativo run``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.examples import REPO

FILES = sorted((REPO / "benchmarks").glob("*.py"))
SCRIPTS = [path for path in FILES if '__name__ == "__main__"' in path.read_text(encoding="utf-8")]
MODULES = [path for path in FILES if path not in SCRIPTS]


def test_there_are_benchmarks() -> None:
    assert len(SCRIPTS) >= 9 and MODULES


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_each_benchmark_answers_help(script: Path) -> None:
    command = [sys.executable, str(script), "--help"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usage:" in done.stdout


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_each_shared_benchmark_module_imports(module: Path) -> None:
    code = f"import sys; sys.path.insert(0, {str(module.parent)!r}); import {module.stem}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_the_incremental_benchmark_runs_at_a_small_size() -> None:
    script = REPO / "benchmarks" / "incremental_boundary.py"
    done = subprocess.run(
        [sys.executable, str(script), "--rows", "5000", "--repeats", "1", "--markdown"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "incremental next" in done.stdout and "full | " in done.stdout
