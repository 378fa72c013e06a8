"""The ``dativo`` and ``airflow`` commands, each run in a process of its own as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def dativo(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script, as a user would."""
    exe = shutil.which("dativo") or str(Path(sys.executable).parent / "dativo")
    return subprocess.run([exe, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def airflow(*args: str) -> subprocess.CompletedProcess:
    """``airflow ARGS`` with this interpreter and the test session's environment."""
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=os.environ.copy()
    )
