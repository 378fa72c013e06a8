"""The cron check of a schedule: plain expressions checked without croniter, the others with
one croniter per distinct expression; the same verdicts as asking croniter the long way
(is_valid, then next and previous fire times)."""

from __future__ import annotations

from datetime import datetime

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_dativo.config.runner import (
    CRON_INVALID,
    CRON_NEVER_FIRES,
    CRON_PRESETS,
    Schedule,
    cron_problem,
)


def reference(cron: str) -> str | None:
    """The check as it was written before it was made faster: three croniters, no shortcut."""
    expression = CRON_PRESETS.get(cron.strip(), cron)
    if not (len(expression.split()) == 5 and croniter.is_valid(expression)):
        return CRON_INVALID
    try:
        croniter(expression, start_time=datetime(2024, 3, 1)).get_next(datetime)
        croniter(expression, start_time=datetime(2024, 3, 1)).get_prev(datetime)
    except Exception:
        return CRON_NEVER_FIRES
    return None


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 * * * *", None),
        ("@hourly", None),
        ("4 4 * * 1-5", None),
        ("0 0 29 2 *", None),  # leap years only, but it fires
        ("0 0 31 * *", None),
        ("0 0 31 4,6,9,11 *", CRON_NEVER_FIRES),
        ("0 0 30 2 *", CRON_NEVER_FIRES),
        ("0 0 30 2 1", None),  # day or weekday: Mondays in February
        ("0 0 L 2 *", None),
        ("0 0 15W * *", None),
        ("0 0 * * 5#5", None),
        ("61 * * * *", CRON_INVALID),
        ("* * *", CRON_INVALID),
        ("* * * * * *", CRON_INVALID),
        ("H H * * *", CRON_INVALID),
        ("0 0 * * 5L", CRON_INVALID),
        ("*/15 9-17 1,15 * 1-5", None),
        ("0 0 1-28 2 *", None),
        ("0 0 28-30 2 *", None),
        ("0 0 30,31 2 *", CRON_NEVER_FIRES),
        ("0 0 * * 7", None),
        ("0 0 0 * *", CRON_INVALID),
        ("0 24 * * *", CRON_INVALID),
    ],
)
def test_cron_verdicts(cron: str, expected: str | None) -> None:
    assert cron_problem(cron) == expected
    assert reference(cron) == expected


FIELD = st.one_of(
    st.just("*"),
    st.integers(0, 32).map(str),
    st.tuples(st.integers(0, 31), st.integers(0, 31)).map(lambda ab: f"{ab[0]}-{ab[1]}"),
    st.lists(st.integers(0, 31), min_size=1, max_size=3).map(lambda xs: ",".join(map(str, xs))),
    st.integers(1, 15).map(lambda n: f"*/{n}"),
    st.sampled_from(["L", "15W", "1#2", "5#5", "mon-fri", "feb", "?", "H", "05", "7", "0-7", "*/0", "*/60"]),
    st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda ab: f"{ab[0]}-{ab[1]}/2"),
    st.lists(st.integers(24, 32), min_size=1, max_size=2).map(lambda xs: ",".join(map(str, xs))),
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(FIELD, min_size=4, max_size=6).map(" ".join))
def test_cron_problem_agrees_with_croniter_asked_the_long_way(cron: str) -> None:
    cron_problem.cache_clear()
    assert cron_problem(cron) == reference(cron)


def test_schedule_errors_keep_their_words() -> None:
    base = {"name": "s", "config": "job.yaml"}
    with pytest.raises(ValueError, match="never fires"):
        Schedule.model_validate({**base, "cron": "0 0 30 2 *"})
    with pytest.raises(ValueError, match="is not a valid cron expression"):
        Schedule.model_validate({**base, "cron": "61 * * * *"})
    assert Schedule.model_validate({**base, "cron": "0 0 29 2 *"}).cron == "0 0 29 2 *"
