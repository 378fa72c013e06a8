"""Cases 2 and 3 of issue 15: no value in a runner or job file hides the healthy DAGs.

Every broken schedule becomes its own ``dativo:config-error`` placeholder naming file, line and
field; ``dativo validate`` reports it (exit 2); every DAG built serializes (an unknown timezone
or an out-of-range value only fails there). A property test generates runner and job files.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.dag_factory import build_dags
from airflow_provider_dativo.dag_factory.config_error import TAG_CONFIG_ERROR
from tests.support.tenants import Tenants, dativo, events, make_tenants

HEALTHY = "- {name: healthy, config: ../jobs/acme/good.yaml, cron: '0 * * * *'}\n"
GOOD_JOB = "source:\n  path: ../../data/acme/orders.csv\ntarget:\n  table: orders\n"


def serialize_all(dags: dict) -> None:
    """What the dag-processor does with every DAG: a value it cannot store fails here."""
    from airflow.serialization.serialized_objects import DagSerialization

    for dag in dags.values():
        DagSerialization.from_dict(DagSerialization.to_dict(dag))


def built(tenants: Tenants, schedule: str) -> tuple[dict, Path]:
    tenants.job("good", GOOD_JOB)
    runner = tenants.runner(HEALTHY + schedule)
    dags = build_dags(runner, cache_dir="off")
    serialize_all(dags)
    assert TAG_CONFIG_ERROR not in dags["healthy"].tags
    return dags, runner


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    return make_tenants(tmp_path / "app")


BAD_SCHEDULES = {
    "a max_concurrent_runs the database cannot store": (
        "- {name: bad, config: ../jobs/acme/good.yaml, cron: '0 * * * *', "
        "max_concurrent_runs: 100000000000000000000}\n",
        "max_concurrent_runs",
    ),
    "an interval that overflows": (
        "- {name: bad, config: ../jobs/acme/good.yaml, interval_seconds: 99999999999999999999999}\n",
        "interval_seconds",
    ),
    "an interval of 10^12 seconds": (
        "- {name: bad, config: ../jobs/acme/good.yaml, interval_seconds: 1000000000000}\n",
        "interval_seconds",
    ),
    "a cron that never fires": (
        "- {name: bad, config: ../jobs/acme/good.yaml, cron: '0 0 30 2 *'}\n",
        "cron",
    ),
}


@pytest.mark.parametrize("what", BAD_SCHEDULES)
def test_an_out_of_bounds_schedule_is_only_its_own_error(tenants: Tenants, what: str) -> None:
    schedule, field = BAD_SCHEDULES[what]
    dags, runner = built(tenants, schedule)
    assert TAG_CONFIG_ERROR in dags["bad"].tags
    assert f"{runner}:6: runner.orchestrator.schedules[1].{field}:" in dags["bad"].description
    result = dativo("validate", str(runner), home=tenants.root / "home")
    assert result.returncode == 2 and f"schedules[1].{field}" in result.stdout


def test_infinite_retry_delays_in_a_job_file(tenants: Tenants) -> None:
    tenants.job(
        "inf",
        GOOD_JOB + "retry_config: {initial_delay_seconds: 1e400, max_delay_seconds: 1e400}\n",
    )
    dags, _ = built(tenants, "- {name: bad, config: ../jobs/acme/inf.yaml, cron: '0 * * * *'}\n")
    assert TAG_CONFIG_ERROR in dags["bad"].tags
    assert "retry_config.initial_delay_seconds" in dags["bad"].tasks[0].error_message
    assert "finite" in dags["bad"].tasks[0].error_message


def test_a_schedule_item_of_the_wrong_shape(tenants: Tenants) -> None:
    dags, _ = built(tenants, "- oops\n- 42\n- [a, b]\n")
    placeholders = [dag for dag in dags.values() if TAG_CONFIG_ERROR in dag.tags]
    assert len(placeholders) == 3 and len(dags) == 4
    assert all("must be a mapping" in dag.description for dag in placeholders)


@pytest.mark.parametrize(
    "content, offset",
    [(b"source_connector: csv\n# caf\xe9\n", 27), (b"source_connector: csv\nasset: \x00\n", None)],
    ids=["latin-1", "nul-byte"],
)
def test_a_job_file_that_is_not_utf8_text(tenants: Tenants, content: bytes, offset: int | None) -> None:
    tenants.write("jobs/acme/latin.yaml", content)
    dags, _ = built(tenants, "- {name: bad, config: ../jobs/acme/latin.yaml, cron: '0 * * * *'}\n")
    message = dags["bad"].tasks[0].error_message
    assert "latin.yaml:2:" in message
    if offset is not None:
        assert f"byte offset {offset}" in message
    result = dativo("run", "--config", str(tenants.root / "jobs/acme/latin.yaml"), home=tenants.root / "h")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert events(result.stdout)[-1]["error_type"] == "ConfigError"


def test_a_runner_file_that_is_not_utf8_text(tenants: Tenants) -> None:
    runner = tenants.write("configs/runner.yaml", b"runner:\n  mode: orchestr\xe9\n")
    with pytest.raises(DativoConfigError, match="byte offset 24"):
        build_dags(runner, cache_dir="off")
    result = dativo("validate", str(runner), home=tenants.root / "h")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{runner}:2: is not UTF-8 text" in result.stdout


# --- the property: whatever the files hold, the healthy schedule is built -------------------

_text = st.text(alphabet=string.printable + "é\x00", max_size=12)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
)
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)

_SCHEDULE_KEYS = [
    "name",
    "config",
    "cron",
    "interval_seconds",
    "enabled",
    "timezone",
    "max_concurrent_runs",
    "tags",
    "dag",
]
_schedule = st.one_of(
    _value,
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["b1", "b2", "healthy", "x y"]),
            "config": st.sampled_from(["../jobs/acme/gen.yaml", "../jobs/acme/missing.yaml"]),
        },
        optional={
            **{key: _value for key in _SCHEDULE_KEYS if key not in ("name", "config")},
            "cron": st.sampled_from(["0 * * * *", "0 0 30 2 *", "* * *", "@daily", "61 * * * *"]),
            "interval_seconds": st.integers(min_value=-5, max_value=10**30),
            "max_concurrent_runs": st.integers(min_value=-5, max_value=10**30),
            "timezone": st.sampled_from(["UTC", "Nowhere/Land", "Europe/Paris"]),
        },
    ),
)
_job = st.one_of(
    st.binary(max_size=60),
    _value.map(lambda v: yaml.safe_dump(v).encode()),
    st.fixed_dictionaries(
        {
            "source_connector": st.sampled_from(["csv", "nope"]),
            "asset": st.just("orders"),
            "source": st.just({"path": "../../data/acme/orders.csv"}),
            "target": st.just({"table": "t"}),
        },
        optional={
            "retry_config": st.dictionaries(
                st.sampled_from(
                    [
                        "max_retries",
                        "initial_delay_seconds",
                        "max_delay_seconds",
                        "backoff_multiplier",
                        "retryable_error_patterns",
                    ]
                ),
                _value,
                max_size=3,
            ),
            "tenant_id": st.sampled_from(["acme", "globex", "bad id"]),
        },
    ).map(lambda v: yaml.safe_dump(v).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedules=st.lists(_schedule, max_size=4), job=_job)
def test_generated_files_never_hide_the_healthy_schedule(tmp_path_factory, schedules, job) -> None:
    tenants = make_tenants(tmp_path_factory.mktemp("prop") / "app")
    tenants.job("good", GOOD_JOB)
    tenants.write("jobs/acme/gen.yaml", job)
    runner = tenants.write(
        "configs/runner.yaml",
        yaml.safe_dump(
            {
                "runner": {
                    "orchestrator": {"type": "airflow", "schedules": [yaml.safe_load(HEALTHY)[0], *schedules]}
                }
            }
        ),
    )
    dags = build_dags(runner, cache_dir="off")
    serialize_all(dags)
    assert TAG_CONFIG_ERROR not in dags["healthy"].tags
    assert dags["healthy"].tasks[0].task_id == "ingest"
    assert len(dags) == 1 + len(schedules)  # every other schedule is a DAG: healthy or a placeholder
    for dag_id, dag in dags.items():
        if TAG_CONFIG_ERROR in dag.tags:
            assert str(runner) in dag.tasks[0].error_message, dag_id
