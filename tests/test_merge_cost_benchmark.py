"""The merge benchmark (``benchmarks/merge_cost.py``) keeps working: its smallest sizes run every
case end to end through ``dativo run`` and report the three figures (``slow``: about 25 s of
subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.examples import REPO


@pytest.mark.slow
def test_the_merge_benchmark_runs_every_case_at_its_smallest_sizes(tmp_path: Path) -> None:
    out = tmp_path / "merge.json"
    work = tmp_path / "work"
    command = [sys.executable, str(REPO / "benchmarks" / "merge_cost.py"), "--quick", "--repeats", "1"]
    done = subprocess.run(
        [*command, "--json", str(out), "--work", str(work), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "A: merge / append" in done.stdout and "B: merge(B) / merge(A)" in done.stdout
    assert "C: peak RSS of the merge" in done.stdout
    result = json.loads(out.read_text())
    assert set(result["variants"]) == {"append", "merge A", "merge B", "merge C"}
    assert result["ratios"]["A"] > 0 and result["ratios"]["B"] > 0
    assert 0 < result["ratios"]["C_peak_mib"] < 1024
    # every merge merged into the table as it was built: restoring the state worked
    marked = json.loads((work / "mark_B.json").read_text())
    assert marked["rows"] == 4 * 2_000 and marked["data_files"] == 4
