"""A worker's one-DAG load: the same schedules as the full load, from their text alone when it can."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from airflow_provider_dativo.plan import one_schedule
from airflow_provider_dativo.plan.one_schedule import cut_schedules, load_one_dag
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.deployment import ORDERS_ASSET, write

JOB = """\
source_connector: csv
source:
  path: ../../data/orders.csv
target:
  table: {table}
asset: orders
"""

PREFIX = "# a runner\nrunner:\n  mode: orchestrated\n  orchestrator:\n    type: airflow\n"
SUFFIX = "    concurrency_per_tenant: 2\n"

LAYOUTS = {
    # name: (schedules block, whether the text cut must be usable)
    "indented": (
        "    schedules:\n"
        "      - name: a\n        config: ../jobs/acme/a.yaml\n        cron: '0 * * * *'\n"
        "      - name: b\n        config: ../jobs/acme/b.yaml\n        interval_seconds: 60\n"
        '      - name: c\n        config: ../jobs/acme/c.yaml\n        cron: "*/5 * * * *"\n',
        True,
    ),
    "indentless, comments and blank lines between items": (
        "    schedules:\n"
        "    - name: a\n      config: ../jobs/acme/a.yaml\n      cron: 0 * * * *\n"
        "\n# a comment at column 0 does not end the list\n"
        '    - name: b  # b\'s comment mentions "a"\n      config: ../jobs/acme/b.yaml\n'
        "      interval_seconds: 60\n"
        "    -\n      name: c\n      config: ../jobs/acme/c.yaml\n      cron: '@daily'\n",
        True,
    ),
    "flow items": (
        "    schedules:\n"
        "      - {name: a, config: ../jobs/acme/a.yaml, cron: 0 * * * *}\n"
        "      - {name: b, config: ../jobs/acme/b.yaml, interval_seconds: 60}\n"
        "      - {name: c, config: ../jobs/acme/c.yaml, interval_seconds: 5, tags: {k: v}}\n",
        False,  # the last line nests a flow mapping: not a simple line
    ),
    "a quoted scalar swallows the next item": (
        "    schedules:\n"
        "      - name: a\n        config: ../jobs/acme/a.yaml\n        cron: 0 * * * *\n"
        '        tags: {note: "one\n'
        '      - name: c"}\n'
        "      - name: b\n        config: ../jobs/acme/b.yaml\n        interval_seconds: 60\n"
        "      - name: c\n        config: ../jobs/acme/c.yaml\n        interval_seconds: 5\n",
        False,
    ),
    "a single-quoted value after a key with a quote inside": (
        "    schedules:\n"
        "      - name: a\n        config: ../jobs/acme/a.yaml\n        cron: 0 * * * *\n"
        "        tags:\n          it's: 'open\n"
        "      - name: c'\n"
        "      - name: c\n        config: ../jobs/acme/c.yaml\n        interval_seconds: 5\n",
        False,
    ),
    "anchors and aliases": (
        "    schedules:\n"
        "      - name: a\n        config: ../jobs/acme/a.yaml\n        cron: 0 * * * *\n"
        "        tags: &t {team: data}\n"
        "      - name: b\n        config: ../jobs/acme/b.yaml\n        interval_seconds: 60\n"
        "        tags: *t\n",
        False,
    ),
    "duplicates and a broken schedule": (
        "    schedules:\n"
        "      - name: a\n        config: ../jobs/acme/a.yaml\n        cron: 61 * * * *\n"
        "      - name: a\n        config: ../jobs/acme/b.yaml\n        interval_seconds: 60\n"
        "      - name: a\n        config: ../jobs/acme/c.yaml\n        interval_seconds: 60\n"
        "      - name: 'bad name!'\n        config: ../jobs/acme/c.yaml\n        interval_seconds: 60\n"
        "      - config: ../jobs/acme/c.yaml\n        interval_seconds: 60\n",
        True,
    ),
    "no newline at the end": (
        "    schedules:\n"
        "      - name: a\n        config: ../jobs/acme/a.yaml\n        cron: 0 * * * *\n"
        "      - name: c\n        config: ../jobs/acme/c.yaml\n        interval_seconds: 5",
        True,
    ),
}


def deployment(root: Path, schedules: str, *, suffix: str = SUFFIX) -> Path:
    write(root / "assets" / "orders.yaml", ORDERS_ASSET)
    write(root / "data" / "orders.csv", "order_id,email,status,amount\n1,a@x.io,new,1.5\n")
    for table in "abc":
        (root / "jobs" / "acme").mkdir(parents=True, exist_ok=True)
        (root / "jobs" / "acme" / f"{table}.yaml").write_text(JOB.format(table=table))
    runner = root / "configs" / "runner.yaml"
    runner.parent.mkdir(parents=True, exist_ok=True)
    tail = "" if schedules.endswith("interval_seconds: 5") else suffix
    runner.write_text(PREFIX + schedules + tail)
    return runner


def summary(plan) -> list:
    """What the factory builds from: every schedule loaded, with its index, and the failures."""
    return sorted(
        [("spec", s.index, s.schedule.name, str(s.job.path)) for s in plan.specs]
        + [("failure", f.index, f.name, [str(p) for p in f.problems]) for f in plan.failures],
        key=str,
    )


def candidates(full, dag_id: str) -> list:
    """The full plan's entries that can become ``dag_id``: named so, or the placeholder's
    schedule and its namesakes."""
    index = one_schedule.DagSelection(dag_id).placeholder_index
    names = {dag_id} | {entry[2] for entry in summary(full) if entry[1] == index and entry[2]}
    return [entry for entry in summary(full) if entry[2] in names or entry[1] == index]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_dag_loads_what_the_full_load_has_for_that_dag(
    layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedules, cut_usable = LAYOUTS[layout]
    runner = deployment(tmp_path, schedules)
    full = load_runner(runner)
    assert (cut_schedules(runner.read_text()) is not None) is cut_usable

    used_cut = []
    original = one_schedule._schedules_of_cut

    def spy(text, name):
        result = original(text, name)
        used_cut.append(result is not None)
        return result

    monkeypatch.setattr(one_schedule, "_schedules_of_cut", spy)
    dag_ids = {entry[2] for entry in summary(full) if entry[2]} | {
        f"dativo_config_error__x__schedule_{i}" for i in range(len(full.runner.runner.orchestrator.schedules))
    }
    for dag_id in sorted(dag_ids):
        plan = load_one_dag(runner, dag_id)
        assert summary(plan) == candidates(full, dag_id), (layout, dag_id)
        assert plan.runner.model_dump(exclude={"runner": {"orchestrator": {"schedules"}}}) == (
            full.runner.model_dump(exclude={"runner": {"orchestrator": {"schedules"}}})
        ), "the same runner settings"
    if cut_usable:
        assert any(used_cut), f"{layout}: the cut was never used"
    else:
        assert not any(used_cut), f"{layout}: the cut was used on a layout it cannot handle exactly"


def test_only_the_wanted_schedules_job_file_is_read(tmp_path: Path) -> None:
    schedules = textwrap.dedent(
        """\
            schedules:
              - name: wanted
                config: ../jobs/acme/a.yaml
                cron: 0 * * * *
              - name: wanted_too_but_not_this_one
                config: ../jobs/acme/missing.yaml
                cron: 0 * * * *
              - name: broken
                config: ../jobs/acme/b.yaml
                cron: 0 * * * *
        """
    )
    runner = deployment(tmp_path, textwrap.indent(schedules, "    "))
    (tmp_path / "jobs" / "acme" / "b.yaml").write_text("source_connector: [unclosed\n")
    plan = load_one_dag(runner, "wanted")
    assert [s.schedule.name for s in plan.specs] == ["wanted"]
    assert plan.failures == []
    assert plan.job_paths == [tmp_path / "jobs" / "acme" / "a.yaml"]


def test_problems_of_the_wanted_schedule_name_its_line_in_the_runner_file(tmp_path: Path) -> None:
    schedules = (
        "    schedules:\n"
        "      - name: first\n        config: ../jobs/acme/a.yaml\n        cron: 0 * * * *\n"
        "      - name: second\n        config: ../jobs/acme/b.yaml\n        timezone: Nowhere/Land\n"
        "        cron: 0 * * * *\n"
    )
    runner = deployment(tmp_path, schedules)
    (failure,) = load_one_dag(runner, "second").failures
    (problem,) = failure.problems
    assert failure.index == 1
    assert str(problem).startswith(f"{runner}:12: runner.orchestrator.schedules[1].timezone:")
    assert [str(p) for p in load_runner(runner).failures[0].problems] == [str(problem)]


def test_an_unusable_runner_file_fails_as_in_the_full_load(tmp_path: Path) -> None:
    runner = deployment(tmp_path, LAYOUTS["indented"][0], suffix="    concurency_per_tenant: 2\n")
    with pytest.raises(Exception) as full:
        load_runner(runner)
    with pytest.raises(type(full.value)) as one:
        load_one_dag(runner, "a")
    assert str(one.value) == str(full.value)
    assert "concurency_per_tenant: unknown key" in str(one.value)
