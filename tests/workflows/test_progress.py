"""Progress lines: seed 004's symbols on a terminal, plain words anywhere else."""

from __future__ import annotations

import io
import os

import pytest

from airflow_provider_dativo.workflows.progress import Progress


def lines_of(progress: Progress) -> list[str]:
    progress.started(1, "extract", 1, 2, "params changed")
    progress.retrying("extract", 1, 2, 5.0, "RuntimeError: boom")
    progress.started(1, "extract", 2, 2)
    progress.succeeded("extract", 0.5234, 1000)
    progress.failed("load", 1, 0.1, "RuntimeError: boom")
    progress.cached(3, "report", "unchanged since its success in run r1")
    progress.skipped(4, "brief", "upstream load did not succeed")
    return progress.stream.getvalue().splitlines()


def test_plain_lines_when_the_stream_is_not_a_terminal() -> None:
    assert lines_of(Progress(io.StringIO(), 4)) == [
        "RUN  1/4 extract [RUNNING] (params changed)",
        "RETRY extract: try 1 of 2 failed (RuntimeError: boom); next try in 5s",
        "RUN  1/4 extract [RUNNING] (try 2 of 2)",
        "OK   extract completed in 0.52s, 1,000 rows",
        "FAIL load failed after 1 try in 0.10s: RuntimeError: boom",
        "CACHED 3/4 report cached (unchanged since its success in run r1)",
        "SKIP 4/4 brief skipped: upstream load did not succeed",
    ]


def test_symbols_and_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert Progress(terminal, 4).styled
    os.close(leader)
    styled = lines_of(Progress(io.StringIO(), 4, styled=True))
    assert styled[3] == "\033[32m✓\033[0m extract completed in 0.52s, 1,000 rows"
    assert styled[5].startswith("\033[34m○\033[0m 3/4 report cached")
    monkeypatch.setenv("NO_COLOR", "1")
    plain_symbols = lines_of(Progress(io.StringIO(), 4, styled=True))
    assert [line.split(" ")[0] for line in plain_symbols] == ["▶", "↻", "▶", "✓", "✗", "○", "·"]


def test_a_dumb_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert not Progress(terminal, 1).styled
    os.close(leader)
